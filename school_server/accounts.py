"""Office staff accounts: argon2 password hashes, lockout after repeated
failures, roles (viewer < reviewer < admin), and browser sessions (a random
cookie whose sha256 is stored, with its CSRF token)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from school_server import audit
from school_server.models import STAFF_ROLES, StaffSession, StaffUser, utcnow

MAX_FAILURES = 5  # then the account is locked for LOCKOUT
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)  # a working day
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class LoginOutcome(Enum):
    OK = "ok"
    BAD = "bad"  # unknown user or wrong password: one answer for both
    LOCKED = "locked"


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    csrf_token: str

    def may(self, role: str) -> bool:
        """True when this account's role includes `role`'s rights."""
        return STAFF_ROLES.index(self.role) >= STAFF_ROLES.index(role)


def add_user(db: Session, username: str, password: str, role: str) -> None:
    """A new account, or a new password and role for an existing one (unlocked)."""
    if not USERNAME.match(username):
        raise ValueError("username: 1-64 of letters, digits, _ . @ -")
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    user = db.get(StaffUser, username)
    if user is None:
        user = StaffUser(username=username, created_at=utcnow())
        db.add(user)
    user.password_hash, user.role = _hasher.hash(password), role
    user.failed_logins, user.locked_until = 0, None
    audit.record(db, "cli", audit.Action.USER_ADDED, username, f"role {role}", commit=False)
    db.commit()


def log_in(db: Session, username: str, password: str) -> tuple[LoginOutcome, str | None]:
    """(outcome, session cookie value when OK). Every attempt is audited."""
    now = utcnow()
    user = db.get(StaffUser, username) if USERNAME.match(username) else None
    if user is not None and user.locked_until and user.locked_until > now:
        audit.record(db, username, audit.Action.LOGIN_LOCKED)
        return LoginOutcome.LOCKED, None
    if not _verify(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
        audit.record(db, username[:64] or "-", audit.Action.LOGIN_FAILED)
        locked = user is not None and user.locked_until is not None and user.locked_until > now
        return (LoginOutcome.LOCKED if locked else LoginOutcome.BAD), None
    user.failed_logins, user.locked_until = 0, None
    db.execute(delete(StaffSession).where(StaffSession.expires_at <= now))  # housekeeping
    token = secrets.token_urlsafe(32)
    db.add(StaffSession(token_hash=_sha256(token), username=username,
                        csrf_token=secrets.token_urlsafe(32), created_at=now,
                        expires_at=now + SESSION_LIFETIME))
    audit.record(db, username, audit.Action.LOGIN, commit=False)
    db.commit()
    return LoginOutcome.OK, token


def session_staff(db: Session, token: str | None) -> Staff | None:
    """The staff member behind a session cookie, or None (unknown, expired)."""
    if not token:
        return None
    row = db.get(StaffSession, _sha256(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = db.get(StaffUser, row.username)
    return Staff(user.username, user.role, row.csrf_token) if user else None


def log_out(db: Session, token: str) -> None:
    db.execute(delete(StaffSession).where(StaffSession.token_hash == _sha256(token)))
    db.commit()


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
