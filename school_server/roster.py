"""Roster rows per centre, served to kiosks (the import is roster_import.py).

The ID number is turned into student_ref at import and never stored or
printed; student_ref is the booth's own (photo_wire.ids)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from school_server.models import CaptureReview, RosterRow
from school_server.schemas import RosterOut, RosterRowOut, StudentRefScheme


def retake_refs(db: Session, centre: str) -> set[str]:
    """Students of the centre whose every capture the office rejected."""
    rejected = select(CaptureReview.student_ref).where(CaptureReview.decision == "rejected")
    accepted = select(CaptureReview.student_ref).where(CaptureReview.decision != "rejected")
    return set(db.scalars(select(RosterRow.student_ref).where(
        RosterRow.centre == centre, RosterRow.student_ref.in_(rejected),
        RosterRow.student_ref.not_in(accepted))))


def roster_for(db: Session, centre: str) -> RosterOut:
    rows = db.scalars(select(RosterRow).where(RosterRow.centre == centre)
                      .order_by(RosterRow.session, RosterRow.student_ref, RosterRow.id)).all()
    retake = retake_refs(db, centre)
    out = [RosterRowOut(student_ref=r.student_ref, uid_hash=r.uid_hash, name=r.name,
                        programme=r.programme, centre=r.centre, session=r.session,
                        retake=r.student_ref in retake) for r in rows]
    scheme = StudentRefScheme()
    # The version is a hash of what is sent, so it changes exactly when the
    # roster (or the scheme) does, with no counter to keep in step.
    canonical = json.dumps([r.model_dump() for r in out] + [scheme.model_dump()],
                           sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return RosterOut(centre=centre, version=version, student_ref_scheme=scheme, rows=out)
