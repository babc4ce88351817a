"""The capture store's upkeep: tidying up after a crash at start, sealing
captures stored as plain files before the key was set, and deleting the
files of acknowledged captures once the retention time is over."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.capture.db import SEALED_DIR, SEALED_SUFFIX, StoreBase, _describe, _iso, _now
from kiosk.capture.document import b64
from photo_wire.capture import CaptureDocument, CheckReport
from photo_wire.files import fsync_dir as _fsync_dir
from photo_wire.files import write_durably as _write_durably

log = logging.getLogger(__name__)


@dataclass
class Recovery:
    """What recover() found at start."""

    removed_orphans: list[str] = field(default_factory=list)  # files/folders without a row
    missing_files: list[str] = field(default_factory=list)  # capture_ids with files gone
    sealed_legacy: list[str] = field(default_factory=list)  # plain captures sealed now


class Upkeep(StoreBase):
    """Crash recovery, the plain backlog, the retention purge."""

    def purge_acknowledged(self, before: datetime) -> list[str]:
        """Delete the files of captures acknowledged at or before `before`.

        The row is marked first and the file deleted second: a crash in
        between leaves a file of a purged row, which recover() deletes.
        Never touches a capture the server has not acknowledged.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, digest FROM captures WHERE status = 'acknowledged'"
                " AND acked_at IS NOT NULL AND acked_at <= ?", (_iso(before),)).fetchall()
        if not rows:
            return []
        now = _now()
        ids = [r[0] for r in rows]
        with self._lock, self._conn:
            self._conn.executemany(
                "UPDATE captures SET status = 'purged', purged_at = ?, updated_at = ?"
                " WHERE capture_id = ? AND status = 'acknowledged'",
                [(now, now, cid) for cid in ids])
        for capture_id, digest in rows:
            self._delete_files(capture_id, sealed=digest is not None)
        for folder in (self.sealed_dir, self.photos_dir):
            if folder.is_dir():
                _fsync_dir(folder)
        log.info("purged %d acknowledged captures", len(ids))
        return ids


    def recover(self) -> Recovery:
        """Tidy up after a crash; call at start, before the first save."""
        result = Recovery()
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, status, spec_path, original_path, digest FROM captures"
            ).fetchall()
            busy = set(self._in_flight)
        plain = {r[0] for r in rows if r[4] is None and r[1] != "purged"}
        sealed = {r[0] for r in rows if r[4] is not None and r[1] != "purged"}
        for entry in sorted(self.photos_dir.iterdir()):
            name = entry.name
            if name in plain or name in busy:
                for tmp in entry.glob("*.tmp") if entry.is_dir() else ():
                    tmp.unlink(missing_ok=True)  # a rewrite cut short
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            result.removed_orphans.append(name)
        removed_sealed = False
        if self.sealed_dir.is_dir():
            for entry in sorted(self.sealed_dir.iterdir()):
                capture_id = entry.name.removesuffix(SEALED_SUFFIX)
                if entry.name.endswith(SEALED_SUFFIX) and (capture_id in sealed or capture_id in busy):
                    continue
                # A temp file cut short, a file whose row never committed, or
                # the file of a purged row whose delete was cut short.
                entry.unlink(missing_ok=True)
                removed_sealed = True
                if not entry.name.endswith(".tmp"):
                    result.removed_orphans.append(capture_id)
        for capture_id, status, spec_path, original_path, digest in rows:
            if status == "purged":
                continue
            if digest is not None:
                paths = [f"{SEALED_DIR}/{capture_id}{SEALED_SUFFIX}"]
            else:
                paths = [p for p in (spec_path, original_path) if p]
            if any(not (self.data_dir / p).is_file() for p in paths):
                result.missing_files.append(capture_id)
        if result.removed_orphans:
            log.warning("removed %d capture files/folders without a row", len(result.removed_orphans))
        if result.removed_orphans or removed_sealed:
            _fsync_dir(self.photos_dir)
            if self.sealed_dir.is_dir():
                _fsync_dir(self.sealed_dir)
        for capture_id in result.missing_files:
            log.error("capture %s: capture files are missing", capture_id)
        if self._box is not None:
            result.sealed_legacy = self._seal_plain_backlog(set(result.missing_files))
        return result

    def _seal_plain_backlog(self, skip: set[str]) -> list[str]:
        """Plain captures from before the key was configured: seal them so they
        can be uploaded, then delete the plain files (file first, row second,
        folder last: a crash anywhere leaves either the plain or the sealed copy)."""
        assert self._box is not None
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, student_ref, code_payload, consent_version,"
                " consent_time, kiosk_id, session, spec_path, original_path, report_json,"
                " created_at FROM captures WHERE digest IS NULL AND status != 'purged'"
            ).fetchall()
        done: list[str] = []
        for (capture_id, student_ref, code_payload, consent_version, consent_time,
             kiosk_id, session, spec_path, original_path, report_json, created_at) in rows:
            if capture_id in skip:
                continue
            try:
                original = (self.data_dir / original_path).read_bytes() if original_path else None
                doc = CaptureDocument(
                    capture_id=capture_id,
                    spec_jpeg=b64((self.data_dir / spec_path).read_bytes()),
                    original_jpeg=b64(original) if original is not None else None,
                    student_ref=student_ref, code_payload=code_payload,
                    consent_version=consent_version, consent_time=consent_time,
                    kiosk_id=kiosk_id, session=session, created_at=created_at,
                    check_report=(CheckReport.model_validate_json(report_json)
                                  if report_json else None),
                    note="stored before sealing was configured: no full ID number or name")
                sealed = self._box.encrypt(doc.sealed_bytes())
                del doc, original
                _write_durably(self.sealed_dir / f"{capture_id}{SEALED_SUFFIX}", sealed)
                with self._lock, self._conn:
                    self._conn.execute(
                        "UPDATE captures SET digest = ?, code_payload = NULL, consent_time = NULL,"
                        " spec_path = NULL, original_path = NULL, report_json = NULL,"
                        " updated_at = ? WHERE capture_id = ? AND digest IS NULL",
                        (hashlib.sha256(sealed).hexdigest(), _now(), capture_id))
            except (OSError, ValueError, sqlite3.Error) as err:
                log.error("capture %s: could not seal the plain files: %s", capture_id, _describe(err))
                continue
            shutil.rmtree(self.photos_dir / capture_id, ignore_errors=True)
            done.append(capture_id)
        if done:
            _fsync_dir(self.photos_dir)
            log.warning("sealed %d captures stored as plain files before the key was set", len(done))
        return done

