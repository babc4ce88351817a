"""The HTTP API (/api/v1), built by create_app from a ServerState.

Request bodies are never logged (they may hold personal data); log lines name
capture ids and kiosk ids only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import school_server
from school_server import auth, db as dbm
from school_server.auth import KioskIdentity, current_kiosk, get_db
from school_server.body_guard import BodyGuard
from school_server.ingest import Refused, ingest_capture
from school_server.models import Heartbeat, Kiosk, utcnow
from school_server.office_login import OfficeLogins
from school_server.private_files import private_dir
from school_server.roster import roster_for
from school_server.security_headers import SecurityHeaders
from school_server.schedule import schedule_for
from school_server.schemas import (CAPTURE_ID, CaptureUpload, EnrolRequest, EnrolResponse,
                                   ErrorOut, Health, HeartbeatIn, Receipt, RosterOut,
                                   ScheduleOut)
from school_server.settings import Settings
from school_server.storage import ObjectStore, open_store
from school_server.web import OFFICE_PREFIX, imports, mount_office

log = logging.getLogger(__name__)

# Module level: FastAPI resolves these string annotations in the module's globals.
DB = Annotated[Session, Depends(get_db)]
Me = Annotated[KioskIdentity, Depends(current_kiosk)]


@dataclass
class ServerState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    logins: OfficeLogins

    @classmethod
    def open(cls, settings: Settings) -> "ServerState":
        engine = dbm.make_engine(settings.db_url)
        private_dir(settings.spool_dir)
        sessions = dbm.make_sessions(engine)
        return cls(settings, engine, sessions, open_store(settings),
                   OfficeLogins(sessions, settings.office_login_failures_per_address,
                                settings.office_login_hash_slots, settings.office_login_queue))


# What each error status means on this API (the OpenAPI document says it).
_ERROR_MEANINGS = {
    400: "The body is not JSON (or not UTF-8)",
    401: "No token, or an unknown or revoked one. Answered from the headers, before the "
         "body is read",
    403: "Refused (the detail says why)",
    409: "The capture id already holds another capture (or another kiosk's)",
    413: "The body is over max_body_bytes (64 KiB where no token is needed). Answered from "
         "Content-Length, before the body is read, when the client declares it",
    422: "The request does not follow this schema (where and what, never the value)",
    503: "Unavailable for now: retry later (after Retry-After seconds when it is given: too "
         "many big uploads at once)",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                                "schema": {"type": "integer"}}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _ERROR_MEANINGS[code],
                   **({"headers": _RETRY_AFTER} if code == 503 else {})}
            for code in codes}


def create_app(state: ServerState | None) -> FastAPI:
    """The app; state None gives one that can only describe itself (openapi)."""
    app = FastAPI(title="Diploma photo school server", version=school_server.__version__,
                  description="Receives sealed captures from the photo kiosks and serves "
                              "them their centre's roster and schedule.",
                  # operationIds are the function names: put_capture, roster, ...
                  generate_unique_id_function=lambda route: route.name,
                  # Not served: the document is school_server/openapi.json
                  # (`photo-server openapi` writes it from app.openapi()).
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = state
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)

    @app.get("/api/v1/health", response_model=Health, tags=["ops"])
    def health(db: DB) -> Health:
        db.execute(text("SELECT 1"))
        return Health(status="ok")

    @app.post("/api/v1/enrol", response_model=EnrolResponse, tags=["kiosk"],
              responses=_errors(400, 403, 413, 422))
    def enrol(body: EnrolRequest, db: DB) -> EnrolResponse:
        """Spend a one-time enrolment code for a bearer token."""
        try:
            token = auth.redeem_enrolment_code(db, body.enrolment_code, body.kiosk_id)
        except auth.EnrolmentRefused as refused:
            log.warning("enrolment of kiosk %s refused: %s", body.kiosk_id, refused)
            raise HTTPException(403, str(refused)) from None
        return EnrolResponse(token=token)

    @app.put("/api/v1/captures/{capture_id}", response_model=Receipt, tags=["kiosk"],
             responses={200: {"description": "An exact repeat: the first upload's receipt"},
                        201: {"model": Receipt, "description": "Stored"},
                        **_errors(400, 401, 403, 409, 413, 422, 503)})
    def put_capture(capture_id: Annotated[str, Path(pattern=CAPTURE_ID)], body: CaptureUpload,
                    response: Response, me: Me, db: DB) -> Receipt:
        """Store one sealed capture. Idempotent: repeat it until a receipt comes back."""
        # The rules live in ingest.py, shared with `photo-server import-bundle`.
        try:
            stored = ingest_capture(db, _state(app).store, me, capture_id, body)
        except Refused as refused:
            raise HTTPException(refused.status, refused.detail) from None
        if stored.created:
            response.status_code = 201
        return stored.receipt

    @app.post("/api/v1/heartbeat", status_code=204, tags=["kiosk"],
              responses=_errors(400, 401, 413, 422, 503))
    def heartbeat(body: HeartbeatIn, me: Me, db: DB) -> Response:
        """Record the kiosk's state; only the latest one is kept."""
        now = utcnow()
        beat = db.get(Heartbeat, me.kiosk_id)
        if beat is None:
            beat = Heartbeat(kiosk_id=me.kiosk_id)
            db.add(beat)
        beat.status, beat.queue_depth, beat.free_mb = body.status, body.queue_depth, body.free_mb
        beat.version, beat.last_error, beat.at = body.version, body.last_error, now
        kiosk = db.get(Kiosk, me.kiosk_id)
        assert kiosk is not None
        kiosk.last_heartbeat_at = now
        db.commit()
        log.debug("heartbeat from kiosk %s: %s, queue %d", me.kiosk_id, body.status, body.queue_depth)
        return Response(status_code=204)

    @app.get("/api/v1/roster", response_model=RosterOut, tags=["kiosk"],
             responses={304: {"description": "Unchanged since the If-None-Match version"},
                        **_errors(401)})
    def roster(request: Request, me: Me, db: DB) -> Any:
        """The school's roster as refs (every centre: makeup shoots), no names."""
        out = roster_for(db, me.centre)
        return _unless_unchanged(request, jsonable_encoder(out), f'"{out.version}"')

    @app.get("/api/v1/schedule", response_model=ScheduleOut, tags=["kiosk"],
             responses={304: {"description": "Unchanged since the If-None-Match version"},
                        **_errors(401)})
    def schedule(request: Request, me: Me, db: DB) -> Any:
        """Capture sessions at this kiosk's centre, by start time."""
        body = jsonable_encoder(schedule_for(db, me.centre))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()
        return _unless_unchanged(request, body, f'"{digest[:32]}"')

    mount_office(app)  # the school office's web pages (/office), outside the API schema

    async def check_token(authorization: str | None) -> tuple[str, str | None]:
        return await run_in_threadpool(auth.token_check, _state(app).sessions, authorization)

    async def check_upload(cookie: str | None) -> str | None:
        return await run_in_threadpool(imports.upload_refusal, _state(app).sessions, cookie)

    settings = state.settings if state else Settings.model_construct()
    app.add_middleware(
        BodyGuard, check_token=check_token, token_paths=_token_paths(app),
        upload_paths=(imports.UPLOAD_PATH,), check_upload=check_upload,
        max_bytes=settings.max_body_bytes, max_big_bodies=settings.max_concurrent_uploads,
        per_kiosk=settings.max_uploads_per_kiosk, min_rate=settings.min_upload_rate,
        grace_seconds=settings.upload_grace_seconds,
        spool_dir=settings.spool_dir if state else None)
    app.add_middleware(SecurityHeaders, no_store_prefix=OFFICE_PREFIX)  # outermost: every answer
    return app


def _token_paths(app: FastAPI) -> tuple[re.Pattern[str], ...]:
    """Path patterns of the API routes that take a kiosk token; any other body is kept small."""
    def needs_token(route: APIRoute) -> bool:
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            if dep.call is current_kiosk:
                return True
            stack.extend(dep.dependencies)
        return False

    return tuple(r.path_regex for r in app.routes if isinstance(r, APIRoute) and needs_token(r))


def _state(app: FastAPI) -> ServerState:
    return app.state.server


def _unless_unchanged(request: Request, body: Any, etag: str) -> Response:
    """The document with its ETag, or 304 when the kiosk already holds that version."""
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return JSONResponse(body, headers={"ETag": etag})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes the offending input back; bodies may hold
    # personal data, so only where and what.
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug or a database failure: the kiosk gets JSON like every other
    # answer (and retries a 5xx); uvicorn logs the traceback, whose SQL
    # parameters the engine hides (db.make_engine).
    return JSONResponse({"detail": "internal server error; the server log says why"},
                        status_code=500)
