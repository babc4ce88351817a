"""What every screen shares: the base Screen, the staff PIN pad and the text helpers."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from kivy.app import App
from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.codes import KioskStatus, State
from kiosk.session import View
from kiosk.screens import style

MAX_PIN = 8


def _tr(key: str, **fmt: object) -> str:
    return App.get_running_app().tr(key, **fmt)


def _now(view: View) -> datetime:
    return view.now or datetime.now(timezone.utc).astimezone()


def hhmm(at: datetime, view: View) -> str:
    return at.astimezone(_now(view).tzinfo).strftime("%H:%M")


class KioskScreen(Screen):
    """Base: holds the newest View; preview screens also get camera frames."""

    state: State
    # rebind: kv rules read root.view.<field>; without it they never update
    view = ObjectProperty(View(State.ATTRACT, KioskStatus.READY), rebind=True)
    bg = ListProperty(style.WHITE)  # background colour (common.kv)

    def update(self, view: View, frame: np.ndarray | None) -> None:
        self.view = view


class PinScreen(KioskScreen):
    """A screen with the staff PIN pad (PinKey in common.kv)."""

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
