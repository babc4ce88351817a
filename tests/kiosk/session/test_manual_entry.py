"""Staff-assisted manual entry of the ID number (temporary or lost card)."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.codes import Button, Problem, State
from kiosk.config import FlowConfig, TimeoutsConfig
from kiosk.domain import RosterOutcome
from kiosk.session import SessionFlow
from photo_wire.idnumber import check_character, entry_problem, group_id
from session_harness import GOOD_ID, OTHER_ID, Clock, DictRoster, enter, make_id, present

UNKNOWN_ID = make_id("11010119980101003")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_flow(clock: Clock, **cfg) -> SessionFlow:
    roster = DictRoster({GOOD_ID: RosterOutcome.EXPECTED, OTHER_ID: RosterOutcome.OTHER_CENTRE})
    return SessionFlow(FlowConfig(**cfg), roster, consent_version="v-test", staff_pin="2468", clock=clock)


@pytest.fixture
def flow(clock: Clock) -> SessionFlow:
    f = make_flow(clock)
    f.press(Button.START)
    f.press(Button.MANUAL_ENTRY)
    assert f.state == State.MANUAL_ENTRY
    return f


def unlocked(flow: SessionFlow) -> SessionFlow:
    flow.enter_pin("2468")
    assert flow.view().staff_unlocked
    return flow


def test_button_only_on_identify_and_only_when_enabled(clock: Clock) -> None:
    f = make_flow(clock)
    f.press(Button.MANUAL_ENTRY)
    assert f.state == State.ATTRACT
    off = make_flow(clock, manual_entry=False)
    off.press(Button.START)
    off.press(Button.MANUAL_ENTRY)
    assert off.state == State.IDENTIFY


def test_pin_required_before_a_number_counts(flow: SessionFlow) -> None:
    assert not flow.view().staff_unlocked
    enter(flow, GOOD_ID)
    assert flow.state == State.MANUAL_ENTRY and flow.student is None
    enter(unlocked(flow), GOOD_ID)
    assert flow.state == State.CONFIRM


def test_wrong_pin_three_times_goes_back_to_attract(flow: SessionFlow) -> None:
    flow.enter_pin("1111")
    assert flow.view().problem == Problem.PIN_WRONG and not flow.view().staff_unlocked
    flow.enter_pin("0000")
    assert flow.state == State.MANUAL_ENTRY
    flow.enter_pin("9999")
    assert flow.state == State.ATTRACT
    assert not flow.staff_unlocked and flow.problem is None


def test_valid_number_goes_to_confirm_as_manual(flow: SessionFlow) -> None:
    enter(unlocked(flow), GOOD_ID.lower())
    assert flow.state == State.CONFIRM
    assert flow.student is not None
    assert flow.student.id_method == "manual"
    assert flow.student.card.id_number == GOOD_ID and flow.student.card.name == ""
    v = flow.view()
    assert v.name == "" and v.id_masked == GOOD_ID[:6] + "********" + GOOD_ID[-4:]
    assert v.programme == "会计学"
    assert v.id_entry == "" and not v.staff_unlocked  # the typed number stays on its screen


def test_card_sessions_are_recorded_as_card(clock: Clock) -> None:
    from session_harness import card

    f = make_flow(clock)
    present(f, card())
    assert f.student is not None and f.student.id_method == "card"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD_ID[:17], Problem.ID_TOO_SHORT),
        ("", Problem.ID_TOO_SHORT),
        ("11010119991307002X", Problem.ID_BAD_BIRTH_DATE),
        (GOOD_ID[:17] + ("1" if GOOD_ID[17] != "1" else "2"), Problem.ID_BAD_CHECK_CHARACTER),
        ("0" + GOOD_ID[1:], Problem.CARD_INVALID_NUMBER),
        ("990101", Problem.ID_BAD_AREA_CODE),
        (make_id("11000019990307002"), Problem.ID_BAD_AREA_CODE),
    ],
)
def test_invalid_number_stays_with_the_reason(flow: SessionFlow, text: str, problem: Problem) -> None:
    enter(unlocked(flow), text)
    assert flow.state == State.MANUAL_ENTRY
    assert flow.view().problem == problem
    assert flow.view().id_entry == text
    assert flow.student is None


def test_unknown_number_goes_to_not_on_roster(flow: SessionFlow) -> None:
    enter(unlocked(flow), UNKNOWN_ID)
    assert flow.state == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.NOT_EXPECTED


def test_other_centre_number_is_refused_like_a_card(flow: SessionFlow) -> None:
    enter(unlocked(flow), OTHER_ID)
    assert flow.state == State.NOT_ON_ROSTER
    assert flow.view().problem == Problem.OTHER_CENTRE


@pytest.mark.parametrize("pin_first", [False, True])
def test_timeout_wipes(flow: SessionFlow, clock: Clock, pin_first: bool) -> None:
    if pin_first:
        enter(unlocked(flow), GOOD_ID[:10])
    limit = TimeoutsConfig().manual_entry
    clock.advance(limit - 0.5)
    flow.tick()
    assert flow.state == State.MANUAL_ENTRY
    clock.advance(0.6)
    flow.tick()
    assert flow.state == State.ATTRACT
    v = flow.view()
    assert flow.student is None and not flow.staff_unlocked
    assert (v.id_entry, v.id_masked, v.problem, v.staff_unlocked) == ("", "", None, False)


def test_cancel_returns_to_attract(flow: SessionFlow) -> None:
    enter(unlocked(flow), GOOD_ID[:12])
    flow.press(Button.CANCEL)
    assert flow.state == State.ATTRACT
    assert flow.view().id_entry == "" and not flow.staff_unlocked


def test_pin_is_asked_again_on_every_visit(flow: SessionFlow) -> None:
    unlocked(flow)
    flow.press(Button.CANCEL)
    flow.press(Button.START)
    flow.press(Button.MANUAL_ENTRY)
    assert not flow.view().staff_unlocked


def test_card_problem_of_identify_is_not_carried_over(clock: Clock) -> None:
    from session_harness import card

    f = make_flow(clock)
    f.press(Button.START)
    present(f, card("110101199903070021"))
    assert f.problem is not None
    f.press(Button.MANUAL_ENTRY)
    assert f.view().problem is None


def test_manual_pin_does_not_open_staff_mode(flow: SessionFlow) -> None:
    unlocked(flow)
    flow.press(Button.CANCEL)
    flow.press(Button.STAFF)
    assert flow.state == State.STAFF and not flow.view().staff_unlocked


def test_entry_problem_live_checks() -> None:
    today = date(2026, 11, 22)
    assert entry_problem("1101", today) == "too_short"
    assert entry_problem("11010119991307", today) == "bad_birth_date"  # found before the end
    assert entry_problem("11010120300101", today) == "bad_birth_date"  # in the future
    assert entry_problem(GOOD_ID, today) is None
    assert entry_problem("12X", today) == "bad_number"
    assert entry_problem("99", today) == "too_short"  # the area is judged once all 6 digits are in
    assert entry_problem("990101", today) == "bad_area_code"


def test_entry_problem_agrees_with_is_valid() -> None:
    import random

    from photo_wire.idnumber import is_valid

    rng = random.Random(7)
    numbers = [GOOD_ID, OTHER_ID, UNKNOWN_ID]
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(17))
        if rng.random() < 0.7:  # mostly plausible areas and dates, so the later checks run
            body = rng.choice(["110101", "310104", "440106", "120000"]) + f"{rng.randint(1890, 2030)}" \
                f"{rng.randint(1, 13):02d}{rng.randint(1, 31):02d}" + body[14:]
        last = check_character(body) if rng.random() < 0.5 else rng.choice("0123456789X")
        numbers.append(body + last)
    for n in numbers:
        assert (entry_problem(n) is None) == is_valid(n), n
    assert group_id("11010119990307002X") == "110101 19990307 002X"
    assert group_id("1101011999") == "110101 1999"


def test_script_idnumber_command_reaches_the_runtime() -> None:
    from kiosk.codes import KioskStatus
    from kiosk.session import View
    from kiosk.script import ScriptError, ScriptRunner, parse_script

    class FakeRuntime:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def press(self, button: Button) -> None:
            self.calls.append(("press", button.value))

        def enter_pin(self, pin: str) -> None:
            self.calls.append(("pin", pin))

        def enter_id_number(self, text: str) -> None:
            self.calls.append(("idnumber", text))

    rt = FakeRuntime()
    runner = ScriptRunner(rt, "press manual_entry\npin 2468\nidnumber 11010119990307002X\n")  # type: ignore[arg-type]
    runner.step(View(State.MANUAL_ENTRY, KioskStatus.BUSY))
    assert rt.calls == [("press", "manual_entry"), ("pin", "2468"), ("idnumber", "11010119990307002X")]
    with pytest.raises(ScriptError):
        parse_script("idnumber")


def test_sealed_capture_records_how_identity_was_established(flow: SessionFlow) -> None:
    from kiosk.capture.document import sealed_document
    from kiosk.domain import CaptureRequest
    from session_harness import Photo

    enter(unlocked(flow), GOOD_ID)
    assert flow.student is not None
    doc = sealed_document("capture-1", CaptureRequest(flow.student, Photo()), "s", {}, "k",
                          "2026-11-22")
    assert doc.id_method == "manual" and doc.id_number == GOOD_ID and doc.name == ""
