"""The audit log: every login, photo view, review decision, correction and
export, with who and when. Rows are only ever inserted (the database's
triggers refuse UPDATE and DELETE); ID numbers in it are masked."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from school_server.models import AuditEntry, utcnow


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"
    LOGIN_THROTTLED = "login_throttled"  # too many failures from one address
    LOGOUT = "logout"
    USER_ADDED = "user_added"
    VIEW_PHOTO = "view_photo"
    REVIEW = "review"
    CORRECTION = "correction"
    EXPORT = "export"
    DOWNLOAD_MISSING = "download_missing"
    DOWNLOAD_AUDIT = "download_audit"


def record(db: Session, username: str, action: Action, target: str = "", detail: str = "",
           *, commit: bool = True) -> None:
    db.add(AuditEntry(at=utcnow(), username=username[:64], action=action.value,
                      target=target[:200], detail=detail))
    if commit:
        db.commit()


def entries(db: Session, limit: int | None = None) -> Iterator[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if limit:
        query = query.limit(limit)
    yield from db.scalars(query)

