"""One small Screen class per flow State; each has its layout in <state>.kv.

Screens only show the flow's View (``view``) and forward touches to the app
(app.press / app.enter_pin / app.enter_id_number), which passes them to the
runtime. No devices, no store, no decisions here.
"""

from __future__ import annotations

import numpy as np
from kivy.animation import Animation
from kivy.app import App
from kivy.properties import StringProperty

from kiosk.codes import State, message_key
from kiosk.session import ENTRY_PROBLEM, View
from photo_wire.idnumber import entry_problem, group_id
from kiosk.screens import style
from kiosk.screens.base import KioskScreen, PinScreen, _tr, hhmm
from kiosk.screens.staff import StaffScreen

ID_LENGTH = 18


class PreviewScreen(KioskScreen):
    """A screen with the live preview (ids.preview)."""

    def update(self, view: View, frame: np.ndarray | None) -> None:
        super().update(view, frame)
        self.ids.preview.set_frame(frame)

    def on_pre_enter(self, *_: object) -> None:
        self.ids.preview.set_frame(None)  # never flash the last student's face


class AttractScreen(KioskScreen):
    state = State.ATTRACT

    @staticmethod
    def session_text(view: View, _lang: str) -> str:
        """Today's session window for students: the one now, else the next today."""
        for key, s in (("ui.attract.session_now", view.session_now),
                       ("ui.attract.session_next", view.session_next)):
            if s is not None:
                return _tr(key, session=s.name, start=hhmm(s.starts_at, view), end=hhmm(s.ends_at, view))
        return _tr("ui.attract.sessions_over") if view.sessions_today else ""


class IdentifyScreen(KioskScreen):
    state = State.IDENTIFY


class ConfirmScreen(KioskScreen):
    state = State.CONFIRM


class NotOnRosterScreen(KioskScreen):
    state = State.NOT_ON_ROSTER

    @staticmethod
    def own_session_text(view: View, _lang: str) -> str:
        """Where (and, at this centre, when) the student is expected."""
        if not view.own_session:
            return ""
        w = view.own_window
        if w is None:
            return _tr("ui.not_on_roster.own", session=view.own_session, centre=view.own_centre)
        return _tr("ui.not_on_roster.own_when", session=view.own_session, centre=view.own_centre,
                   day=f"{w.starts_at.month}/{w.starts_at.day}", start=hhmm(w.starts_at, view),
                   end=hhmm(w.ends_at, view))


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


class BusyScreen(KioskScreen):
    """A short wait with a spinner (layout <BusyScreen> in common.kv)."""

    title_key = ""
    body_key = ""

    def on_pre_enter(self, *_: object) -> None:
        self.ids.spinner.start()

    def on_leave(self, *_: object) -> None:
        self.ids.spinner.stop()


class CheckingScreen(BusyScreen):
    state = State.CHECKING
    title_key = "state.checking.title"
    body_key = "state.checking.body"


class SavingScreen(BusyScreen):
    state = State.SAVING
    title_key = "state.saving.title"
    body_key = "state.saving.body"


class ReceiptScreen(KioskScreen):
    state = State.RECEIPT


class CallStaffScreen(KioskScreen):
    state = State.CALL_STAFF


class ManualEntryScreen(PinScreen):
    """Staff PIN first (view.staff_unlocked), then a keypad for the ID number.

    The number is the student's own and is shown as typed, grouped 6-8-4,
    with a live check; 'confirm' sends the whole text to the flow.
    """

    state = State.MANUAL_ENTRY
    id_text = StringProperty("")  # characters typed so far

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._entry_seen = ""

    def update(self, view: View, frame: np.ndarray | None) -> None:
        super().update(view, frame)
        if view.id_entry != self._entry_seen:  # a number sent from elsewhere (a script)
            self._entry_seen = view.id_entry
            if view.id_entry:
                self.id_text = view.id_entry[:ID_LENGTH]

    def type_char(self, c: str) -> None:
        if len(self.id_text) < ID_LENGTH:
            self.id_text += c

    def backspace(self) -> None:
        self.id_text = self.id_text[:-1]

    def clear_id(self) -> None:
        self.id_text = ""

    def confirm(self) -> None:
        if self.id_text:
            App.get_running_app().enter_id_number(self.id_text)

    @staticmethod
    def shown(text: str) -> str:
        """The typed characters, grouped, with a place for each one still missing."""
        return group_id(text + "_" * (ID_LENGTH - len(text)))

    @staticmethod
    def live_problem(text: str) -> str:
        """'' (fine so far), 'count' (typing on), 'valid' or a problem key."""
        found = entry_problem(text)
        if found is None:
            return "valid"
        if found == "too_short":
            return "count"
        return message_key(ENTRY_PROBLEM[found])

    def live_text(self, text: str, _lang: str) -> str:
        app = App.get_running_app()
        kind = self.live_problem(text)
        if kind == "count":
            return app.tr("ui.manual.count", n=len(text))
        if kind == "valid":
            return app.tr("ui.manual.valid")
        return app.tr(kind)

    def live_colour(self, text: str) -> list[float]:
        kind = self.live_problem(text)
        return list(style.MUTED if kind == "count" else style.GREEN if kind == "valid" else style.ORANGE)

    def on_pre_enter(self, *_: object) -> None:
        super().on_pre_enter()
        self.id_text = ""
        self._entry_seen = ""

    def on_leave(self, *_: object) -> None:
        self.id_text = ""  # the number is not kept on a hidden screen


SCREENS: dict[State, type[KioskScreen]] = {
    cls.state: cls
    for cls in (
        AttractScreen, IdentifyScreen, CheckingScreen, ConfirmScreen, NotOnRosterScreen, ManualEntryScreen, ConsentScreen,
        ScanCodeScreen, GuideScreen, CountdownScreen, CapturingScreen, ReviewScreen,
        SavingScreen, ReceiptScreen, CallStaffScreen, StaffScreen,
    )
}  # fmt: skip
assert set(SCREENS) == set(State), "every State needs a screen"
