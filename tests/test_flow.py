"""Every transition, timeout and failure path of the session flow (no Kivy, no devices)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import kiosk.session
from kiosk.codes import (BackdropResult, Button, Device, Hint, KioskStatus, Problem, RejectReason, State, SyncProblem,
                         UsbResult)
from kiosk.config import FlowConfig, TimeoutsConfig
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome
from kiosk.session import Effect, EffectKind, RejectedCapture, SessionFlow, SyncInfo, code_problem
from photo_wire.idnumber import check_character
from kiosk.identity.roster import CsvRoster
from kiosk.identity.schedule import Schedule, SessionSlot

CODE = "CHSI-TEST-0123456789abcdefXYZ"


def make_id(first17: str) -> str:
    return first17 + check_character(first17)


GOOD_ID = make_id("11010119990307002")
OTHER_ID = make_id("11010120000101004")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class DictRoster:
    """Roster keyed by ID number, enough for the flow's rules."""

    def __init__(self, outcomes: dict[str, RosterOutcome]) -> None:
        self.outcomes = outcomes

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        outcome = self.outcomes.get(card.id_number, RosterOutcome.NOT_EXPECTED)
        return RosterMatch(outcome, programme="会计学", student_ref="ref-" + card.id_number[-4:])


@dataclass
class Photo:
    spec_jpeg: bytes = b"\xff\xd8jpeg"
    compliant: bool = True
    problems: list[str] = field(default_factory=list)


def card(id_number: str = GOOD_ID, **kw) -> IdCard:
    return IdCard(id_number=id_number, name=kw.pop("name", "张三丰"), **kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_flow(clock: Clock, **cfg) -> SessionFlow:
    roster = DictRoster(
        {GOOD_ID: RosterOutcome.EXPECTED, OTHER_ID: RosterOutcome.OTHER_CENTRE}
    )
    return SessionFlow(
        FlowConfig(**cfg), roster, consent_version="v-test", staff_pin="2468", clock=clock
    )


@pytest.fixture
def flow(clock: Clock) -> SessionFlow:
    return make_flow(clock)


def answer_checks(flow: SessionFlow) -> list[Effect]:
    """Do the flow's CHECK effects here and now, as the runtime's worker would
    (off the UI thread there), and answer them; the other effects drained."""
    rest = []
    for effect in flow.drain_effects():
        if effect.kind == EffectKind.CHECK:
            flow.checked(effect.arg, effect.arg.run())
        else:
            rest.append(effect)
    return rest


def present(flow: SessionFlow, card: IdCard) -> None:
    """The reader reads a card, and its roster lookup is answered."""
    flow.card_presented(card)
    answer_checks(flow)


def scan(flow: SessionFlow, payload: str) -> None:
    """A 采集码 is decoded, and its check is answered."""
    flow.code_scanned(payload)
    answer_checks(flow)


def enter(flow: SessionFlow, text: str) -> None:
    """Staff confirm a typed ID number, and its roster lookup is answered."""
    flow.enter_id_number(text)
    answer_checks(flow)


def kinds(flow: SessionFlow) -> list[EffectKind]:
    return [e.kind for e in flow.drain_effects()]


def to_state(flow: SessionFlow, clock: Clock, target: State) -> None:
    """Walk the happy path up to target (NOT_ON_ROSTER: with an unknown card;
    MANUAL_ENTRY: identify's manual entry button; CHECKING: a card whose
    lookup is not answered yet)."""
    if target == State.NOT_ON_ROSTER:
        present(flow, card(make_id("11010119980101003")))
        assert flow.state == target
        return
    if target == State.CHECKING:
        flow.card_presented(card())  # the lookup is not answered
        assert flow.state == target
        return
    if target == State.MANUAL_ENTRY:
        flow.press(Button.START)
        flow.press(Button.MANUAL_ENTRY)
        assert flow.state == target
        return
    path = [
        (State.IDENTIFY, lambda: flow.press(Button.START)),
        (State.CONFIRM, lambda: present(flow, card())),
        (State.CONSENT, lambda: flow.press(Button.CONFIRM_IDENTITY)),
        (State.SCAN_CODE, lambda: flow.press(Button.AGREE)),
        (State.GUIDE, lambda: scan(flow, CODE)),
        (State.COUNTDOWN, lambda: flow.press(Button.TAKE_PHOTO)),
        (State.CAPTURING, lambda: (clock.advance(flow.config.countdown_seconds), flow.tick())),
        (State.REVIEW, lambda: flow.photo_ready(Photo())),
        (State.SAVING, lambda: flow.press(Button.ACCEPT_PHOTO)),
        (State.RECEIPT, lambda: flow.saved("cap-1")),
    ]
    for state, action in path:
        if flow.state == target:
            return
        action()
        assert flow.state == state, f"expected {state}, got {flow.state}"
    assert flow.state == target


# ---------------------------------------------------------------- happy path


def test_whole_session_reaches_receipt_and_saves_once(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    effects = flow.drain_effects()
    saves = [e for e in effects if e.kind == EffectKind.SAVE_CAPTURE]
    assert len(saves) == 1
    request = saves[0].arg
    assert isinstance(request, CaptureRequest)
    assert request.student.code_payload == CODE
    assert request.student.consent_version == "v-test"
    assert request.student.consent_time is not None
    flow.saved("cap-1")
    assert flow.state == State.RECEIPT
    assert flow.view().capture_id == "cap-1"
    flow.press(Button.DONE)
    assert flow.state == State.ATTRACT
    assert flow.student is None and flow.view().capture_id == ""


def test_card_on_attract_starts_session_directly(flow: SessionFlow) -> None:
    present(flow, card())
    assert flow.state == State.CONFIRM


def test_confirm_view_masks_name_and_id(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONFIRM)
    v = flow.view()
    assert v.id_masked == GOOD_ID[:6] + "********" + GOOD_ID[-4:]
    assert GOOD_ID not in repr(v)
    assert v.name_masked == "张*丰"
    assert v.programme == "会计学"


def test_effects_lights_still_and_prompts(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SCAN_CODE)
    flow.drain_effects()
    scan(flow, CODE)
    assert EffectKind.LIGHTS_ON in kinds(flow)
    flow.press(Button.TAKE_PHOTO)
    assert kinds(flow) == [EffectKind.PROMPT]
    clock.advance(3)
    flow.tick()
    assert kinds(flow) == [EffectKind.TAKE_STILL]
    flow.photo_ready(Photo())
    assert kinds(flow) == [EffectKind.LIGHTS_OFF]


def test_countdown_counts_down_then_captures(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.COUNTDOWN)
    assert flow.view().countdown == 3
    clock.advance(1.2)
    flow.tick()
    assert flow.state == State.COUNTDOWN and flow.view().countdown == 2
    clock.advance(1.8)
    flow.tick()
    assert flow.state == State.CAPTURING


def test_zero_countdown_captures_on_next_tick(clock: Clock) -> None:
    flow = make_flow(clock, countdown_seconds=0)
    to_state(flow, clock, State.COUNTDOWN)
    flow.tick()
    assert flow.state == State.CAPTURING


# ------------------------------------------------------------------ identify


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (card(GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")), Problem.CARD_INVALID_NUMBER),
        (card(valid_until=date.today() - timedelta(days=1)), Problem.CARD_EXPIRED),
    ],
)
def test_bad_card_stays_in_identify_with_message(flow: SessionFlow, bad: IdCard, problem: Problem) -> None:
    flow.press(Button.START)
    present(flow, bad)
    assert flow.state == State.IDENTIFY
    assert flow.view().problem == problem
    assert flow.student is None


def test_bad_card_on_attract_opens_identify_with_message(flow: SessionFlow) -> None:
    flow.card_failed()
    assert flow.state == State.IDENTIFY
    assert flow.problem == Problem.CARD_UNREADABLE


def test_long_term_card_is_accepted(flow: SessionFlow) -> None:
    present(flow, card(valid_until=None))
    assert flow.state == State.CONFIRM


def test_repeated_card_errors_call_staff(clock: Clock) -> None:
    flow = make_flow(clock, max_card_errors=2)
    flow.press(Button.START)
    flow.card_failed()
    assert flow.state == State.IDENTIFY
    flow.card_failed()
    assert flow.state == State.CALL_STAFF
    assert flow.status == KioskStatus.ERROR
    clock.advance(flow.config.timeouts.call_staff)
    flow.tick()
    assert flow.state == State.ATTRACT  # devices are fine: back in service


def test_good_card_after_bad_one_clears_problem(flow: SessionFlow) -> None:
    flow.press(Button.START)
    flow.card_failed()
    present(flow, card())
    assert flow.state == State.CONFIRM and flow.problem is None


@pytest.mark.parametrize(
    ("id_number", "problem"),
    [(make_id("11010119980101003"), Problem.NOT_EXPECTED), (OTHER_ID, Problem.OTHER_CENTRE)],
)
def test_not_on_roster(flow: SessionFlow, id_number: str, problem: Problem) -> None:
    flow.press(Button.START)
    present(flow, card(id_number))
    assert flow.state == State.NOT_ON_ROSTER
    assert flow.view().problem == problem
    flow.press(Button.DONE)
    assert flow.state == State.ATTRACT and flow.student is None


def test_not_me_wipes_student(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONFIRM)
    flow.press(Button.NOT_ME)
    assert flow.state == State.ATTRACT
    assert flow.student is None and flow.view().name_masked == ""


def test_card_read_ignored_mid_session(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    present(flow, card(OTHER_ID))
    assert flow.state == State.GUIDE
    assert flow.student is not None and flow.student.card.id_number == GOOD_ID


# ------------------------------------- slow checks: handed out, answered later


def checks(flow: SessionFlow) -> list:
    """The CHECKs the flow handed out (the other effects are dropped)."""
    return [e.arg for e in flow.drain_effects() if e.kind == EffectKind.CHECK]


class CountingRoster(DictRoster):
    def __init__(self, outcomes: dict[str, RosterOutcome]) -> None:
        super().__init__(outcomes)
        self.looked_up: list[str] = []

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        self.looked_up.append(card.id_number)
        return super().lookup(card, slot)


def test_a_card_is_looked_up_only_when_the_worker_runs_the_check(clock: Clock) -> None:
    roster = CountingRoster({GOOD_ID: RosterOutcome.EXPECTED})
    flow = SessionFlow(FlowConfig(), roster, consent_version="v", staff_pin="2468", clock=clock)
    flow.card_presented(card())
    assert roster.looked_up == []  # not on the caller's (the UI) thread
    v = flow.view()
    assert (v.state, v.checking, v.status) == (State.CHECKING, True, KioskStatus.BUSY)
    [check] = checks(flow)
    answer = check.run()  # what the runtime's worker does
    assert roster.looked_up == [GOOD_ID] and flow.state == State.CHECKING
    flow.checked(check, answer)
    assert flow.state == State.CONFIRM and not flow.view().checking
    assert flow.student is not None and flow.student.card.id_number == GOOD_ID


@pytest.mark.parametrize("answer_order", ["first_then_second", "second_then_first"])
def test_a_second_card_while_checking_is_the_one_checked(flow: SessionFlow, answer_order: str) -> None:
    unknown = make_id("11010119980101003")
    flow.card_presented(card(unknown))
    [first] = checks(flow)
    flow.card_presented(card(GOOD_ID, name="李四"))
    [second] = checks(flow)
    assert flow.state == State.CHECKING
    answers = [(first, first.run()), (second, second.run())]
    for check, answer in answers if answer_order == "first_then_second" else answers[::-1]:
        flow.checked(check, answer)
    # The second card's outcome, with the second card: the first's answer is dropped.
    assert flow.state == State.CONFIRM and flow.problem is None
    assert flow.student is not None and flow.student.card.id_number == GOOD_ID
    assert flow.view().name_masked == "李*"


def test_a_bad_card_while_checking_shows_its_problem(flow: SessionFlow) -> None:
    flow.card_presented(card())
    [check] = checks(flow)
    flow.card_presented(card(valid_until=date.today() - timedelta(days=1)))
    assert (flow.state, flow.problem) == (State.IDENTIFY, Problem.CARD_EXPIRED)
    flow.checked(check, check.run())  # the good card's late answer
    assert (flow.state, flow.problem, flow.student) == (State.IDENTIFY, Problem.CARD_EXPIRED, None)


@pytest.mark.parametrize("leave", ["timeout", "device_failed", "internal_error"])
def test_an_answer_after_leaving_checking_is_dropped(flow: SessionFlow, clock: Clock, leave: str) -> None:
    flow.card_presented(card())
    [check] = checks(flow)
    if leave == "timeout":
        clock.advance(flow.config.timeouts.checking + 1)
        flow.tick()
        assert flow.state == State.ATTRACT
    elif leave == "device_failed":
        flow.device_failed(Device.CAMERA)
    else:
        flow.internal_error()  # the safety net: e.g. the worker's job raised
    left = flow.state
    flow.checked(check, check.run())
    assert flow.state == left and flow.student is None


def test_a_code_is_checked_by_the_worker_and_the_newest_code_counts(clock: Clock) -> None:
    asked: list[str] = []
    owners = {"CHSI-OTHER-00000000000000": "ref-someone-else"}

    def code_owner(payload: str) -> str | None:
        asked.append(payload)
        return owners.get(payload)

    flow = SessionFlow(FlowConfig(), DictRoster({GOOD_ID: RosterOutcome.EXPECTED}), consent_version="v",
                       staff_pin="2468", code_owner=code_owner, clock=clock)
    to_state(flow, clock, State.SCAN_CODE)
    flow.drain_effects()
    flow.code_scanned("CHSI-OTHER-00000000000000")
    [first] = checks(flow)
    assert asked == [] and flow.view().checking and flow.state == State.SCAN_CODE
    flow.code_scanned(CODE)  # the student shows another code meanwhile
    [second] = checks(flow)
    flow.checked(second, second.run())
    assert flow.state == State.GUIDE
    flow.checked(first, first.run())  # the earlier code's answer, late: dropped
    assert flow.state == State.GUIDE and flow.problem is None
    assert flow.student is not None and flow.student.code_payload == CODE
    assert asked == [CODE, "CHSI-OTHER-00000000000000"]


def test_a_bad_code_while_one_is_checked_shows_its_problem(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SCAN_CODE)
    flow.drain_effects()
    flow.code_scanned(CODE)
    [check] = checks(flow)
    flow.code_scanned("https://pay.example.com/1234567890")
    assert flow.problem == Problem.CODE_INVALID and not flow.view().checking
    flow.checked(check, check.run())
    assert flow.state == State.SCAN_CODE and flow.student is not None and flow.student.code_payload == ""


# ------------------------------------------------------------ consent, code


def test_decline_consent_ends_session(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    flow.press(Button.DECLINE)
    assert flow.state == State.ATTRACT and flow.student is None


@pytest.mark.parametrize(
    "payload",
    ["", "short", "https://example.com/pay?x=1234567890", "wxp://f2f0abcdefghijkl", "134567890123456789"],
)
def test_bad_code_keeps_scanning(flow: SessionFlow, clock: Clock, payload: str) -> None:
    to_state(flow, clock, State.SCAN_CODE)
    scan(flow, payload)
    assert flow.state == State.SCAN_CODE
    assert flow.view().problem == Problem.CODE_INVALID
    scan(flow, CODE)
    assert flow.state == State.GUIDE and flow.problem is None


def test_code_problem_accepts_opaque_payload() -> None:
    assert code_problem("q9A+/zX0lK3mN8pR2sT5uV7wY1bC4dE6==") is None


@pytest.mark.parametrize("payload", ["q9A+/zX0lK3mN8pR\n=HYPERLINK(1)", "q9A+/zX0lK3mN8pR\x00ab",
                                     "q9A+/zX0lK3mN8pR\x1b[2Jab", "q9A+/zX0lK3mN8pR\x85ab"])
def test_code_problem_refuses_control_characters(payload: str) -> None:
    # They would ride into the office's spreadsheet (issue 12 item 2).
    assert code_problem(payload) == Problem.CODE_INVALID


# -------------------------------------------------------------- guide, auto


def test_guidance_updates_hints_and_prompts_only_on_change(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    flow.drain_effects()
    flow.guidance([Hint.MOVE_CLOSER, Hint.LEVEL_HEAD], ready=False)
    effects = flow.drain_effects()
    assert [(e.kind, e.arg) for e in effects] == [(EffectKind.PROMPT, "hint.MOVE_CLOSER")]
    flow.guidance([Hint.MOVE_CLOSER], ready=False)
    assert flow.drain_effects() == []
    assert flow.view().hints == (Hint.MOVE_CLOSER,)
    flow.guidance([Hint.OPEN_EYES], ready=False)
    assert [e.arg for e in flow.drain_effects()] == ["hint.OPEN_EYES"]


def test_ready_pose_captures_hands_free(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    flow.guidance([], ready=True)
    assert flow.state == State.COUNTDOWN


def test_no_auto_capture_when_disabled(clock: Clock) -> None:
    flow = make_flow(clock, auto_capture=False)
    to_state(flow, clock, State.GUIDE)
    flow.guidance([], ready=True)
    assert flow.state == State.GUIDE and flow.view().ready
    flow.press(Button.TAKE_PHOTO)
    assert flow.state == State.COUNTDOWN


def test_guidance_outside_guide_is_ignored(flow: SessionFlow) -> None:
    flow.guidance([Hint.NO_FACE], ready=False)
    assert flow.hints == () and flow.state == State.ATTRACT


def test_no_face_in_still_returns_to_guide(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CAPTURING)
    flow.photo_failed(Problem.NO_FACE_IN_PHOTO)
    assert flow.state == State.GUIDE
    assert flow.view().problem == Problem.NO_FACE_IN_PHOTO


# ------------------------------------------------------------------- review


def test_retake_counts_down_and_runs_out(clock: Clock) -> None:
    flow = make_flow(clock, max_retakes=1)
    to_state(flow, clock, State.REVIEW)
    assert flow.view().retakes_left == 1
    flow.press(Button.RETAKE)
    assert flow.state == State.GUIDE and flow.view().photo_jpeg is None
    flow.press(Button.TAKE_PHOTO)
    clock.advance(3)
    flow.tick()
    flow.photo_ready(Photo(spec_jpeg=b"second"))
    assert flow.state == State.REVIEW and flow.view().retakes_left == 0
    flow.press(Button.RETAKE)
    assert flow.state == State.REVIEW  # no retakes left: the button does nothing
    assert flow.view().photo_jpeg == b"second"


def test_non_compliant_photo_cannot_be_accepted(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CAPTURING)
    flow.photo_ready(Photo(compliant=False, problems=["EYE_LINE_OUT_OF_BAND"]))
    assert flow.state == State.REVIEW
    v = flow.view()
    assert not v.photo_compliant and v.photo_problems == ("EYE_LINE_OUT_OF_BAND",)
    assert v.problem == Problem.PHOTO_NOT_COMPLIANT
    flow.press(Button.ACCEPT_PHOTO)
    assert flow.state == State.REVIEW
    assert EffectKind.SAVE_CAPTURE not in kinds(flow)


def test_double_accept_saves_once(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.REVIEW)
    flow.drain_effects()
    flow.press(Button.ACCEPT_PHOTO)
    flow.press(Button.ACCEPT_PHOTO)
    assert kinds(flow).count(EffectKind.SAVE_CAPTURE) == 1


def test_cancel_from_each_cancellable_state(clock: Clock) -> None:
    for state in (State.IDENTIFY, State.MANUAL_ENTRY, State.CONFIRM, State.CONSENT, State.SCAN_CODE, State.GUIDE, State.REVIEW):
        flow = make_flow(clock)
        to_state(flow, clock, state)
        flow.press(Button.CANCEL)
        assert flow.state == State.ATTRACT, state
        assert flow.student is None


def test_cancel_ignored_while_saving(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.press(Button.CANCEL)
    assert flow.state == State.SAVING


# ------------------------------------------------------------------ timeouts


TIMED = [s for s in State if s not in (State.ATTRACT, State.RECEIPT, State.CALL_STAFF, State.STAFF)]


@pytest.mark.parametrize("state", TIMED + [State.RECEIPT])
def test_every_student_state_times_out_and_wipes(clock: Clock, state: State) -> None:
    flow = make_flow(clock, countdown_seconds=10, timeouts=TimeoutsConfig(countdown=5))
    to_state(flow, clock, state)
    limit = getattr(flow.config.timeouts, state.value)
    clock.advance(limit - 0.5)
    flow.tick()
    assert flow.state == state, "timed out too early"
    clock.advance(0.6)
    flow.tick()
    assert flow.state == State.ATTRACT
    v = flow.view()
    assert flow.student is None
    assert (v.name_masked, v.id_masked, v.photo_jpeg, v.capture_id, v.hints) == ("", "", None, "", ())


def test_activity_restarts_the_timeout(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SCAN_CODE)
    limit = flow.config.timeouts.scan_code
    clock.advance(limit - 1)
    scan(flow, "bad")  # the student is still there
    clock.advance(2)
    flow.tick()
    assert flow.state == State.SCAN_CODE


def test_frames_alone_do_not_keep_a_session_alive(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    for _ in range(int(flow.config.timeouts.guide) + 1):
        clock.advance(1)
        flow.guidance([Hint.NO_FACE], ready=False)
        flow.tick()
    assert flow.state == State.ATTRACT


def test_attract_never_times_out(flow: SessionFlow, clock: Clock) -> None:
    clock.advance(10**6)
    flow.tick()
    assert flow.state == State.ATTRACT


def test_staff_mode_logs_out_after_timeout(flow: SessionFlow, clock: Clock) -> None:
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    clock.advance(flow.config.timeouts.staff)
    flow.tick()
    assert flow.state == State.ATTRACT and not flow.staff_unlocked


def test_view_counts_seconds_left(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    clock.advance(10)
    assert flow.view().seconds_left == int(flow.config.timeouts.consent) - 10


# ------------------------------------------------------------------ failsafe


@pytest.mark.parametrize("state", [State.ATTRACT, *(s for s in TIMED if s != State.SAVING)])
def test_device_failure_anywhere_calls_staff_and_recovers(flow: SessionFlow, clock: Clock, state: State) -> None:
    to_state(flow, clock, state)
    flow.drain_effects()
    flow.device_failed(Device.CAMERA)
    assert flow.state == State.CALL_STAFF
    assert flow.status == KioskStatus.ERROR
    assert flow.view().problem == Problem.CAMERA_FAILED
    assert flow.view().failed_devices == (Device.CAMERA,)
    assert EffectKind.LIGHTS_OFF in kinds(flow)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT
    assert flow.status == KioskStatus.READY
    assert flow.student is None


def test_recovery_waits_for_every_device(flow: SessionFlow) -> None:
    flow.device_failed(Device.CAMERA)
    flow.device_failed(Device.ID_READER)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.CALL_STAFF and flow.status == KioskStatus.ERROR
    flow.device_ok(Device.ID_READER)
    assert flow.state == State.ATTRACT


def test_call_staff_timeout_wipes_but_stays_out_of_service(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    flow.device_failed(Device.CAMERA)
    assert flow.student is not None
    clock.advance(flow.config.timeouts.call_staff)
    flow.tick()
    assert flow.state == State.CALL_STAFF
    assert flow.student is None and flow.view().name_masked == ""
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT


def test_save_failure_calls_staff_with_disk_full(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.save_failed(Problem.DISK_FULL)
    assert flow.state == State.CALL_STAFF
    assert flow.view().problem == Problem.DISK_FULL
    flow.device_ok(Device.STORE)
    assert flow.state == State.ATTRACT


def test_device_ok_for_a_healthy_device_changes_nothing(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.CONSENT


def test_student_call_staff_is_not_ended_by_device_recovery(clock: Clock) -> None:
    flow = make_flow(clock, max_card_errors=1)
    flow.press(Button.START)
    flow.card_failed()
    assert flow.state == State.CALL_STAFF
    flow.device_failed(Device.LIGHTS)
    flow.device_ok(Device.LIGHTS)
    assert flow.state == State.ATTRACT  # the device problem replaced the card one


# -------------------------------------------------------------------- staff


def test_staff_pin(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    assert flow.state == State.STAFF and not flow.view().staff_unlocked
    assert flow.status == KioskStatus.STAFF
    flow.enter_pin("0000")
    assert flow.view().problem == Problem.PIN_WRONG and not flow.staff_unlocked
    flow.enter_pin("2468")
    assert flow.staff_unlocked and flow.problem is None
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.ATTRACT and not flow.staff_unlocked


def test_three_wrong_pins_leave_staff_mode(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    for _ in range(3):
        flow.enter_pin("1111")
    assert flow.state == State.ATTRACT


def test_staff_mode_from_call_staff_and_exit_while_broken(flow: SessionFlow) -> None:
    flow.device_failed(Device.ID_READER)
    flow.press(Button.STAFF)
    assert flow.state == State.STAFF
    flow.device_failed(Device.CAMERA)  # staff stay in staff mode
    assert flow.state == State.STAFF and flow.status == KioskStatus.ERROR
    flow.enter_pin("2468")
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.CALL_STAFF
    flow.device_ok(Device.ID_READER)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT


def test_staff_button_not_available_mid_session(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    flow.press(Button.STAFF)
    assert flow.state == State.CONSENT


# ------------------------------------------------------------------- status


def test_status_reflects_sync_queue_and_offline(flow: SessionFlow, clock: Clock) -> None:
    assert flow.status == KioskStatus.READY
    flow.sync = SyncInfo(configured=True)
    flow.set_sync(queue_depth=3, online=True)
    assert flow.status == KioskStatus.QUEUE
    flow.set_sync(queue_depth=3, online=False)
    assert flow.status == KioskStatus.OFFLINE
    to_state(flow, clock, State.CONSENT)
    assert flow.status == KioskStatus.BUSY


def test_without_a_server_a_backlog_is_not_shown_as_waiting(flow: SessionFlow) -> None:
    flow.set_sync(queue_depth=3, online=False)
    assert flow.status == KioskStatus.READY
    assert flow.view().queue_depth == 3 and not flow.view().sync_configured


# -------------------------------------------------------------- invariants


def test_flow_module_imports_no_kivy_or_device_library() -> None:
    package = Path(kiosk.session.__file__).parent
    names = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
    assert not names & {"kivy", "gpiozero", "picamera2", "smartcard", "serial", "cv2", "mediapipe"}


def test_every_state_has_a_timeout_setting_or_is_attract() -> None:
    timeouts = TimeoutsConfig()
    for state in State:
        if state != State.ATTRACT:
            assert getattr(timeouts, state.value) > 0, state


def test_code_already_bound_to_another_student_is_refused(clock: Clock) -> None:
    owners = {CODE: "ref-someone-else", "CHSI-MINE-000000000000000": "ref-" + GOOD_ID[-4:]}
    flow = SessionFlow(
        FlowConfig(), DictRoster({GOOD_ID: RosterOutcome.EXPECTED}), consent_version="v",
        staff_pin="2468", code_owner=owners.get, clock=clock,
    )
    to_state(flow, clock, State.SCAN_CODE)
    scan(flow, CODE)
    assert flow.state == State.SCAN_CODE
    assert flow.view().problem == Problem.CODE_USED_BY_OTHER
    scan(flow, "CHSI-MINE-000000000000000")  # the student's own earlier code: a retake
    assert flow.state == State.GUIDE


# ----------------------------------------------------------- staff mode pages


def unlocked_staff(flow: SessionFlow) -> SessionFlow:
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    assert flow.state == State.STAFF and flow.staff_unlocked
    return flow


def test_staff_pages_open_only_after_the_pin_and_reset_on_leaving(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.press(Button.STAFF_SYNC)
    assert flow.view().staff_page == "status"  # locked: the PIN pad, no pages
    flow.enter_pin("2468")
    for button, page in ((Button.STAFF_SYNC, "sync"), (Button.STAFF_REJECTED, "rejected"),
                         (Button.STAFF_SCHEDULE, "schedule"), (Button.STAFF_STATUS, "status"),
                         (Button.STAFF_REJECTED, "rejected")):
        flow.press(button)
        assert flow.view().staff_page == page
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.ATTRACT and flow.view().staff_page == "status"
    flow.press(Button.STAFF_SYNC)  # not in staff mode: nothing
    unlocked_staff(flow)
    assert flow.view().staff_page == "status"  # staff mode opens on its first page


def test_retry_rejected_is_asked_of_the_runtime_only_when_unlocked(flow: SessionFlow) -> None:
    flow.press(Button.RETRY_REJECTED)
    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.RETRY_REJECTED)
    assert kinds(flow) == []
    flow.enter_pin("2468")
    flow.press(Button.RETRY_REJECTED)
    assert kinds(flow) == [EffectKind.RETRY_REJECTED]
    assert flow.state == State.STAFF


def test_backdrop_calibration_one_at_a_time_and_its_result_shown_in_staff_mode(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.CALIBRATE_BACKDROP)  # locked: nothing
    assert kinds(flow) == [] and flow.view().backdrop_result is None
    flow.enter_pin("2468")
    flow.press(Button.STAFF_SYNC)
    flow.press(Button.CALIBRATE_BACKDROP)
    flow.press(Button.CALIBRATE_BACKDROP)  # a second touch while measuring: nothing more
    assert kinds(flow) == [EffectKind.CALIBRATE_BACKDROP]
    view = flow.view()
    assert (view.backdrop_result, view.staff_page) == (BackdropResult.MEASURING, "status")
    at = datetime(2026, 11, 22, 1, 5, tzinfo=timezone.utc)
    flow.backdrop_calibrated(BackdropResult.NOT_EMPTY, None)
    assert flow.view().backdrop_result == BackdropResult.NOT_EMPTY and flow.view().backdrop_at is None
    flow.press(Button.CALIBRATE_BACKDROP)  # try again
    flow.backdrop_calibrated(BackdropResult.OK, at)
    assert (flow.view().backdrop_result, flow.view().backdrop_at) == (BackdropResult.OK, at)
    flow.press(Button.STAFF_EXIT)
    assert flow.view().backdrop_result is None and flow.view().backdrop_at == at
    unlocked_staff(flow)
    assert flow.view().backdrop_result is None  # last visit's result is not news


def test_usb_exchange_one_at_a_time_and_its_outcome_shown_on_the_sync_page(flow: SessionFlow) -> None:
    from kiosk.session import UsbOutcome

    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.USB_EXCHANGE)  # locked: nothing
    assert kinds(flow) == [] and flow.view().usb is None
    flow.enter_pin("2468")
    flow.press(Button.USB_EXCHANGE)
    flow.press(Button.USB_EXCHANGE)  # a second touch while working: nothing more
    assert kinds(flow) == [EffectKind.USB_EXCHANGE]
    view = flow.view()
    assert (view.usb, view.staff_page) == (UsbOutcome(UsbResult.WORKING), "sync")
    flow.usb_exchanged(UsbOutcome(UsbResult.NO_STICK))
    assert flow.view().usb == UsbOutcome(UsbResult.NO_STICK)
    flow.press(Button.USB_EXCHANGE)  # stick plugged in: try again
    assert kinds(flow) == [EffectKind.USB_EXCHANGE]
    done = UsbOutcome(UsbResult.DONE, acknowledged=3, exported=2)
    flow.usb_exchanged(done)
    assert flow.view().usb == done
    flow.press(Button.STAFF_EXIT)
    assert flow.view().usb is None
    unlocked_staff(flow)
    assert flow.view().usb is None  # last visit's outcome is not news


def test_sync_detail_reaches_the_view_and_survives_queue_updates(flow: SessionFlow) -> None:
    at = datetime(2026, 11, 22, 2, 30, tzinfo=timezone.utc)
    refused = (RejectedCapture("a1b2c3d4", RejectReason.CONFLICT),)
    flow.sync = SyncInfo(configured=True)
    flow.set_sync(2, False, last_success=at, problem=SyncProblem.TOKEN_REVOKED,
                  uploads_stopped=True, rejected=refused, rejected_total=1)
    flow.set_sync(3, False)  # the runtime's periodic queue count keeps the rest
    flow.set_free_disk(4096)
    v = unlocked_staff(flow).view()
    assert v.sync.queue_depth == v.queue_depth == 3 and not v.online and v.sync_configured
    assert v.sync.last_success == at and v.sync.problem == SyncProblem.TOKEN_REVOKED
    assert v.sync.uploads_stopped and v.sync.rejected == refused and v.free_mb == 4096
    assert GOOD_ID not in repr(v)


# ------------------------------------------------------------------ sessions

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 22, tzinfo=TZ)  # a Sunday at a learning centre in Beijing
MORNING_ID = make_id("11010119990307002")  # == GOOD_ID
AFTERNOON_ID = make_id("11010120000101004")
EVENING_ID = make_id("31010420001102246")
ELSEWHERE_ID = make_id("51010720000405358")


class WallClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def schedule_document() -> dict:
    """As GET /api/v1/schedule answers (times in UTC)."""
    def session(name: str, start: int, end: int) -> dict:
        return {"session": name, "centre": "centre-a",
                "starts_at": (DAY + timedelta(hours=start)).astimezone(timezone.utc).isoformat(),
                "ends_at": (DAY + timedelta(hours=end)).astimezone(timezone.utc).isoformat()}
    return {"centre": "centre-a", "sessions": [
        session("afternoon", 14, 17), session("morning", 9, 12), session("evening", 19, 21),
        session("monday", 24 + 9, 24 + 12)]}


@pytest.fixture
def roster_csv(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("id_number,name,programme,centre,session\n"
                    f"{MORNING_ID},张三,会计学,centre-a,morning\n"
                    f"{AFTERNOON_ID},李四,法学,centre-a,Afternoon\n"
                    f"{EVENING_ID},王五,法学,centre-a,evening\n"
                    f"{ELSEWHERE_ID},赵六,法学,centre-b,morning\n", encoding="utf-8")
    return path


def session_flow(clock: Clock, wall: WallClock, roster_csv: Path, *, makeup: bool = False,
                 schedule: bool = True) -> SessionFlow:
    roster = CsvRoster(roster_csv, "centre-a", "config-session", makeup_mode=makeup)
    flow = SessionFlow(FlowConfig(), roster, consent_version="v", staff_pin="2468", clock=clock,
                       session="config-session", tz=TZ, now=wall)
    if schedule:
        flow.set_schedule(Schedule.from_document(schedule_document(), TZ))
    return flow


def identify(flow: SessionFlow, id_number: str) -> State:
    flow.press(Button.START)
    present(flow, card(id_number))
    return flow.state


def test_the_session_whose_window_covers_now_is_recorded(clock: Clock, roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=10))
    flow = session_flow(clock, wall, roster_csv)
    assert identify(flow, MORNING_ID) == State.CONFIRM
    assert flow.student is not None and flow.student.session == "morning"
    assert not flow.student.match.makeup
    flow.press(Button.NOT_ME)
    # The same booth in the afternoon: the afternoon's students, recorded as such.
    wall.now = DAY + timedelta(hours=15)
    assert identify(flow, AFTERNOON_ID) == State.CONFIRM
    assert flow.student is not None and flow.student.session == "afternoon"
    flow.press(Button.NOT_ME)
    assert identify(flow, EVENING_ID) == State.NOT_ON_ROSTER  # later today: not yet
    assert flow.view().problem == Problem.OTHER_CENTRE


def test_a_student_of_a_past_session_is_a_makeup_only_when_allowed(clock: Clock,
                                                                    roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=15))
    flow = session_flow(clock, wall, roster_csv)
    assert identify(flow, MORNING_ID) == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.MISSED_SESSION
    flow.press(Button.DONE)
    assert identify(flow, ELSEWHERE_ID) == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.OTHER_CENTRE

    flow = session_flow(clock, wall, roster_csv, makeup=True)
    assert identify(flow, MORNING_ID) == State.CONFIRM
    student = flow.student
    assert student is not None and student.match.makeup and student.match.session == "morning"
    assert student.session == "afternoon"  # taken during the afternoon session
    flow.press(Button.NOT_ME)
    assert identify(flow, AFTERNOON_ID) == State.CONFIRM  # their own session: not a makeup
    assert flow.student is not None and not flow.student.match.makeup


def test_a_makeup_between_sessions_keeps_the_missed_session(clock: Clock, roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=12, minutes=30))  # lunch: no session covers now
    flow = session_flow(clock, wall, roster_csv, makeup=True)
    assert flow.view().session == ""
    assert identify(flow, MORNING_ID) == State.CONFIRM
    assert flow.student is not None and flow.student.match.makeup
    assert flow.student.session == "morning"
    flow.press(Button.NOT_ME)
    closed = session_flow(clock, wall, roster_csv)
    assert identify(closed, AFTERNOON_ID) == State.NOT_ON_ROSTER  # not before 14:00
    closed.press(Button.DONE)
    assert identify(closed, MORNING_ID) == State.NOT_ON_ROSTER
    assert closed.view().problem == Problem.MISSED_SESSION


def test_the_recorded_session_reaches_the_capture_request(clock: Clock, roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=9, minutes=59))
    flow = session_flow(clock, wall, roster_csv, makeup=True)
    present(flow, card(MORNING_ID))
    wall.now = DAY + timedelta(hours=12, minutes=5)  # the window closes mid-session
    for step in (lambda: flow.press(Button.CONFIRM_IDENTITY), lambda: flow.press(Button.AGREE),
                 lambda: scan(flow, CODE), lambda: flow.press(Button.TAKE_PHOTO),
                 lambda: (clock.advance(3), flow.tick()), lambda: flow.photo_ready(Photo())):
        step()
    flow.drain_effects()
    flow.press(Button.ACCEPT_PHOTO)
    saves = [e.arg for e in flow.drain_effects() if e.kind == EffectKind.SAVE_CAPTURE]
    assert len(saves) == 1
    # decided when the student was identified, as a regular of the morning
    assert saves[0].student.session == "morning" and not saves[0].student.match.makeup


@pytest.mark.parametrize("schedule", ["none", "empty"])
def test_without_a_schedule_the_config_session_rules(clock: Clock, roster_csv: Path,
                                                     schedule: str) -> None:
    wall = WallClock(DAY + timedelta(hours=10))
    flow = session_flow(clock, wall, roster_csv, makeup=True, schedule=False)
    if schedule == "empty":  # the school imported none for this centre
        flow.set_schedule(Schedule.from_document({"centre": "centre-a", "sessions": []}, TZ))
    v = flow.view()
    assert not v.schedule_known and v.session == "config-session" and v.session_now is None
    assert identify(flow, MORNING_ID) == State.CONFIRM
    assert flow.student is not None and flow.student.session == "config-session"
    assert flow.student.match.makeup  # "morning" is not the config's session
    # and without makeup mode, as before: another session is "other centre or session"
    flow = session_flow(clock, wall, roster_csv, schedule=False)
    assert identify(flow, MORNING_ID) == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.OTHER_CENTRE


def test_view_shows_todays_session_window_and_staff_the_schedule(clock: Clock,
                                                                 roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=10))
    flow = session_flow(clock, wall, roster_csv)
    v = flow.view()
    assert v.schedule_known and v.session == "morning" and v.sessions_today == 3
    assert v.session_now is not None and v.session_now.name == "morning"
    assert v.session_now.starts_at.hour == 9 and v.session_now.starts_at.tzinfo == TZ
    assert v.session_next is not None and v.session_next.name == "afternoon"
    assert v.schedule == ()  # only staff mode lists it
    wall.now = DAY + timedelta(hours=12, minutes=30)
    v = flow.view()
    assert v.session_now is None and v.session == "" and v.session_next.name == "afternoon"
    wall.now = DAY + timedelta(hours=22)
    v = flow.view()
    assert v.session_now is None and v.session_next is None and v.sessions_today == 3
    rows = unlocked_staff(flow).view().schedule
    assert [s.name for s in rows] == ["morning", "afternoon", "evening", "monday"]
    assert [s.when(wall.now) for s in rows] == ["past", "past", "past", "later"]
    assert flow.view().makeup_mode is False


# ------------------------------------------- the booth's date, not the host's (issue 12 item 7)


@pytest.fixture
def host_in_new_york():
    """The host's local time zone is New York; the booth is in Shanghai (13 h ahead)."""
    import os
    import time

    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


# 00:30 on 2031-03-02 in Shanghai, still 2031-03-01 on the host (and years
# from the real date, so the host's own clock cannot give the right answer).
BOOTH_MIDNIGHT = datetime(2031, 3, 1, 16, 30, tzinfo=timezone.utc)


def shanghai_flow(clock: Clock) -> SessionFlow:
    roster = DictRoster({GOOD_ID: RosterOutcome.EXPECTED})
    return SessionFlow(FlowConfig(), roster, consent_version="v", staff_pin="2468", clock=clock,
                       tz=ZoneInfo("Asia/Shanghai"), now=lambda: BOOTH_MIDNIGHT)


def test_card_expiring_yesterday_in_the_booths_zone_is_expired(clock: Clock, host_in_new_york) -> None:
    assert datetime.fromtimestamp(BOOTH_MIDNIGHT.timestamp()).date() == date(2031, 3, 1)  # host
    flow = shanghai_flow(clock)
    assert flow.today() == date(2031, 3, 2)
    present(flow, card(valid_until=date(2031, 3, 1)))
    assert flow.problem == Problem.CARD_EXPIRED and flow.state == State.IDENTIFY
    present(flow, card(valid_until=date(2031, 3, 2)))  # valid through today
    assert flow.state == State.CONFIRM


def test_birth_date_and_consent_time_use_the_booths_clock(clock: Clock, host_in_new_york) -> None:
    born_today = make_id("11010120310302001")  # born on the booth's today: not in the future
    flow = shanghai_flow(clock)
    flow.roster.outcomes[born_today] = RosterOutcome.EXPECTED
    present(flow, card(born_today))
    assert flow.state == State.CONFIRM
    flow.press(Button.CONFIRM_IDENTITY)
    flow.press(Button.AGREE)
    assert flow.student is not None and flow.student.consent_time == BOOTH_MIDNIGHT
    flow.press(Button.CANCEL)
    # Typed by staff: the same date decides.
    flow.press(Button.START)
    flow.press(Button.MANUAL_ENTRY)
    flow.enter_pin("2468")
    enter(flow, make_id("11010120310303001"))  # tomorrow in Shanghai
    assert flow.problem == Problem.ID_BAD_BIRTH_DATE
    enter(flow, born_today)
    assert flow.state == State.CONFIRM


# ------------------------------------- a saved student is always told (issue 12 item 6)


@pytest.mark.parametrize("failure", ["camera unplugged", "disk crossed min_free_mb", "internal error"])
def test_a_failure_while_saving_waits_until_the_student_has_the_receipt(
        flow: SessionFlow, clock: Clock, failure: str) -> None:
    to_state(flow, clock, State.SAVING)
    fail = {
        "camera unplugged": lambda: flow.device_failed(Device.CAMERA),
        "disk crossed min_free_mb": lambda: flow.device_failed(Device.STORE, Problem.DISK_FULL),
        "internal error": flow.internal_error,
    }[failure]
    fail()
    assert flow.state == State.SAVING  # the save goes on; the student waits for its outcome
    flow.saved("cap-1")
    assert flow.state == State.RECEIPT and flow.view().capture_id == "cap-1"
    fail()  # and again while the receipt is shown
    assert flow.state == State.RECEIPT
    flow.press(Button.DONE)
    expected = {"camera unplugged": Problem.CAMERA_FAILED, "disk crossed min_free_mb": Problem.DISK_FULL,
                "internal error": Problem.INTERNAL_ERROR}[failure]
    assert flow.state == State.CALL_STAFF and flow.problem == expected
    assert flow.student is None


def test_save_failure_still_calls_staff_at_once(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.save_failed(Problem.DISK_FULL)
    assert flow.state == State.CALL_STAFF and flow.problem == Problem.DISK_FULL
    assert flow.view().failed_devices == (Device.STORE,)


@pytest.mark.parametrize("state", [State.ATTRACT, State.GUIDE, State.REVIEW])
def test_internal_error_calls_staff_then_times_out_back(flow: SessionFlow, clock: Clock, state: State) -> None:
    to_state(flow, clock, state)
    flow.drain_effects()
    flow.internal_error()
    assert flow.state == State.CALL_STAFF and flow.problem == Problem.INTERNAL_ERROR
    assert flow.status == KioskStatus.ERROR
    assert EffectKind.LIGHTS_OFF in kinds(flow)
    clock.advance(flow.config.timeouts.call_staff)
    flow.tick()  # not a device: the kiosk is back in service after the timeout
    assert flow.state == State.ATTRACT and flow.student is None and flow.problem is None


def test_internal_error_leaves_staff_mode_alone(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.internal_error()
    assert flow.state == State.STAFF


def test_a_failed_roster_keeps_the_booth_out_of_service_with_the_reason(flow: SessionFlow) -> None:
    reason = "/etc/roster.csv: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
    flow.device_failed(Device.ROSTER, detail=reason)
    view = flow.view()
    assert (view.state, view.problem, view.problem_detail) == (State.CALL_STAFF, Problem.ROSTER_UNUSABLE, reason)
    assert view.failed_devices == (Device.ROSTER,)
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.CALL_STAFF and flow.view().problem_detail == reason
    flow.device_ok(Device.ROSTER)
    assert flow.state == State.ATTRACT and flow.view().problem_detail == ""
