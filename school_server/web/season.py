"""The season's pages: progress (ordered by the schedule, a totals row,
pending review, finished sessions marked) and the missing list a makeup
shoot works from (centre and session picked from the schedule, sessions over
apart from those to come, masked ID number, student number and phone, a CSV
with Chinese headers that imports back as the makeup roster).

ID numbers are masked for every role, admins too: the server never holds
the whole number (only its scrypt ref and the masked form), and a makeup
shoot reads the student's card anyway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from school_server import audit, reviews
from school_server.models import RosterRow, ScheduleEntry, name_key, utcnow
from school_server.progress import progress_rows, totals
from school_server.web.routes import (DB, PREFIX, REFRESH_SECONDS, Viewer, _csv_download,
                                      _identify, _lang, page)
from school_server.web.texts import translator

router = APIRouter(prefix=PREFIX)

# The missing list's CSV: the roster import's own Chinese headers, so the
# file imports back (学生编号 carries the ref, 身份证号 is masked).
MISSING_CSV = {"姓名": "name", "身份证号": "id_masked", "学号": "student_no", "手机号": "phone",
               "专业": "programme", "学习中心": "centre", "场次": "session",
               "学生编号": "student_ref"}


@dataclass(frozen=True)
class SessionChoice:
    session: str
    starts_at: datetime | None
    ends_at: datetime | None


@router.get("/progress")
def progress(request: Request, db: DB, staff: Viewer) -> Response:
    unidentified = _identify(request, db)  # first: the counts need to know whose captures are
    rows = progress_rows(db)
    biggest = max([max(r.expected, r.received) for r in rows] or [1]) or 1
    return page(request, "progress.html", staff, rows=rows, total=totals(rows), biggest=biggest,
                refresh=REFRESH_SECONDS, unidentified=unidentified, now=utcnow())


def session_choices(db: Session, centre: str) -> tuple[list[SessionChoice], list[SessionChoice],
                                                       list[SessionChoice]]:
    """The centre's sessions: to come (or under way), over (latest first), and
    those the roster has but the schedule does not."""
    now = utcnow()
    scheduled = db.scalars(select(ScheduleEntry).where(ScheduleEntry.centre == centre)
                           .order_by(ScheduleEntry.starts_at)).all()
    coming = [SessionChoice(e.session, e.starts_at, e.ends_at) for e in scheduled
              if e.ends_at > now]
    over = [SessionChoice(e.session, e.starts_at, e.ends_at) for e in reversed(scheduled)
            if e.ends_at <= now]
    known = {e.session for e in scheduled}
    unscheduled = [SessionChoice(s, None, None) for s in db.scalars(
        select(RosterRow.session).where(RosterRow.centre == centre).distinct()
        .order_by(RosterRow.session)) if s not in known]
    return coming, over, unscheduled


def _centres(db: Session) -> list[str]:
    return sorted(set(db.scalars(select(ScheduleEntry.centre).distinct()))
                  | set(db.scalars(select(RosterRow.centre).distinct())))


@router.get("/missing")
def missing(request: Request, db: DB, staff: Viewer, centre: str = "",
            session: str = "") -> Response:
    unidentified = _identify(request, db)
    centre, session = name_key(centre), name_key(session)
    coming, over, unscheduled = session_choices(db, centre) if centre else ([], [], [])
    known = {c.session for c in coming + over + unscheduled}
    # A session neither the schedule nor the roster has is not "0 missing".
    unknown = bool(session) and session not in known
    students = (reviews.missing_students(db, centre, session or None)
                if centre and not unknown else [])
    return page(request, "missing.html", staff, students=students, centre=centre,
                session=session, unknown=unknown, unidentified=unidentified,
                centres=_centres(db), coming=coming, over=over, unscheduled=unscheduled)


@router.get("/missing.csv")
def missing_csv(request: Request, db: DB, staff: Viewer, centre: str, session: str = "") -> Response:
    _identify(request, db)
    students = reviews.missing_students(db, name_key(centre), name_key(session) or None)
    audit.record(db, staff.username, audit.Action.DOWNLOAD_MISSING,
                 f"{name_key(centre)}/{name_key(session)}", f"{len(students)} rows")
    name = "-".join(part for part in (translator(_lang(request))("missing.file"), name_key(centre),
                                      name_key(session)) if part)
    return _csv_download(f"{name}.csv", list(MISSING_CSV),
                         ({h: getattr(s, f) for h, f in MISSING_CSV.items()} for s in students))
