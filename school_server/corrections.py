"""勘误: an admin fixes the name or ID number of a capture. The sealed capture
is never changed (it keeps what the booth read); the correction is a row,
the latest one wins in the hand-over; the caller audits old and new."""

from __future__ import annotations

from nacl.public import PrivateKey
from sqlalchemy.orm import Session

from photo_wire.idnumber import is_valid, mask_id, normalise
from school_server.handover import corrected
from school_server.models import (CORRECTABLE_FIELDS, PERSON_NAME_CHARS, CaptureReview, Correction,
                                   utcnow)
from school_server.people_csv import control_characters
from school_server.reviews import open_for_review
from school_server.storage import ObjectStore

REASON_CHARS = 200


def correct(db: Session, store: ObjectStore, key: PrivateKey, capture_id: str, field: str,
            value: str, reason: str, username: str) -> str:
    """Store the correction; returns the value it replaces."""
    if field not in CORRECTABLE_FIELDS:
        raise ValueError("only name and id_number can be corrected")
    value, reason = value.strip(), reason.strip()
    if not reason or len(reason) > REASON_CHARS or control_characters(reason):
        raise ValueError(f"a reason is needed (at most {REASON_CHARS} characters)")
    if field == "id_number":
        value = normalise(value)
        if not is_valid(value):
            raise ValueError("not a valid ID number (GB 11643 check character, birth date)")
    elif not value or len(value) > PERSON_NAME_CHARS or control_characters(value):
        raise ValueError(f"a name is 1-{PERSON_NAME_CHARS} printable characters")
    doc = open_for_review(db, store, key, capture_id)
    if doc is None:
        raise ValueError("no such capture")
    old = str(getattr(doc.with_corrections(corrected(db, capture_id)), field))
    db.add(Correction(capture_id=capture_id, field=field, value=value, reason=reason,
                      username=username, at=utcnow()))
    review = db.get(CaptureReview, capture_id)
    if review is not None:  # the grid and the search show the corrected value
        if field == "name":
            review.name = value
        else:
            review.id_masked = mask_id(value)
    return old
