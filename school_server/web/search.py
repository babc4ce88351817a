"""Find anyone (viewer and up) and a student's whole history: captures and
decisions, corrections (admin: correct here), and the audit entries of
their captures (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from school_server import audit, search
from school_server.models import CORRECTABLE_FIELDS
from school_server.web.review import SHOWN
from school_server.web.routes import DB, PREFIX, Viewer, page

PAGE_SIZE = 20
router = APIRouter(prefix=PREFIX)


@router.get("/search")
def search_page(request: Request, db: DB, staff: Viewer, q: str = "", page_no: int = 1) -> Response:
    page_no = max(1, page_no)
    found = search.find(db, q, PAGE_SIZE, (page_no - 1) * PAGE_SIZE) if q.strip() else None
    return page(request, "search.html", staff, q=q, found=found, page_no=page_no,
                size=PAGE_SIZE)


@router.get("/student/{ref}")
def student_page(request: Request, db: DB, staff: Viewer, ref: str, error: str = "") -> Response:
    found = search.history(db, ref[:64])
    if not found.roster and not found.captures:
        return page(request, "search.html", staff, q="", found=None, page_no=1,
                    size=PAGE_SIZE, status=404)
    shown = [cap.capture_id for cap, _ in found.captures]
    if shown and staff.may("reviewer"):  # their photos are on the page: one entry for all
        audit.record(db, staff.username, audit.Action.VIEW_PAGE, "student", " ".join(shown))
        SHOWN.add(staff.username, shown)
    return page(request, "student.html", staff, h=found, fields=CORRECTABLE_FIELDS, error=error)
