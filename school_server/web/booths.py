"""The office's booths page (/office/fleet): each booth's heartbeat, its
token's last use (time and address: a stolen token used elsewhere shows),
and for the admin a button that revokes the token at once (as `photo-server
revoke`; the next request with it gets 401, before its body is read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from school_server import audit
from school_server.auth import revoke_kiosk
from school_server.models import Kiosk
from school_server.progress import SILENT_AFTER_BEATS, fleet_rows
from school_server.web.routes import DB, PREFIX, REFRESH_SECONDS, Admin, Viewer, check_csrf, page

router = APIRouter(prefix=PREFIX)


@router.get("/fleet")
def fleet(request: Request, db: DB, staff: Viewer) -> Response:
    used = {k.kiosk_id: k for k in db.scalars(select(Kiosk))}
    return page(request, "fleet.html", staff, kiosks=fleet_rows(db), used=used,
                silent_beats=SILENT_AFTER_BEATS, refresh=REFRESH_SECONDS)


@router.post("/fleet/{kiosk_id}/revoke")
def revoke(db: DB, staff: Admin, kiosk_id: str,
           csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        return RedirectResponse(f"{PREFIX}/fleet?error=unknown", status_code=303)
    if kiosk.revoked_at is None:
        audit.record(db, staff.username, audit.Action.KIOSK_REVOKED, kiosk_id, commit=False)
        revoke_kiosk(db, kiosk_id)  # commits the audit row with it
    return RedirectResponse(f"{PREFIX}/fleet", status_code=303)
