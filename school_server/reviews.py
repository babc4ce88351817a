"""The office's review of captures: opening them with the private key (in
memory only), learning whose they are, approving or rejecting.

`serve` runs without the private key unless the admin puts it in the data
dir; without it nothing can be opened and the pages say so."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from photo_wire.capture import CaptureDocument
# Why a photo is rejected: the wire's list (a retake's reason reaches the booth).
from photo_wire.models import REJECT_REASONS  # noqa: F401
from school_server import audit
from school_server.export import open_capture
from school_server.models import Capture, CaptureReview, RosterRow, name_key, utcnow
from school_server.progress import accepted_capture_exists, forget_student_counts
from school_server.storage import ObjectStore

log = logging.getLogger(__name__)


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
    record whose they are (pending review). Returns how many could not be opened."""
    box, failed = SealedBox(key), 0
    if not unidentified_count(db):
        return 0
    new = db.scalars(select(Capture).where(_not_identified())
                     .order_by(Capture.received_at).limit(limit)).all()
    for cap in new:
        try:
            doc = open_capture(store, box, cap)
        except (OSError, ValueError, CryptoError) as err:
            log.error("capture %s: cannot be opened for review (%s)", cap.capture_id,
                      type(err).__name__)
            failed += 1
            continue
        db.add(CaptureReview(capture_id=cap.capture_id, centre=cap.centre, session=cap.session,
                             decision="pending", student_ref=doc.student_ref[:64]))
    db.commit()
    forget_student_counts()
    return failed


def pending_count(db: Session, centre: str | None = None) -> int:
    query = (select(func.count()).select_from(Capture).join(CaptureReview)
             .where(CaptureReview.decision == "pending"))
    if centre:
        query = query.where(Capture.centre == name_key(centre))
    return db.scalar(query) or 0


def _not_identified():  # type: ignore[no-untyped-def]
    return ~select(CaptureReview.capture_id).where(
        CaptureReview.capture_id == Capture.capture_id).exists()


def unidentified_count(db: Session) -> int:
    # Every review is of one capture: the difference of two index counts.
    return ((db.scalar(select(func.count()).select_from(Capture)) or 0)
            - (db.scalar(select(func.count()).select_from(CaptureReview)) or 0))


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


def captures_by_decision(db: Session, decision: str,
                         limit: int) -> list[tuple[Capture, CaptureReview]]:
    """Pending ones oldest first (a queue); decided ones newest decision first."""
    order = ((Capture.received_at,) if decision == "pending"
             else (CaptureReview.decided_at.desc(), Capture.received_at))
    return [(c, r) for c, r in db.execute(
        select(Capture, CaptureReview).join(CaptureReview)
        .where(CaptureReview.decision == decision).order_by(*order).limit(limit))]


def open_for_review(db: Session, store: ObjectStore, key: PrivateKey,
                    capture_id: str) -> CaptureDocument | None:
    cap = db.get(Capture, capture_id)
    return None if cap is None else open_capture(store, SealedBox(key), cap)


def decide(db: Session, capture_id: str, decision: str, reason: str | None,
           reviewer: str) -> CaptureReview:
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
                 f"{decision}{' ' + reason if decision == 'rejected' and reason else ''}")
    forget_student_counts()
    return review
