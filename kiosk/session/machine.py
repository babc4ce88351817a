"""SessionFlow: one booth's state machine, built from the student flow, staff
mode, the failsafe and the view model.

The states and their transitions are the `transitions` library's: each
touch is a trigger whose transitions carry their guards (conditions= /
unless=), and what a state does on arrival or departure is its
on_enter_<STATE> / on_exit_<STATE> method, as pibooth gives each state its
enter and exit. Every state times out back to ATTRACT, which wipes the
student's data.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone, tzinfo
from typing import Callable

from transitions import Machine
from transitions import State as MachineState

from kiosk.codes import Button, Problem, State
from kiosk.config import FlowConfig
from kiosk.session.effects import Effect, EffectKind
from kiosk.session.failsafe import Failsafe
from kiosk.session.spoken import entry_prompt
from kiosk.session.staff import STAFF_TRANSITIONS, StaffMode
from kiosk.session.student import STUDENT_TRANSITIONS, Roster, StudentFlow
from kiosk.session.triggers import pressed
from kiosk.session.view import ViewModel

log = logging.getLogger(__name__)

# From anywhere: the end of a session, and the failsafe.
ANYWHERE = [
    dict(trigger="_to_attract", source="*", dest=State.ATTRACT),
    dict(trigger="_call_staff", source="*", dest=State.CALL_STAFF),
]


class SessionFlow(StudentFlow, StaffMode, Failsafe, ViewModel):
    """State machine for one booth. Not thread-safe: call from one thread."""

    state: State  # set by transitions

    def __init__(
        self,
        config: FlowConfig,
        roster: Roster,
        *,
        consent_version: str,
        staff_pin: str,
        code_owner: Callable[[str], str | None] = lambda payload: None,
        clock: Callable[[], float] = time.monotonic,
        session: str = "",
        tz: tzinfo | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        """clock: monotonic (timeouts); now: the wall clock (sessions); session:
        recorded with captures while no schedule is known; tz: the booth's zone."""
        self.config = config
        self.roster = roster
        self.session = session
        self.tz = tz or timezone.utc
        self._now = now
        self.consent_version = consent_version
        # student_ref of an earlier capture with this 采集码, if any
        self._code_owner = code_owner
        self._clock = clock
        self.problem: Problem | None = None
        self._effects: list[Effect] = []
        self._last_activity = clock()
        self._init_student()
        self._init_staff(staff_pin)
        self._init_failsafe()
        self._init_view()
        self.machine = Machine(
            model=self,
            # Every state: on arrival, note the activity; on leaving, drop its check.
            states=[MachineState(s, on_enter="_entered", on_exit="_left") for s in State],
            initial=State.ATTRACT,
            auto_transitions=False,
        )
        self.machine.add_transitions(
            [*STUDENT_TRANSITIONS, *STAFF_TRANSITIONS, *self._page_transitions(), *ANYWHERE])

    def drain_effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    # ------------------------------------------------------------- events

    def press(self, button: Button) -> None:
        """A touch on the screen: the button's trigger, where its guards allow."""
        self._touch()
        trigger = pressed(button)
        if trigger not in self.machine.get_triggers(self.state) or not self.trigger(trigger):
            log.debug("ignored %s in %s", button.value, self.state.value)

    def tick(self) -> None:
        """Time passed: run the countdown and the inactivity timeouts."""
        now = self._clock()
        if self.state == State.COUNTDOWN and now >= self._countdown_end:
            self._countdown_done()
            return
        timeout = self._timeout_for(self.state)
        if timeout and now - self._last_activity >= timeout:
            log.info("timeout in %s", self.state.value)
            if self.state == State.CALL_STAFF and self._failed:
                # Out of service: forget the student, stay until a device is back.
                self._wipe()
                self._touch()
            else:
                self._to_attract()

    # ------------------------------------------------------------ helpers

    def _timeout_for(self, state: State) -> float:
        if state == State.ATTRACT:
            return 0.0
        return float(getattr(self.config.timeouts, state.value))

    def _touch(self) -> None:
        self._last_activity = self._clock()

    def _wipe(self) -> None:
        """Forget the last student: memory and, through view(), the screen."""
        self.student = None
        self.hints = ()
        self.ready = False
        self.capture_id = ""
        self.status_url = ""
        self.id_entry = ""

    # -------------------------------------------------------- state entries

    def _entered(self) -> None:
        self._touch()
        log.info("state -> %s", self.state.value)
        prompt = entry_prompt(self.state, self.student)
        if prompt:
            self._effects.append(Effect(EffectKind.PROMPT, prompt))

    def _left(self) -> None:
        self._check = None  # the check belonged to the state left: its answer is moot

    def on_enter_ATTRACT(self) -> None:
        self._wipe()
        self.problem = None
        self.staff_unlocked = False
        self._card_errors = 0
        self._effects.append(Effect(EffectKind.LIGHTS_OFF))
        self._after_the_receipt()
