"""The capture store: the only code that writes capture data.

Layout under data_dir (directories 0700, files 0600):

    captures.db                   SQLite, WAL, synchronous=FULL: the outbox
    sealed/<capture_id>.sealed    with a sealing key: the capture, sealed
    photos/<capture_id>/spec.jpg  without one: the photo sent to the school
    photos/<capture_id>/original.jpg  ... and the untouched still, if any

With the school server's public key (config [sync] server_public_key) each
capture's personal payload (photos, full ID number, name, 采集码, consent,
check report) is one JSON document sealed with a PyNaCl SealedBox: a stolen
SD card reveals nothing, and the kiosk itself cannot open its backlog (only
`photo-server export` can). The row then keeps only what the outbox and the
duplicate checks need: student_ref and the 采集码's digest (photo_wire's
memory-hard scrypt: nothing that narrows an ID number, no fast way to test
guesses), consent version, kiosk, session, the sealed file's sha256 and the
receipt; staff see a capture by its short id. Without a key, photos are plain
files as before (logged as a warning once).

Schema 2 dropped the masked ID (first 6 and last 4 digits: with the HMAC
key beside it, an ID number fell to a brute force of its birth date in under
a second). Rows of an older store keep their old ref as "legacy:<hmac>"
until roster.rekey_legacy_captures() finds the student in the roster file;
the freed pages are wiped (secure_delete, VACUUM, WAL truncated).

save() writes the file(s) durably first (temp file, fsync, rename, directory
fsync), then inserts the row in one transaction, and only then returns: a
capture the student was told about survives a power cut. synchronous=FULL
because with NORMAL a power cut lost acknowledged rows. A crash between the
file and the row leaves a file without a row; recover() removes those at
start.

Status: captured -> uploading -> acknowledged (the server's receipt matched
the digest) -> purged (file deleted after the retention time; the row stays
so has_capture() and the 采集码 check keep working).

The 采集码 payload is opaque and personal: never in a log or an exception
message; in sealed mode not even in the row (only its HMAC).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.capture.db import (DB_NAME, ORIGINAL_NAME, PHOTOS_DIR, SEALED_DIR,  # noqa: F401
                              SEALED_SUFFIX, SPEC_NAME, STATUSES, StoreError, _describe,
                              _is_disk_full, _now)
from kiosk.capture.document import photo_bytes, sealed_document
from kiosk.capture.queue import Outbox, Outgoing, Refused  # noqa: F401
from kiosk.capture.upkeep import Recovery, Upkeep  # noqa: F401
from photo_wire.capture import CheckReport
from photo_wire.files import fsync_dir as _fsync_dir
from photo_wire.files import make_private_dir as _make_private_dir
from photo_wire.files import write_durably as _write_durably

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.domain import CaptureRequest

log = logging.getLogger(__name__)

Report = CheckReport | Mapping[str, Any]


def open_store(config: Config) -> CaptureStore:
    """The booth's store as `kiosk run` opens it: data_dir private, crash leftovers
    recovered. Raises StoreError (a disk, mount or file problem staff must fix)."""
    data_dir = config.kiosk.data_dir  # CaptureStore makes it, private, or raises StoreError
    store = CaptureStore(data_dir, config.kiosk.id, public_key=config.sync.public_key_bytes())
    try:
        store.recover()
    except (OSError, sqlite3.Error) as err:
        store.close()
        raise StoreError(f"cannot recover the capture store in {data_dir}: {err}",
                         disk_full=_is_disk_full(err)) from err
    return store


class CaptureStore(Outbox, Upkeep):
    """The booth's capture store: save() here, the outbox in queue.Outbox,
    recovery and purge in upkeep.Upkeep, the connection in db.StoreBase."""

    def save(self, request: CaptureRequest, session: str, report: Report, *,
             capture_id: str | None = None) -> str:
        """Store one capture durably and return its capture_id (uuid4 hex).

        A caller that mints capture_id itself may call again with the same id
        after an error: an id that is already stored is returned as is, so one
        confirmed capture never becomes two rows.
        """
        capture_id = capture_id or uuid.uuid4().hex
        written: list[Path] = []
        try:
            with self._lock:
                if self._conn.execute("SELECT 1 FROM captures WHERE capture_id = ?",
                                      (capture_id,)).fetchone():
                    return capture_id
                self._in_flight.add(capture_id)
            if self._box is not None:
                self._save_sealed(capture_id, request, session, report, written)
            else:
                self._save_plain(capture_id, request, session, report, written)
        except Exception as err:
            for path in written:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            disk_full = _is_disk_full(err)
            # type and errno only: an exception's text could quote the payload.
            reason = "disk full" if disk_full else _describe(err)
            log.error("saving capture %s failed: %s", capture_id, reason)
            raise StoreError(f"capture not saved: {reason}", disk_full=disk_full) from err
        finally:
            with self._lock:
                self._in_flight.discard(capture_id)
        log.info("saved capture %s%s", capture_id, " (sealed)" if self._box is not None else "")
        return capture_id

    def _save_sealed(self, capture_id: str, request: CaptureRequest, session: str,
                     report: Report, written: list[Path]) -> None:
        student = request.student
        now = _now()
        doc = sealed_document(capture_id, request, session, report, self.kiosk_id, now)
        assert self._box is not None
        sealed = self._box.encrypt(doc.sealed_bytes())
        del doc  # drop the plain copy as soon as the sealed one exists
        digest = hashlib.sha256(sealed).hexdigest()
        path = self.sealed_dir / f"{capture_id}{SEALED_SUFFIX}"
        written.append(path)
        _write_durably(path, sealed)  # includes the directory fsync
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO captures (capture_id, student_ref, code_digest,"
                " consent_version, kiosk_id, session, digest, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'captured', ?, ?)",
                (capture_id, student.match.student_ref,
                 self._code_digest(student.code_payload), student.consent_version,
                 self.kiosk_id, session, digest, now, now),
            )

    def _save_plain(self, capture_id: str, request: CaptureRequest, session: str,
                    report: Report, written: list[Path]) -> None:
        student = request.student
        folder = self.photos_dir / capture_id
        spec = photo_bytes(request.photo.spec_jpeg, "spec_jpeg", required=True)
        original = photo_bytes(request.photo.original_jpeg, "original_jpeg", required=False)
        # The report as the sealed document will hold it (sealed once the key is set).
        report_json = CheckReport.model_validate(report).model_dump_json()
        _make_private_dir(folder)
        written.append(folder)
        spec_rel = f"{PHOTOS_DIR}/{capture_id}/{SPEC_NAME}"
        _write_durably(folder / SPEC_NAME, spec)
        original_rel = None
        if original is not None:
            original_rel = f"{PHOTOS_DIR}/{capture_id}/{ORIGINAL_NAME}"
            _write_durably(folder / ORIGINAL_NAME, original)
        _fsync_dir(self.photos_dir)  # the new folder's own entry
        now = _now()
        consent_time = student.consent_time.isoformat() if student.consent_time else None
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO captures (capture_id, student_ref, code_digest,"
                " code_payload, consent_version, consent_time, kiosk_id, session, spec_path,"
                " original_path, report_json, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'captured', ?, ?)",
                (
                    capture_id, student.match.student_ref,
                    self._code_digest(student.code_payload), student.code_payload,
                    student.consent_version, consent_time, self.kiosk_id, session,
                    spec_rel, original_rel, report_json, now, now,
                ),
            )

