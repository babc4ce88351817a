"""Kiosk identity: one-time enrolment codes, bearer tokens, revocation.

Only sha256 hashes of codes and tokens are stored. Tokens are 256-bit random,
so an unsalted hash is enough; codes are short-lived and single use.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from school_server.models import CENTRE_CHARS, Centre, EnrolmentCode, Kiosk, name_key, utcnow
from school_server.schemas import KIOSK_ID, text_problem

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


def create_enrolment_code(db: Session, centre: str | None, hours: float,
                          for_kiosk: str | None = None) -> str:
    """A new one-time code, printed once, stored hashed: for a new kiosk at
    centre, or (for_kiosk) to re-enrol that kiosk id, at centre or where it is."""
    now = utcnow()
    if not (0 < hours < float("inf")):
        raise ValueError("hours must be a positive number")
    try:
        expires_at = now + timedelta(hours=hours)
    except OverflowError:
        raise ValueError("hours too large: the code would expire after the year 9999") from None
    if for_kiosk is not None:
        if not re.match(KIOSK_ID, for_kiosk):
            raise ValueError("kiosk id must be 1-64 of A-Z a-z 0-9 _ . - (starting with a "
                             "letter or digit)")
        if centre is None:
            kiosk = db.get(Kiosk, for_kiosk)
            if kiosk is None:
                raise ValueError(f"no kiosk {for_kiosk!r} enrolled: give --centre")
            centre = kiosk.centre
    if centre is None:
        raise ValueError("give --centre (or --kiosk for an enrolled kiosk)")
    key = ensure_centre(db, centre)
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    db.add(EnrolmentCode(code_hash=sha256_hex(raw), centre=key, created_at=now,
                         expires_at=expires_at, for_kiosk=for_kiosk))
    db.commit()
    return "-".join(raw[i:i + 5] for i in range(0, _CODE_LENGTH, 5))


def redeem_enrolment_code(db: Session, code: str, kiosk_id: str) -> str:
    """Spend the code, (re-)enrol kiosk_id at its centre, return a new token.

    A kiosk id that is enrolled and not revoked belongs to a working booth:
    only a code made for that id (`enrol-code --kiosk`) re-enrols it (a
    reimaged booth keeps its name); any other code is refused, unspent, so a
    typo or a stranger cannot cut the booth off. After `revoke` any fresh
    code re-enrols the id and lifts the revocation.
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
    if row.for_kiosk is not None and row.for_kiosk != kiosk_id:
        raise EnrolmentRefused("this enrolment code was made for another kiosk id")
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is not None and kiosk.revoked_at is None and row.for_kiosk != kiosk_id:
        raise _in_use(kiosk_id)
    # The conditional UPDATE makes "single use" hold under concurrent requests.
    spent = db.execute(update(EnrolmentCode)
                       .where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None))
                       .values(used_at=now, used_by=kiosk_id))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        raise EnrolmentRefused("enrolment code already used")
    token = secrets.token_urlsafe(32)
    if kiosk is None:
        db.add(Kiosk(kiosk_id=kiosk_id, centre=row.centre, token_hash=sha256_hex(token),
                     enrolled_at=now))
    else:
        kiosk.centre, kiosk.token_hash = row.centre, sha256_hex(token)
        kiosk.enrolled_at, kiosk.revoked_at = now, None
    try:
        db.commit()
    except IntegrityError:
        # Another code enrolled this new kiosk id at the same moment; this
        # code stays unspent (the rollback undoes the UPDATE above).
        db.rollback()
        raise _in_use(kiosk_id) from None
    log.info("kiosk %s enrolled at centre %s", kiosk_id, row.centre)
    return token


def _in_use(kiosk_id: str) -> EnrolmentRefused:
    return EnrolmentRefused(
        f"kiosk id {kiosk_id} belongs to an enrolled booth; staff: revoke it first "
        f"(photo-server revoke {kiosk_id}) or make a code for it "
        f"(photo-server enrol-code --kiosk {kiosk_id})")


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


def current_kiosk(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                  db: Session = Depends(get_db)) -> KioskIdentity:
    """The kiosk the bearer token belongs to; 401 when unknown or revoked."""
    try:
        me = identify(db, credentials.credentials if credentials else None)
    except Unauthorised as refused:
        raise HTTPException(401, str(refused), headers={"WWW-Authenticate": "Bearer"}) from None
    # The client's address as uvicorn gives it (X-Forwarded-For from trusted_proxies only).
    note_use(db, me.kiosk_id, request.client.host if request.client else "")
    return me


USE_NOTED_EVERY = timedelta(minutes=1)


def note_use(db: Session, kiosk_id: str, address: str) -> None:
    """Record the token's use: at once from a new address, else once a minute
    (a heartbeat or upload does not write twice)."""
    now, address = utcnow(), address[:64]
    kiosk = db.get(Kiosk, kiosk_id)  # identify() loaded it: no query, and no write lock unless due
    if kiosk is None or (kiosk.last_address == address and kiosk.last_used_at is not None
                         and kiosk.last_used_at > now - USE_NOTED_EVERY):
        return
    kiosk.last_used_at, kiosk.last_address = now, address
    db.commit()


class Unauthorised(Exception):
    """No token, or an unknown or revoked one (the message says which)."""


def identify(db: Session, token: str | None) -> KioskIdentity:
    """The enrolled, not revoked kiosk whose bearer token this is."""
    if not token:
        raise Unauthorised("missing bearer token")
    kiosk = db.scalar(select(Kiosk).where(Kiosk.token_hash == sha256_hex(token)))
    if kiosk is None:
        raise Unauthorised("unknown token")
    if kiosk.revoked_at is not None:
        log.warning("request from revoked kiosk %s refused", kiosk.kiosk_id)
        raise Unauthorised("kiosk revoked")
    return KioskIdentity(kiosk.kiosk_id, kiosk.centre)


def token_check(sessions: sessionmaker[Session], authorization: str | None) -> tuple[str, str | None]:
    """(kiosk id, None) when an Authorization header names a working kiosk,
    else ("", why it gets 401). For checks made before the request body is
    read (body_guard.py, which also counts each kiosk's big uploads)."""
    scheme, token = get_authorization_scheme_param(authorization)
    try:
        with sessions() as db:
            return identify(db, token if scheme.lower() == "bearer" else None).kiosk_id, None
    except Unauthorised as refused:
        return "", str(refused)
