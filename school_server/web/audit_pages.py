"""The audit log page (admin): filter by action, user, student and date
(in the school's time zone), paged, and the CSV of the same filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from school_server import audit, search
from school_server.models import AuditEntry
from school_server.web import audit_words
from school_server.web.routes import DB, PREFIX, Admin, _csv_download, _lang, page
from school_server.web.texts import translator

PAGE_SIZE = 100
CSV_COLUMNS = ("id", "at", "username", "action", "target", "detail")
router = APIRouter(prefix=PREFIX)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _filtered(db: Session, zone: ZoneInfo, action: str, user: str, student: str,
              since: str, until: str) -> Select[tuple[AuditEntry]]:
    query = select(AuditEntry)
    if action in {a.value for a in audit.Action}:
        query = query.where(AuditEntry.action == action)
    if user.strip():
        query = query.where(AuditEntry.username == user.strip())
    if student.strip():
        query = query.where(AuditEntry.target.in_(search.capture_ids_of(db, student.strip())))
    start, end = _day(since), _day(until)
    if start:
        query = query.where(AuditEntry.at >= datetime.combine(start, time(), zone))
    if end:
        query = query.where(AuditEntry.at < datetime.combine(end + timedelta(days=1), time(),
                                                            zone))
    return query


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.server.settings.timezone)


@router.get("/audit")
def audit_page(request: Request, db: DB, staff: Admin, action: str = "", user: str = "",
               student: str = "", since: str = "", until: str = "",
               page_no: int = 1) -> Response:
    page_no = max(1, page_no)
    query = _filtered(db, _zone(request), action, user, student, since, until)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.scalars(query.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE)
                         .offset((page_no - 1) * PAGE_SIZE)).all()
    filters = {"action": action, "user": user, "student": student, "since": since,
               "until": until}
    return page(request, "audit.html", staff, entries=entries, total=total, page_no=page_no,
                size=PAGE_SIZE, filters=filters, actions=[a.value for a in audit.Action],
                users=db.scalars(select(AuditEntry.username).distinct()
                                 .order_by(AuditEntry.username)).all())


@router.get("/audit.csv")
def audit_csv(request: Request, db: DB, staff: Admin, action: str = "", user: str = "",
              student: str = "", since: str = "", until: str = "") -> Response:
    zone = _zone(request)
    query = _filtered(db, zone, action, user, student, since, until)
    shown = "; ".join(f"{k}={v}" for k, v in (("action", action), ("user", user),
                                              ("student", student[:12]), ("since", since),
                                              ("until", until)) if v)
    audit.record(db, staff.username, audit.Action.DOWNLOAD_AUDIT, detail=shown)
    t = translator(_lang(request))

    def rows() -> Iterator[dict[str, Any]]:
        for e in db.scalars(query.order_by(AuditEntry.id.desc())
                            .execution_options(yield_per=1000)):
            yield {t(f"col.{c}"): v for c, v in (
                ("id", e.id), ("at", e.at.astimezone(zone).isoformat(timespec="seconds")),
                ("username", e.username), ("action", t(f"action.{e.action}")),
                ("target", audit_words.target_text(e.action, e.target, t)),
                ("detail", audit_words.detail_text(e.action, e.detail, t)))}
    return _csv_download("audit.csv", [t(f"col.{c}") for c in CSV_COLUMNS], rows())
