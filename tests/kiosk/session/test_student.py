"""The student's way through the flow: every transition from card to receipt,
the slow checks, the recorded session and the booth's date (no Kivy, no devices)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.codes import Button, Device, Hint, KioskStatus, Problem, State
from kiosk.config import FlowConfig
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome
from kiosk.identity.schedule import Schedule, SessionSlot
from kiosk.session import EffectKind, SessionFlow, code_problem

from session_harness import (
    AFTERNOON_ID, CODE, DAY, ELSEWHERE_ID, EVENING_ID, GOOD_ID, MORNING_ID, OTHER_ID, TZ, Clock,
    DictRoster, Photo, WallClock, card, enter, identify, kinds, make_flow, make_id, present, scan,
    session_flow, to_state,
)


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


def test_confirm_view_masks_the_id_and_shows_the_cards_name(flow: SessionFlow,
                                                           clock: Clock) -> None:
    to_state(flow, clock, State.CONFIRM)
    v = flow.view()
    assert v.id_masked == GOOD_ID[:6] + "********" + GOOD_ID[-4:]
    assert GOOD_ID not in repr(v)
    # The person holding the card checks the name as the card gives it (issue 22, item 6).
    assert v.name == "张三丰" and not v.name_disputed
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
    assert flow.student is None and flow.view().name == ""


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
    assert flow.view().name == "李四"


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


# ------------------------------------------------------------------ sessions


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
    # ...and told their own session, place and time (issue 22, item 4).
    v = flow.view()
    assert (v.own_session, v.own_centre) == ("evening", "centre-a")
    assert v.own_window is not None and v.own_window.name == "evening"


def test_a_student_of_a_past_session_is_a_makeup_only_when_allowed(clock: Clock,
                                                                    roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=15))
    flow = session_flow(clock, wall, roster_csv)
    assert identify(flow, MORNING_ID) == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.MISSED_SESSION
    flow.press(Button.DONE)
    assert identify(flow, ELSEWHERE_ID) == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.OTHER_CENTRE
    # Another centre: its place (the booth knows only its own centre's times).
    v = flow.view()
    assert (v.own_session, v.own_centre, v.own_window) == ("morning", "centre-b", None)

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


# ------------------------------------------- the name from the card (issue 22)


def test_details_wrong_is_noted_and_the_student_goes_on(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONFIRM)
    flow.drain_effects()
    flow.press(Button.NAME_WRONG)
    assert flow.state == State.CONFIRM and flow.view().name_disputed
    assert [(e.kind, e.arg) for e in flow.drain_effects()] == [
        (EffectKind.PROMPT, "prompt.name_disputed")]
    flow.press(Button.NAME_WRONG)  # said once
    assert flow.drain_effects() == []
    flow.press(Button.CONFIRM_IDENTITY)
    assert flow.state == State.CONSENT
    assert flow.student is not None and flow.student.name_disputed


def test_a_card_without_a_name_shows_none(flow: SessionFlow) -> None:
    present(flow, card(name="", uid="04A2C3D4"))
    v = flow.view()
    assert flow.state == State.CONFIRM and v.name == "" and v.id_method == "card"


def test_a_refused_student_is_told_why_before_going_on(flow: SessionFlow) -> None:
    retake = RosterMatch(RosterOutcome.EXPECTED, student_ref="ref-1", retake_reason="glasses_glare")
    flow.roster.lookup = lambda card, slot=None: retake
    present(flow, card())
    assert flow.state == State.CONFIRM and flow.view().retake_reason == "glasses_glare"
    prompts = [e.arg for e in flow.drain_effects() if e.kind == EffectKind.PROMPT]
    assert prompts == ["retake.glasses_glare"]  # instead of the usual confirm prompt


def test_each_student_screen_is_spoken_on_arrival(flow: SessionFlow, clock: Clock) -> None:
    said: list[str] = []

    def step(do) -> None:
        do()
        said.extend(e.arg for e in flow.drain_effects() if e.kind == EffectKind.PROMPT)

    step(lambda: flow.press(Button.START))
    flow.card_presented(card())
    step(lambda: [flow.checked(e.arg, e.arg.run()) for e in flow.drain_effects()
                  if e.kind == EffectKind.CHECK])
    step(lambda: flow.press(Button.CONFIRM_IDENTITY))
    step(lambda: flow.press(Button.AGREE))
    assert said == ["prompt.identify", "prompt.confirm", "prompt.consent", "prompt.scan_code"]
    flow.press(Button.CANCEL)
    to_state(flow, clock, State.RECEIPT)
    assert "prompt.saved" in [e.arg for e in flow.drain_effects() if e.kind == EffectKind.PROMPT]


def test_the_receipt_stays_two_minutes_and_gives_a_reference(flow: SessionFlow,
                                                             clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.saved("49985f9b0c1d4e2fa3b4c5d6e7f80912")
    v = flow.view()
    assert v.state == State.RECEIPT and v.reference == "4998-5F9B"
    assert v.photo_jpeg  # their photo, on the receipt
    clock.advance(110)
    flow.tick()
    assert flow.state == State.RECEIPT  # still reading
    clock.advance(11)
    flow.tick()
    assert flow.state == State.ATTRACT and flow.view().reference == ""
