"""The hand-over to the authorised collection unit: the approved spec photos
named by ID number (`<身份证号>.jpg`, as the batch uploads expect) and a
formula-safe manifest.csv, as a streamed zip (office page) or a folder
(`photo-server export --by-id`). Corrections (勘误) win over what the booth
read. Photos are decrypted in memory, one at a time."""

from __future__ import annotations

import io
import logging
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from school_server.export import MANIFEST, open_capture
from school_server.models import Capture, CaptureReview, Correction, name_key
from school_server.people_csv import control_characters, csv_lines, write_private_csv
from school_server.storage import ObjectStore

log = logging.getLogger(__name__)

# created_at in the school's time zone (with its offset); the booth's verdict
# as two columns: check_passed 1/0 (empty: no check) and its problem codes.
COLUMNS = ("id_number", "name", "code_payload", "created_at", "kiosk_id", "centre", "session",
           "makeup", "check_passed", "check_problems", "capture_id", "photo")
PROBLEMS = "problems.csv"
# Only this becomes a file name: no path can escape the folder or the zip.
ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")


@dataclass
class HandoverResult:
    exported: list[str] = field(default_factory=list)  # ID numbers
    failed: list[tuple[str, str]] = field(default_factory=list)  # (capture_id, reason)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Photo:
    id_number: str
    jpeg: bytes


def corrected(db: Session, capture_id: str) -> dict[str, str]:
    """field -> the latest corrected value of a capture."""
    out: dict[str, str] = {}
    for c in db.scalars(select(Correction).where(Correction.capture_id == capture_id)
                        .order_by(Correction.id)):
        out[c.field] = c.value
    return out


def approved_photos(db: Session, store: ObjectStore, key: PrivateKey, result: HandoverResult,
                    centre: str | None = None, *, zone: tzinfo) -> Iterator[Photo]:
    """Each approved capture's spec photo under its ID number, newest first;
    a student's older approved capture is left out (named in result.failed)."""
    query = (select(Capture).join(CaptureReview).where(CaptureReview.decision == "approved")
             .order_by(Capture.created_at.desc(), Capture.capture_id))
    if centre:
        query = query.where(Capture.centre == name_key(centre))
    box = SealedBox(key)
    for cap in db.scalars(query).all():
        try:
            doc = open_capture(store, box, cap).with_corrections(corrected(db, cap.capture_id))
            id_number = doc.id_number.strip().upper()
            if not ID_NUMBER.match(id_number):
                raise ValueError("no usable ID number (correct it on the office page)")
            if control_characters(doc.code_payload or ""):
                raise ValueError("code_payload holds control characters (not a 采集码)")
            if id_number in result.exported:
                raise ValueError("an older capture of a student with a newer approved one")
            jpeg = doc.spec_photo()
        except (OSError, ValueError, CryptoError) as err:
            # The reason names the step, never the document's content.
            result.failed.append((cap.capture_id, str(err) if isinstance(err, ValueError)
                                  else type(err).__name__))
            log.error("capture %s: not handed over (%s)", cap.capture_id, type(err).__name__)
            continue
        result.exported.append(id_number)
        check = doc.check_report
        result.rows.append({
            "id_number": id_number, "name": doc.name, "code_payload": doc.code_payload or "",
            "created_at": cap.created_at.astimezone(zone).isoformat(timespec="seconds"),
            "kiosk_id": cap.kiosk_id, "centre": cap.centre, "session": cap.session,
            "makeup": "1" if doc.makeup else "0",
            "check_passed": "" if check is None or check.passed is None
            else "1" if check.passed else "0",
            "check_problems": " ".join(check.problems) if check else "",
            "capture_id": cap.capture_id, "photo": f"{id_number}.jpg"})
        yield Photo(id_number, jpeg)


def write_folder(photos: Iterator[Photo], result: HandoverResult, out: Path) -> None:
    """OUT/<ID>.jpg (0600) + manifest.csv (+ problems.csv), OUT 0700."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for photo in photos:
        fd = os.open(out / f"{photo.id_number}.jpg", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(photo.jpeg)
    write_private_csv(out / MANIFEST, COLUMNS, result.rows)
    if result.failed:
        write_private_csv(out / PROBLEMS, ("capture_id", "reason"),
                          [{"capture_id": c, "reason": r} for c, r in result.failed])


class _Chunks(io.RawIOBase):
    """An unseekable sink: zipfile writes, the generator takes what was written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_chunks(photos: Iterator[Photo], result: HandoverResult) -> Iterator[bytes]:
    """The zip, a photo at a time (JPEGs are stored, not recompressed)."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as zf:
        for photo in photos:
            zf.writestr(f"{photo.id_number}.jpg", photo.jpeg)
            yield sink.take()
        zf.writestr(MANIFEST, "\ufeff" + "".join(csv_lines(COLUMNS, result.rows)))
        if result.failed:
            zf.writestr(PROBLEMS, "\ufeff" + "".join(csv_lines(
                ("capture_id", "reason"), [{"capture_id": c, "reason": r}
                                           for c, r in result.failed])))
    yield sink.take()
