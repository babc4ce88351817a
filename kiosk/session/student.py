"""The student's way through the booth: card (or a typed number), roster
check, consent, 采集码, posing, countdown, review and save.

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
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from kiosk.codes import Button, Hint, Problem, State
from kiosk.domain import CaptureRequest, IdCard, ProcessedPhoto, RosterMatch, RosterOutcome, Student
from kiosk.identity.schedule import SessionSlot
from kiosk.session.effects import Check, Effect, EffectKind
from kiosk.session.spoken import NAME_DISPUTED
from kiosk.session.triggers import pressed
from photo_wire.idnumber import entry_problem, is_valid, normalise

log = logging.getLogger(__name__)

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


class Roster(Protocol):
    centre: str  # this booth's centre, as name_key() writes it
    makeup_mode: bool  # students of every centre and session are taken (staff switch it)

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        """slot: the sessions taken now and those over (None: no schedule known)."""
        ...


# The student's touches: each button's trigger, where it counts, its guard.
_BACK_TO_ATTRACT = [State.CONFIRM, State.NOT_ON_ROSTER, State.RECEIPT]
STUDENT_TRANSITIONS: list[dict[str, Any]] = [
    dict(trigger=pressed(Button.CANCEL), source=sorted(CANCELLABLE), dest=State.ATTRACT),
    dict(trigger=pressed(Button.START), source=State.ATTRACT, dest=State.IDENTIFY),
    dict(trigger=pressed(Button.MANUAL_ENTRY), source=State.IDENTIFY, dest=State.MANUAL_ENTRY,
         conditions="_manual_entry_on"),
    dict(trigger=pressed(Button.CONFIRM_IDENTITY), source=State.CONFIRM, dest=State.CONSENT),
    # 信息有误: noted for the office (the capture says so); the student goes on.
    dict(trigger=pressed(Button.NAME_WRONG), source=State.CONFIRM, dest=None,
         before="_dispute_name"),
    dict(trigger=pressed(Button.NOT_ME), source=_BACK_TO_ATTRACT, dest=State.ATTRACT),
    dict(trigger=pressed(Button.DONE), source=_BACK_TO_ATTRACT, dest=State.ATTRACT),
    dict(trigger=pressed(Button.AGREE), source=State.CONSENT, dest=State.SCAN_CODE,
         before="_record_consent"),
    dict(trigger=pressed(Button.DECLINE), source=State.CONSENT, dest=State.ATTRACT),
    dict(trigger=pressed(Button.TAKE_PHOTO), source=State.GUIDE, dest=State.COUNTDOWN),
    dict(trigger=pressed(Button.RETAKE), source=State.REVIEW, dest=State.GUIDE,
         conditions="_has_retakes", before="_use_retake"),
    dict(trigger=pressed(Button.ACCEPT_PHOTO), source=State.REVIEW, dest=State.SAVING,
         conditions="_photo_compliant"),
    # What the reader, the worker, the camera and the store report.
    dict(trigger="_check_identity", source=[State.ATTRACT, State.IDENTIFY, State.MANUAL_ENTRY],
         dest=State.CHECKING),
    dict(trigger="_card_refused", source=[State.ATTRACT, State.CHECKING], dest=State.IDENTIFY),
    dict(trigger="_identified", source=State.CHECKING, dest=State.CONFIRM),
    dict(trigger="_not_on_roster", source=State.CHECKING, dest=State.NOT_ON_ROSTER),
    dict(trigger="_code_ok", source=State.SCAN_CODE, dest=State.GUIDE),
    dict(trigger="_countdown_done", source=State.COUNTDOWN, dest=State.CAPTURING),
    dict(trigger="_photo_ready", source=State.CAPTURING, dest=State.REVIEW),
    dict(trigger="_photo_failed", source=State.CAPTURING, dest=State.GUIDE),
    dict(trigger="_saved", source=State.SAVING, dest=State.RECEIPT),
]


class StudentFlow:
    """The student's events, guards and state entries (mixed into
    kiosk.session.SessionFlow, which holds the state)."""

    def _init_student(self) -> None:
        self.student: Student | None = None
        self.hints: tuple[Hint, ...] = ()
        self.ready = False
        self.capture_id = ""
        self.status_url = ""  # the receipt's QR code ('' without [sync] public_url)
        self.id_entry = ""  # MANUAL_ENTRY: the number staff last submitted
        self._card_errors = 0
        self._countdown_end = 0.0
        # The check under way: the Check, the state it belongs to, what to do with its answer.
        self._check: tuple[Check, State, Callable[[Any], None]] | None = None
        self._checks_made = 0

    # ------------------------------------------------------------- events

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
            self.trigger(pressed(Button.TAKE_PHOTO))  # hands-free: as if pressed

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

    def saved(self, capture_id: str, status_url: str = "") -> None:
        """The store committed the capture: only now is the student told.
        status_url: the capture's status page, for the receipt's QR code."""
        if self.state != State.SAVING:
            return
        self.capture_id = capture_id
        self.status_url = status_url
        self._saved()

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

    # ------------------------------------------------------------ helpers

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
        # Never whose (even masked, with the ref in captures.db it gave the number):
        # the capture's id names the session once it is saved.
        log.info("%s: roster says %s%s", "card" if id_method == "card" else "typed ID",
                 match.outcome.value, " (makeup)" if match.makeup else "")
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

    def _card_problem(self, problem: Problem) -> None:
        self._card_errors += 1
        self.problem = problem
        if self._card_errors >= self.config.max_card_errors:
            self._card_errors = 0
            self._call_staff()
        elif self.state in (State.ATTRACT, State.CHECKING):
            self._card_refused()  # CHECKING: this newest card is the student's, and it is bad

    # ------------------------------------------------- guards and callbacks

    def _manual_entry_on(self) -> bool:
        return bool(self.config.manual_entry)

    def _record_consent(self) -> None:
        assert self.student is not None
        self.student.consent_version = self.consent_version
        self.student.consent_time = self._now()

    def _dispute_name(self) -> None:
        assert self.student is not None
        if not self.student.name_disputed:
            log.info("the student says the card's details are wrong: the capture asks the office")
            self.student.name_disputed = True
            self._effects.append(Effect(EffectKind.PROMPT, NAME_DISPUTED))

    def _has_retakes(self) -> bool:
        assert self.student is not None
        return self.student.retakes_left > 0

    def _use_retake(self) -> None:
        assert self.student is not None
        self.student.retakes_left -= 1
        self.student.photo = None

    def _photo_compliant(self) -> bool:
        assert self.student is not None and self.student.photo is not None
        return self.student.photo.compliant

    # -------------------------------------------------------- state entries

    def on_enter_MANUAL_ENTRY(self) -> None:
        # The PIN first, every time; the card problem of identify is gone.
        self.problem = None
        self.staff_unlocked = False
        self._pin_errors = 0
        self.id_entry = ""

    def on_exit_MANUAL_ENTRY(self) -> None:
        self.id_entry = ""
        self.staff_unlocked = False  # a manual-entry PIN opens nothing else

    def on_enter_GUIDE(self) -> None:
        self.hints, self.ready = (), False
        self._effects.append(Effect(EffectKind.LIGHTS_ON))

    def on_enter_COUNTDOWN(self) -> None:
        self._countdown_end = self._clock() + self.config.countdown_seconds

    def on_enter_CAPTURING(self) -> None:
        self._effects.append(Effect(EffectKind.TAKE_STILL))

    def on_enter_REVIEW(self) -> None:
        self._effects.append(Effect(EffectKind.LIGHTS_OFF))

    def on_enter_SAVING(self) -> None:
        assert self.student is not None and self.student.photo is not None
        self._effects.append(Effect(EffectKind.SAVE_CAPTURE, CaptureRequest(self.student, self.student.photo)))


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
