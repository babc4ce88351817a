"""One small Screen class per flow State; each has its layout in <state>.kv.

Screens only show the flow's View (``view``) and forward touches to the app
(app.press / app.enter_pin / app.enter_id_number), which passes them to the
runtime. No devices, no store, no decisions here.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from kivy.animation import Animation
from kivy.app import App
from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.codes import KioskStatus, State, UsbResult, message_key
from kiosk.flow import ENTRY_PROBLEM, View
from kiosk.schedule import SessionWindow
from photo_wire.idnumber import entry_problem, group_id
from kiosk.screens import style

MAX_PIN = 8
ID_LENGTH = 18
REJECTED_ROWS = 3  # refused captures listed in staff mode (then "n more")
SCHEDULE_ROWS = 5  # sessions listed in staff mode


def _tr(key: str, **fmt: object) -> str:
    return App.get_running_app().tr(key, **fmt)


def _now(view: View) -> datetime:
    return view.now or datetime.now(timezone.utc).astimezone()


def hhmm(at: datetime, view: View) -> str:
    return at.astimezone(_now(view).tzinfo).strftime("%H:%M")


def when_text(at: datetime, view: View, time: str | None = None) -> str:
    """'today 14:32' or '11-21 14:32' in the booth's time zone (time: other text for the time)."""
    now = _now(view)
    local = at.astimezone(now.tzinfo)
    time = time or local.strftime("%H:%M")
    if local.date() == now.date():
        return _tr("ui.time.today", time=time)
    return _tr("ui.time.day", month=local.month, day=local.day, time=time)


def window_text(s: SessionWindow, view: View) -> str:
    return f"{hhmm(s.starts_at, view)}–{hhmm(s.ends_at, view)}"


def size_text(mb: int) -> str:
    if mb < 0:
        return "—"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


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


class StaffScreen(PinScreen):
    """The PIN pad, then staff mode's pages (tabs) and actions: see staff.kv.

    The helpers below turn the View into the pages' texts; the page shown is
    view.staff_page (the flow's, so scripts and tests can open a page too).
    """

    state = State.STAFF

    # ---------------------------------------------------------- status page

    @staticmethod
    def backdrop_text(view: View, _lang: str) -> str:
        at = view.backdrop_at
        return _tr("ui.staff.backdrop_calibrated", when=when_text(at, view)) if at \
            else _tr("ui.staff.backdrop_default")

    @staticmethod
    def backdrop_result_text(view: View, _lang: str) -> str:
        """How the calibration staff just started went ('' when none)."""
        return _tr(message_key(view.backdrop_result)) if view.backdrop_result else ""

    # ------------------------------------------------------------ sync page

    @staticmethod
    def last_sync_text(view: View, _lang: str) -> str:
        at = view.sync.last_success
        if not view.sync_configured:
            return ""  # no server: nothing to sync with
        return _tr("ui.staff.last_sync", when=when_text(at, view)) if at else _tr("ui.staff.last_sync_never")

    @staticmethod
    def server_text(view: View, _lang: str) -> str:
        if not view.sync_configured:
            return _tr("ui.staff.no_server")
        return _tr("ui.staff.online" if view.online else "ui.staff.offline")

    @staticmethod
    def sync_problem_text(view: View, _lang: str) -> str:
        """What is wrong with sync, in words staff can act on ('' when nothing is)."""
        problem = view.sync.problem
        if problem is None or not view.sync_configured:
            return ""
        return _tr(message_key(problem), n=view.sync.rejected_total)

    @staticmethod
    def queue_text(view: View, _lang: str) -> str:
        # An offline booth's backlog goes to the school on a USB stick.
        key = "ui.staff.queue" if view.sync_configured else "ui.staff.queue_offline"
        return _tr(key, n=view.queue_depth)

    @staticmethod
    def usb_text(view: View, _lang: str) -> str:
        """How the USB exchange staff just started went ('' when none)."""
        usb = view.usb
        if usb is None:
            return ""
        if usb.result != UsbResult.DONE:
            return _tr(message_key(usb.result))
        text = _tr("usb.done", acknowledged=usb.acknowledged, exported=usb.exported)
        return text + (_tr("usb.problems", problems=usb.problems) if usb.problems else "")

    @staticmethod
    def free_disk_text(view: View, _lang: str) -> str:
        return _tr("ui.staff.free_disk", size=size_text(view.free_mb))

    # -------------------------------------------------------- rejected page

    @staticmethod
    def rejected_title(view: View, _lang: str) -> str:
        n = view.sync.rejected_total
        return _tr("ui.staff.rejected_count", n=n) if n else _tr("ui.staff.rejected_none")

    @staticmethod
    def rejected_rows(view: View, _lang: str) -> list:
        """One row per refused capture: short id and when | the reason."""
        rows = []
        for r in view.sync.rejected[:REJECTED_ROWS]:
            when = f"  {when_text(r.created_at, view)}" if r.created_at else ""
            rows.append([(f"{r.short_id}{when}", style.INK),
                         (_tr(message_key(r.reason)), style.ORANGE)])
        return rows

    @staticmethod
    def rejected_more(view: View, _lang: str) -> str:
        more = view.sync.rejected_total - min(len(view.sync.rejected), REJECTED_ROWS)
        return _tr("ui.staff.rejected_more", n=more) if more > 0 else ""

    # ---------------------------------------------------------- doctor page

    @staticmethod
    def doctor_title(view: View, _lang: str) -> str:
        if view.doctor_running or not view.doctor:
            return _tr("doctor.running")
        problems = sum(f.status.value == "problem" for f in view.doctor)
        return _tr("doctor.some_wrong", count=problems) if problems else _tr("doctor.all_ok")

    @staticmethod
    def doctor_rows(view: View, _lang: str) -> list:
        """One row per check: its name | what was found (and, for a problem, what to do)."""
        from kiosk.tools.doctor import CHECK_NAMES

        colour = {"ok": style.GREEN, "problem": style.RED, "skipped": style.MUTED}
        rows = []
        for f in () if view.doctor_running else view.doctor:
            text = _tr(f.key, **f.figures)
            if f.fix_key:
                text += "  " + _tr(f.fix_key, **f.figures)
            rows.append([(_tr(CHECK_NAMES[f.check]), colour[f.status.value]), (text, colour[f.status.value])])
        return rows

    # -------------------------------------------------------- schedule page

    @staticmethod
    def schedule_title(view: View, _lang: str) -> str:
        return _tr("ui.staff.schedule_known" if view.schedule_known else "ui.staff.schedule_unknown")

    @staticmethod
    def recording_text(view: View, _lang: str) -> str:
        if view.session:
            return _tr("ui.staff.session_recording", session=view.session)
        return _tr("ui.staff.between_sessions" if view.makeup_mode else "ui.staff.between_sessions_closed")

    @staticmethod
    def schedule_rows(view: View, _lang: str) -> list:
        if view.schedule_known and not view.schedule:
            return [[(_tr("ui.staff.no_sessions_ahead"), style.MUTED), ("", style.INK), ("", style.INK)]]
        colour = {"past": style.MUTED, "now": style.GREEN, "later": style.INK}
        label = {"past": "ui.staff.session_past", "now": "ui.staff.session_now",
                 "later": "ui.staff.session_later"}
        rows = []
        for s in view.schedule[:SCHEDULE_ROWS]:
            when = s.when(_now(view))
            rows.append([(when_text(s.starts_at, view, time=window_text(s, view)), colour[when]),
                         (s.name, colour[when]), (_tr(label[when]), colour[when])])
        return rows


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
