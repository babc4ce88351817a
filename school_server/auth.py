"""Kiosk identity: one-time enrolment codes, bearer tokens, revocation.

Only sha256 hashes of codes and tokens are stored. Tokens are 256-bit random,
so an unsalted hash is enough; codes are short-lived and single use.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from school_server.models import CENTRE_CHARS, Centre, EnrolmentCode, Kiosk, name_key, utcnow
from school_server.schemas import text_problem

log = logging.getLogger(__name__)

# Crockford-like alphabet: no 0/O, 1/I/L, so a code read aloud or copied by
# hand survives. 15 characters, about 73 bits.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_CODE_LENGTH = 15

bearer = HTTPBearer(auto_error=False, description="The token from POST /api/v1/enrol")


class EnrolmentRefused(Exception):
    """The code is unknown, used or expired (the message says which)."""


@dataclass(frozen=True)
class KioskIdentity:
    kiosk_id: str
    centre: str


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _norm_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def ensure_centre(db: Session, centre: str) -> str:
    key = name_key(centre)
    if not key:
        raise ValueError("empty centre name")
    problem = text_problem(centre, CENTRE_CHARS, folded=True)
    if problem:
        raise ValueError(f"centre name {problem}")
    if db.get(Centre, key) is None:
        db.add(Centre(centre=key))
        db.flush()
    return key


def create_enrolment_code(db: Session, centre: str, hours: float) -> str:
    """A new one-time code for a kiosk at centre; printed once, stored hashed."""
    now = utcnow()
    if not (0 < hours < float("inf")):
        raise ValueError("hours must be a positive number")
    try:
        expires_at = now + timedelta(hours=hours)
    except OverflowError:
        raise ValueError("hours too large: the code would expire after the year 9999") from None
    key = ensure_centre(db, centre)
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    db.add(EnrolmentCode(code_hash=sha256_hex(raw), centre=key, created_at=now,
                         expires_at=expires_at))
    db.commit()
    return "-".join(raw[i:i + 5] for i in range(0, _CODE_LENGTH, 5))


def redeem_enrolment_code(db: Session, code: str, kiosk_id: str) -> str:
    """Spend the code, (re-)enrol kiosk_id at its centre, return a new token.

    Re-enrolling an existing kiosk_id (a reimaged booth) rotates its token and
    lifts a revocation: it takes a fresh staff-made code either way.
    """
    now = utcnow()
    row = db.scalar(select(EnrolmentCode).where(
        EnrolmentCode.code_hash == sha256_hex(_norm_code(code))))
    if row is None:
        raise EnrolmentRefused("unknown enrolment code")
    if row.used_at is not None:
        raise EnrolmentRefused("enrolment code already used")
    if row.expires_at <= now:
        raise EnrolmentRefused("enrolment code expired")
    # The conditional UPDATE makes "single use" hold under concurrent requests.
    spent = db.execute(update(EnrolmentCode)
                       .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None))
                       .values(used_at=now, used_by=kiosk_id))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise EnrolmentRefused("enrolment code already used")
    token = secrets.token_urlsafe(32)
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        db.add(Kiosk(kiosk_id=kiosk_id, centre=row.centre, token_hash=sha256_hex(token),
                     enrolled_at=now))
    else:
        kiosk.centre, kiosk.token_hash = row.centre, sha256_hex(token)
        kiosk.enrolled_at, kiosk.revoked_at = now, None
    db.commit()
    log.info("kiosk %s enrolled at centre %s", kiosk_id, row.centre)
    return token


def revoke_kiosk(db: Session, kiosk_id: str) -> bool:
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        return False
    if kiosk.revoked_at is None:
        kiosk.revoked_at = utcnow()
    db.commit()
    log.info("kiosk %s revoked", kiosk_id)
    return True


def get_db(request: Request):  # type: ignore[no-untyped-def]
    """One database session per request."""
    with request.app.state.server.sessions() as db:
        yield db


def current_kiosk(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                  db: Session = Depends(get_db)) -> KioskIdentity:
    """The kiosk the bearer token belongs to; 401 when unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorised("missing bearer token")
    kiosk = db.scalar(select(Kiosk).where(Kiosk.token_hash == sha256_hex(credentials.credentials)))
    if kiosk is None:
        raise _unauthorised("unknown token")
    if kiosk.revoked_at is not None:
        log.warning("request from revoked kiosk %s refused", kiosk.kiosk_id)
        raise _unauthorised("kiosk revoked")
    return KioskIdentity(kiosk.kiosk_id, kiosk.centre)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
