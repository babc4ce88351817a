"""Decrypt stored captures for the authorised collection unit.

Each sealed capture opens (with the server's private key) to the booth's
document, photo_wire.capture.CaptureDocument. spec_jpeg goes to
OUT/<capture_id>.jpg, original_jpeg to OUT/<capture_id>.original.jpg, and
every other field, with the server's own columns, to OUT/manifest.csv.
The output holds personal data: the folder is 0700, the files 0600.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from photo_wire.capture import PHOTO_SUFFIX, CaptureDocument
from school_server.models import Capture, name_key
from school_server.people_csv import control_characters, write_private_csv
from school_server.storage import ObjectStore

log = logging.getLogger(__name__)

MANIFEST = "manifest.csv"
SERVER_COLUMNS = ("capture_id", "kiosk_id", "centre", "session", "created_at", "received_at",
                  "digest", "photo")


@dataclass
class ExportResult:
    exported: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (capture_id, reason)


def export_captures(db: Session, store: ObjectStore, key: PrivateKey, out: Path,
                    centre: str | None = None, *, zone: tzinfo) -> ExportResult:
    """Times in the manifest in zone (the school's), with their offset."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    query = select(Capture).order_by(Capture.received_at, Capture.capture_id)
    if centre:
        query = query.where(Capture.centre == name_key(centre))
    box = SealedBox(key)
    result = ExportResult()
    records: list[dict[str, Any]] = []
    for cap in db.scalars(query):
        try:
            doc = open_capture(store, box, cap)
            if control_characters(doc.code_payload or ""):
                raise ValueError("code_payload holds control characters (not a 采集码)")
            for name, jpeg in doc.photos().items():
                stem = "" if name == "spec_jpeg" else "." + name.removesuffix(PHOTO_SUFFIX)
                _write_private(out / f"{cap.capture_id}{stem}.jpg", jpeg)
        except (OSError, ValueError, CryptoError) as err:
            # The reason names the step, never the document's content.
            result.failed.append((cap.capture_id, f"{type(err).__name__}: {failure_reason(err)}"))
            log.error("capture %s: not exported (%s)", cap.capture_id, type(err).__name__)
            continue
        record = {"capture_id": cap.capture_id, "kiosk_id": cap.kiosk_id, "centre": cap.centre,
                  "session": cap.session,
                  "created_at": cap.created_at.astimezone(zone).isoformat(timespec="seconds"),
                  "received_at": cap.received_at.astimezone(zone).isoformat(timespec="seconds"), "digest": cap.digest,
                  "photo": f"{cap.capture_id}.jpg"}
        for k, v in doc.columns().items():
            record.setdefault(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
        records.append(record)
        result.exported.append(cap.capture_id)
    _write_manifest(out / MANIFEST, records)
    return result


def open_capture(store: ObjectStore, box: SealedBox, cap: Capture) -> CaptureDocument:
    """The capture's sealed document, decrypted in memory and read through the
    contract. ValueError (no value quoted) when it does not match it."""
    sealed = store.get(cap.object_key)
    if hashlib.sha256(sealed).hexdigest() != cap.digest:
        raise ValueError("stored object does not match its digest")
    return CaptureDocument.open(box.decrypt(sealed))


def failure_reason(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return "sealed document is not JSON"
    if isinstance(err, CryptoError):
        return "cannot decrypt (sealed to another key?)"
    if isinstance(err, OSError):
        return err.strerror or "cannot read the stored object"
    return str(err)


def _write_manifest(path: Path, records: list[dict[str, Any]]) -> None:
    extra = sorted({k for r in records for k in r} - set(SERVER_COLUMNS))
    write_private_csv(path, [*SERVER_COLUMNS, *extra], records)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
