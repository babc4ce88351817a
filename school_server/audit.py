"""The audit log: every login, photo view, review decision, correction and
export, with who and when. Rows are only ever inserted (the database's
triggers refuse UPDATE, DELETE and INSERT over an existing id); ID numbers
in it are masked.

Each row carries a hash chain: sha256 of the previous row's chain and this
row's fields. A row changed or removed on a copy of the database (where the
triggers can be dropped) breaks the chain from there on; `photo-server
verify-audit` walks it. Refusals that cost no password hash (throttled,
locked) are logged at their 1st, 2nd, 4th, 8th, ... repeat in a window, with
the count, so a flood of them cannot scroll real entries away.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from school_server.models import AuditEntry, AuditHead, utcnow

GENESIS = "0" * 64  # the chain before the first row


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"
    LOGIN_THROTTLED = "login_throttled"  # too many failures from one address
    LOGOUT = "logout"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    KIOSK_REVOKED = "kiosk_revoked"
    VIEW_PHOTO = "view_photo"
    VIEW_PAGE = "view_page"  # a review grid page: the ids shown, in one entry
    RETRY_UNOPENABLE = "retry_unopenable"
    REVIEW = "review"
    CORRECTION = "correction"
    EXPORT = "export"
    DOWNLOAD_MISSING = "download_missing"
    DOWNLOAD_AUDIT = "download_audit"
    IMPORT = "import"  # a roster or schedule file replaced centres' rows


def chain_hash(previous: str, row: Any) -> str:
    """The chain value of row (an AuditEntry or a result row) after previous."""
    fields = [previous, row.id, row.at.isoformat(), row.username, row.action, row.target,
              row.detail]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def record(db: Session, username: str, action: Action, target: str = "", detail: str = "",
           *, commit: bool = True) -> None:
    # The head first: its row lock (PostgreSQL) or the write lock (SQLite)
    # makes concurrent writers chain one after another.
    last_id, previous = db.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_id=AuditHead.last_id + 1)
        .returning(AuditHead.last_id, AuditHead.chain)).one()
    entry = AuditEntry(id=last_id, at=utcnow(), username=username[:64], action=action.value,
                       target=target[:200], detail=detail)
    entry.chain = chain_hash(previous, entry)
    db.add(entry)
    db.execute(update(AuditHead).where(AuditHead.id == 1).values(chain=entry.chain))
    if commit:
        db.commit()


def refusal(db: Session, username: str, action: Action, address: str, count: int) -> None:
    """The count-th refusal of one kind for one key in the current window."""
    if count & (count - 1) == 0:  # 1, 2, 4, 8, ...
        record(db, username, action, detail=f"from {address}; refusal {count} in this window "
                                            "(logged at the 1st, 2nd, 4th, 8th, ...)")


def entries(db: Session, limit: int | None = None) -> Iterator[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if limit:
        query = query.limit(limit)
    yield from db.scalars(query)


@dataclass(frozen=True)
class ChainCheck:
    rows: int
    last_id: int
    chain: str  # the last row's (note it down: a later check shows rows removed at the end)
    broken_at: int | None  # the first row whose chain does not follow; None: intact
    head_agrees: bool  # audit_head names the last row and its chain

    @property
    def intact(self) -> bool:
        return self.broken_at is None and self.head_agrees


def verify(db: Session) -> ChainCheck:
    """Walk the chain in id order."""
    rows, last_id, chain = 0, 0, GENESIS
    for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(
            yield_per=1000)):
        if chain_hash(chain, entry) != entry.chain:
            return ChainCheck(rows, last_id, chain, entry.id, False)
        rows, last_id, chain = rows + 1, entry.id, entry.chain
    head = db.get(AuditHead, 1)
    agrees = head is not None and (head.last_id, head.chain) == (last_id, chain)
    return ChainCheck(rows, last_id, chain, None, agrees)
