"""The server's replies and the USB bundle's files, as both sides read them.

The server builds these models (FastAPI publishes them in openapi.json); the
booth parses the same models, so a reply it cannot read is a ValidationError
in one place, not a hand-written check per field.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, ValidationError, field_validator

from photo_wire import ids

KIOSK_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CAPTURE_ID = r"^[A-Za-z0-9_-]{8,64}$"
SHA256_HEX = r"^[0-9a-f]{64}$"


# A token is secrets.token_urlsafe(32) (43 characters): a booth refuses anything
# that is not a short URL-safe string before it writes it to its SD card.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,256}$"
MAX_ENROL_ANSWER_BYTES = 4096


class EnrolResponse(BaseModel):
    token: str = Field(pattern=TOKEN_PATTERN,
                       description="Bearer token for every other call; shown once")


class Receipt(BaseModel):
    """The same receipt is returned for every exact repeat of an upload."""

    capture_id: str
    digest: str
    received_at: datetime


class StudentRefScheme(BaseModel):
    """How student_ref and uid_hash are made from a card read (photo_wire.ids):
    scrypt over "id:{ID number}" / "uid:{card UID}", no key. A booth keys its
    own reads the same way and refuses a roster made another way."""

    # A str, not a Literal: a booth reads an older server's scheme and says
    # what is wrong (kiosk.identity.server_roster.ServerRoster compares it with SCHEME).
    algorithm: str = ids.SCHEME_NAME
    n: int = ids.SCRYPT_N
    r: int = ids.SCRYPT_R
    p: int = ids.SCRYPT_P
    salt: str = Field(ids.SALT.decode(), description="UTF-8 salt")
    id_message: str = Field("id:{ID number, normalised}",
                            description="uid_hash uses 'uid:{card UID, hex upper-case, no separators}'")


# What this code makes and accepts: anything else is another scheme.
SCHEME = StudentRefScheme()


# Why the office refuses a photo (the office's catalogs: reject.<code>; the
# booth's: retake.<code>). The server's roster names it for a retake.
REJECT_REASONS = ("not_the_student", "photo_quality", "wrong_background", "glasses_glare",
                  "expression", "other")


class RosterRowOut(BaseModel):
    """One expected student as a booth needs them: refs, where and when, and
    whether to take them again. No name, no programme: a stolen booth token
    gets nothing that names anyone (the name shown comes from the card). A
    cached roster from an older server still has both: ignored."""

    student_ref: str
    uid_hash: str | None
    centre: str
    session: str
    # Strict: "true" or 1 from a confused server is a bad reply, not a retake.
    retake: StrictBool = Field(default=False, description=(
        "The office rejected every photo of this student: the booth takes them again "
        "even if it holds an earlier capture"))
    # A str, not a Literal: a newer server's code is shown as "other", the roster kept.
    retake_reason: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$", description=(
        "The reason code (REJECT_REASONS) of the office's latest rejection, for a retake: "
        "the booth tells the student why before taking them again"))


class RosterOut(BaseModel):
    centre: str
    version: str = Field(description="Also the ETag; send If-None-Match to get 304")
    student_ref_scheme: StudentRefScheme
    rows: list[RosterRowOut]


class SessionOut(BaseModel):
    session: str
    centre: str
    starts_at: datetime
    ends_at: datetime


class ScheduleOut(BaseModel):
    centre: str
    sessions: list[SessionOut]


# ------------------------------------------------------------ the USB bundle
# DIR/manifest.json (the booth writes it), DIR/captures/<capture_id>.json (each
# the body its PUT would send), DIR/receipts.json (the server writes it).

BUNDLE_FORMAT = "photo-kiosk-bundle/1"
RECEIPTS_FORMAT = "photo-kiosk-receipts/1"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # ~300 000 captures' entries
RECEIPTS = "receipts.json"
CAPTURES_DIR = "captures"


class BundleEntry(BaseModel):
    capture_id: str = Field(pattern=CAPTURE_ID)
    digest: str = Field(pattern=SHA256_HEX, description="sha256 of the sealed bytes")
    created_at: AwareDatetime
    session: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=1)
    file_sha256: str = Field(pattern=SHA256_HEX, description="sha256 of the capture's file")


class BundleManifest(BaseModel):
    format: Literal["photo-kiosk-bundle/1"]
    bundle_id: str = Field(min_length=1, max_length=64)
    kiosk_id: str = Field(pattern=KIOSK_ID)
    centre: str = Field(max_length=100)
    software_version: str = Field(max_length=64)
    exported_at: AwareDatetime
    captures: list[BundleEntry]


class ReceiptEntry(BaseModel):
    """One capture's receipt in receipts.json (the PUT's receipt, as it wrote it)."""

    digest: str = Field(pattern=SHA256_HEX)
    received_at: str = Field(max_length=64, description="ISO 8601 with its offset")

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: str) -> str:
        if datetime.fromisoformat(value).tzinfo is None:  # ValueError: not ISO 8601
            raise ValueError("received_at needs its UTC offset")
        return value


class ReceiptsDocument(BaseModel):
    """DIR/receipts.json, written by `photo-server import-bundle`. The booth
    reads each receipt with ReceiptEntry on its own: one bad receipt is
    counted, the others apply. "mac": see receipts_mac."""

    format: Literal["photo-kiosk-receipts/1"]
    bundle_id: str = Field(default="", max_length=64)
    kiosk_id: str = Field(max_length=64)
    server_version: str = Field(default="", max_length=64)
    imported_at: str = Field(default="", max_length=64)
    receipts: dict[str, Any] = Field(max_length=1_000_000)
    refused: dict[str, Annotated[str, Field(max_length=1000)]] = Field(default_factory=dict)
    mac: str = Field(default="", max_length=64)


def receipts_mac_key(token: str) -> bytes:
    """The receipts' HMAC key: sha256 of the booth's bearer token (the server
    stores exactly that hash, the booth holds the token, the stick neither)."""
    return hashlib.sha256(token.encode()).digest()


def receipts_mac(doc: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) over the receipts document without its "mac"
    (JSON, sorted keys, no spaces, ASCII)."""
    body = {k: v for k, v in doc.items() if k != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def summary(err: ValidationError) -> str:
    """Where and what, never the offending value (personal data)."""
    parts = []
    for e in err.errors()[:3]:
        loc = ".".join(str(p) for p in e.get("loc", ())) or "(document)"
        parts.append(f"{loc}: {e.get('msg', '')}")
    more = len(err.errors()) - 3
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
