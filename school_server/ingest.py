"""Storing one sealed capture: the rules behind `PUT /api/v1/captures/{id}`.

Shared by the HTTP route (app.py) and `photo-server import-bundle`
(bundle.py), so a capture that arrives on a USB stick is checked and stored
exactly as one that arrives over the network: the same id and digest give the
same receipt, another digest under a stored id is refused, and the object is
written before the row, so a receipt never exists without its bytes.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from school_server.auth import KioskIdentity
from school_server.models import Capture, Kiosk, name_key, utcnow
from school_server.schemas import CAPTURE_ID, CaptureUpload, Receipt
from school_server.storage import ObjectStore, capture_key

log = logging.getLogger(__name__)

_CAPTURE_ID = re.compile(CAPTURE_ID)


class Refused(Exception):
    """The capture was not stored. status is the HTTP answer it gets on the
    wire (403, 409, 422, 503); detail a sentence without personal data."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Stored:
    receipt: Receipt
    created: bool  # False: an exact repeat, the first upload's receipt


class KioskUnknown(Exception):
    """No such kiosk enrolled, or it is revoked (the message says which)."""


def enrolled_kiosk(db: Session, kiosk_id: str) -> KioskIdentity:
    """The identity of an enrolled, not revoked kiosk (what a valid token gives)."""
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise KioskUnknown(f"kiosk {kiosk_id!r} is not enrolled on this server")
    if kiosk.revoked_at is not None:
        raise KioskUnknown(f"kiosk {kiosk_id!r} is revoked on this server")
    return KioskIdentity(kiosk.kiosk_id, kiosk.centre)


def ingest_capture(db: Session, store: ObjectStore, me: KioskIdentity, capture_id: str,
                   body: CaptureUpload) -> Stored:
    """Store one sealed capture for kiosk `me`, or raise Refused."""
    if not _CAPTURE_ID.match(capture_id):
        raise Refused(422, "capture_id must be 8-64 of A-Z a-z 0-9 _ -")
    if body.kiosk_id != me.kiosk_id:
        log.warning("kiosk %s tried to write capture %s as kiosk %s",
                    me.kiosk_id, capture_id, body.kiosk_id)
        raise Refused(403, "kiosk_id is not this token's kiosk")
    try:
        # a2b_base64 reads the ASCII str in place (b64decode would copy it
        # first: 24 MiB more per big upload); strict_mode is validate=True.
        sealed = binascii.a2b_base64(body.sealed, strict_mode=True)
    except (binascii.Error, ValueError):
        raise Refused(422, "sealed is not valid base64") from None
    if hashlib.sha256(sealed).hexdigest() != body.digest:
        log.warning("capture %s from kiosk %s: digest does not match", capture_id, me.kiosk_id)
        raise Refused(422, "digest does not match the sealed bytes")
    existing = db.get(Capture, capture_id)
    if existing is not None:
        return Stored(_repeat(existing, body.digest, me), created=False)
    # Object first, row second: a row (and so a receipt) never exists
    # without its bytes. A crash or a failed commit in between leaves an
    # unreferenced object that the kiosk's retry overwrites with the same
    # bytes; it is not deleted, as an identical upload running at the same
    # time may be committing a row that points at it.
    key = capture_key(capture_id, body.digest)
    try:
        store.put(key, sealed)
    except OSError as err:
        # Disk full or storage down: the kiosk keeps the capture and retries.
        log.error("capture %s from kiosk %s: storage failed: %s", capture_id, me.kiosk_id,
                  err.strerror or type(err).__name__)
        raise Refused(503, "object storage unavailable; retry later") from None
    row = Capture(capture_id=capture_id, kiosk_id=me.kiosk_id, centre=me.centre,
                  session=name_key(body.session), digest=body.digest, size=len(sealed),
                  object_key=key, created_at=body.created_at, received_at=utcnow(),
                  status="received", status_hash=_free_status_hash(db, body, capture_id))
    db.add(row)
    try:
        db.commit()
    except IntegrityError:
        # A concurrent upload of the same capture_id won the insert.
        db.rollback()
        existing = db.get(Capture, capture_id)
        if existing is None:
            raise
        if existing.object_key != key:
            # It was another capture: no row can ever point at our object.
            # (Another digest's object only: the winner's is never touched.)
            _discard(store, key, capture_id)
        return Stored(_repeat(existing, body.digest, me), created=False)
    log.info("capture %s from kiosk %s stored (%d bytes)", capture_id, me.kiosk_id, len(sealed))
    return Stored(receipt(row), created=True)


def _free_status_hash(db: Session, body: CaptureUpload, capture_id: str) -> str | None:
    """The upload's status hash, unless another capture holds it: then the
    capture is stored without a status page rather than refused (and lost)."""
    wanted = body.status_hash
    if wanted and db.scalar(select(Capture.capture_id).where(Capture.status_hash == wanted)):
        log.warning("capture %s: its status hash is another capture's; stored without one",
                    capture_id)
        return None
    return wanted


def _discard(store: ObjectStore, key: str, capture_id: str) -> None:
    try:
        store.delete(key)
    except OSError as err:
        log.warning("capture %s: could not remove the losing upload's object %s: %s",
                    capture_id, key, err.strerror or type(err).__name__)


def receipt(row: Capture) -> Receipt:
    return Receipt(capture_id=row.capture_id, digest=row.digest, received_at=row.received_at)


def _repeat(existing: Capture, digest: str, me: KioskIdentity) -> Receipt:
    if existing.digest != digest or existing.kiosk_id != me.kiosk_id:
        log.warning("capture %s from kiosk %s conflicts with the stored one",
                    existing.capture_id, me.kiosk_id)
        raise Refused(409, "capture_id already holds a different capture")
    log.info("capture %s from kiosk %s repeated; same receipt", existing.capture_id, me.kiosk_id)
    return receipt(existing)
