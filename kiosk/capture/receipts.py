"""`kiosk import-receipts DIR`: the school's receipts for a USB bundle (see
bundle.py for the whole exchange). A capture is only ever marked
acknowledged, and so later deleted, once the receipts' mac proves they come
from the school (HMAC keyed with the sha256 of this booth's enrolment token).
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kiosk.capture.bundle import BundleError
from kiosk.capture.store import CaptureStore
from kiosk.codes import UsbResult
from photo_wire.models import (CAPTURE_ID, RECEIPTS, RECEIPTS_FORMAT, SHA256_HEX,  # noqa: F401
                               receipts_mac_key)
from photo_wire.models import receipts_mac as _receipts_mac

MAX_RECEIPTS_BYTES = 64 * 1024 * 1024
_CAPTURE_ID = re.compile(CAPTURE_ID)
_SHA256_HEX = re.compile(SHA256_HEX)


@dataclass
class ReceiptsResult:
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # acknowledged (or purged) before
    unknown: list[str] = field(default_factory=list)  # no such capture on this booth
    wrong_digest: list[str] = field(default_factory=list)  # not the capture's own digest
    malformed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # the server's refusals (info)
    purged: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.unknown) + len(self.wrong_digest) + len(self.malformed)


def receipts_mac(doc: dict[str, Any], token: str) -> str:
    """The receipts' mac as the server makes it, keyed with sha256(token)."""
    return _receipts_mac(doc, receipts_mac_key(token))


def import_receipts(store: CaptureStore, kiosk_id: str, bundle_dir: Path, retention_days: float,
                    token: str | None, now: datetime | None = None) -> ReceiptsResult:
    """Apply DIR/receipts.json: once its mac proves it comes from the school
    (token: this booth's enrolment token), each receipt naming a capture's
    own digest marks it acknowledged (as the sync agent's receipt does); then
    purge the files of captures acknowledged more than retention_days ago."""
    now = now or datetime.now(timezone.utc)
    path = Path(bundle_dir) / RECEIPTS
    doc = _read_receipts(Path(bundle_dir))
    if doc["kiosk_id"] != kiosk_id:
        raise BundleError(f"{path} is for kiosk {doc['kiosk_id']!r}; "
                          f"this booth is kiosk {kiosk_id!r}: nothing applied", UsbResult.OTHER_KIOSK)
    if not token:
        raise BundleError(f"this booth has no enrolment token, so it cannot tell the school's "
                          f"receipts from forged ones: nothing applied. Enrol it once where it "
                          f"can reach the school server (`kiosk enrol`), then import again",
                          UsbResult.NOT_ENROLLED)
    mac = doc.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, receipts_mac(doc, token)):
        raise BundleError(f"{path} is not signed for this booth: edited or forged, or the "
                          f"booth was enrolled again since the bundle was imported: nothing "
                          f"applied (ask the school to run `photo-server import-bundle` on "
                          f"the bundle again)")
    result = ReceiptsResult()
    refused = doc.get("refused")
    if isinstance(refused, dict):
        result.refused = {str(k): str(v) for k, v in refused.items()}
    for capture_id, receipt in doc["receipts"].items():
        if not _valid_receipt(capture_id, receipt):
            result.malformed.append(str(capture_id))
            continue
        state = store.capture_state(capture_id)
        if state is None:
            result.unknown.append(capture_id)
            continue
        status, digest = state
        if digest != receipt["digest"]:
            result.wrong_digest.append(capture_id)
        elif status in ("acknowledged", "purged"):
            result.already.append(capture_id)
        elif store.mark_acknowledged(capture_id, digest, receipt["received_at"], at=now):
            result.applied.append(capture_id)
        else:
            result.already.append(capture_id)  # the sync agent got there first
    result.purged = store.purge_acknowledged(now - timedelta(days=retention_days))
    return result


def _read_receipts(bundle_dir: Path) -> dict[str, Any]:
    path = bundle_dir / RECEIPTS
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a folder")
    try:
        if path.stat().st_size > MAX_RECEIPTS_BYTES:
            raise BundleError(f"{path} is too large to be a receipts file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"no {RECEIPTS} in {bundle_dir}: take the bundle to the school and "
                          f"run `photo-server import-bundle {bundle_dir}` first") from None
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err.strerror or type(err).__name__}") from None
    garbage = (f"{path} is not a receipts file from `photo-server import-bundle`"
               " ({why}): nothing applied")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BundleError(garbage.format(why="not JSON")) from None
    if not isinstance(doc, dict) or doc.get("format") != RECEIPTS_FORMAT:
        raise BundleError(garbage.format(why=f"format is not {RECEIPTS_FORMAT}"))
    if not isinstance(doc.get("kiosk_id"), str):
        raise BundleError(garbage.format(why="no kiosk_id"))
    if not isinstance(doc.get("receipts"), dict):
        raise BundleError(garbage.format(why="no receipts object"))
    return doc


def _valid_receipt(capture_id: object, receipt: object) -> bool:
    if not isinstance(capture_id, str) or not _CAPTURE_ID.match(capture_id):
        return False
    if not isinstance(receipt, dict):
        return False
    digest, received_at = receipt.get("digest"), receipt.get("received_at")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        return False
    if not isinstance(received_at, str):
        return False
    try:
        return datetime.fromisoformat(received_at).tzinfo is not None
    except ValueError:
        return False


