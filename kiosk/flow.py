"""The session flow: the kiosk's brain, in plain Python (no Kivy, no devices).

It receives events (card read, code scanned, guidance for a frame, button
pressed, still processed, capture saved, device failed or back, time passed)
and decides the next state. It never touches a device: what it wants done
(take a still, switch the lights, save, speak a prompt) it queues as
Effects that the runtime drains and carries out. Everything a screen shows
comes from ``view()``.

A card's roster lookup and the 采集码 check each cost a memory-hard hash
(photo_wire/ids.py): the flow hands them out as a CHECK effect, which the
runtime runs on its worker, off the UI thread, and answers with checked().
Meanwhile the student sees CHECKING (a card) or SCAN_CODE saying it is
checking (a code); a newer card or code supersedes the check under way,
whose late answer is then dropped.

Which session a capture belongs to comes from the school's schedule when
the sync agent has fetched one (kiosk/identity/schedule.py): the session whose
window covers now; a student of a session that is already over is a makeup
shoot (the roster decides, with makeup_mode). Without a schedule, the
config's session, as before.

Like pibooth, any device error falls into a failsafe state (CALL_STAFF) and
the kiosk status becomes ERROR; when every device is back the kiosk returns
to ATTRACT by itself. Every state times out back to ATTRACT and wipes the
student's data.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone, tzinfo
from enum import Enum
from typing import Any, Callable, Protocol

from transitions import Machine

from kiosk.codes import (BackdropResult, Button, Device, Hint, KioskStatus, Problem, RejectReason, State,
                         SyncProblem, UsbResult)
from kiosk.config import FlowConfig
from kiosk.domain import CaptureRequest, IdCard, ProcessedPhoto, RosterMatch, RosterOutcome, Student
from photo_wire.idnumber import entry_problem, is_valid, mask_id, mask_name, normalise
from kiosk.identity.schedule import Schedule, SessionSlot, SessionWindow

log = logging.getLogger(__name__)

# States a student is in; leaving them for ATTRACT ends the session.
STUDENT_STATES = frozenset(State) - {State.ATTRACT, State.CALL_STAFF, State.STAFF}
# States the camera preview runs in.
CAMERA_STATES = frozenset({State.SCAN_CODE, State.GUIDE, State.COUNTDOWN})
# Where CANCEL is offered (not while a still is processed or saved).
CANCELLABLE = frozenset(
    {State.IDENTIFY, State.MANUAL_ENTRY, State.CONFIRM, State.CONSENT, State.SCAN_CODE, State.GUIDE,
     State.REVIEW}
)
# What idnumber.entry_problem finds wrong with a typed ID number, as a Problem.
ENTRY_PROBLEM = {
    "bad_number": Problem.CARD_INVALID_NUMBER,
    "bad_area_code": Problem.ID_BAD_AREA_CODE,
    "bad_birth_date": Problem.ID_BAD_BIRTH_DATE,
    "too_short": Problem.ID_TOO_SHORT,
    "bad_check_character": Problem.ID_BAD_CHECK_CHARACTER,
}
MAX_PIN_ERRORS = 3
# Staff mode's pages (after the PIN), by the tab that shows each.
STAFF_PAGES = {
    Button.STAFF_STATUS: "status",
    Button.STAFF_SYNC: "sync",
    Button.STAFF_REJECTED: "rejected",
    Button.STAFF_SCHEDULE: "schedule",
    Button.STAFF_DOCTOR: "doctor",
}
# Sessions staff mode lists (today's and the coming ones).
STAFF_SCHEDULE_ROWS = 6
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


class Roster(Protocol):
    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        """slot: the sessions taken now and those over (None: no schedule known)."""
        ...


class EffectKind(str, Enum):
    LIGHTS_ON = "lights_on"
    LIGHTS_OFF = "lights_off"
    TAKE_STILL = "take_still"
    SAVE_CAPTURE = "save_capture"
    PROMPT = "prompt"  # arg: catalog key of the spoken prompt
    RETRY_REJECTED = "retry_rejected"  # staff: queue the refused captures again
    CALIBRATE_BACKDROP = "calibrate_backdrop"  # staff: measure the empty backdrop
    USB_EXCHANGE = "usb_exchange"  # staff: receipts from the USB stick, pending captures onto it
    RUN_DOCTOR = "run_doctor"  # staff: the booth checks (kiosk/doctor.py) on the running devices
    CHECK = "check"  # arg: a Check to run off the UI thread, answered with checked()


@dataclass(frozen=True, eq=False)
class Check:
    """A slow look-up (a roster lookup, the 采集码's owner: one scrypt hash
    each) for the runtime's worker; its answer goes back to checked().
    number: which check this is (a newer one supersedes it)."""

    number: int
    run: Callable[[], Any] = field(repr=False)


@dataclass(frozen=True)
class UsbOutcome:
    """How staff mode's USB exchange went (counts when DONE)."""

    result: UsbResult
    acknowledged: int = 0  # receipts applied: the school has these
    exported: int = 0  # captures now on the stick for the school
    problems: int = 0  # receipts not applied, captures set aside


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    arg: Any = None


@dataclass(frozen=True)
class RejectedCapture:
    """A capture the server refused for good, as staff mode lists it (nothing
    personal: the booth keeps nothing that narrows the ID number)."""

    short_id: str  # the capture id's first 8 characters
    reason: RejectReason
    created_at: datetime | None = None


@dataclass(frozen=True)
class SyncInfo:
    """Fed by the sync agent and the store; shown on the LED and in staff mode."""

    queue_depth: int = 0
    online: bool = True
    # No school server configured: captures wait for staff export, so a
    # backlog is normal and not shown as "waiting to sync" on the LED.
    configured: bool = False
    last_success: datetime | None = None  # last answer from the server that moved things on
    problem: SyncProblem | None = None  # what is wrong now, for staff
    uploads_stopped: bool = False  # 401/403/no token: nothing is sent until `kiosk enrol`
    rejected: tuple[RejectedCapture, ...] = ()  # oldest first, at most a screenful or two
    rejected_total: int = 0


@dataclass(frozen=True)
class View:
    """What the screens show; built fresh from the flow's state."""

    state: State
    status: KioskStatus
    problem: Problem | None = None
    # For staff: what exactly is wrong (e.g. the roster file's reason), '' if nothing more.
    problem_detail: str = ""
    name_masked: str = ""
    id_masked: str = ""
    programme: str = ""
    hints: tuple[Hint, ...] = ()
    ready: bool = False
    countdown: int = 0
    retakes_left: int = 0
    photo_jpeg: bytes | None = None
    photo_compliant: bool = False
    photo_problems: tuple[str, ...] = ()
    capture_id: str = ""
    staff_unlocked: bool = False
    failed_devices: tuple[Device, ...] = ()
    consent_version: str = ""
    seconds_left: int = 0  # until this state times out
    queue_depth: int = 0
    online: bool = True
    sync_configured: bool = False
    # MANUAL_ENTRY: the last number staff submitted (the student's own, shown as typed).
    id_entry: str = ""
    id_method: str = ""  # the student's: 'card' or 'manual'
    # Staff mode: the page shown, sync detail, free disk (MiB; -1 not known yet).
    staff_page: str = "status"
    sync: SyncInfo = SyncInfo()
    free_mb: int = -1
    # Sessions. now: the booth's wall clock in its time zone (for showing times).
    now: datetime | None = None
    schedule_known: bool = False
    session: str = ""  # what a capture would be recorded under now ('' between sessions)
    session_now: SessionWindow | None = None
    session_next: SessionWindow | None = None  # later today
    sessions_today: int = 0
    schedule: tuple[SessionWindow, ...] = ()  # staff mode: today's and the coming ones
    makeup_mode: bool = False  # the roster takes students outside their centre and session
    # Staff mode: when the backdrop was last calibrated (None: the spec blue is
    # assumed) and how the calibration staff started in this visit went.
    backdrop_at: datetime | None = None
    backdrop_result: BackdropResult | None = None
    usb: UsbOutcome | None = None  # staff mode's USB exchange in this visit
    # Staff mode's booth check page: kiosk.doctor.Finding's of the last run in this visit.
    doctor: tuple[Any, ...] = ()
    doctor_running: bool = False
    # A card or a 采集码 is being checked (CHECKING, SCAN_CODE): the answer is on its way.
    checking: bool = False


class SessionFlow:
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
        self.schedule: Schedule | None = None
        self.staff_page = "status"
        self.free_mb = -1
        self.backdrop_at: datetime | None = None  # set by the runtime
        self.backdrop_result: BackdropResult | None = None
        self.usb: UsbOutcome | None = None
        self.doctor: tuple[Any, ...] = ()
        self.doctor_running = False
        self._doctor_after_pin = False  # the staff button was held: check page once unlocked
        self.consent_version = consent_version
        self._staff_pin = staff_pin
        # student_ref of an earlier capture with this 采集码, if any
        self._code_owner = code_owner
        self._clock = clock
        self.student: Student | None = None
        self.problem: Problem | None = None
        self.hints: tuple[Hint, ...] = ()
        self.ready = False
        self.capture_id = ""
        self.staff_unlocked = False  # STAFF: mode open; MANUAL_ENTRY: PIN accepted
        self.id_entry = ""
        self.sync = SyncInfo()
        self._failed: dict[Device, Problem] = {}
        self._details: dict[Device, str] = {}  # what staff need to know beyond the problem
        # An unexpected error while the student was told about their save: shown after.
        self._pending_problem: Problem | None = None
        self._card_errors = 0
        self._pin_errors = 0
        self._effects: list[Effect] = []
        # The check under way: the Check, the state it belongs to, what to do with its answer.
        self._check: tuple[Check, State, Callable[[Any], None]] | None = None
        self._checks_made = 0
        self._last_activity = clock()
        self._countdown_end = 0.0
        self.machine = Machine(
            model=self,
            states=list(State),
            initial=State.ATTRACT,
            auto_transitions=False,
            after_state_change="_after_state_change",
        )
        add = self.machine.add_transition
        add("_start", [State.ATTRACT, State.CHECKING], State.IDENTIFY)
        add("_check_identity", [State.ATTRACT, State.IDENTIFY, State.MANUAL_ENTRY], State.CHECKING)
        add("_identified", State.CHECKING, State.CONFIRM)
        add("_not_on_roster", State.CHECKING, State.NOT_ON_ROSTER)
        add("_manual_entry", State.IDENTIFY, State.MANUAL_ENTRY)
        add("_confirm", State.CONFIRM, State.CONSENT)
        add("_agree", State.CONSENT, State.SCAN_CODE)
        add("_code_ok", State.SCAN_CODE, State.GUIDE)
        add("_shoot", State.GUIDE, State.COUNTDOWN)
        add("_countdown_done", State.COUNTDOWN, State.CAPTURING)
        add("_photo_ready", State.CAPTURING, State.REVIEW)
        add("_photo_failed", State.CAPTURING, State.GUIDE)
        add("_retake", State.REVIEW, State.GUIDE)
        add("_accept", State.REVIEW, State.SAVING)
        add("_saved", State.SAVING, State.RECEIPT)
        add("_staff", [State.ATTRACT, State.CALL_STAFF], State.STAFF)
        add("_to_attract", "*", State.ATTRACT)
        add("_call_staff", "*", State.CALL_STAFF)

    # ------------------------------------------------------------ outputs

    def drain_effects(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    @property
    def healthy(self) -> bool:
        return not self._failed

    @property
    def status(self) -> KioskStatus:
        if self._failed:
            return KioskStatus.ERROR
        if self.state == State.STAFF:
            return KioskStatus.STAFF
        if self.state == State.CALL_STAFF:
            return KioskStatus.ERROR
        if self.state in STUDENT_STATES:
            return KioskStatus.BUSY
        if self.sync.configured and not self.sync.online:
            return KioskStatus.OFFLINE
        if self.sync.configured and self.sync.queue_depth:
            return KioskStatus.QUEUE
        return KioskStatus.READY

    def view(self) -> View:
        s = self.student
        photo = s.photo if s else None
        now = self._clock()
        timeout = self._timeout_for(self.state)
        wall = self._now().astimezone(self.tz)
        schedule = self._schedule()
        today = schedule.today(wall) if schedule else ()
        return View(
            state=self.state,
            status=self.status,
            problem=self.problem,
            problem_detail=next((self._details.get(d, "") for d, p in self._failed.items()
                                 if p == self.problem), ""),
            name_masked=mask_name(s.card.name) if s else "",
            id_masked=mask_id(s.card.id_number) if s else "",
            programme=s.match.programme if s else "",
            hints=self.hints,
            ready=self.ready,
            countdown=max(0, math.ceil(self._countdown_end - now))
            if self.state == State.COUNTDOWN
            else 0,
            retakes_left=s.retakes_left if s else 0,
            photo_jpeg=photo.spec_jpeg if photo else None,
            photo_compliant=bool(photo and photo.compliant),
            photo_problems=tuple(photo.problems) if photo else (),
            capture_id=self.capture_id,
            staff_unlocked=self.staff_unlocked,
            failed_devices=tuple(self._failed),
            consent_version=self.consent_version,
            seconds_left=max(0, math.ceil(self._last_activity + timeout - now)) if timeout else 0,
            queue_depth=self.sync.queue_depth,
            online=self.sync.online,
            sync_configured=self.sync.configured,
            id_entry=self.id_entry if self.state == State.MANUAL_ENTRY else "",
            id_method=s.id_method if s else "",
            staff_page=self.staff_page,
            sync=self.sync,
            free_mb=self.free_mb,
            now=wall,
            schedule_known=schedule is not None,
            session=self.session_now(),
            session_now=schedule.current(wall) if schedule else None,
            session_next=schedule.next_today(wall) if schedule else None,
            sessions_today=len(today),
            schedule=schedule.from_today(wall, STAFF_SCHEDULE_ROWS)
            if schedule and self.state == State.STAFF else (),
            makeup_mode=bool(getattr(self.roster, "makeup_mode", False)),
            backdrop_at=self.backdrop_at,
            backdrop_result=self.backdrop_result if self.state == State.STAFF else None,
            usb=self.usb if self.state == State.STAFF else None,
            doctor=self.doctor if self.state == State.STAFF else (),
            doctor_running=self.doctor_running,
            checking=self._check is not None,
        )

    def today(self) -> date:
        """The booth's date: the injected wall clock in [kiosk] timezone (not the host's)."""
        return self._now().astimezone(self.tz).date()

    def session_now(self) -> str:
        """The session a capture identified now is recorded under: the one whose
        window covers now when a schedule is known ('' between sessions: only
        makeup shoots then), else the config's."""
        schedule = self._schedule()
        if schedule is None:
            return self.session
        current = schedule.current(self._now())
        return current.name if current else ""

    # ------------------------------------------------------------- events

    def press(self, button: Button) -> None:
        """A touch on the screen."""
        self._touch()
        st = self.state
        if button == Button.CANCEL and st in CANCELLABLE:
            self._to_attract()
        elif button == Button.START and st == State.ATTRACT:
            self._start()
        elif button == Button.MANUAL_ENTRY and st == State.IDENTIFY and self.config.manual_entry:
            self._manual_entry()
        elif button == Button.CONFIRM_IDENTITY and st == State.CONFIRM:
            self._confirm()
        elif button in (Button.NOT_ME, Button.DONE) and st in (
            State.CONFIRM,
            State.NOT_ON_ROSTER,
            State.RECEIPT,
        ):
            self._to_attract()
        elif button == Button.AGREE and st == State.CONSENT:
            assert self.student is not None
            self.student.consent_version = self.consent_version
            self.student.consent_time = self._now()
            self._agree()
        elif button == Button.DECLINE and st == State.CONSENT:
            self._to_attract()
        elif button == Button.TAKE_PHOTO and st == State.GUIDE:
            self._shoot()
        elif button == Button.RETAKE and st == State.REVIEW:
            assert self.student is not None
            if self.student.retakes_left > 0:
                self.student.retakes_left -= 1
                self.student.photo = None
                self._retake()
        elif button == Button.ACCEPT_PHOTO and st == State.REVIEW:
            assert self.student is not None and self.student.photo is not None
            if self.student.photo.compliant:
                self._accept()
        elif button == Button.STAFF and st in (State.ATTRACT, State.CALL_STAFF):
            self._staff()
        elif button == Button.STAFF_EXIT and st == State.STAFF:
            self._leave_staff()
        elif button in STAFF_PAGES and st == State.STAFF and self.staff_unlocked:
            self.staff_page = STAFF_PAGES[button]
            if button == Button.STAFF_DOCTOR:
                self._run_doctor()
        elif button == Button.RETRY_REJECTED and st == State.STAFF and self.staff_unlocked:
            self._effects.append(Effect(EffectKind.RETRY_REJECTED))
        elif (button == Button.CALIBRATE_BACKDROP and st == State.STAFF and self.staff_unlocked
              and self.backdrop_result != BackdropResult.MEASURING):
            self.backdrop_result = BackdropResult.MEASURING
            self.staff_page = "status"  # where the result shows
            self._effects.append(Effect(EffectKind.CALIBRATE_BACKDROP))
        elif (button == Button.USB_EXCHANGE and st == State.STAFF and self.staff_unlocked
              and not self._usb_working()):
            self.usb = UsbOutcome(UsbResult.WORKING)
            self.staff_page = "sync"  # where the result shows
            self._effects.append(Effect(EffectKind.USB_EXCHANGE))
        else:
            log.debug("ignored %s in %s", button.value, st.value)

    def card_presented(self, card: IdCard) -> None:
        """The reader read a card (ATTRACT starts a session directly; while
        CHECKING, the newest card is the one checked)."""
        if self.state not in (State.ATTRACT, State.IDENTIFY, State.CHECKING):
            return
        self._touch()
        today = self.today()
        if not is_valid(card.id_number, today) and not card.uid:
            self._card_problem(Problem.CARD_INVALID_NUMBER)
            return
        if card.valid_until is not None and card.valid_until < today:
            self._card_problem(Problem.CARD_EXPIRED)
            return
        self._card_errors = 0
        self._identify(card, "card")

    def card_failed(self, problem: Problem = Problem.CARD_UNREADABLE) -> None:
        """A card was there but unreadable."""
        if self.state in (State.ATTRACT, State.IDENTIFY):
            self._touch()
            self._card_problem(problem)

    def code_scanned(self, payload: str) -> None:
        """The 采集码 QR was decoded from the preview (payload kept opaque)."""
        if self.state != State.SCAN_CODE:
            return
        self._touch()
        problem = code_problem(payload)
        if problem:
            self._check = None  # the newest code counts: an earlier one's answer is dropped
            self.problem = problem
            return
        code_owner = self._code_owner
        self._begin_check(lambda: code_owner(payload), lambda owner: self._code_checked(payload, owner))

    def _code_checked(self, payload: str, owner: str | None) -> None:
        assert self.student is not None
        if owner and owner != self.student.match.student_ref:
            # One enrolment record has one code: this one belongs to someone else.
            log.warning("采集码 already used for another student")
            self.problem = Problem.CODE_USED_BY_OTHER
            return
        self.student.code_payload = payload
        self.problem = None
        self._code_ok()

    def checked(self, check: Check, answer: Any) -> None:
        """The runtime's worker ran a Check: its answer, unless a newer check
        or a change of state (cancel, timeout, a failure) made it moot."""
        pending = self._check
        if pending is None or pending[0] is not check or pending[1] != self.state:
            log.debug("the answer of check %d is no longer wanted", check.number)
            return
        self._check = None
        pending[2](answer)

    def guidance(self, hints: list[Hint] | tuple[Hint, ...], ready: bool) -> None:
        """The photo engine's hints for the newest preview frame."""
        if self.state != State.GUIDE:
            return
        hints = tuple(hints)
        if hints and hints[0] != (self.hints[0] if self.hints else None):
            self._effects.append(Effect(EffectKind.PROMPT, f"hint.{hints[0].value}"))
        self.hints, self.ready = hints, ready
        if ready and self.config.auto_capture:
            self._shoot()

    def photo_ready(self, photo: ProcessedPhoto) -> None:
        if self.state != State.CAPTURING:
            return
        assert self.student is not None
        self.student.photo = photo
        self.problem = None if photo.compliant else Problem.PHOTO_NOT_COMPLIANT
        self._photo_ready()

    def photo_failed(self, problem: Problem = Problem.NO_FACE_IN_PHOTO) -> None:
        """The still had no usable face: back to posing (a camera fault is device_failed)."""
        if self.state != State.CAPTURING:
            return
        self.problem = problem
        self._photo_failed()

    def saved(self, capture_id: str) -> None:
        """The store committed the capture: only now is the student told."""
        if self.state != State.SAVING:
            return
        self.capture_id = capture_id
        self._saved()

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
                self.staff_page = "doctor"
                self._run_doctor()
        else:
            self._pin_errors += 1
            self.problem = Problem.PIN_WRONG
            if self._pin_errors >= MAX_PIN_ERRORS:
                if self.state == State.STAFF:
                    self._leave_staff()
                else:
                    self._to_attract()

    def enter_id_number(self, text: str) -> None:
        """Staff confirmed a typed ID number (MANUAL_ENTRY, after the PIN).

        A number that cannot be right keeps them here with the reason; a
        valid one is looked up in the roster exactly like a card's.
        """
        if self.state != State.MANUAL_ENTRY or not self.staff_unlocked:
            return
        self._touch()
        number = normalise(text)
        self.id_entry = number
        found = entry_problem(number, self.today())
        if found is not None:
            self.problem = ENTRY_PROBLEM[found]
            return
        self._identify(IdCard(id_number=number, name=""), "manual")

    def set_sync(self, queue_depth: int, online: bool, **detail: Any) -> None:
        """The sync agent's news; detail: other SyncInfo fields (kept when not given)."""
        self.sync = replace(self.sync, queue_depth=queue_depth, online=online, **detail)

    def set_free_disk(self, free_mb: int) -> None:
        self.free_mb = free_mb

    def set_schedule(self, schedule: Schedule | None) -> None:
        """The school's schedule (fetched or cached); None or empty: use the config's session."""
        self.schedule = schedule

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

    def _schedule(self) -> Schedule | None:
        # An empty schedule (none imported for this centre) is no schedule.
        return self.schedule if self.schedule else None

    def _begin_check(self, run: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Hand a slow look-up to the runtime's worker; then(answer) runs in
        this state when it comes back. Replaces any check under way."""
        self._checks_made += 1
        check = Check(self._checks_made, run)
        self._check = (check, self.state, then)
        self.problem = None  # the screen says "checking" now, not the last problem
        self._effects.append(Effect(EffectKind.CHECK, check))

    def _identify(self, card: IdCard, id_method: str) -> None:
        """Look the student up (card read or number typed) off the UI thread, in CHECKING."""
        schedule = self._schedule()
        slot = schedule.slot(self._now()) if schedule else None
        if self.state != State.CHECKING:
            self._check_identity()
        roster = self.roster
        self._begin_check(lambda: roster.lookup(card, slot),
                          lambda match: self._looked_up(card, id_method, slot, match))

    def _looked_up(self, card: IdCard, id_method: str, slot: SessionSlot | None,
                   match: RosterMatch) -> None:
        """The roster's answer: go on or explain."""
        log.info("%s %s: roster says %s%s", "card" if id_method == "card" else "typed ID",
                 mask_id(card.id_number), match.outcome.value, " (makeup)" if match.makeup else "")
        self.student = Student(card=card, match=match, retakes_left=self.config.max_retakes,
                               id_method=id_method, session=self._recorded_session(match, slot))
        if match.outcome == RosterOutcome.EXPECTED:
            self.problem = None
            self._identified()
        else:
            self.problem = Problem(match.outcome.value)
            self._not_on_roster()

    def _recorded_session(self, match: RosterMatch, slot: SessionSlot | None) -> str:
        """The session the capture is recorded under: the config's without a
        schedule; with one, the session taken now (a regular student's own);
        a makeup between sessions keeps the session the student missed."""
        if slot is None:
            return self.session
        if not match.makeup and match.session:
            return match.session
        return (slot.current[0] if slot.current else "") or match.session or self.session

    def _device_problem(self) -> bool:
        return self.problem in DEVICE_PROBLEM.values() or self.problem == Problem.DISK_FULL

    def _card_problem(self, problem: Problem) -> None:
        self._card_errors += 1
        self.problem = problem
        if self._card_errors >= self.config.max_card_errors:
            self._card_errors = 0
            self._call_staff()
        elif self.state in (State.ATTRACT, State.CHECKING):
            self._start()  # CHECKING: this newest card is the student's, and it is bad

    def backdrop_calibrated(self, result: BackdropResult, at: datetime | None) -> None:
        """The runtime measured (or failed to measure) the backdrop; at: when
        the model in use was calibrated."""
        self.backdrop_result = result
        self.backdrop_at = at

    def staff_button(self, long: bool) -> None:
        """The physical staff button: a press opens staff mode (the PIN still
        guards it); a long press opens it on the booth check page."""
        if self.state in (State.ATTRACT, State.CALL_STAFF):
            self.press(Button.STAFF)
            self._doctor_after_pin = long and self.state == State.STAFF
        elif long and self.state == State.STAFF and self.staff_unlocked:
            self.press(Button.STAFF_DOCTOR)

    def _run_doctor(self) -> None:
        if not self.doctor_running:  # a second tap while it runs changes nothing
            self.doctor_running = True
            self._effects.append(Effect(EffectKind.RUN_DOCTOR))

    def doctor_done(self, findings: tuple[Any, ...]) -> None:
        """The runtime finished the booth checks staff started."""
        self.doctor, self.doctor_running = tuple(findings), False

    def usb_exchanged(self, outcome: UsbOutcome) -> None:
        """The runtime finished the USB exchange staff started."""
        self.usb = outcome

    def _usb_working(self) -> bool:
        return self.usb is not None and self.usb.result == UsbResult.WORKING

    def _leave_staff(self) -> None:
        self.staff_unlocked = False
        self._pin_errors = 0
        if self._failed:
            self.problem = next(iter(self._failed.values()))
            self._call_staff()
        else:
            self._to_attract()

    def _wipe(self) -> None:
        """Forget the last student: memory and, through view(), the screen."""
        self.student = None
        self.hints = ()
        self.ready = False
        self.capture_id = ""
        self.id_entry = ""

    def _after_state_change(self) -> None:
        st = self.state
        self._touch()
        log.info("state -> %s", st.value)
        if self._check is not None and self._check[1] != st:
            self._check = None  # the check belonged to the state left: its answer is moot
        if st != State.MANUAL_ENTRY:
            self.id_entry = ""
            if st != State.STAFF:
                self.staff_unlocked = False  # a manual-entry PIN opens nothing else
        self.staff_page = "status"  # staff mode always opens on its first page
        if self.backdrop_result != BackdropResult.MEASURING:
            self.backdrop_result = None  # an old result is not news on the next visit
        if not self._usb_working():
            self.usb = None
        if not self.doctor_running:
            self.doctor = ()  # last visit's checks are not news
        if st != State.STAFF:
            self._doctor_after_pin = False
        if st == State.ATTRACT:
            self._wipe()
            self.problem = None
            self.staff_unlocked = False
            self._card_errors = 0
            self._effects.append(Effect(EffectKind.LIGHTS_OFF))
            # What failed while a student was told about their save: staff now.
            pending, self._pending_problem = self._pending_problem, None
            if self._failed or pending:
                self.problem = next(iter(self._failed.values()), pending)
                self._call_staff()
        elif st == State.MANUAL_ENTRY:
            # The PIN first, every time; the card problem of identify is gone.
            self.problem = None
            self.staff_unlocked = False
            self._pin_errors = 0
            self.id_entry = ""
        elif st == State.GUIDE:
            self.hints, self.ready = (), False
            self._effects.append(Effect(EffectKind.LIGHTS_ON))
        elif st == State.COUNTDOWN:
            self._countdown_end = self._clock() + self.config.countdown_seconds
            self._effects.append(Effect(EffectKind.PROMPT, "prompt.countdown"))
        elif st == State.CAPTURING:
            self._effects.append(Effect(EffectKind.TAKE_STILL))
        elif st == State.REVIEW:
            self._effects.append(Effect(EffectKind.LIGHTS_OFF))
        elif st == State.SAVING:
            assert self.student is not None and self.student.photo is not None
            self._effects.append(
                Effect(EffectKind.SAVE_CAPTURE, CaptureRequest(self.student, self.student.photo))
            )
        elif st == State.RECEIPT:
            self._effects.append(Effect(EffectKind.PROMPT, "prompt.saved"))
        elif st == State.CALL_STAFF:
            self._effects.append(Effect(EffectKind.LIGHTS_OFF))
            self._effects.append(Effect(EffectKind.PROMPT, "prompt.call_staff"))


def code_problem(payload: str) -> Problem | None:
    """Refuse what is obviously not a 采集码; the payload itself stays opaque."""
    text = payload.strip()
    if len(text) < 16:
        return Problem.CODE_INVALID
    # A 采集码 is printable text; control characters would ride into the
    # export's spreadsheet (issue 12).
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in payload):
        return Problem.CODE_INVALID
    lowered = text.lower()
    if lowered.startswith(("http://", "https://", "weixin://", "wxp://", "alipay")):
        return Problem.CODE_INVALID
    if text.isdigit():  # payment and bar codes are all digits
        return Problem.CODE_INVALID
    return None
