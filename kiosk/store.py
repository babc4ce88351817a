"""The capture store: the only code that writes capture data.

Layout under data_dir (directories 0700, files 0600):

    captures.db                   SQLite, WAL, synchronous=FULL
    photos/<capture_id>/spec.jpg  the photo sent to the school
    photos/<capture_id>/original.jpg  the untouched still, when there is one

save() writes the photo files durably first (temp file, fsync, rename,
directory fsync), then inserts the row in one transaction, and only then
returns: a capture the student was told about survives a power cut.
synchronous=FULL because with NORMAL a power cut lost acknowledged rows.
A crash between the files and the row leaves a folder without a row;
recover() removes those at start.

The 采集码 payload is opaque and personal: it goes into the row and nowhere
else (never into a log or an exception message).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kiosk.flow import CaptureRequest
from kiosk.idnumber import mask_id

log = logging.getLogger(__name__)

DB_NAME = "captures.db"
PHOTOS_DIR = "photos"
SPEC_NAME = "spec.jpg"
ORIGINAL_NAME = "original.jpg"
STATUSES = ("captured", "uploading", "acknowledged", "purged")
PENDING_STATUSES = ("captured", "uploading")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS captures (
    capture_id      TEXT PRIMARY KEY,
    student_ref     TEXT NOT NULL,
    id_masked       TEXT NOT NULL,
    code_payload    TEXT NOT NULL,
    consent_version TEXT NOT NULL,
    consent_time    TEXT,
    kiosk_id        TEXT NOT NULL,
    session         TEXT NOT NULL,
    spec_path       TEXT NOT NULL,
    original_path   TEXT,
    report_json     TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'captured'
                    CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS captures_student_ref ON captures (student_ref);
CREATE INDEX IF NOT EXISTS captures_status ON captures (status);
"""


class StoreError(Exception):
    """A capture could not be stored; disk_full tells the flow which message to show."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


class _BadPhoto(ValueError):
    """The photo object has no usable JPEG bytes (message safe to log)."""


@dataclass
class Recovery:
    """What recover() found at start."""

    removed_orphans: list[str] = field(default_factory=list)  # folders without a row
    missing_files: list[str] = field(default_factory=list)  # capture_ids with files gone


class CaptureStore:
    """Thread-safe: one connection shared under a lock (saves come from a worker)."""

    def __init__(self, data_dir: Path, kiosk_id: str) -> None:
        self.data_dir = Path(data_dir)
        self.kiosk_id = kiosk_id
        self.photos_dir = self.data_dir / PHOTOS_DIR
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # capture_ids between mkdir and commit
        try:
            _make_private_dir(self.data_dir)
            _make_private_dir(self.photos_dir)
            db_path = self.data_dir / DB_NAME
            # Create the file 0600 before SQLite does: its -wal and -shm copy this mode.
            os.close(os.open(db_path, os.O_RDWR | os.O_CREAT, 0o600))
            self._conn = sqlite3.connect(db_path, check_same_thread=False, timeout=10)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._conn:
                self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(
                f"cannot open the capture store in {self.data_dir}: {err}",
                disk_full=_is_disk_full(err),
            ) from err

    # ------------------------------------------------------------ writing

    def save(self, request: CaptureRequest, session: str, report: dict[str, Any]) -> str:
        """Store one capture durably and return its capture_id (uuid4 hex)."""
        capture_id = uuid.uuid4().hex
        folder = self.photos_dir / capture_id
        student = request.student
        id_masked = mask_id(student.card.id_number)
        with self._lock:
            self._in_flight.add(capture_id)
        try:
            spec = _photo_bytes(request.photo, "spec_jpeg", required=True)
            original = _photo_bytes(request.photo, "original_jpeg", required=False)
            report_json = json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)
            _make_private_dir(folder)
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
                    "INSERT INTO captures (capture_id, student_ref, id_masked, code_payload,"
                    " consent_version, consent_time, kiosk_id, session, spec_path,"
                    " original_path, report_json, status, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'captured', ?, ?)",
                    (
                        capture_id, student.match.student_ref, id_masked, student.code_payload,
                        student.consent_version, consent_time, self.kiosk_id, session,
                        spec_rel, original_rel, report_json, now, now,
                    ),
                )
        except Exception as err:
            shutil.rmtree(folder, ignore_errors=True)
            disk_full = _is_disk_full(err)
            # type and errno only: an exception's text could quote the payload.
            reason = "disk full" if disk_full else _describe(err)
            log.error("saving a capture for %s failed: %s", id_masked, reason)
            raise StoreError(f"capture not saved: {reason}", disk_full=disk_full) from err
        finally:
            with self._lock:
                self._in_flight.discard(capture_id)
        log.info("saved capture %s for %s", capture_id, id_masked)
        return capture_id

    # ------------------------------------------------------------ reading

    def has_capture(self, student_ref: str) -> bool:
        """Any capture for this student, uploaded or not (purged ones count)."""
        if not student_ref:
            return False
        row = self._query_one("SELECT 1 FROM captures WHERE student_ref = ? LIMIT 1", (student_ref,))
        return row is not None

    def student_for_code(self, code_payload: str) -> str | None:
        """student_ref of an earlier capture bound to this 采集码, if any."""
        row = self._query_one(
            "SELECT student_ref FROM captures WHERE code_payload = ? LIMIT 1", (code_payload,)
        )
        return row[0] if row else None

    def pending_count(self) -> int:
        """Captures not yet acknowledged by the school server."""
        marks = ", ".join("?" for _ in PENDING_STATUSES)
        row = self._query_one(
            f"SELECT COUNT(*) FROM captures WHERE status IN ({marks})", PENDING_STATUSES
        )
        return int(row[0]) if row else 0

    def free_mb(self) -> int:
        """Free space on the data directory's filesystem, in MiB."""
        return shutil.disk_usage(self.data_dir).free // (1024 * 1024)

    def settings(self) -> dict[str, str]:
        """The durability pragmas in force (staff diagnostics, tests)."""
        with self._lock:
            journal = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
            sync = self._conn.execute("PRAGMA synchronous").fetchone()[0]
        names = {0: "off", 1: "normal", 2: "full", 3: "extra"}
        return {"journal_mode": str(journal).lower(), "synchronous": names.get(sync, str(sync))}

    # ------------------------------------------------------------ upkeep

    def recover(self) -> Recovery:
        """Tidy up after a crash; call at start, before the first save."""
        result = Recovery()
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, status, spec_path, original_path FROM captures"
            ).fetchall()
            busy = set(self._in_flight)
        known = {r[0] for r in rows}
        for entry in sorted(self.photos_dir.iterdir()):
            name = entry.name
            if name in known or name in busy:
                for tmp in entry.glob("*.tmp") if entry.is_dir() else ():
                    tmp.unlink(missing_ok=True)  # a rewrite cut short
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            result.removed_orphans.append(name)
        for capture_id, status, spec_path, original_path in rows:
            if status == "purged":
                continue
            paths = [p for p in (spec_path, original_path) if p]
            if any(not (self.data_dir / p).is_file() for p in paths):
                result.missing_files.append(capture_id)
        if result.removed_orphans:
            log.warning("removed %d photo folders without a row", len(result.removed_orphans))
            _fsync_dir(self.photos_dir)
        for capture_id in result.missing_files:
            log.error("capture %s: photo files are missing", capture_id)
        return result

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------ helpers

    def _query_one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"capture store query failed: {err}") from err


def _photo_bytes(photo: object, attr: str, *, required: bool) -> bytes | None:
    data = getattr(photo, attr, None)
    if data is None and not required:
        return None
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise _BadPhoto(f"photo.{attr} is missing or empty")
    return bytes(data)


def _write_durably(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, directory fsync: the file is whole or absent."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is cut by the umask; an old dir may be looser


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(err, sqlite3.Error) and getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _describe(err: BaseException) -> str:
    if isinstance(err, OSError):
        return f"{type(err).__name__} ({errno.errorcode.get(err.errno or 0, err.errno)})"
    if isinstance(err, sqlite3.Error):
        return f"{type(err).__name__} ({getattr(err, 'sqlite_errorname', 'sqlite error')})"
    if isinstance(err, _BadPhoto):
        return str(err)
    return type(err).__name__
