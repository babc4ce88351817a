"""Roster rows per centre, served to kiosks (the import is roster_import.py).

The ID number is turned into student_ref at import and never stored or
printed; student_ref is the booth's own (photo_wire.ids)."""

from __future__ import annotations

import hashlib
import io
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from school_server.models import CaptureReview, RosterRow
from school_server.schemas import RosterOut, RosterRowOut, StudentRefScheme


def retake_reasons(db: Session) -> dict[str, str]:
    """Students on the roster whose every capture the office rejected, with
    the reason code of the latest rejection."""
    accepted = select(CaptureReview.student_ref).where(CaptureReview.decision != "rejected")
    rejected = db.execute(
        select(CaptureReview.student_ref, CaptureReview.reason)
        .where(CaptureReview.decision == "rejected",
               CaptureReview.student_ref.in_(select(RosterRow.student_ref)),
               CaptureReview.student_ref.not_in(accepted))
        .order_by(CaptureReview.decided_at))
    return {ref: reason or "other" for ref, reason in rejected}  # the latest wins


def roster_for(db: Session, centre: str) -> RosterOut:
    """A booth's roster: every student of the school (a makeup shoot takes
    anyone; a student at the wrong centre is told theirs), as refs, centre,
    session, retake and its reason; no names or programmes (what a stolen
    booth token gets). centre: the booth's own."""
    rows = db.scalars(select(RosterRow).order_by(RosterRow.centre, RosterRow.session,
                                                 RosterRow.student_ref, RosterRow.id)).all()
    retake = retake_reasons(db)
    out = [RosterRowOut(student_ref=r.student_ref, uid_hash=r.uid_hash, centre=r.centre,
                        session=r.session, retake=r.student_ref in retake,
                        retake_reason=retake.get(r.student_ref)) for r in rows]
    scheme = StudentRefScheme()
    # The version is a hash of what is sent, so it changes exactly when the
    # roster (or the scheme) does, with no counter to keep in step.
    canonical = json.dumps([r.model_dump() for r in out] + [scheme.model_dump()],
                           sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return RosterOut(centre=centre, version=version, student_ref_scheme=scheme, rows=out)
