"""The wire format: request and response bodies of /api/v1 (see openapi.json)."""

from __future__ import annotations

from pydantic import BaseModel

# The replies are the wire contract's, shared with the booth (photo_wire).
from photo_wire.models import (CAPTURE_ID, KIOSK_ID, SHA256_HEX, EnrolResponse,  # noqa: F401
                               Receipt, RosterOut, RosterRowOut, ScheduleOut, SessionOut,
                               StudentRefScheme)
# The requests are the booth's, the same models (photo_wire.requests).
from photo_wire.requests import (INT32_MAX, NO_NUL, NOT_BLANK, CaptureUpload,  # noqa: F401
                                 CaptureUploadHead, EnrolRequest, HeartbeatIn, Int32, SessionName,
                                 StoredText, text_problem)


class Health(BaseModel):
    status: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Errors: a sentence, or for a malformed request where and what (never
    the offending value)."""

    detail: str | list[ValidationIssue]
