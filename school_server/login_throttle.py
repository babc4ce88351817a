"""Failed office logins, counted in the database (login_counters) per
account name and per client address.

The account limit stops guessing one account's password (5 failures in a
window lock it; an unknown name is counted the same, so "locked" tells
nothing about which names exist); the address limit stops one address from
trying many accounts (password spraying) and from making the server pay for
an argon2 hash on every guess.

Each attempt is reserved before its password is hashed: one conditional
UPDATE adds it only while the count is under the limit, so guesses sent at
once cannot all pass the check (SQLite serialises writers; PostgreSQL
re-checks the condition on the locked row). A success gives the address its
reservation back and clears the account's count. The counts live in the
database: a restart or a second worker does not forget them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Update, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from school_server.models import LoginCounter, utcnow

WINDOW = timedelta(minutes=15)
KEY_CHARS = 120


def account_key(username: str) -> str:
    return f"account:{username}"[:KEY_CHARS]


def address_key(address: str) -> str:
    return f"address:{address}"[:KEY_CHARS]


def reserve(db: Session, key: str, limit: int, now: datetime | None = None) -> int:
    """0: one attempt reserved under key (committed). Else refused: the number
    of refusals under key in this window, this one included."""
    now = now or utcnow()
    counter = LoginCounter.__table__.c
    for _ in range(3):  # a concurrent first INSERT of the key: go round again
        counted = _changed(db, update(LoginCounter).where(
            counter.key == key, counter.window_ends > now, counter.failures < limit)
            .values(failures=counter.failures + 1))
        if counted or _changed(db, update(LoginCounter).where(
                counter.key == key, counter.window_ends <= now)
                .values(failures=1, refusals=0, window_ends=now + WINDOW)):
            db.commit()
            return 0
        refused = db.execute(update(LoginCounter).where(counter.key == key)
                             .values(refusals=counter.refusals + 1)
                             .returning(counter.refusals)).scalar_one_or_none()
        if refused is not None:
            db.commit()
            return refused
        db.add(LoginCounter(key=key, failures=1, window_ends=now + WINDOW, refusals=0))
        try:
            db.commit()
            return 0
        except IntegrityError:
            db.rollback()
    raise RuntimeError(f"login counter {key} kept changing")


def _changed(db: Session, statement: Update) -> bool:
    return bool(db.execute(statement).rowcount)  # type: ignore[attr-defined]


def give_back(db: Session, key: str) -> None:
    """Undo one reservation (a success, or refused later without a hash)."""
    counter = LoginCounter.__table__.c
    db.execute(update(LoginCounter).where(counter.key == key, counter.failures > 0)
               .values(failures=counter.failures - 1))


def clear(db: Session, key: str) -> None:
    db.execute(delete(LoginCounter).where(LoginCounter.key == key))


def forget_old(db: Session, now: datetime | None = None) -> None:
    """Housekeeping: counters whose window ended a window ago."""
    db.execute(delete(LoginCounter).where(LoginCounter.window_ends < (now or utcnow()) - WINDOW))
