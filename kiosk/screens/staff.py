"""Staff mode's screen: the PIN pad, then the pages (tabs) of staff.kv."""

from __future__ import annotations

from datetime import datetime

from kiosk.codes import State, UsbResult, message_key
from kiosk.session import View
from kiosk.identity.schedule import SessionWindow
from kiosk.screens import style
from kiosk.screens.base import PinScreen, _now, _tr, hhmm

REJECTED_ROWS = 3  # refused captures listed in staff mode (then "n more")
SCHEDULE_ROWS = 5  # sessions listed in staff mode


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
