"""The capture store's outbox and status queries: what the sync agent
uploads, the USB bundle carries and staff mode counts, and the marks a
receipt or a refusal leaves on a row."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from kiosk.capture.db import (PENDING_STATUSES, SEALED_SUFFIX, STATUSES, StoreBase, _iso,
                              _now)

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


class Outbox(StoreBase):
    """Reading the store and moving rows through the outbox."""


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

