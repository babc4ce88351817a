"""The failsafe, as in pibooth: any device error sends the student to staff
(CALL_STAFF) and the kiosk status becomes ERROR; when every device is back
the kiosk returns to ATTRACT by itself. A student being told their photo is
saved hears it first; staff at work are left alone.
"""

from __future__ import annotations

import logging

from kiosk.codes import Device, Problem, State
from kiosk.session.effects import Effect, EffectKind

log = logging.getLogger(__name__)

DEVICE_PROBLEM = {
    Device.CAMERA: Problem.CAMERA_FAILED,
    Device.ID_READER: Problem.READER_FAILED,
    Device.LIGHTS: Problem.LIGHTS_FAILED,
    Device.STATUS_LED: Problem.LIGHTS_FAILED,
    Device.STORE: Problem.STORE_FAILED,
    Device.ROSTER: Problem.ROSTER_UNUSABLE,
}
# The student is being told how the save went: a failure waits until they have heard.
TELLING = frozenset({State.SAVING, State.RECEIPT})


class Failsafe:
    """Device failures and recoveries (mixed into kiosk.session.SessionFlow,
    which holds the state)."""

    def _init_failsafe(self) -> None:
        self._failed: dict[Device, Problem] = {}
        self._details: dict[Device, str] = {}  # what staff need to know beyond the problem
        # An unexpected error while the student was told about their save: shown after.
        self._pending_problem: Problem | None = None

    def save_failed(self, problem: Problem = Problem.STORE_FAILED) -> None:
        if self.state == State.SAVING:
            log.warning("device %s failed: %s", Device.STORE.value, problem.value)
            self._failed[Device.STORE] = problem
            self.problem = problem
            self._call_staff()

    def is_failed(self, device: Device) -> bool:
        return device in self._failed

    def device_failed(self, device: Device, problem: Problem | None = None, detail: str = "") -> None:
        """The failsafe: any device error sends the student to staff, except
        while a saved photo is being confirmed to them (they hear it first,
        then the kiosk goes to staff) or while staff are here."""
        problem = problem or DEVICE_PROBLEM[device]
        log.warning("device %s failed: %s", device.value, problem.value)
        self._failed[device] = problem
        self._details[device] = detail
        if self.state in (State.CAPTURING, State.COUNTDOWN):
            self._effects.append(Effect(EffectKind.LIGHTS_OFF))
        if self.state not in TELLING and self.state != State.STAFF:
            self.problem = problem
            if self.state != State.CALL_STAFF:
                self._call_staff()

    def internal_error(self) -> None:
        """An unexpected error in the kiosk's own code (logged by the caller):
        the student goes to staff rather than the kiosk dying. Not a device:
        the call_staff timeout or a staff visit brings the kiosk back."""
        if self.state in TELLING:
            self._pending_problem = Problem.INTERNAL_ERROR
        elif self.state not in (State.STAFF, State.CALL_STAFF):
            self.problem = Problem.INTERNAL_ERROR
            self._call_staff()

    def device_ok(self, device: Device) -> None:
        """A failed device works again; with all back, the kiosk recovers."""
        self._details.pop(device, None)
        if self._failed.pop(device, None) is None:
            return
        log.info("device %s is back", device.value)
        if not self._failed and self.state == State.CALL_STAFF and self._device_problem():
            self._to_attract()

    def _device_problem(self) -> bool:
        return self.problem in DEVICE_PROBLEM.values() or self.problem == Problem.DISK_FULL

    def _after_the_receipt(self) -> None:
        """Back at attract: what failed while a student was told about their save, staff now."""
        pending, self._pending_problem = self._pending_problem, None
        if self._failed or pending:
            self.problem = next(iter(self._failed.values()), pending)
            self._call_staff()

    def on_enter_CALL_STAFF(self) -> None:
        self._effects.append(Effect(EffectKind.LIGHTS_OFF))
        self._effects.append(Effect(EffectKind.PROMPT, "prompt.call_staff"))
