"""One small Screen class per flow State; each has its layout in <state>.kv.

Screens only show the flow's View (``view``) and forward touches to the app
(app.press / app.enter_pin), which passes them to the runtime. No devices,
no store, no decisions here.
"""

from __future__ import annotations

import numpy as np
from kivy.animation import Animation
from kivy.app import App
from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.codes import KioskStatus, State
from kiosk.flow import View
from kiosk.screens import style

MAX_PIN = 8


class KioskScreen(Screen):
    """Base: holds the newest View; preview screens also get camera frames."""

    state: State
    # rebind: kv rules read root.view.<field>; without it they never update
    view = ObjectProperty(View(State.ATTRACT, KioskStatus.READY), rebind=True)
    bg = ListProperty(style.WHITE)  # background colour (common.kv)

    def update(self, view: View, frame: np.ndarray | None) -> None:
        self.view = view


class PreviewScreen(KioskScreen):
    """A screen with the live preview (ids.preview)."""

    def update(self, view: View, frame: np.ndarray | None) -> None:
        super().update(view, frame)
        self.ids.preview.set_frame(frame)

    def on_pre_enter(self, *_: object) -> None:
        self.ids.preview.set_frame(None)  # never flash the last student's face


class AttractScreen(KioskScreen):
    state = State.ATTRACT


class IdentifyScreen(KioskScreen):
    state = State.IDENTIFY


class ConfirmScreen(KioskScreen):
    state = State.CONFIRM


class NotOnRosterScreen(KioskScreen):
    state = State.NOT_ON_ROSTER


class ConsentScreen(KioskScreen):
    state = State.CONSENT

    def on_pre_enter(self, *_: object) -> None:
        self.ids.scroll.scroll_y = 1  # always start at the top of the notice


class ScanCodeScreen(PreviewScreen):
    state = State.SCAN_CODE


class GuideScreen(PreviewScreen):
    state = State.GUIDE


class CountdownScreen(PreviewScreen):
    state = State.COUNTDOWN

    def on_pre_enter(self, *_: object) -> None:
        pass  # keep the guide's last frame until the next one arrives


class CapturingScreen(KioskScreen):
    state = State.CAPTURING

    def on_pre_enter(self, *_: object) -> None:
        flash = self.ids.flash
        Animation.cancel_all(flash)
        flash.opacity = 1
        Animation(opacity=0, duration=0.35, t="out_quad").start(flash)
        self.ids.spinner.start()

    def on_leave(self, *_: object) -> None:
        self.ids.spinner.stop()


class ReviewScreen(KioskScreen):
    state = State.REVIEW


class SavingScreen(KioskScreen):
    state = State.SAVING

    def on_pre_enter(self, *_: object) -> None:
        self.ids.spinner.start()

    def on_leave(self, *_: object) -> None:
        self.ids.spinner.stop()


class ReceiptScreen(KioskScreen):
    state = State.RECEIPT


class CallStaffScreen(KioskScreen):
    state = State.CALL_STAFF


class StaffScreen(KioskScreen):
    state = State.STAFF
    pin = StringProperty("")  # digits typed so far (shown as dots)

    def digit(self, d: str) -> None:
        if len(self.pin) < MAX_PIN:
            self.pin += d

    def clear(self) -> None:
        self.pin = ""

    def enter(self) -> None:
        pin, self.pin = self.pin, ""
        if pin:
            App.get_running_app().enter_pin(pin)

    def on_pre_enter(self, *_: object) -> None:
        self.pin = ""


SCREENS: dict[State, type[KioskScreen]] = {
    cls.state: cls
    for cls in (
        AttractScreen, IdentifyScreen, ConfirmScreen, NotOnRosterScreen, ConsentScreen,
        ScanCodeScreen, GuideScreen, CountdownScreen, CapturingScreen, ReviewScreen,
        SavingScreen, ReceiptScreen, CallStaffScreen, StaffScreen,
    )
}  # fmt: skip
assert set(SCREENS) == set(State), "every State needs a screen"
