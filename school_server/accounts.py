"""Office staff accounts: argon2 password hashes, roles (viewer < reviewer <
admin), disabling, and browser sessions (a random cookie whose sha256 is
stored, with its CSRF token and the account's generation: a new password or
disabling the account bumps the generation, which ends every session).

The login itself (limits, the bounded hashing) is office_login.py."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from school_server import audit, login_throttle
from school_server.models import STAFF_ROLES, StaffSession, StaffUser, utcnow

MAX_FAILURES = 5  # in login_throttle.WINDOW, then the account is locked
SESSION_LIFETIME = timedelta(hours=8)  # a working day
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class LoginOutcome(Enum):
    OK = "ok"
    BAD = "bad"  # unknown user, wrong password or disabled: one answer for all
    LOCKED = "locked"  # this name (known or not) failed MAX_FAILURES times lately
    THROTTLED = "throttled"  # this address failed too often lately


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    csrf_token: str

    def may(self, role: str) -> bool:
        """True when this account's role includes `role`'s rights."""
        return STAFF_ROLES.index(self.role) >= STAFF_ROLES.index(role)


def add_user(db: Session, username: str, password: str, role: str) -> None:
    """A new account, or a new password and role for an existing one
    (unlocked, enabled again, and its sessions ended)."""
    if not USERNAME.match(username):
        raise ValueError("username: 1-64 of letters, digits, _ . @ -")
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    user = db.get(StaffUser, username)
    if user is None:
        user = StaffUser(username=username, created_at=utcnow(), generation=0)
        db.add(user)
    else:
        _end_sessions(db, user)
    user.password_hash, user.role, user.disabled_at = _hasher.hash(password), role, None
    login_throttle.clear(db, login_throttle.account_key(username))
    audit.record(db, "cli", audit.Action.USER_ADDED, username, f"role {role}", commit=False)
    db.commit()


def disable_user(db: Session, username: str, by: str) -> None:
    """No more logins for this account, and its sessions end now (add-user enables it again)."""
    user = db.get(StaffUser, username) if USERNAME.match(username) else None
    if user is None:
        raise ValueError(f"no user {username!r}")
    user.disabled_at = user.disabled_at or utcnow()
    _end_sessions(db, user)
    audit.record(db, by, audit.Action.USER_DISABLED, username, commit=False)
    db.commit()


def users(db: Session) -> list[StaffUser]:
    return list(db.scalars(select(StaffUser).order_by(StaffUser.username)))


def _end_sessions(db: Session, user: StaffUser) -> None:
    # The generation also voids a session a login in flight (its password
    # checked against the old hash) would open after this commits.
    user.generation += 1
    db.execute(delete(StaffSession).where(StaffSession.username == user.username))


@dataclass(frozen=True)
class Candidate:
    """What a login checks the password against, read before the hash."""
    password_hash: str
    generation: int | None  # None: no account (or disabled) -- the hash is a decoy


def candidate(db: Session, username: str) -> Candidate:
    user = db.get(StaffUser, username) if USERNAME.match(username) else None
    if user is None:
        return Candidate(_DUMMY_HASH, None)
    return Candidate(user.password_hash, None if user.disabled_at else user.generation)


def open_session(db: Session, username: str, generation: int) -> str | None:
    """A new session cookie value, unless the account changed since `candidate`."""
    now = utcnow()
    user = db.get(StaffUser, username)
    if user is None or user.disabled_at or user.generation != generation:
        return None
    db.execute(delete(StaffSession).where(StaffSession.expires_at <= now))  # housekeeping
    token = secrets.token_urlsafe(32)
    db.add(StaffSession(token_hash=_sha256(token), username=username,
                        csrf_token=secrets.token_urlsafe(32), created_at=now,
                        expires_at=now + SESSION_LIFETIME, generation=generation))
    return token


def session_staff(db: Session, token: str | None) -> Staff | None:
    """The staff member behind a session cookie, or None (unknown, expired,
    its account disabled or its password changed since)."""
    if not token:
        return None
    row = db.get(StaffSession, _sha256(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = db.get(StaffUser, row.username)
    if user is None or user.disabled_at or user.generation != row.generation:
        return None
    return Staff(user.username, user.role, row.csrf_token)


def log_out(db: Session, token: str) -> None:
    db.execute(delete(StaffSession).where(StaffSession.token_hash == _sha256(token)))
    db.commit()


def verify_password(hashed: str, password: str) -> bool:
    """The argon2 check (64 MiB, tens of ms): call it through office_login's gate."""
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
