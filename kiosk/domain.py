"""The booth's shared vocabulary: who is in front of it and what gets saved.

The card reader makes an IdCard, the roster answers a RosterMatch, the photo
engine makes a ProcessedPhoto, the session flow keeps them in a Student and
asks the store to save a CaptureRequest. Plain data only: this module imports
nothing from the flow, the store, the roster or the devices, so each of them
can use these types without importing another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol

from photo_wire.idnumber import mask_id


@dataclass(frozen=True)
class IdCard:
    """The text fields of a resident ID card (no photo: we never keep it)."""

    id_number: str
    name: str
    sex: str = "0"  # 1 male, 2 female, 0 unknown, 9 unspecified
    ethnicity: str = ""
    birth_date: date | None = None
    address: str = ""
    issuer: str = ""
    valid_from: date | None = None
    valid_until: date | None = None  # None: long-term card (长期)
    uid: str | None = None  # chip serial or campus-card UID from PC/SC

    def __repr__(self) -> str:  # never let a full ID number reach a log
        return f"IdCard(id_number={mask_id(self.id_number)!r}, name=<{len(self.name)} chars>)"

    __str__ = __repr__


class RosterOutcome(str, Enum):
    EXPECTED = "expected"
    ALREADY_CAPTURED = "already_captured"
    NOT_EXPECTED = "not_expected"
    OTHER_CENTRE = "other_centre"  # another centre, or a session not taken now
    MISSED_SESSION = "missed_session"  # their session is over; makeup_mode is off


@dataclass(frozen=True)
class RosterMatch:
    outcome: RosterOutcome
    programme: str = ""
    student_ref: str = ""  # the roster's key for the student (not the ID number)
    session: str = ""  # the student's own session on the roster
    # Accepted outside their own centre and session (makeup_mode): a makeup shoot.
    makeup: bool = False
    # The student's own centre on the roster (the wrong centre is told theirs).
    centre: str = ""
    # The office refused their last photo, for this reason code ('' otherwise):
    # the booth says why before taking them again.
    retake_reason: str = ""


class ProcessedPhoto(Protocol):
    """A still turned into a spec photo by the photo engine
    (kiosk.photo.process.SpecPhoto): what the flow, the store and the
    runtime read of it, and nothing else."""

    spec_jpeg: bytes  # the photo handed in
    original_jpeg: bytes | None  # the full still, kept for audit (None: not kept)
    compliant: bool  # every check passed
    problems: Sequence[str]  # the codes of the checks that failed
    measures: Mapping[str, Any]  # each check's measure, for the check report


@dataclass
class Student:
    """Everything the kiosk holds about the student in front of it."""

    card: IdCard
    match: RosterMatch
    consent_version: str = ""
    consent_time: datetime | None = None
    code_payload: str = ""
    photo: ProcessedPhoto | None = None
    retakes_left: int = 0
    # How identity was established: 'card' (read from the ID card) or
    # 'manual' (staff typed the number after their PIN); stored with the capture.
    id_method: str = "card"
    # The session the capture is recorded under (decided when identified).
    session: str = ""
    # The student pressed 信息有误 on the confirm screen: the office checks
    # the name and ID number against the student system (a correction request).
    name_disputed: bool = False

    def __repr__(self) -> str:
        return f"Student({self.card!r}, {self.match.outcome.value})"


@dataclass(frozen=True)
class CaptureRequest:
    """What the flow asks the store to write, in one transaction."""

    student: Student
    photo: ProcessedPhoto
