"""The capture store's database and folders: layout, schema and its
migrations, the connection every part of the store shares, and the small
helpers they all use. The write path is store.py, the outbox queue.py, the
upkeep (recovery, sealing the plain backlog, purge) upkeep.py.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from nacl.public import PublicKey, SealedBox

from photo_wire.files import fsync_dir as _fsync_dir
from photo_wire.files import make_private_dir as _make_private_dir
from photo_wire.ids import code_digest

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


class BadPhoto(ValueError):
    """The photo object has no usable JPEG bytes (message safe to log)."""


class StoreBase:
    """The open store: folders, connection, schema. Thread-safe: one connection shared under a lock (saves come from a worker,
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
    if isinstance(err, BadPhoto):
        return str(err)
    return type(err).__name__
