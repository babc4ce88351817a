"""The sealed capture document: what a booth seals to the school's key and
the office opens (review, corrections, export, hand-over).

The booth writes it with CaptureDocument(...).sealed_bytes(); the server reads
it with CaptureDocument.open(plaintext). Nothing reads the document as a dict.

Versions (the "format" field):
- none or "photo-kiosk-capture/1": written by booths before this model; the
  verdict was check_report.compliant. Still opened (the validator upgrades it).
- "photo-kiosk-capture/2": this model; the verdict is check_report.passed.

Every field is bounded: the server opens what any enrolled booth sealed.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from photo_wire.models import summary

CAPTURE_FORMAT = "photo-kiosk-capture/2"
LEGACY_CAPTURE_FORMAT = "photo-kiosk-capture/1"
PHOTO_SUFFIX = "_jpeg"  # "<name>_jpeg" fields are base64 JPEGs (export writes them as files)
# A spec photo is ~50 KB, a camera still a few MB; the PUT body (24 MiB) bounds both anyway.
MAX_PHOTO_B64_CHARS = 16 * 1024 * 1024
MAX_MEASURES_JSON = 64 * 1024
MAX_EXTRA_FIELDS = 16
MAX_EXTRA_JSON = 4096
NAME_CHARS = 200  # as the server's PERSON_NAME_CHARS
ID_NUMBER_CHARS = 32  # 18 in practice; the hand-over checks the pattern
CODE_PAYLOAD_CHARS = 1024  # the 采集码: opaque, a QR code's text
REF_CHARS = 128
TEXT_CHARS = 200
TIME_CHARS = 64


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str))


class CheckReport(BaseModel):
    """The booth's own photo check: its verdict and the codes behind it."""

    model_config = ConfigDict(extra="ignore")

    passed: bool | None = Field(default=None, description="None: an old document without one")
    problems: list[str] = Field(default_factory=list, max_length=64)
    measures: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        # Version 1 (and the runtime's report) name the verdict "compliant".
        if isinstance(data, dict) and "passed" not in data and "compliant" in data:
            data = {**data, "passed": data["compliant"]}
        return data

    @field_validator("problems")
    @classmethod
    def _short_codes(cls, codes: list[str]) -> list[str]:
        if any(len(c) > 64 for c in codes):
            raise ValueError("a problem code is at most 64 characters")
        return codes

    @field_validator("measures")
    @classmethod
    def _small_measures(cls, measures: dict[str, Any]) -> dict[str, Any]:
        if _json_size(measures) > MAX_MEASURES_JSON:
            raise ValueError(f"measures must be at most {MAX_MEASURES_JSON} characters of JSON")
        return measures


class CaptureDocument(BaseModel):
    """One capture's personal payload, sealed (PyNaCl SealedBox) by the booth.

    Unknown fields (from a newer booth) are kept, a few and small, so the
    export still writes them out."""

    model_config = ConfigDict(extra="allow")

    format: Literal["photo-kiosk-capture/1", "photo-kiosk-capture/2"] = CAPTURE_FORMAT
    capture_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    spec_jpeg: str = Field(min_length=1, max_length=MAX_PHOTO_B64_CHARS,
                           description="base64 of the spec photo handed over")
    original_jpeg: str | None = Field(default=None, max_length=MAX_PHOTO_B64_CHARS,
                                      description="base64 of the untouched still")
    # In full: the collection unit registers the photo under the ID number.
    id_number: str = Field(default="", max_length=ID_NUMBER_CHARS)
    name: str = Field(default="", max_length=NAME_CHARS)
    id_masked: str = Field(default="", max_length=ID_NUMBER_CHARS)
    student_ref: str = Field(default="", max_length=REF_CHARS)
    programme: str = Field(default="", max_length=TEXT_CHARS)
    id_method: Literal["card", "manual"] = "card"  # manual: staff typed the number
    # The student pressed 信息有误 at the booth: a correction request, the
    # office checks the name and ID number (the review shows it).
    name_disputed: bool = False
    makeup: bool = False  # taken outside the student's own centre and session
    roster_session: str = Field(default="", max_length=TEXT_CHARS)
    card_uid: str | None = Field(default=None, max_length=64)  # PC/SC readers give only this
    code_payload: str | None = Field(default=None, max_length=CODE_PAYLOAD_CHARS)  # 采集码
    consent_version: str | None = Field(default=None, max_length=64)
    consent_time: str | None = Field(default=None, max_length=TIME_CHARS)
    check_report: CheckReport | None = None
    kiosk_id: str = Field(default="", max_length=64)
    session: str = Field(default="", max_length=TEXT_CHARS)
    created_at: str = Field(default="", max_length=TIME_CHARS)
    note: str | None = Field(default=None, max_length=TEXT_CHARS)

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any, info: ValidationInfo) -> Any:
        """A sealed document without a format is from a booth in the field
        (version 1): the same fields, the verdict as check_report.compliant
        (CheckReport reads it). Only when opening: a booth building one now
        writes the current format."""
        opening = bool(info.context and info.context.get("opening"))
        if opening and isinstance(data, dict) and "format" not in data:
            data = {**data, "format": LEGACY_CAPTURE_FORMAT}
        return data

    @model_validator(mode="after")
    def _small_extras(self) -> CaptureDocument:
        extra = self.model_extra or {}
        if len(extra) > MAX_EXTRA_FIELDS:
            raise ValueError(f"at most {MAX_EXTRA_FIELDS} unknown fields")
        if any(_json_size(v) > MAX_EXTRA_JSON for v in extra.values()):
            raise ValueError(f"an unknown field holds at most {MAX_EXTRA_JSON} characters")
        return self

    # ------------------------------------------------------------ both sides

    def sealed_bytes(self) -> bytes:
        """The plaintext the booth seals (UTF-8 JSON)."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def open(cls, plaintext: bytes) -> CaptureDocument:
        """The document from its plaintext; ValueError (never quoting a value) when
        it is not JSON or does not match the contract."""
        try:
            return cls.model_validate_json(plaintext, context={"opening": True})
        except ValidationError as err:
            raise ValueError(f"sealed document does not match the capture contract: "
                             f"{summary(err)}") from None

    def photos(self) -> dict[str, bytes]:
        """"<name>_jpeg" field -> its JPEG bytes (spec first); ValueError if not base64."""
        out = {"spec_jpeg": _b64decode("spec_jpeg", self.spec_jpeg)}
        if self.original_jpeg:
            out["original_jpeg"] = _b64decode("original_jpeg", self.original_jpeg)
        return out

    def spec_photo(self) -> bytes:
        return _b64decode("spec_jpeg", self.spec_jpeg)

    def columns(self) -> dict[str, Any]:
        """Every field but the photos, as the export's manifest columns."""
        fields = self.model_dump(mode="json", exclude_none=True)
        return {k: v for k, v in fields.items() if not k.endswith(PHOTO_SUFFIX)}

    def with_corrections(self, corrected: dict[str, str]) -> CaptureDocument:
        """The document as the office corrected it (勘误: name, id_number)."""
        return self.model_copy(update=corrected) if corrected else self


def _b64decode(field: str, value: str) -> bytes:
    try:
        data = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{field} is not base64") from None
    if not data:
        raise ValueError(f"no {field} in the sealed document")
    return data


# ------------------------------------------------ the receipt's 采集编号
# A capture id is 32 hex digits (uuid4): too long to read out. The receipt
# shows its first 8, upper case, grouped 4-4 ("49985F9B" -> "4998-5F9B"): read
# out in two breaths, typed into the office's search with or without the dash
# or case (16^8 = 4.3 x 10^9 values: a school's captures do not collide in
# practice, and a search shows every match if they do).
REFERENCE_DIGITS = 8


def reference(capture_id: str) -> str:
    """The 采集编号 a student reads from the receipt."""
    head = capture_id[:REFERENCE_DIGITS].upper()
    return f"{head[:4]}-{head[4:]}" if len(head) > 4 else head


def reference_prefix(text: str) -> str | None:
    """The capture id prefix a typed 采集编号 stands for (lower case, no dash
    or spaces), or None when it is not one."""
    head = "".join(text.split()).replace("-", "").lower()
    if len(head) == REFERENCE_DIGITS and all(c in "0123456789abcdef" for c in head):
        return head
    return None
