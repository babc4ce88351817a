"""The sealed capture document as the booth builds it: photo_wire's
CaptureDocument (the contract the office reads back), filled from a capture
request or from a plain capture stored before sealing was configured."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.capture.db import BadPhoto
from photo_wire.capture import CheckReport, CaptureDocument
from photo_wire.idnumber import mask_id

if TYPE_CHECKING:
    from kiosk.domain import CaptureRequest


def sealed_document(capture_id: str, request: CaptureRequest, session: str,
                    report: CheckReport | Mapping[str, Any], kiosk_id: str,
                    created_at: str) -> CaptureDocument:
    """The plaintext that gets sealed: what the office reviews and `photo-server
    export` writes out ("<name>_jpeg" fields as JPEG files, the rest as columns).

    report: the booth's check (a mapping with "compliant" is read as passed)."""
    student = request.student
    card = student.card
    original = photo_bytes(request.photo.original_jpeg, "original_jpeg", required=False)
    return CaptureDocument(
        capture_id=capture_id,
        spec_jpeg=b64(photo_bytes(request.photo.spec_jpeg, "spec_jpeg", required=True)),
        original_jpeg=b64(original) if original is not None else None,
        id_number=card.id_number,
        name=card.name,
        id_masked=mask_id(card.id_number),
        student_ref=student.match.student_ref,
        programme=student.match.programme,
        id_method=student.id_method,
        name_disputed=student.name_disputed,
        # A makeup shoot (accepted outside the student's own centre and session),
        # and the session the roster has the student in.
        makeup=bool(student.match.makeup),
        roster_session=student.match.session,
        card_uid=card.uid or None,
        code_payload=student.code_payload,
        consent_version=student.consent_version,
        consent_time=student.consent_time.isoformat() if student.consent_time else None,
        check_report=CheckReport.model_validate(report),
        kiosk_id=kiosk_id,
        session=session,
        created_at=created_at,
    )


def b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode()


def photo_bytes(data: object, attr: str, *, required: bool) -> bytes | None:
    """One of the processed photo's JPEGs as bytes; BadPhoto when it is not
    bytes or empty (original_jpeg may be None: not kept)."""
    if data is None and not required:
        return None
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise BadPhoto(f"photo.{attr} is missing or empty")
    return bytes(data)
