"""The HTTP API (/api/v1), built by create_app from a ServerState.

Request bodies are never logged (they may hold personal data); log lines name
capture ids and kiosk ids only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import school_server
from school_server import auth, db as dbm
from school_server.auth import KioskIdentity, current_kiosk, get_db
from school_server.body_limit import BodyLimit
from school_server.ingest import Refused, ingest_capture
from school_server.models import Heartbeat, Kiosk, utcnow
from school_server.roster import roster_for
from school_server.schedule import schedule_for
from school_server.schemas import (CAPTURE_ID, CaptureUpload, EnrolRequest, EnrolResponse,
                                   ErrorOut, Health, HeartbeatIn, Receipt, RosterOut,
                                   ScheduleOut)
from school_server.settings import Settings
from school_server.storage import ObjectStore, open_store

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = Settings.model_fields["max_body_bytes"].default
# Module level: FastAPI resolves these string annotations in the module's globals.
DB = Annotated[Session, Depends(get_db)]
Me = Annotated[KioskIdentity, Depends(current_kiosk)]


@dataclass
class ServerState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore

    @classmethod
    def open(cls, settings: Settings) -> "ServerState":
        engine = dbm.make_engine(settings.db_url)
        return cls(settings, engine, dbm.make_sessions(engine), open_store(settings))


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in codes}


def create_app(state: ServerState | None) -> FastAPI:
    """The app; state None gives one that can only describe itself (openapi)."""
    app = FastAPI(title="Diploma photo school server", version=school_server.__version__,
                  description="Receives sealed captures from the photo kiosks and serves "
                              "them their centre's roster and schedule.",
                  # operationIds are the function names: put_capture, roster, ...
                  generate_unique_id_function=lambda route: route.name)
    app.state.server = state
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes if state
                       else DEFAULT_MAX_BODY)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/api/v1/health", response_model=Health, tags=["ops"])
    def health(db: DB) -> Health:
        db.execute(text("SELECT 1"))
        return Health(status="ok")

    @app.post("/api/v1/enrol", response_model=EnrolResponse, tags=["kiosk"],
              responses=_errors(403, 422))
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
                        **_errors(401, 403, 409, 413, 422, 503)})
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

    @app.post("/api/v1/heartbeat", status_code=204, tags=["kiosk"], responses=_errors(401, 422))
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
        """The roster of this kiosk's centre (no other centre's rows)."""
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

    return app


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
