"""The session flow tests' shared helpers: a fake clock and roster, cards,
and walks to each state (fixtures: tests/kiosk/session/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.codes import Button, State
from kiosk.config import FlowConfig
from kiosk.domain import IdCard, RosterMatch, RosterOutcome
from kiosk.identity.roster import CsvRoster
from kiosk.identity.schedule import Schedule, SessionSlot
from kiosk.session import Effect, EffectKind, SessionFlow
from photo_wire.idnumber import check_character


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

    def __init__(self, outcomes: dict[str, RosterOutcome], centre: str = "", makeup_mode: bool = False) -> None:
        self.outcomes = outcomes
        self.centre = centre
        self.makeup_mode = makeup_mode

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        outcome = self.outcomes.get(card.id_number, RosterOutcome.NOT_EXPECTED)
        return RosterMatch(outcome, programme="会计学", student_ref="ref-" + card.id_number[-4:])


@dataclass
class Photo:
    """A processed photo (kiosk.domain.ProcessedPhoto) without the photo engine."""

    spec_jpeg: bytes = b"\xff\xd8jpeg"
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    original_jpeg: bytes | None = None
    measures: dict[str, Any] = field(default_factory=dict)


def card(id_number: str = GOOD_ID, **kw) -> IdCard:
    return IdCard(id_number=id_number, name=kw.pop("name", "张三丰"), **kw)


def make_flow(clock: Clock, **cfg) -> SessionFlow:
    roster = DictRoster(
        {GOOD_ID: RosterOutcome.EXPECTED, OTHER_ID: RosterOutcome.OTHER_CENTRE}
    )
    return SessionFlow(
        FlowConfig(**cfg), roster, consent_version="v-test", staff_pin="2468", clock=clock
    )


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


TIMED = [s for s in State if s not in (State.ATTRACT, State.RECEIPT, State.CALL_STAFF, State.STAFF)]


def unlocked_staff(flow: SessionFlow) -> SessionFlow:
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    assert flow.state == State.STAFF and flow.staff_unlocked
    return flow


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
