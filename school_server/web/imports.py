"""The admin's import page (/office/imports): upload a roster or schedule
(CSV or XLSX), see every row's problems (and download them as CSV), import
when the file is clean or on the admin's confirmation, follow the hashing on
a progress bar and cancel it. The job itself is school_server/import_jobs.py,
the same the CLI runs.

The pages have no script (the CSP forbids it): the job's page reloads itself
(<meta http-equiv="refresh">) while the job runs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from http.cookies import CookieError, SimpleCookie
from itertools import chain
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from school_server import accounts
from school_server.import_jobs import KINDS, RUNNING, ImportJob, ImportJobs, State
from school_server.import_problems import problem_csv
from school_server.private_files import private_dir
from school_server.web.routes import (PREFIX, SESSION_COOKIE, Admin, Forbidden, _lang, check_csrf,
                                      page)
from school_server.web.texts import translator

router = APIRouter(prefix=PREFIX)
UPLOAD_PATH = re.compile(rf"^{PREFIX}/imports$")  # the one office form that takes a file
PROGRESS_REFRESH_SECONDS = 2
PROBLEMS_SHOWN = 200  # on the page; the CSV has them all (up to MAX_KEPT)
CHUNK = 1 << 16


def jobs(request: Request) -> ImportJobs:
    """The server's job table (made on first use, one per app)."""
    app_state = request.app.state
    if getattr(app_state, "imports", None) is None:
        app_state.imports = ImportJobs(app_state.server.sessions,
                                       app_state.server.settings.spool_dir / "imports")
    return app_state.imports


def upload_refusal(sessions: Callable[[], Session], cookie_header: str | None) -> str | None:
    """Why a body bigger than a form may not be sent to the upload (None: an
    admin's session): checked by the body guard before the body is read."""
    try:
        cookie = SimpleCookie(cookie_header or "")
    except CookieError:
        return "no office session"
    token = cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None
    with sessions() as db:
        staff = accounts.session_staff(db, token)
    return None if staff is not None and staff.may("admin") else "an admin's office session only"


def _job(request: Request, job_id: str) -> ImportJob:
    job = jobs(request).get(job_id)
    if job is None:
        raise Forbidden()
    return job


@router.get("/imports")
def imports_page(request: Request, staff: Admin, error: str = "") -> Response:
    return page(request, "imports.html", staff, kinds=KINDS, recent=jobs(request).recent(),
                error=error if error in ("kind", "empty", "busy") else "",
                max_mb=request.app.state.server.settings.max_body_bytes // (1 << 20))


@router.post("/imports")
async def upload(request: Request, staff: Admin, kind: Annotated[str, Form()],
                 file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = "",
                 only_sessions: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    if kind not in KINDS:
        return RedirectResponse(f"{PREFIX}/imports?error=kind", status_code=303)
    table = jobs(request)
    if table.busy():
        return RedirectResponse(f"{PREFIX}/imports?error=busy", status_code=303)
    settings = request.app.state.server.settings
    work_dir = settings.spool_dir / "imports"
    private_dir(work_dir)
    path = work_dir / f"{uuid.uuid4().hex}.upload"
    size = await run_in_threadpool(_save, file, path)
    if not size:
        path.unlink(missing_ok=True)
        return RedirectResponse(f"{PREFIX}/imports?error=empty", status_code=303)
    job = ImportJob(next(k for k in KINDS if k == kind), path, (file.filename or "")[:200],
                    staff.username, work_dir, settings.timezone, sessions_only=bool(only_sessions))
    table.start(job)
    return RedirectResponse(f"{PREFIX}/imports/{job.id}", status_code=303)


def _save(file: UploadFile, path: Path) -> int:
    size = 0
    with path.open("wb") as out:
        while chunk := file.file.read(CHUNK):
            out.write(chunk)
            size += len(chunk)
    return size


@router.get("/imports/{job_id}")
def job_page(request: Request, staff: Admin, job_id: str) -> Response:
    job = _job(request, job_id)
    # The state first: the job's thread sets the counts before it moves on, so
    # what is shown below is at least as new as the state shown.
    state = job.state
    return page(request, "import_job.html", staff, job=job, state=state, State=State,
                problems=job.problems.by_line()[:PROBLEMS_SHOWN],
                refresh=PROGRESS_REFRESH_SECONDS if state in RUNNING else 0)


@router.get("/imports/{job_id}/problems.csv")
def problems_csv(request: Request, staff: Admin, job_id: str) -> Response:
    job = _job(request, job_id)
    t = translator(_lang(request))
    lines: Iterator[str] = chain(["\ufeff"], problem_csv(job.problems.by_line(), t))
    name = quote(f"{t('import.problems_file')}.csv")
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Cache-Control": "no-store"})


@router.post("/imports/{job_id}/confirm")
def confirm(request: Request, staff: Admin, job_id: str,
            csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    jobs(request).confirm(_job(request, job_id))
    return RedirectResponse(f"{PREFIX}/imports/{job_id}", status_code=303)


@router.post("/imports/{job_id}/cancel")
def cancel(request: Request, staff: Admin, job_id: str,
           csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(staff, csrf)
    _job(request, job_id).cancel()
    return RedirectResponse(f"{PREFIX}/imports/{job_id}", status_code=303)
