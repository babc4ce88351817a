"""Staff mode: the PIN, its pages (status, sync, rejected captures,
schedule, booth check) and what staff can start from them (retry rejected
captures, calibrate the backdrop, exchange with a USB stick, run the booth
checks). The runtime does the work; staff mode shows how it went.

The PIN also unlocks manual entry of an ID number (student.py), with the
same rules: three wrong PINs and the kiosk leaves the screen.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from kiosk.codes import BackdropResult, Button, Problem, State, UsbResult
from kiosk.session.effects import Effect, EffectKind
from kiosk.session.triggers import pressed
from kiosk.session.view import UsbOutcome

log = logging.getLogger(__name__)

MAX_PIN_ERRORS = 3
# Staff mode's pages (after the PIN), by the tab that shows each.
STAFF_PAGES = {
    Button.STAFF_STATUS: "status",
    Button.STAFF_SYNC: "sync",
    Button.STAFF_REJECTED: "rejected",
    Button.STAFF_SCHEDULE: "schedule",
    Button.STAFF_DOCTOR: "doctor",
}

# Leaving staff mode (the exit tab, or three wrong PINs): out of service
# while a device is still failed, else back to attract.
_LEAVE = [
    transition
    for trigger in (pressed(Button.STAFF_EXIT), "_leave_staff")
    for transition in (
        dict(trigger=trigger, source=State.STAFF, dest=State.CALL_STAFF, conditions="_out_of_service",
             before=["_reset_pin", "_show_failure"]),
        dict(trigger=trigger, source=State.STAFF, dest=State.ATTRACT, before="_reset_pin"),
    )
]
# The touches of staff mode; dest None: staff stay where they are.
STAFF_TRANSITIONS: list[dict[str, Any]] = [
    dict(trigger=pressed(Button.STAFF), source=[State.ATTRACT, State.CALL_STAFF], dest=State.STAFF),
    *_LEAVE,
    dict(trigger=pressed(Button.RETRY_REJECTED), source=State.STAFF, dest=None,
         conditions="staff_unlocked", after="_retry_rejected"),
    dict(trigger=pressed(Button.CALIBRATE_BACKDROP), source=State.STAFF, dest=None,
         conditions="staff_unlocked", unless="_calibrating", after="_calibrate_backdrop"),
    dict(trigger=pressed(Button.USB_EXCHANGE), source=State.STAFF, dest=None,
         conditions="staff_unlocked", unless="_usb_working", after="_exchange_usb"),
    dict(trigger=pressed(Button.MAKEUP_MODE), source=State.STAFF, dest=None,
         conditions="staff_unlocked", after="_switch_makeup"),
]


class StaffMode:
    """Staff mode's events, guards and state entries (mixed into
    kiosk.session.SessionFlow, which holds the state)."""

    def _init_staff(self, staff_pin: str) -> None:
        self._staff_pin = staff_pin
        self.staff_unlocked = False  # STAFF: mode open; MANUAL_ENTRY: PIN accepted
        self._pin_errors = 0
        self.staff_page = "status"
        self.backdrop_at: datetime | None = None  # set by the runtime
        self.backdrop_result: BackdropResult | None = None
        self.usb: UsbOutcome | None = None
        self.doctor: tuple[Any, ...] = ()
        self.doctor_running = False
        self._doctor_after_pin = False  # the staff button was held: check page once unlocked
        # Staff switched makeup mode (None: the config's [roster] makeup_mode, until a restart).
        self._makeup_switched: bool | None = None

    def _page_transitions(self) -> list[dict[str, Any]]:
        """A tab opens its page once the PIN is in (the booth check page also runs the checks)."""
        return [dict(trigger=pressed(button), source=State.STAFF, dest=None, conditions="staff_unlocked",
                     after=partial(self._open_page, page)) for button, page in STAFF_PAGES.items()]

    # ------------------------------------------------------------- events

    def enter_pin(self, pin: str) -> None:
        """The staff PIN, for staff mode or for manual entry (same rules)."""
        if self.state not in (State.STAFF, State.MANUAL_ENTRY) or self.staff_unlocked:
            return
        self._touch()
        if pin == self._staff_pin:
            self.staff_unlocked = True
            self._pin_errors = 0
            self.problem = None
            if self._doctor_after_pin and self.state == State.STAFF:
                self._doctor_after_pin = False
                self._open_page("doctor")
        else:
            self._pin_errors += 1
            self.problem = Problem.PIN_WRONG
            if self._pin_errors >= MAX_PIN_ERRORS:
                if self.state == State.STAFF:
                    self._leave_staff()
                else:
                    self._to_attract()

    def staff_button(self, long: bool) -> None:
        """The physical staff button: a press opens staff mode (the PIN still
        guards it); a long press opens it on the booth check page."""
        if self.state in (State.ATTRACT, State.CALL_STAFF):
            self.press(Button.STAFF)
            self._doctor_after_pin = long and self.state == State.STAFF
        elif long and self.state == State.STAFF and self.staff_unlocked:
            self.press(Button.STAFF_DOCTOR)

    def use_roster(self, roster: Any) -> None:
        """A fresh roster (the school server's, or the file again) replaces the
        old one; a makeup switch staff made carries over."""
        if self._makeup_switched is not None:
            roster.makeup_mode = self._makeup_switched
        self.roster = roster

    def backdrop_calibrated(self, result: BackdropResult, at: datetime | None) -> None:
        """The runtime measured (or failed to measure) the backdrop; at: when
        the model in use was calibrated."""
        self.backdrop_result = result
        self.backdrop_at = at

    def doctor_done(self, findings: tuple[Any, ...]) -> None:
        """The runtime finished the booth checks staff started."""
        self.doctor, self.doctor_running = tuple(findings), False

    def usb_exchanged(self, outcome: UsbOutcome) -> None:
        """The runtime finished the USB exchange staff started."""
        self.usb = outcome

    # ------------------------------------------------- guards and callbacks

    def _open_page(self, page: str) -> None:
        self.staff_page = page
        if page == "doctor" and not self.doctor_running:  # a second tap while it runs changes nothing
            self.doctor_running = True
            self._effects.append(Effect(EffectKind.RUN_DOCTOR))

    def _retry_rejected(self) -> None:
        self._effects.append(Effect(EffectKind.RETRY_REJECTED))

    def _calibrating(self) -> bool:
        return self.backdrop_result == BackdropResult.MEASURING

    def _calibrate_backdrop(self) -> None:
        self.backdrop_result = BackdropResult.MEASURING
        self.staff_page = "status"  # where the result shows
        self._effects.append(Effect(EffectKind.CALIBRATE_BACKDROP))

    def _usb_working(self) -> bool:
        return self.usb is not None and self.usb.result == UsbResult.WORKING

    def _exchange_usb(self) -> None:
        self.usb = UsbOutcome(UsbResult.WORKING)
        self.staff_page = "sync"  # where the result shows
        self._effects.append(Effect(EffectKind.USB_EXCHANGE))

    def _switch_makeup(self) -> None:
        on = not self.roster.makeup_mode
        self._makeup_switched = self.roster.makeup_mode = on
        # Recorded in the booth's log (journald), at warning level so it stands out.
        log.warning("staff switched makeup mode %s: students of %s are taken", "on" if on else "off",
                    "every centre and session" if on else "this centre and session only")

    def _out_of_service(self) -> bool:
        return bool(self._failed)

    def _reset_pin(self) -> None:
        self._pin_errors = 0

    def _show_failure(self) -> None:
        self.problem = next(iter(self._failed.values()))

    # -------------------------------------------------------- state entries

    def on_enter_STAFF(self) -> None:
        # A new visit: the last one's results are not news (work still running stays).
        if self.backdrop_result != BackdropResult.MEASURING:
            self.backdrop_result = None
        if not self._usb_working():
            self.usb = None
        if not self.doctor_running:
            self.doctor = ()

    def on_exit_STAFF(self) -> None:
        self.staff_unlocked = False
        self.staff_page = "status"  # staff mode always opens on its first page
        self._doctor_after_pin = False
