"""Find anyone (the office's search): by name, full or partial ID number,
student number (学号) and 采集编号 (a capture id or its beginning), across
received, approved, rejected and missing students, and a student's whole
history.

What the server can index, and what it costs: names are in clear in the
roster and in capture_reviews (copied when a capture is opened), so a name
is a LIKE over both (a scan of each table). An ID number is never stored in
clear: a full one is found through its student_ref (one scrypt, ~85 ms of
CPU, then an index), a partial one only by its first 6 or last 4 digits
(the masked form the pages show); digits from the middle cannot be
searched. A student number is the roster's (学号 column), found whole or by
its beginning; a 采集编号 is a range over the reviews' primary key.
Each matching page and its total are one query (a window count), so a
scan runs once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from photo_wire.idnumber import normalise
from photo_wire.ids import student_ref
from school_server.models import AuditEntry, Capture, CaptureReview, Correction, RosterRow

FULL_ID = re.compile(r"^[0-9]{17}[0-9X]$")
CAPTURE_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
STUDENT_NO = re.compile(r"^\S+$")
MAX_QUERY = 64


@dataclass
class Person:
    student_ref: str
    name: str = ""
    id_masked: str = ""
    centre: str = ""
    session: str = ""
    status: str = "missing"  # approved, pending, rejected, missing (expected, none received)
    captures: int = 0


@dataclass(frozen=True)
class Found:
    people: list[Person]
    total: int


def _begins(column: Any, text: str) -> Any:
    """column starts with text, as a range: an index serves it, and it is
    case-sensitive on SQLite and PostgreSQL alike (LIKE is not)."""
    return column.between(text, text + "\U0010ffff")


def _masked(column: Any, digits: str) -> list[Any]:
    """The masked ID number (first 6, last 4) begins, or ends, with digits."""
    ends = [column.endswith(digits, autoescape=True)] if len(digits) <= 4 else []
    return [_begins(column, digits), *ends]


def _conditions(query: str) -> tuple[list, list]:  # type: ignore[type-arg]
    """(on capture_reviews, on roster_rows) for what the query is: each kind
    alone, so a full ID number, the capture id prefix and the reviews' masked
    digits use their index. Any other query without spaces and with a digit
    may also be the beginning of a student number (学号): that, the roster's
    masked digits and names scan the roster (~5-10 ms of CPU at 50,000 rows;
    an 18-character one is read as an ID number only)."""
    q = query.strip()[:MAX_QUERY]
    upper = normalise(q)
    if not q:
        return [], []
    # As typed and as normalised (full-width digits, upper case): rosters
    # write letters in student numbers upper case.
    student_no = ([_begins(RosterRow.student_no, text) for text in sorted({q, upper})]
                  if STUDENT_NO.match(q) and any(ch.isdigit() for ch in q) else [])
    if FULL_ID.match(upper):
        ref = student_ref(upper)
        return [CaptureReview.student_ref == ref], [RosterRow.student_ref == ref]
    if upper.rstrip("X").isdigit() and len(upper) <= 6:
        return _masked(CaptureReview.id_masked, upper), [*_masked(RosterRow.id_masked, upper),
                                                          *student_no]
    if CAPTURE_ID.match(q) and any(ch.isdigit() for ch in q):
        return [_begins(CaptureReview.capture_id, q)], student_no
    return ([CaptureReview.name.contains(q, autoescape=True)],
            [RosterRow.name.contains(q, autoescape=True), *student_no])


STATUS_ORDER = ("approved", "pending", "rejected")


def find(db: Session, query: str, limit: int = 20, offset: int = 0) -> Found:
    on_reviews, on_roster = _conditions(query)
    if not on_reviews and not on_roster:
        return Found([], 0)
    parts = [select(CaptureReview.student_ref.label("ref"), CaptureReview.name.label("name"))
             .where(or_(*on_reviews))] if on_reviews else []
    if on_roster:
        parts.append(select(RosterRow.student_ref.label("ref"), RosterRow.name.label("name"))
                     .where(or_(*on_roster)))
    matched = union_all(*parts).subquery()
    grouped = (select(matched.c.ref, func.min(matched.c.name).label("name"))
               .group_by(matched.c.ref)).subquery()
    rows = db.execute(select(grouped.c.ref, func.count().over())
                      .order_by(grouped.c.name, grouped.c.ref).limit(limit).offset(offset)).all()
    refs = [r for r, _ in rows]
    total = rows[0][1] if rows else (_count(db, grouped) if offset else 0)
    people = {r: Person(r) for r in refs}
    for row in db.scalars(select(RosterRow).where(RosterRow.student_ref.in_(refs))):
        p = people[row.student_ref]
        p.name, p.centre, p.session = row.name, row.centre, row.session
    for r in db.scalars(select(CaptureReview).where(CaptureReview.student_ref.in_(refs))
                        .order_by(CaptureReview.received_at)):
        p = people[r.student_ref]
        p.captures += 1
        p.name, p.id_masked = r.name or p.name, r.id_masked or p.id_masked
        p.centre, p.session = p.centre or r.centre, p.session or r.session
        if p.status == "missing" or STATUS_ORDER.index(r.decision) < STATUS_ORDER.index(p.status):
            p.status = r.decision
    return Found([people[r] for r in refs], total)


def _count(db: Session, grouped: Any) -> int:
    """The total when the page asked for is past the end (no row to carry it)."""
    return db.scalar(select(func.count()).select_from(grouped)) or 0


@dataclass
class History:
    student_ref: str
    roster: list[RosterRow] = field(default_factory=list)
    captures: list[tuple[Capture, CaptureReview]] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The newest capture's (as corrected), else the roster's."""
        names = [r.name for _, r in reversed(self.captures) if r.name] + [r.name for r in self.roster]
        return names[0] if names else ""


def history(db: Session, ref: str, audit_limit: int = 200) -> History:
    """Everything about one student: roster rows, captures and decisions,
    corrections, and the audit entries naming their captures."""
    out = History(ref)
    out.roster = list(db.scalars(select(RosterRow).where(RosterRow.student_ref == ref)))
    out.captures = [(c, r) for c, r in db.execute(
        select(Capture, CaptureReview).join(CaptureReview)
        .where(CaptureReview.student_ref == ref).order_by(Capture.received_at))]
    ids = capture_ids_of(db, ref)
    out.corrections = list(db.scalars(select(Correction).where(Correction.capture_id.in_(ids))
                                      .order_by(Correction.id)))
    out.audit = list(db.scalars(select(AuditEntry).where(AuditEntry.target.in_(ids))
                                .order_by(AuditEntry.id.desc()).limit(audit_limit)))
    return out


def capture_ids_of(db: Session, ref: str) -> list[str]:
    return list(db.scalars(select(CaptureReview.capture_id)
                           .where(CaptureReview.student_ref == ref)))

