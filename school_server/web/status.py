"""The student's status page (issue 22 item 2): GET /status/<token>, the link
in the QR code on the booth's receipt (photo_wire/status_link.py).

No login: the token is the key. So the page shows only what the student
may see: received, approved, or refused with the reason in plain words and
where and when to retake (their centre's next sessions from the schedule).
No ID number, the name masked (张*明), the 采集编号 they already hold. The
server keeps only sha256(token); an unknown token and an expired link
(after `status_links_until`) get the same 404 page, so nobody learns
which tokens exist. Requests are limited per client address (the address
uvicorn gives: X-Forwarded-For only from `trusted_proxies`), in memory.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from photo_wire.capture import reference
from photo_wire.idnumber import mask_name
from photo_wire.models import REJECT_REASONS
from photo_wire.status_link import STATUS_PATH, TOKEN_PATTERN, token_hash
from school_server.models import Capture, CaptureReview, RosterRow, ScheduleEntry, utcnow
from school_server.web.routes import templates
from school_server.web.texts import DEFAULT_LANGUAGE, LANGUAGES, translator

log = logging.getLogger(__name__)

router = APIRouter()
NEXT_SESSIONS = 5  # of the student's centre, on a refused photo's page
RETRY_AFTER_SECONDS = 60
_TOKEN = re.compile(TOKEN_PATTERN)
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Upcoming:
    name: str
    starts_at: datetime
    ends_at: datetime
    theirs: bool  # the roster's session of this student (a makeup roster moves it)


@dataclass(frozen=True)
class CaptureStatus:
    state: str  # received (not yet reviewed), approved, rejected
    reference: str  # the 采集编号 on their receipt
    name_masked: str  # '' until the office has opened the capture
    received_at: datetime
    decided_at: datetime | None = None
    reason: str = ""  # a REJECT_REASONS code ('other' for one this server does not know)
    centre: str = ""  # where to retake: the roster's centre of the student
    sessions: tuple[Upcoming, ...] = ()
    later_approved: bool = False  # refused, but a later photo of theirs was approved


def capture_status(db: Session, token: str, now: datetime) -> CaptureStatus | None:
    """The status behind a link's token, or None (no such token)."""
    row = db.execute(select(Capture.capture_id, Capture.centre, Capture.received_at,
                            CaptureReview)
                     .outerjoin(CaptureReview, CaptureReview.capture_id == Capture.capture_id)
                     .where(Capture.status_hash == token_hash(token))).first()
    if row is None:
        return None
    capture_id, centre, received_at, review = row
    if review is None or review.decision == "pending":
        return CaptureStatus("received", reference(capture_id),
                             mask_name(review.name) if review else "", received_at)
    masked = mask_name(review.name)
    if review.decision == "approved":
        return CaptureStatus("approved", reference(capture_id), masked, received_at,
                             review.decided_at)
    expected = db.execute(select(RosterRow.centre, RosterRow.session)
                          .where(RosterRow.student_ref == review.student_ref)
                          .order_by(RosterRow.id.desc())).first()
    centre, own = (expected[0], expected[1]) if expected else (centre, "")
    entries = db.scalars(select(ScheduleEntry)
                         .where(ScheduleEntry.centre == centre, ScheduleEntry.ends_at > now)
                         .order_by(ScheduleEntry.starts_at).limit(NEXT_SESSIONS)).all()
    later = db.scalar(select(CaptureReview.capture_id).where(
        CaptureReview.student_ref == review.student_ref, CaptureReview.decision == "approved",
        CaptureReview.capture_id != capture_id).limit(1))
    return CaptureStatus(
        "rejected", reference(capture_id), masked, received_at, review.decided_at,
        review.reason if review.reason in REJECT_REASONS else "other", centre,
        tuple(Upcoming(e.session, e.starts_at, e.ends_at, e.session == own) for e in entries),
        later is not None)


class StatusLimiter:
    """Requests per client address a minute, in this process's memory."""

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, address: str) -> bool:
        return self.limiter.hit(self.item, address)


def _limiter(request: Request) -> StatusLimiter:
    state = request.app.state
    if getattr(state, "status_limiter", None) is None:
        state.status_limiter = StatusLimiter(
            state.server.settings.status_page_requests_per_minute)
    return state.status_limiter


@router.get(STATUS_PATH + "{token}")
def status_page(request: Request, token: str, lang: str = DEFAULT_LANGUAGE) -> Response:
    settings = request.app.state.server.settings
    zone = ZoneInfo(settings.timezone)
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    address = request.client.host if request.client else "-"
    if not _limiter(request).allow(address):
        log.warning("status page: too many requests from %s", address)
        return _page(request, "status_busy.html", lang, zone, 429,
                     {"Retry-After": str(RETRY_AFTER_SECONDS)})
    now = utcnow()
    status = None
    if _TOKEN.match(token) and not _expired(settings.status_links_until, now, zone):
        with request.app.state.server.sessions() as db:
            status = capture_status(db, token, now)
    if status is None:
        return _page(request, "status_gone.html", lang, zone, 404)
    return _page(request, "status.html", lang, zone, 200, status=status)


class HideTokens(logging.Filter):
    """uvicorn's access log without status link tokens: /status/<token> is
    logged as /status/… (a log is read by more people than the database)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) and STATUS_PATH in a for a in args):
            record.args = tuple(_HIDE.sub(STATUS_PATH + "…", a) if isinstance(a, str) else a
                                for a in args)
        return True


_HIDE = re.compile(re.escape(STATUS_PATH) + r"[^?\s\"]*")


def _expired(until: date | None, now: datetime, zone: ZoneInfo) -> bool:
    return until is not None and now.astimezone(zone).date() > until


def _page(request: Request, name: str, lang: str, zone: ZoneInfo, code: int,
          headers: dict[str, str] | None = None, **context: object) -> HTMLResponse:
    def when(at: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
        """A stored (UTC) time in the school's time zone."""
        return at.astimezone(zone).strftime(form) if at else ""
    other = "en" if lang == DEFAULT_LANGUAGE else DEFAULT_LANGUAGE
    return templates.TemplateResponse(request, name, {
        "t": translator(lang), "lang": lang, "other_lang": other, "when": when, "zone": zone,
        **context},
        status_code=code, headers={**_NO_STORE, **(headers or {})})
