"""The request bodies a booth sends the school server (/api/v1): enrolment,
the capture upload, the heartbeat. The booth builds them with these models
and the server validates them with the same ones (FastAPI publishes them in
openapi.json).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from photo_wire.ids import name_key
from photo_wire.models import KIOSK_ID, SHA256_HEX

# Sizes (in characters) of the server's columns that hold a booth's values.
SESSION_CHARS = 100  # name_key(session)
HEARTBEAT_STATUS_CHARS = 32
KIOSK_VERSION_CHARS = 64
HEARTBEAT_ERROR_CHARS = 2000

# Only values every database holds. SQLite stores any string and any 64-bit
# integer in any column; PostgreSQL refuses NUL characters in text, a string
# longer than its VARCHAR(n) and an integer over 32 bits, and the request
# fails with a 500: a capture the kiosk then retries for ever, a heartbeat
# lost every time. Both backends refuse them here instead, with a 422. The
# CLI's imports check staff's values with text_problem too. The column sizes
# are the models' (models.CENTRE_CHARS and the rest).
INT32_MAX = 2**31 - 1


def text_problem(value: str, max_chars: int | None = None, *, folded: bool = False) -> str | None:
    """Why value cannot be stored in a VARCHAR(max_chars) column on every
    database (None: it can). folded: the column holds name_key(value), which
    case folding can make longer ("ß" -> "ss"). Never quotes the value."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if max_chars is not None:
        length = len(name_key(value)) if folded else len(value)
        if length > max_chars:
            folding = " once case-folded" if folded else ""
            return f"must be at most {max_chars} characters{folding} (it has {length})"
    return None


def _session_fits(value: str) -> str:
    problem = text_problem(value, SESSION_CHARS, folded=True)
    if problem:
        raise ValueError(problem)
    return value


def _json_integer(value: object) -> object:
    # Pydantic's lax mode would take true, false and "5" as integers; the
    # wire says integer, so only JSON numbers (1.0 is one) reach int.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be an integer")
    return value


def _utc_representable(value: datetime) -> datetime:
    # Stored as UTC: 0001-01-01T00:00+08:00 is in the year 0 there, which
    # no datetime (and no database column) holds.
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("must fall within the years 1 to 9999 once in UTC") from None


# The same rules as patterns, so the published schema states them: no NUL
# character (PostgreSQL text holds none), and in a name at least one
# character that str.strip() keeps (else name_key makes it empty).
NO_NUL = r"^[^\x00]*$"
_STRIPPED = (r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
             r"\u205f\u3000")
NOT_BLANK = rf"^[^\x00]*[^\x00{_STRIPPED}][^\x00]*$"

# (Field first: constraints after a validator are checked but left out of the schema.)
StoredText = Annotated[str, Field(pattern=NO_NUL)]
SessionName = Annotated[str, Field(pattern=NOT_BLANK), AfterValidator(_session_fits)]
Int32 = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(_json_integer)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrolRequest(_Strict):
    enrolment_code: str = Field(min_length=1, max_length=64,
                                description="The one-time code from `photo-server enrol-code`")
    kiosk_id: str = Field(pattern=KIOSK_ID)


class CaptureUploadHead(_Strict):
    """A capture upload but its sealed bytes: the booth writes this and splices
    the base64 in after it (no copy of megabytes through json.dumps)."""

    kiosk_id: str = Field(pattern=KIOSK_ID, description="Must be the token's own kiosk")
    session: SessionName = Field(min_length=1, max_length=SESSION_CHARS)
    created_at: Annotated[AwareDatetime, AfterValidator(_utc_representable)] = Field(
        description="When the kiosk took it (kiosk clock); within the years 1 to 9999 in UTC")
    digest: str = Field(pattern=SHA256_HEX, description="sha256 hex of the sealed bytes")
    # Optional: older booths, and booths without a status key, send none.
    status_hash: str | None = Field(default=None, pattern=SHA256_HEX, description=(
        "sha256 hex of the capture's status link token (photo_wire/status_link.py); the "
        "token itself is never sent"))


class CaptureUpload(CaptureUploadHead):
    sealed: str = Field(min_length=1,
                        description="base64 of a PyNaCl SealedBox to the server's public key")


class HeartbeatIn(_Strict):
    status: StoredText = Field(min_length=1, max_length=HEARTBEAT_STATUS_CHARS)
    queue_depth: Int32
    free_mb: Int32
    version: StoredText = Field(max_length=KIOSK_VERSION_CHARS)
    last_error: StoredText | None = Field(
        default=None, max_length=HEARTBEAT_ERROR_CHARS, description="Must not hold personal data")


