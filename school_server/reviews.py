"""The office's review of captures: opening them with the private key (in
memory only), learning whose they are, approving or rejecting.

`serve` runs without the private key unless the admin puts it in the data
dir; without it nothing can be opened and the pages say so."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import func, literal, select, tuple_, update
from sqlalchemy.orm import Session

from photo_wire.capture import CaptureDocument
# Why a photo is rejected: the wire's list (a retake's reason reaches the booth);
# the texts are in the office catalogs (reject.<code>).
from photo_wire.models import REJECT_REASONS  # noqa: F401
from school_server import audit, review_index
from school_server.export import failure_reason, open_capture
from school_server.models import (Capture, CaptureReview, RosterRow, UtcDateTime, name_key,
                                   utcnow)
from school_server.progress import accepted_capture_exists, forget_student_counts
from school_server.storage import ObjectStore

log = logging.getLogger(__name__)

MAX_AT_ONCE = 200  # capture ids approved in one action (a grid page is 48)


@dataclass(frozen=True)
class MissingStudent:
    name: str
    programme: str
    centre: str
    session: str
    # For a makeup shoot: masked ID number, student number, phone (where the
    # roster has them) and the ref the missing list's CSV imports back with.
    id_masked: str = ""
    student_no: str = ""
    phone: str = ""
    student_ref: str = ""


def identify_new(db: Session, store: ObjectStore, key: PrivateKey, limit: int | None = None) -> int:
    """Open captures not yet identified (at most limit, oldest first) and
    record whose they are (pending review) with what the grid shows. One
    that cannot be opened is marked (captures.unopenable) and skipped from
    then on. Returns how many could not be opened this time."""
    box, failed = SealedBox(key), 0
    if unidentified_count(db):
        new = db.scalars(select(Capture).where(_not_identified())
                         .order_by(Capture.received_at).limit(limit)).all()
        for cap in new:
            doc, why = _open(store, box, cap)
            if doc is None:
                cap.unopenable, failed = why, failed + 1
                continue
            review = CaptureReview(capture_id=cap.capture_id, centre=cap.centre,
                                   session=cap.session, decision="pending",
                                   student_ref=doc.student_ref[:64])
            review_index.fill(review, cap, doc)
            db.add(review)
        db.commit()
        forget_student_counts()
    _index_old(db, store, box, limit)
    return failed


def _open(store: ObjectStore, box: SealedBox,
          cap: Capture) -> tuple[CaptureDocument | None, str | None]:
    """The document, or None and why (logged once: the caller marks it)."""
    try:
        return open_capture(store, box, cap), None
    except (OSError, ValueError, CryptoError) as err:
        log.error("capture %s: cannot be opened for review (%s); marked, not retried",
                  cap.capture_id, type(err).__name__)
        return None, f"{type(err).__name__}: {failure_reason(err)}"[:200]


def _index_old(db: Session, store: ObjectStore, box: SealedBox, limit: int | None) -> None:
    """Reviews made before the grid existed (migration 0007) get its fields."""
    old = db.execute(select(CaptureReview, Capture).join(Capture)
                     .where(CaptureReview.triage.is_(None), Capture.unopenable.is_(None))
                     .limit(limit)).all()
    for review, cap in old:
        doc, _ = _open(store, box, cap)
        if doc is not None:
            review_index.fill(review, cap, doc)
        else:  # decided or pending already: it stays in its list, flagged
            review.triage = review_index.FLAGGED
    if old:
        db.commit()


def unopenable_captures(db: Session, limit: int = 500) -> list[Capture]:
    return list(db.scalars(select(Capture).where(Capture.unopenable.is_not(None))
                           .order_by(Capture.received_at).limit(limit)))


def unopenable_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Capture)
                     .where(Capture.unopenable.is_not(None))) or 0


def retry_unopenable(db: Session) -> int:
    """The admin fixed the cause (the right key back): try them all again."""
    done = db.execute(update(Capture).where(Capture.unopenable.is_not(None))
                      .values(unopenable=None)).rowcount
    db.commit()
    return done


def pending_count(db: Session, centre: str | None = None) -> int:
    query = (select(func.count()).select_from(Capture).join(CaptureReview)
             .where(CaptureReview.decision == "pending"))
    if centre:
        query = query.where(Capture.centre == name_key(centre))
    return db.scalar(query) or 0


def _not_identified():  # type: ignore[no-untyped-def]
    return ~select(CaptureReview.capture_id).where(
        CaptureReview.capture_id == Capture.capture_id).exists() & Capture.unopenable.is_(None)


def unidentified_count(db: Session) -> int:
    """Captures neither opened nor marked unopenable. Every review is of one
    capture: differences of index counts."""
    return ((db.scalar(select(func.count()).select_from(Capture)) or 0)
            - (db.scalar(select(func.count()).select_from(CaptureReview)) or 0)
            - unopenable_count(db))


def missing_students(db: Session, centre: str, session: str | None = None) -> list[MissingStudent]:
    """Expected students of the centre (and session) with no accepted capture."""
    query = (select(RosterRow).where(RosterRow.centre == centre,
                                     ~accepted_capture_exists(RosterRow.student_ref))
             .order_by(RosterRow.session, RosterRow.name, RosterRow.id))
    if session is not None:
        query = query.where(RosterRow.session == session)
    seen: set[str] = set()
    out = []
    for row in db.scalars(query):
        if row.student_ref not in seen:
            seen.add(row.student_ref)
            out.append(MissingStudent(row.name, row.programme, row.centre, row.session,
                                      row.id_masked or "", row.student_no or "", row.phone or "",
                                      row.student_ref))
    return out


def captures_by_decision(db: Session, decision: str, limit: int, offset: int = 0,
                         after: str | None = None,
                         upto: str | None = None) -> list[tuple[Capture, CaptureReview]]:
    """Pending ones flagged first, then borderline, then the rest, each
    oldest first (a queue), in a window after one capture and up to another
    (so a page keeps its place while its photos are decided); decided ones
    newest decision first."""
    if decision != "pending":
        order = (CaptureReview.decided_at.desc(), CaptureReview.capture_id)
        query = select(Capture, CaptureReview).join(CaptureReview).where(
            CaptureReview.decision == decision).order_by(*order).limit(limit).offset(offset)
        return [(c, r) for c, r in db.execute(query)]
    key = tuple_(CaptureReview.triage, CaptureReview.received_at, CaptureReview.capture_id)
    query = (select(Capture, CaptureReview).join(CaptureReview)
             .where(CaptureReview.decision == "pending")
             .order_by(CaptureReview.triage, CaptureReview.received_at,
                       CaptureReview.capture_id).limit(limit))
    for capture_id, compare in ((after, key.__gt__), (upto, key.__le__)):
        row = db.get(CaptureReview, capture_id) if capture_id else None
        if row is not None:
            query = query.where(compare(tuple_(literal(row.triage), literal(row.received_at,
                                                                            UtcDateTime()),
                                               literal(row.capture_id))))
    return [(c, r) for c, r in db.execute(query)]


@dataclass(frozen=True)
class ReviewCounts:
    pending: int
    flagged: int  # pending, failed by the booth
    borderline: int  # pending, passed with a measure near its limit
    approved: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.approved + self.rejected


def review_counts(db: Session) -> ReviewCounts:
    """One grouped count over the grid's index."""
    counts = {(d, t): n for d, t, n in db.execute(
        select(CaptureReview.decision, CaptureReview.triage, func.count())
        .group_by(CaptureReview.decision, CaptureReview.triage))}

    def total(decision: str) -> int:
        return sum(n for (d, _), n in counts.items() if d == decision)
    return ReviewCounts(total("pending"), counts.get(("pending", review_index.FLAGGED), 0),
                        counts.get(("pending", review_index.BORDERLINE), 0),
                        total("approved"), total("rejected"))


def open_for_review(db: Session, store: ObjectStore, key: PrivateKey,
                    capture_id: str) -> CaptureDocument | None:
    cap = db.get(Capture, capture_id)
    return None if cap is None else open_capture(store, SealedBox(key), cap)


def approve_pending(db: Session, capture_ids: list[str], reviewer: str) -> int:
    """Approve those of capture_ids still pending (the rest of a grid page),
    each audited, in one transaction. Returns how many."""
    reviews = db.scalars(select(CaptureReview).where(
        CaptureReview.capture_id.in_(capture_ids[:MAX_AT_ONCE]),
        CaptureReview.decision == "pending")).all()
    for review in reviews:
        decide(db, review.capture_id, "approved", None, reviewer, commit=False)
    db.commit()
    return len(reviews)


def decide(db: Session, capture_id: str, decision: str, reason: str | None,
           reviewer: str, *, commit: bool = True) -> CaptureReview:
    """Record (and audit) a reviewer's decision."""
    if decision not in ("approved", "rejected"):
        raise ValueError("decision must be approved or rejected")
    if decision == "rejected" and reason not in REJECT_REASONS:
        raise ValueError("a rejection needs a reason code")
    review = db.get(CaptureReview, capture_id)
    if review is None:
        raise LookupError(capture_id)
    review.decision, review.reviewer, review.decided_at = decision, reviewer, utcnow()
    review.reason = reason if decision == "rejected" else None
    # The decision and its audit entry in one transaction.
    audit.record(db, reviewer, audit.Action.REVIEW, capture_id,
                 f"{decision}{' ' + reason if decision == 'rejected' and reason else ''}",
                 commit=commit)
    forget_student_counts()
    return review
