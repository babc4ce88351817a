"""The admin's page of office accounts: who can log in, and a button that
disables an account and ends its sessions at once (as `photo-server
disable-user`). Passwords are set with `photo-server add-user` only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from school_server import accounts
from school_server.web.routes import DB, PREFIX, Admin, check_csrf, page

router = APIRouter(prefix=PREFIX)


@router.get("/users")
def users_page(request: Request, db: DB, staff: Admin) -> Response:
    return page(request, "users.html", staff, users=accounts.users(db))


@router.post("/users/{username}/disable")
def disable(db: DB, staff: Admin, username: str,
            csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    try:
        accounts.disable_user(db, username, staff.username)
    except ValueError:
        return RedirectResponse(f"{PREFIX}/users?error=unknown", status_code=303)
    return RedirectResponse(f"{PREFIX}/users", status_code=303)
