"""Routes of the office's pages. Thin: the data comes from progress.py,
reviews.py, accounts.py and audit.py; the pages are templates/*.html.

Every page needs a session (else: the login page); forms that change
anything carry the session's CSRF token; roles gate review (reviewer) and
export, corrections and the audit log (admin)."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey
from sqlalchemy.orm import Session

from photo_wire.idnumber import mask_id
from school_server import accounts, audit, corrections, keys, reviews
from school_server.accounts import LoginOutcome, Staff
from school_server.auth import get_db
from school_server.handover import HandoverResult, approved_photos, corrected, zip_chunks
from school_server.models import CORRECTABLE_FIELDS, REVIEW_DECISIONS, name_key
from school_server.office_login import RETRY_AFTER_SECONDS, LoginBusy
from school_server.people_csv import csv_lines
from school_server.progress import progress_rows
from school_server.web import audit_words
from school_server.web.texts import DEFAULT_LANGUAGE, LANGUAGES, translator

log = logging.getLogger(__name__)

SESSION_COOKIE = "office_session"
LOGIN_CSRF_COOKIE = "office_login_csrf"
LANG_COOKIE = "office_lang"
PREFIX = "/office"
REFRESH_SECONDS = 30
IDENTIFY_PER_REQUEST = 200  # captures opened (decrypted in memory) per page load

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(audit_target=audit_words.target_text,
                             audit_detail_text=audit_words.detail_text)
DB = Annotated[Session, Depends(get_db)]


class NeedLogin(Exception):
    """No valid session: the login page."""


class Forbidden(Exception):
    """Logged in, but the role does not allow it."""


def _lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def current_staff(request: Request, db: DB) -> Staff:
    staff = accounts.session_staff(db, request.cookies.get(SESSION_COOKIE))
    if staff is None:
        raise NeedLogin()
    return staff


def role(needed: str):  # type: ignore[no-untyped-def]
    def check(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if not staff.may(needed):
            raise Forbidden()
        return staff
    return check


Viewer = Annotated[Staff, Depends(role("viewer"))]
Reviewer = Annotated[Staff, Depends(role("reviewer"))]
Admin = Annotated[Staff, Depends(role("admin"))]


def check_csrf(staff: Staff, token: str) -> None:
    if not hmac.compare_digest(staff.csrf_token.encode(), token.encode()):
        raise Forbidden()


def page(request: Request, name: str, staff: Staff | None, status: int = 200,
         **context: Any) -> HTMLResponse:
    lang = _lang(request)
    zone = ZoneInfo(request.app.state.server.settings.timezone)

    def when(at: datetime | None) -> str:
        """A stored (UTC) time in the school's time zone."""
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if at else ""
    return templates.TemplateResponse(request, name, {
        "t": translator(lang), "lang": lang, "staff": staff, "prefix": PREFIX, "when": when,
        **context}, status_code=status)


def _set_cookie(response: Response, request: Request, name: str, value: str,
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def mount_office(app: FastAPI) -> None:
    """Add the office's pages (and their error pages) to the API's app."""
    app.include_router(router, include_in_schema=False)

    @app.exception_handler(NeedLogin)
    async def _need_login(request: Request, exc: NeedLogin) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "forbidden.html", None, status=403)


router = APIRouter(prefix=PREFIX)


@router.get("/login")
def login_page(request: Request, error: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, csrf=token,
                    error=error if error in ("bad", "locked", "throttled", "busy") else "")
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                csrf: Annotated[str, Form()] = "") -> Response:
    # async: the password check waits for its own worker (office_login.py),
    # never holding a thread of the pool that serves the booths.
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise Forbidden()
    address = request.client.host if request.client else "-"
    try:
        outcome, token = await request.app.state.server.logins.log_in(
            address, username.strip(), password)
    except LoginBusy:
        response = page(request, "login.html", None, status=503, csrf=cookie, error="busy")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if outcome is not LoginOutcome.OK or token is None:
        return RedirectResponse(f"{PREFIX}/login?error={outcome.value}", status_code=303)
    response = RedirectResponse(f"{PREFIX}/progress", status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, token,
                max_age=int(accounts.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(request: Request, db: DB, staff: Viewer, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    accounts.log_out(db, request.cookies.get(SESSION_COOKIE, ""))
    audit.record(db, staff.username, audit.Action.LOGOUT)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/lang/{lang}")
def set_language(request: Request, lang: str, next: str = f"{PREFIX}/progress") -> Response:
    # Only our own pages as the target (the same page, its query kept): no open redirect.
    parts = urlsplit(next)
    ours = not parts.scheme and not parts.netloc and parts.path.startswith(PREFIX + "/") \
        and "//" not in parts.path and "\\" not in next
    target = next if ours else f"{PREFIX}/progress"
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        _set_cookie(response, request, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


@router.get("")
@router.get("/")
def home() -> Response:
    return RedirectResponse(f"{PREFIX}/progress", status_code=303)




def _csv_download(filename: str, header: list[str], rows: Iterable[dict[str, Any]]) -> Response:
    # A BOM first: Excel reads UTF-8 (Chinese names) only with one.
    return StreamingResponse(chain(["\ufeff"], csv_lines(header, rows)),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition":
                                      f"attachment; filename*=UTF-8''{quote(filename)}",
                                      "Cache-Control": "no-store"})


@dataclass(frozen=True)
class Identified:
    key_here: bool  # the private key is in the data dir: captures can be opened
    unidentified: int  # captures whose student is not known (not opened)
    unopenable: int = 0  # marked once as impossible to open, skipped since


def _private_key(request: Request) -> PrivateKey | None:
    path = request.app.state.server.settings.private_key_file
    return keys.load_private_key(path) if path.exists() else None


def _identify(request: Request, db: Session) -> Identified:
    """Open new captures (in memory) when the private key is here."""
    key = _private_key(request)
    if key is not None:
        # Bounded, so a page stays quick after a big batch (the next loads go on).
        reviews.identify_new(db, request.app.state.server.store, key, IDENTIFY_PER_REQUEST)
    return Identified(key is not None, reviews.unidentified_count(db),
                      reviews.unopenable_count(db))


# ---------------------------------------------------------------- corrections, export


@router.post("/captures/{capture_id}/correct")
def correct(request: Request, db: DB, staff: Admin, capture_id: str,
            field: Annotated[str, Form()], value: Annotated[str, Form()],
            reason: Annotated[str, Form()], csrf: Annotated[str, Form()] = "",
            student: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    key = _private_key(request)
    back = (f"{PREFIX}/student/{quote(student)}?" if student
            else f"{PREFIX}/review?decision=approved&")
    if key is None:
        return RedirectResponse(f"{back}error=key", status_code=303)
    try:
        old = corrections.correct(db, request.app.state.server.store, key, capture_id, field,
                                  value, reason, staff.username)
    except ValueError as err:
        log.info("correction of capture %s refused: %s", capture_id, err)
        return RedirectResponse(f"{back}error=correction", status_code=303)
    shown = mask_id if field == "id_number" else str
    audit.record(db, staff.username, audit.Action.CORRECTION, capture_id,
                 f"{field}: {shown(old)} -> {shown(value.strip())}; {reason.strip()}")
    return RedirectResponse(back.rstrip("?&"), status_code=303)


@router.get("/export")
def export_page(request: Request, db: DB, staff: Admin) -> Response:
    unidentified = _identify(request, db)
    return page(request, "export.html", staff, unidentified=unidentified,
                centres=sorted({r.centre for r in progress_rows(db)}))


@router.post("/export")
def export_zip(request: Request, db: DB, staff: Admin, centre: Annotated[str, Form()] = "",
               csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    key = _private_key(request)
    if key is None:
        return RedirectResponse(f"{PREFIX}/export", status_code=303)
    _identify(request, db)
    audit.record(db, staff.username, audit.Action.EXPORT, name_key(centre) or "all centres",
                 "zip by ID number")
    state = request.app.state.server

    def chunks() -> Iterator[bytes]:
        # Its own database session: the response outlives the request's.
        with state.sessions() as own:
            result = HandoverResult()
            yield from zip_chunks(approved_photos(own, state.store, key, result, centre or None,
                                                  zone=ZoneInfo(state.settings.timezone)),
                                  result)
    name = f"handover-{name_key(centre) or 'all'}.zip"
    return StreamingResponse(chunks(), media_type="application/zip",
                             headers={"Content-Disposition":
                                      f"attachment; filename*=UTF-8''{quote(name)}",
                                      "Cache-Control": "no-store"})
