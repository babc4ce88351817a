"""`photo-server import-bundle DIR`: captures carried from an offline booth.

A booth without network writes its pending captures to a folder (a USB
stick) with `kiosk export DIR`:

    DIR/manifest.json                  what is in the bundle (no personal data)
    DIR/captures/<capture_id>.json     per capture: the exact body its
                                       PUT /api/v1/captures/{id} would send
    DIR/receipts.json                  written here, read by `kiosk import-receipts`

manifest.json: {"format": "photo-kiosk-bundle/1", "bundle_id", "kiosk_id",
"centre", "software_version", "exported_at", "captures": [{"capture_id",
"digest", "created_at", "session", "size", "file_sha256"}]}; digest is the
sha256 of the sealed bytes (what a receipt names), file_sha256 that of the
capture's file.

Every capture goes through ingest.py, the PUT's own rules: the manifest's
kiosk stands in for the token's (it must be enrolled and not revoked), the
same id and digest give the same receipt as over the network, another digest
under a stored id is refused. A file that does not match the manifest
(damaged or altered on the way) is refused and named; the others are stored.

receipts.json: {"format": "photo-kiosk-receipts/1", "bundle_id", "kiosk_id",
"imported_at", "receipts": {capture_id: {"digest", "received_at"}},
"refused": {capture_id: reason}, "mac"}, written durably (temp, fsync, rename).

The booth deletes a capture once a receipt for it arrives and retention has
passed, and anyone holding the stick can read the digests in the manifest: so
receipts are authenticated. "mac" is HMAC-SHA256 over the document without
"mac" (JSON, sorted keys, no spaces, ASCII), keyed with the sha256 of the
kiosk's bearer token: the server stores exactly that hash, the booth holds the
token, the stick holds neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

import school_server
# The bundle's formats are the wire contract's, the booth's own code.
from photo_wire.files import ReadRefused, read_bounded, write_durably
from photo_wire.models import (BUNDLE_FORMAT, CAPTURES_DIR, MANIFEST, RECEIPTS,  # noqa: F401
                               MAX_MANIFEST_BYTES, RECEIPTS_FORMAT, BundleEntry, BundleManifest, ReceiptsDocument,
                               receipts_mac, summary)
from school_server.auth import KioskIdentity
from school_server.ingest import (KioskUnknown, Refused, Stored, enrolled_kiosk,
                                  ingest_capture)
from school_server.models import Kiosk, name_key, utcnow
from school_server.schemas import CaptureUpload
from school_server.storage import ObjectStore

log = logging.getLogger(__name__)


class BundleError(ValueError):
    """The bundle as a whole is refused; the message says why."""



@dataclass
class ImportResult:
    manifest: BundleManifest
    kiosk: KioskIdentity
    mac_key: bytes  # the sha256 of the kiosk's token, as stored (see receipts_mac)
    stored: list[str] = field(default_factory=list)  # new on this server
    repeated: list[str] = field(default_factory=list)  # already here: the same receipt
    refused: list[tuple[str, str]] = field(default_factory=list)  # (capture_id, reason)
    receipts: dict[str, dict[str, str]] = field(default_factory=dict)


def read_manifest(bundle_dir: Path) -> BundleManifest:
    path = bundle_dir / MANIFEST
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a folder")
    try:
        raw = read_bounded(path, MAX_MANIFEST_BYTES, "bundle manifest")
    except FileNotFoundError:
        raise BundleError(f"{bundle_dir} is not a kiosk bundle: no {MANIFEST} "
                          "(write one with `kiosk export DIR` on the booth)") from None
    except ReadRefused as err:
        raise BundleError(str(err)) from None
    try:
        manifest = BundleManifest.model_validate_json(raw)
    except ValidationError as err:
        raise BundleError(f"{path} is not a valid bundle manifest: {summary(err)}") from None
    seen: set[str] = set()
    for entry in manifest.captures:
        if entry.capture_id in seen:
            raise BundleError(f"{path} lists capture {entry.capture_id} twice")
        seen.add(entry.capture_id)
    return manifest


def import_bundle(db: Session, store: ObjectStore, bundle_dir: Path,
                  max_body_bytes: int) -> ImportResult:
    """Store every capture of the bundle; refusals are collected, not raised.
    BundleError when the bundle as a whole cannot be taken."""
    manifest = read_manifest(bundle_dir)
    try:
        me = enrolled_kiosk(db, manifest.kiosk_id)
    except KioskUnknown as err:
        raise BundleError(f"bundle refused: {err} (enrol it once with `photo-server "
                          "enrol-code` and `kiosk enrol`)") from None
    result = ImportResult(manifest, me, bytes.fromhex(db.get(Kiosk, me.kiosk_id).token_hash))
    for entry in manifest.captures:
        try:
            stored = _import_one(db, store, bundle_dir, manifest, me, entry, max_body_bytes)
        except Refused as refused:
            log.warning("bundle %s: capture %s refused: %s", manifest.bundle_id,
                        entry.capture_id, refused.detail)
            result.refused.append((entry.capture_id, refused.detail))
            continue
        (result.stored if stored.created else result.repeated).append(entry.capture_id)
        out = stored.receipt.model_dump(mode="json")  # the PUT's receipt, as the PUT writes it
        result.receipts[entry.capture_id] = {"digest": out["digest"],
                                             "received_at": out["received_at"]}
    log.info("bundle %s from kiosk %s: %d stored, %d repeats, %d refused", manifest.bundle_id,
             me.kiosk_id, len(result.stored), len(result.repeated), len(result.refused))
    return result


def _import_one(db: Session, store: ObjectStore, bundle_dir: Path, manifest: BundleManifest,
                me: KioskIdentity, entry: BundleEntry, max_body_bytes: int) -> Stored:
    # The file name comes from the validated id, never from the bundle: no path escapes.
    path = bundle_dir / CAPTURES_DIR / f"{entry.capture_id}.json"
    try:
        data = read_bounded(path, max_body_bytes, "capture (the server's max_body_bytes)")
    except FileNotFoundError:
        raise Refused(422, f"{CAPTURES_DIR}/{path.name} is missing from the bundle") from None
    except ReadRefused as err:
        status = 413 if "larger than" in str(err) else 422
        why = str(err).removeprefix(f"{path}: ")
        raise Refused(status, f"{CAPTURES_DIR}/{path.name}: {why}") from None
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.file_sha256:
        raise Refused(422, "tampered or damaged: the file does not match the manifest's sha256")
    try:
        body = CaptureUpload.model_validate_json(data)
    except ValidationError as err:
        raise Refused(422, f"not a capture upload: {summary(err)}") from None
    if body.digest != entry.digest:
        raise Refused(422, "tampered: the file's digest is not the manifest's")
    if body.kiosk_id != manifest.kiosk_id:
        raise Refused(403, f"written as kiosk {body.kiosk_id!r} in a bundle from "
                           f"kiosk {manifest.kiosk_id!r}")
    try:
        return ingest_capture(db, store, me, entry.capture_id, body)
    except Refused as refused:
        if refused.status == 409:
            raise Refused(409, "the server holds a different capture under this id "
                               "(another digest)") from None
        if refused.detail == "digest does not match the sealed bytes":
            raise Refused(422, "tampered: the sealed bytes do not match their digest") from None
        raise


def receipts_document(result: ImportResult) -> dict[str, Any]:
    doc = ReceiptsDocument(
        format=RECEIPTS_FORMAT,
        bundle_id=result.manifest.bundle_id,
        kiosk_id=result.manifest.kiosk_id,
        server_version=school_server.__version__,
        imported_at=utcnow().isoformat(),
        receipts=result.receipts,
        refused=dict(result.refused),
    ).model_dump(mode="json", exclude={"mac"})
    doc["mac"] = receipts_mac(doc, result.mac_key)
    return doc


def write_receipts(bundle_dir: Path, result: ImportResult) -> Path:
    """DIR/receipts.json, whole or not at all (temp file, fsync, rename, dir fsync)."""
    path = bundle_dir / RECEIPTS
    data = json.dumps(receipts_document(result), indent=1, sort_keys=True).encode() + b"\n"
    write_durably(path, data)
    return path


def centre_note(result: ImportResult) -> str | None:
    """A warning when the booth's configured centre is not the one it is enrolled at."""
    if name_key(result.manifest.centre) != result.kiosk.centre:
        return (f"note: the booth says centre {result.manifest.centre!r}, the server has kiosk "
                f"{result.kiosk.kiosk_id} at {result.kiosk.centre!r}; captures are filed "
                f"under {result.kiosk.centre!r}")
    return None
