"""`kiosk import-receipts DIR`: the school's receipts for a USB bundle (see
bundle.py for the whole exchange). A capture is only ever marked
acknowledged, and so later deleted, once the receipts' mac proves they come
from the school (HMAC keyed with the sha256 of this booth's enrolment token).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kiosk.capture.bundle import BundleError
from kiosk.capture.store import CaptureStore
from kiosk.codes import UsbResult
from photo_wire.files import ReadRefused, load_json, read_bounded
from photo_wire.models import (CAPTURE_ID, RECEIPTS, RECEIPTS_FORMAT,  # noqa: F401
                               ReceiptEntry, ReceiptsDocument, receipts_mac_key, summary)
from photo_wire.models import receipts_mac as _receipts_mac

MAX_RECEIPTS_BYTES = 64 * 1024 * 1024
_CAPTURE_ID = re.compile(CAPTURE_ID)


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
    written, doc = _read_receipts(Path(bundle_dir))
    if doc.kiosk_id != kiosk_id:
        raise BundleError(f"{path} is for kiosk {doc.kiosk_id!r}; "
                          f"this booth is kiosk {kiosk_id!r}: nothing applied", UsbResult.OTHER_KIOSK)
    if not token:
        raise BundleError(f"this booth has no enrolment token, so it cannot tell the school's "
                          f"receipts from forged ones: nothing applied. Enrol it once where it "
                          f"can reach the school server (`kiosk enrol`), then import again",
                          UsbResult.NOT_ENROLLED)
    if not hmac.compare_digest(doc.mac, receipts_mac(written, token)):
        raise BundleError(f"{path} is not signed for this booth: edited or forged, or the "
                          f"booth was enrolled again since the bundle was imported: nothing "
                          f"applied (ask the school to run `photo-server import-bundle` on "
                          f"the bundle again)")
    result = ReceiptsResult(refused=dict(doc.refused))
    for capture_id, entry in doc.receipts.items():
        receipt = _receipt(capture_id, entry)
        if receipt is None:
            result.malformed.append(capture_id)
            continue
        state = store.capture_state(capture_id)
        if state is None:
            result.unknown.append(capture_id)
            continue
        status, digest = state
        if digest != receipt.digest:
            result.wrong_digest.append(capture_id)
        elif status in ("acknowledged", "purged"):
            result.already.append(capture_id)
        elif store.mark_acknowledged(capture_id, digest, receipt.received_at, at=now):
            result.applied.append(capture_id)
        else:
            result.already.append(capture_id)  # the sync agent got there first
    result.purged = store.purge_acknowledged(now - timedelta(days=retention_days))
    return result


def _read_receipts(bundle_dir: Path) -> tuple[dict[str, Any], ReceiptsDocument]:
    """The receipts file as written (its mac covers that) and as read."""
    path = bundle_dir / RECEIPTS
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir} is not a folder")
    try:
        raw = read_bounded(path, MAX_RECEIPTS_BYTES, "receipts file")
    except FileNotFoundError:
        raise BundleError(f"no {RECEIPTS} in {bundle_dir}: take the bundle to the school and "
                          f"run `photo-server import-bundle {bundle_dir}` first") from None
    except ReadRefused as err:
        raise BundleError(f"{err}: nothing applied") from None
    garbage = (f"{path} is not a receipts file from `photo-server import-bundle`"
               " ({why}): nothing applied")
    try:
        written = load_json(raw)
    except ValueError as err:  # UnicodeDecodeError and too deep too
        why = "nested too deeply" if "too deeply" in str(err) else "not JSON"
        raise BundleError(garbage.format(why=why)) from None
    try:
        return written, ReceiptsDocument.model_validate(written)
    except ValidationError as err:
        where = {str(e["loc"][0]) if e["loc"] else "" for e in err.errors()}
        why = (f"format is not {RECEIPTS_FORMAT}" if not where.isdisjoint({"", "format"})
               else "no kiosk_id" if "kiosk_id" in where
               else "no receipts object" if "receipts" in where else summary(err))
        raise BundleError(garbage.format(why=why)) from None


def _receipt(capture_id: str, receipt: Any) -> ReceiptEntry | None:
    """One receipt, or None when it is malformed."""
    if not _CAPTURE_ID.match(capture_id):
        return None
    try:
        return ReceiptEntry.model_validate(receipt)
    except ValidationError:
        return None


