"""The review grid (reviewer): a page of thumbnails, the booth's flagged and
borderline ones first, each with its codes and measured values; approve,
reject with a chosen reason, approve the rest of the page in one action.

Plain forms and links work without script; review.js (the one same-origin
script the CSP allows) adds the keyboard. A decision is a POST answered by
a redirect back to the same place in the grid (or 204 for the script).
Views are audited once a page (the ids shown), not once a photo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from nacl.exceptions import CryptoError

from school_server import audit, reviews
from school_server.models import CORRECTABLE_FIELDS, REVIEW_DECISIONS
from school_server.web.routes import (DB, PREFIX, Admin, Reviewer, _identify, _private_key,
                                      check_csrf, page)

GRID_SIZE = 48
SHOWN_FOR_SECONDS = 8 * 3600  # a photo shown on an audited page is not audited again
SCRIPT = Path(__file__).parent / "static" / "review.js"

router = APIRouter(prefix=PREFIX)


class ShownPhotos:
    """Which photos each user was shown on an audited grid page (this
    process's memory: another worker audits a photo once more, never less)."""

    def __init__(self, per_user: int = 2000) -> None:
        self.per_user, self._shown = per_user, {}  # type: ignore[var-annotated]

    def add(self, username: str, capture_ids: list[str]) -> None:
        mine: dict[str, float] = self._shown.setdefault(username, {})
        now = time.monotonic()
        mine.update((c, now) for c in capture_ids)
        if len(mine) > self.per_user:
            for old in sorted(mine, key=mine.__getitem__)[:len(mine) - self.per_user]:
                del mine[old]

    def covered(self, username: str, capture_id: str) -> bool:
        at = self._shown.get(username, {}).get(capture_id)
        return at is not None and time.monotonic() - at < SHOWN_FOR_SECONDS


SHOWN = ShownPhotos()


def _back(decision: str, after: str, upto: str, page_no: int) -> str:
    query = {k: v for k, v in (("decision", decision), ("after", after), ("upto", upto),
                               ("page", str(page_no) if page_no > 1 else "")) if v}
    return f"{PREFIX}/review?{urlencode(query)}"


@router.get("/review")
def review_grid(request: Request, db: DB, staff: Reviewer, decision: str = "pending",
                after: str = "", upto: str = "",
                page_no: Annotated[int, Query(alias="page")] = 1,
                error: str = "") -> Response:
    unidentified = _identify(request, db)
    decision = decision if decision in REVIEW_DECISIONS else "pending"
    page_no = max(1, page_no)
    rows = reviews.captures_by_decision(db, decision, GRID_SIZE, (page_no - 1) * GRID_SIZE,
                                        after or None, upto or None)
    if not rows and upto:  # the whole window decided: on to what follows it
        upto, rows = "", reviews.captures_by_decision(db, decision, GRID_SIZE, 0, after or None)
    shown = [cap.capture_id for cap, _ in rows]
    if shown:
        audit.record(db, staff.username, audit.Action.VIEW_PAGE, f"review {decision}",
                     " ".join(shown))
        SHOWN.add(staff.username, shown)
    last = shown[-1] if shown else ""
    return page(request, "review.html", staff, rows=rows, decision=decision,
                counts=reviews.review_counts(db), unidentified=unidentified,
                reasons=reviews.REJECT_REASONS, fields=CORRECTABLE_FIELDS, error=error,
                back=_back(decision, after, last if decision == "pending" else "", page_no),
                next_page=(_back(decision, last, "", 1) if decision == "pending"
                           else _back(decision, "", "", page_no + 1)) if len(rows) == GRID_SIZE
                else "", size=GRID_SIZE)


@router.get("/review/{capture_id}/photo.jpg")
def review_photo(request: Request, db: DB, staff: Reviewer, capture_id: str) -> Response:
    key = _private_key(request)
    if key is None:
        return Response(status_code=404)
    try:
        doc = reviews.open_for_review(db, request.app.state.server.store, key, capture_id)
        jpeg = doc.spec_photo() if doc is not None else b""
    except (OSError, ValueError, CryptoError):
        return Response(status_code=404)
    if not jpeg:
        return Response(status_code=404)
    if not SHOWN.covered(staff.username, capture_id):
        audit.record(db, staff.username, audit.Action.VIEW_PHOTO, capture_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _safe_back(back: str) -> str:
    return back if back.startswith(f"{PREFIX}/review?") and "//" not in back \
        and "\\" not in back else f"{PREFIX}/review"


@router.post("/review/approve-rest")
def approve_rest(db: DB, staff: Reviewer, capture_id: Annotated[list[str], Form()],
                 csrf: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    reviews.approve_pending(db, capture_id, staff.username)
    return RedirectResponse(_safe_back(back), status_code=303)


@router.post("/review/{capture_id}")
def review_decide(db: DB, staff: Reviewer, capture_id: str,
                  decision: Annotated[str, Form()], csrf: Annotated[str, Form()] = "",
                  reason: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "",
                  via: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    target = _safe_back(back)
    try:
        reviews.decide(db, capture_id, decision, reason or None, staff.username)
    except (ValueError, LookupError):
        if via == "script":
            return Response(status_code=422)
        return RedirectResponse(f"{target}&error=decision", status_code=303)
    if via == "script":
        return Response(status_code=204)
    return RedirectResponse(target, status_code=303)


@router.get("/review.js")
def review_script(staff: Reviewer) -> Response:
    return Response(SCRIPT.read_bytes(), media_type="text/javascript; charset=utf-8")


@router.get("/unopenable")
def unopenable_page(request: Request, db: DB, staff: Admin) -> Response:
    return page(request, "unopenable.html", staff, captures=reviews.unopenable_captures(db),
                count=reviews.unopenable_count(db))


@router.post("/unopenable/retry")
def unopenable_retry(db: DB, staff: Admin, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    count = reviews.retry_unopenable(db)
    audit.record(db, staff.username, audit.Action.RETRY_UNOPENABLE, detail=f"{count} captures")
    return RedirectResponse(f"{PREFIX}/unopenable", status_code=303)
