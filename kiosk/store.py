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

import base64
import errno
import hashlib
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
from typing import TYPE_CHECKING, Any, Iterable

from nacl.public import PublicKey, SealedBox

from kiosk.domain import CaptureRequest
from photo_wire.idnumber import mask_id
from photo_wire.files import fsync_dir as _fsync_dir
from photo_wire.files import make_private_dir as _make_private_dir
from photo_wire.files import write_durably as _write_durably
from photo_wire.files import write_private_file  # noqa: F401  (the booth's small files)
from photo_wire.ids import code_digest

if TYPE_CHECKING:
    from kiosk.config import Config

log = logging.getLogger(__name__)

DB_NAME = "captures.db"
PHOTOS_DIR = "photos"
SEALED_DIR = "sealed"
SEALED_SUFFIX = ".sealed"
SPEC_NAME = "spec.jpg"
ORIGINAL_NAME = "original.jpg"
STATUSES = ("captured", "uploading", "acknowledged", "purged")
PENDING_STATUSES = ("captured", "uploading")
SCHEMA_VERSION = 2
LEGACY_PREFIX = "legacy:"  # student_ref of a row from before schema 2, not yet re-keyed
# Names the sealed document's layout for whoever opens it (export).
DOC_FORMAT = "photo-kiosk-capture/1"

_STATUS_CHECK = f"status IN ({', '.join(repr(s) for s in STATUSES)})"
_TABLE = f"""
CREATE TABLE IF NOT EXISTS captures (
    capture_id      TEXT PRIMARY KEY,
    student_ref     TEXT NOT NULL,      -- photo_wire student_ref (or LEGACY_PREFIX + old HMAC)
    code_digest     TEXT,               -- photo_wire code_digest; NULL: from before schema 2, sealed
    code_payload    TEXT,               -- plain mode only
    consent_version TEXT NOT NULL,
    consent_time    TEXT,               -- plain mode only (sealed: in the document)
    kiosk_id        TEXT NOT NULL,
    session         TEXT NOT NULL,
    spec_path       TEXT,               -- plain mode only
    original_path   TEXT,               -- plain mode only
    report_json     TEXT,               -- plain mode only
    digest          TEXT,               -- sha256 hex of sealed/<capture_id>.sealed
    status          TEXT NOT NULL DEFAULT 'captured' CHECK ({_STATUS_CHECK}),
    attempts        INTEGER NOT NULL DEFAULT 0,
    upload_error    TEXT,               -- the server refused it for good: staff must look
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    received_at     TEXT,               -- the server's receipt
    acked_at        TEXT,               -- kiosk clock at the receipt (retention counts from it)
    purged_at       TEXT,
    CHECK (digest IS NOT NULL OR spec_path IS NOT NULL),
    -- a sealed row holds nothing personal in the clear
    CHECK (digest IS NULL OR (code_payload IS NULL AND spec_path IS NULL
                              AND original_path IS NULL AND report_json IS NULL
                              AND consent_time IS NULL))
)"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS captures_student_ref ON captures (student_ref);
CREATE INDEX IF NOT EXISTS captures_status ON captures (status, created_at);
CREATE INDEX IF NOT EXISTS captures_code_digest ON captures (code_digest);
"""

_warned_plain = False


class StoreError(Exception):
    """A capture could not be stored; disk_full tells the flow which message to show."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


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


class _BadPhoto(ValueError):
    """The photo object has no usable JPEG bytes (message safe to log)."""


@dataclass
class Recovery:
    """What recover() found at start."""

    removed_orphans: list[str] = field(default_factory=list)  # files/folders without a row
    missing_files: list[str] = field(default_factory=list)  # capture_ids with files gone
    sealed_legacy: list[str] = field(default_factory=list)  # plain captures sealed now


@dataclass(frozen=True)
class Refused:
    """A capture the server refused for good (staff mode): nothing personal."""

    capture_id: str
    reason: str
    created_at: str


@dataclass(frozen=True)
class Outgoing:
    """One sealed capture waiting for upload (what the PUT body needs but the bytes)."""

    capture_id: str
    kiosk_id: str
    session: str
    created_at: str
    digest: str


class CaptureStore:
    """Thread-safe: one connection shared under a lock (saves come from a worker,
    the sync agent works from its own thread)."""

    def __init__(self, data_dir: Path, kiosk_id: str, *, public_key: bytes | None = None) -> None:
        """public_key: the school server's Curve25519 key (sealed mode) or None
        (plain files)."""
        global _warned_plain
        self.data_dir = Path(data_dir)
        self.kiosk_id = kiosk_id
        self.photos_dir = self.data_dir / PHOTOS_DIR
        self.sealed_dir = self.data_dir / SEALED_DIR
        self._box = SealedBox(PublicKey(public_key)) if public_key else None
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # capture_ids between the first file and commit
        # The last 采集码 looked up (a QR in view is decoded every frame): its
        # digest, found by a fast hash under a key that dies with the process.
        self._memo_key = os.urandom(32)
        self._code_memo: tuple[bytes, str] | None = None
        try:
            _make_private_dir(self.data_dir)
            _make_private_dir(self.photos_dir)
            if self._box is not None:
                _make_private_dir(self.sealed_dir)
            db_path = self.data_dir / DB_NAME
            # Create the file 0600 before SQLite does: its -wal and -shm copy this mode.
            os.close(os.open(db_path, os.O_RDWR | os.O_CREAT, 0o600))
            # Make the names durable: photos/, sealed/ and captures.db in data_dir,
            # and data_dir in its parent (the kiosk creates it at first start).
            # An fsync of a file inside does not (fsync(2)); without this a power
            # cut could take the whole data_dir, acknowledged captures and all.
            _fsync_dir(self.data_dir)
            _fsync_dir(self.data_dir.parent)
            self._conn = sqlite3.connect(db_path, check_same_thread=False, timeout=10)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            # Deleted and overwritten values are zeroed, not left in free pages.
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.create_function("code_digest", 1, self._code_digest, deterministic=True)
            self._migrate()
        except (OSError, sqlite3.Error) as err:
            raise StoreError(
                f"cannot open the capture store in {self.data_dir}: {err}",
                disk_full=_is_disk_full(err),
            ) from err
        if self._box is None and not _warned_plain:
            _warned_plain = True
            log.warning("no sync.server_public_key: captures are stored as PLAIN photo files "
                        "in %s (readable by anyone holding the SD card)", self.photos_dir)

    @property
    def sealing(self) -> bool:
        """True when captures are sealed to the server's key (staff mode shows False as a warning)."""
        return self._box is not None

    # ------------------------------------------------------------ writing

    def save(self, request: CaptureRequest, session: str, report: dict[str, Any], *,
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
                     report: dict[str, Any], written: list[Path]) -> None:
        student = request.student
        now = _now()
        doc = sealed_document(capture_id, request, session, report, self.kiosk_id, now)
        assert self._box is not None
        sealed = self._box.encrypt(json.dumps(doc, ensure_ascii=False, default=str).encode())
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
                    report: dict[str, Any], written: list[Path]) -> None:
        student = request.student
        folder = self.photos_dir / capture_id
        spec = _photo_bytes(request.photo, "spec_jpeg", required=True)
        original = _photo_bytes(request.photo, "original_jpeg", required=False)
        report_json = json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)
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
            "SELECT student_ref FROM captures WHERE code_digest = ? LIMIT 1",
            (self._code_digest(code_payload),),
        )
        return row[0] if row else None

    def pending_count(self) -> int:
        """Captures not yet acknowledged by the school server (refused ones too)."""
        marks = ", ".join("?" for _ in PENDING_STATUSES)
        row = self._query_one(
            f"SELECT COUNT(*) FROM captures WHERE status IN ({marks})", PENDING_STATUSES
        )
        return int(row[0]) if row else 0

    def status_counts(self) -> dict[str, int]:
        """Rows per status, plus 'rejected' (pending ones the server refused for good)."""
        with self._lock:
            counts = dict(self._conn.execute(
                "SELECT status, COUNT(*) FROM captures GROUP BY status").fetchall())
            rejected = self._conn.execute(
                "SELECT COUNT(*) FROM captures WHERE upload_error IS NOT NULL"
                " AND status IN ('captured', 'uploading')").fetchone()[0]
        return {**{s: int(counts.get(s, 0)) for s in STATUSES}, "rejected": int(rejected)}

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

    # ------------------------------------------------------------ outbox (sync agent)

    def outbox(self, limit: int | None = 50) -> list[Outgoing]:
        """Sealed captures to upload (or export), oldest first; refused ones wait
        for staff. limit None: all of them."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, kiosk_id, session, created_at, digest FROM captures"
                " WHERE status IN ('captured', 'uploading') AND digest IS NOT NULL"
                " AND upload_error IS NULL ORDER BY created_at, capture_id LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
        return [Outgoing(*row) for row in rows]

    def unsealed_pending_count(self) -> int:
        """Pending captures still stored as plain files (no key yet, or not sealed
        since the key was set): nothing can send them until recover() seals them."""
        row = self._query_one(
            "SELECT COUNT(*) FROM captures WHERE status IN ('captured', 'uploading')"
            " AND digest IS NULL", ())
        return int(row[0]) if row else 0

    def capture_state(self, capture_id: str) -> tuple[str, str | None] | None:
        """(status, digest) of one capture, or None when there is no such row."""
        row = self._query_one("SELECT status, digest FROM captures WHERE capture_id = ?",
                              (capture_id,))
        return (row[0], row[1]) if row else None

    def sealed_bytes(self, item: Outgoing) -> bytes:
        """The sealed file, checked against the digest taken at save time.

        OSError when it is gone; ValueError when it no longer matches (SD card
        damage): either way uploading it again will not help.
        """
        data = (self.sealed_dir / f"{item.capture_id}{SEALED_SUFFIX}").read_bytes()
        if hashlib.sha256(data).hexdigest() != item.digest:
            raise ValueError("sealed file does not match its digest (damaged storage?)")
        return data

    def mark_uploading(self, capture_ids: Iterable[str]) -> None:
        self._set_status(capture_ids, "uploading", "status IN ('captured', 'uploading')",
                         attempts=True)

    def mark_pending(self, capture_ids: Iterable[str]) -> None:
        """Back to the queue after a failed try (nothing was acknowledged)."""
        self._set_status(capture_ids, "captured", "status = 'uploading'")

    def requeue_uploading(self) -> int:
        """At start: uploads cut short by a crash or stop go back to the queue."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "UPDATE captures SET status = 'captured', updated_at = ? WHERE status = 'uploading'",
                (_now(),))
        return cur.rowcount

    def mark_acknowledged(self, capture_id: str, digest: str, received_at: str,
                          at: datetime | None = None) -> bool:
        """Record the server's receipt; only when its digest is the capture's own."""
        now = _iso(at) if at else _now()
        with self._lock, self._conn:
            cur = self._conn.execute(
                "UPDATE captures SET status = 'acknowledged', received_at = ?, acked_at = ?,"
                " upload_error = NULL, updated_at = ? WHERE capture_id = ? AND digest = ?"
                " AND status IN ('captured', 'uploading')",
                (received_at, now, now, capture_id, digest))
        return cur.rowcount == 1

    def mark_rejected(self, capture_id: str, reason: str) -> None:
        """The server refused this capture for good (409, 413, 422...): staff must look.
        reason must not hold personal data."""
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE captures SET status = 'captured', upload_error = ?, updated_at = ?"
                " WHERE capture_id = ? AND status IN ('captured', 'uploading')",
                (reason[:500], _now(), capture_id))

    def rejected(self) -> list[tuple[str, str]]:
        """(capture_id, reason) of captures the server refused (staff mode)."""
        with self._lock:
            return [tuple(r) for r in self._conn.execute(  # type: ignore[misc]
                "SELECT capture_id, upload_error FROM captures WHERE upload_error IS NOT NULL"
                " AND status IN ('captured', 'uploading') ORDER BY created_at").fetchall()]

    def rejected_captures(self, limit: int = 20) -> list[Refused]:
        """Refused captures for staff mode, oldest first: id, reason."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT capture_id, upload_error, created_at FROM captures"
                " WHERE upload_error IS NOT NULL AND status IN ('captured', 'uploading')"
                " ORDER BY created_at, capture_id LIMIT ?", (limit,)).fetchall()
        return [Refused(*row) for row in rows]

    def retry_rejected(self) -> int:
        """Staff: put refused captures back in the queue (after fixing the cause)."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "UPDATE captures SET upload_error = NULL, updated_at = ?"
                " WHERE upload_error IS NOT NULL AND status IN ('captured', 'uploading')", (_now(),))
        return cur.rowcount

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

    # ------------------------------------------------------------ upkeep

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
                doc: dict[str, Any] = {
                    "format": DOC_FORMAT, "capture_id": capture_id,
                    "spec_jpeg": _b64((self.data_dir / spec_path).read_bytes()),
                    "student_ref": student_ref,
                    "code_payload": code_payload, "consent_version": consent_version,
                    "consent_time": consent_time, "kiosk_id": kiosk_id, "session": session,
                    "created_at": created_at,
                    "check_report": json.loads(report_json) if report_json else None,
                    "note": "stored before sealing was configured: no full ID number or name",
                }
                if original_path:
                    doc["original_jpeg"] = _b64((self.data_dir / original_path).read_bytes())
                sealed = self._box.encrypt(json.dumps(doc, ensure_ascii=False).encode())
                del doc
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

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------ helpers

    def _code_digest(self, code_payload: str | None) -> str:
        payload = code_payload or ""
        fast = hashlib.blake2b(payload.encode(), key=self._memo_key).digest()
        memo = self._code_memo
        if memo is not None and memo[0] == fast:
            return memo[1]
        digest = code_digest(payload)
        self._code_memo = (fast, digest)
        return digest

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(captures)")}
        # One transaction: a crash leaves the old table or the new one, never half.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if columns:
                # Schema 0 (plain only) or 1: drop the masked ID; the old HMAC
                # refs wait, marked, for rekey(); a plain row's 采集码 is digested
                # anew, a sealed row's cannot be (its digest is dropped).
                self._conn.execute(_TABLE.replace("captures (", "captures_v2 (", 1))
                new = {r[1] for r in self._conn.execute("PRAGMA table_info(captures_v2)")}
                cols = ", ".join(sorted((columns & new) - {"student_ref", "code_digest"}))
                self._conn.execute(
                    f"INSERT INTO captures_v2 ({cols}, student_ref, code_digest)"
                    f" SELECT {cols}, '{LEGACY_PREFIX}' || student_ref,"
                    " CASE WHEN code_payload IS NULL THEN NULL ELSE code_digest(code_payload) END"
                    " FROM captures")
                self._conn.execute("DROP TABLE captures")
                self._conn.execute("ALTER TABLE captures_v2 RENAME TO captures")
                log.info("capture store: migrated the table to schema %d", SCHEMA_VERSION)
            else:
                self._conn.execute(_TABLE)
            for statement in filter(str.strip, _INDEXES.split(";")):
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        if columns:
            self._wipe_free_pages()

    def _wipe_free_pages(self) -> None:
        """Rewrite the file so no old value survives in free pages or the WAL."""
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def legacy_refs(self) -> set[str]:
        """The old HMAC refs of rows from before schema 2, not yet re-keyed."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT substr(student_ref, ?) FROM captures WHERE student_ref LIKE ?",
                (len(LEGACY_PREFIX) + 1, LEGACY_PREFIX + "%")).fetchall()
        return {r[0] for r in rows}

    def rekey(self, refs: dict[str, str]) -> tuple[int, int]:
        """Give legacy rows their student_ref (old HMAC ref -> new ref); those
        not in refs get a ref no student has (their student is not on the
        roster: nothing can match them). Returns (re-keyed, unmatched) rows."""
        with self._lock, self._conn:
            done = 0
            for old, new in refs.items():
                done += self._conn.execute(
                    "UPDATE captures SET student_ref = ? WHERE student_ref = ?",
                    (new, LEGACY_PREFIX + old)).rowcount
            rest = self._conn.execute(
                "UPDATE captures SET student_ref = 'unmatched:' || capture_id"
                " WHERE student_ref LIKE ?", (LEGACY_PREFIX + "%",)).rowcount
        if done or rest:
            with self._lock:
                self._wipe_free_pages()
        return done, rest

    def _set_status(self, capture_ids: Iterable[str], status: str, where: str,
                    attempts: bool = False) -> None:
        now = _now()
        bump = ", attempts = attempts + 1" if attempts else ""
        with self._lock, self._conn:
            self._conn.executemany(
                f"UPDATE captures SET status = ?, updated_at = ?{bump}"
                f" WHERE capture_id = ? AND {where}",
                [(status, now, cid) for cid in capture_ids])

    def _delete_files(self, capture_id: str, *, sealed: bool) -> None:
        if sealed:
            (self.sealed_dir / f"{capture_id}{SEALED_SUFFIX}").unlink(missing_ok=True)
        else:
            shutil.rmtree(self.photos_dir / capture_id, ignore_errors=True)

    def _query_one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"capture store query failed: {err}") from err


def sealed_document(capture_id: str, request: CaptureRequest, session: str,
                    report: dict[str, Any], kiosk_id: str, created_at: str) -> dict[str, Any]:
    """The plaintext that gets sealed: what `photo-server export` writes out.

    "<name>_jpeg" fields become JPEG files; every other field a manifest column.
    """
    student = request.student
    card = student.card
    doc: dict[str, Any] = {
        "format": DOC_FORMAT,
        "capture_id": capture_id,
        "spec_jpeg": _b64(_photo_bytes(request.photo, "spec_jpeg", required=True)),
        # In full: the collection unit registers the photo under the ID number.
        "id_number": card.id_number,
        "name": card.name,
        "id_masked": mask_id(card.id_number),
        "student_ref": student.match.student_ref,
        "programme": student.match.programme,
        # 'card' (read from the ID card) or 'manual' (staff typed the number)
        "id_method": getattr(student, "id_method", "card"),
        # A makeup shoot (accepted outside the student's own centre and session),
        # and the session the roster has the student in.
        "makeup": bool(getattr(student.match, "makeup", False)),
        "roster_session": getattr(student.match, "session", ""),
        "code_payload": student.code_payload,  # the 采集码, opaque
        "consent_version": student.consent_version,
        "consent_time": student.consent_time.isoformat() if student.consent_time else None,
        "check_report": report,
        "kiosk_id": kiosk_id,
        "session": session,
        "created_at": created_at,
    }
    if card.uid:
        doc["card_uid"] = card.uid  # PC/SC readers give no ID number, only this
    original = _photo_bytes(request.photo, "original_jpeg", required=False)
    if original is not None:
        doc["original_jpeg"] = _b64(original)
    return doc


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode()


def _photo_bytes(photo: object, attr: str, *, required: bool) -> bytes | None:
    data = getattr(photo, attr, None)
    if data is None and not required:
        return None
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise _BadPhoto(f"photo.{attr} is missing or empty")
    return bytes(data)










def _iso(at: datetime) -> str:
    # One format everywhere: the purge compares these as strings.
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _now() -> str:
    return _iso(datetime.now(timezone.utc))


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
