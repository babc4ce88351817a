"""The sealed capture document's model (photo_wire.capture): documents sealed
by booths in the field still open, every field is bounded, errors never
quote a value."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from photo_wire.capture import CAPTURE_FORMAT, CaptureDocument, CheckReport, reference, reference_prefix

# Made by `kiosk run --demo --headless` before this model (photos shrunk).
LEGACY = (Path(__file__).parent / "fixtures" / "capture-v1.json").read_bytes()
JPEG = base64.b64encode(b"\xff\xd8jpeg\xff\xd9").decode()


def test_a_document_sealed_by_a_booth_in_the_field_still_opens() -> None:
    raw = json.loads(LEGACY)
    assert raw["format"] == "photo-kiosk-capture/1" and "passed" not in raw["check_report"]
    doc = CaptureDocument.open(LEGACY)
    assert doc.check_report is not None and doc.check_report.passed is True
    assert doc.check_report.problems == []
    assert doc.id_number == raw["id_number"] and doc.name == "张三"
    assert doc.code_payload == raw["code_payload"] and doc.id_method == "card"
    assert doc.photos()["spec_jpeg"][:2] == b"\xff\xd8"
    assert "original_jpeg" in doc.photos()
    columns = doc.columns()
    assert "spec_jpeg" not in columns and columns["kiosk_id"] == "booth-legacy"


def test_a_versionless_document_opens_and_a_failed_verdict_keeps_its_codes() -> None:
    doc = CaptureDocument.open(json.dumps({
        "spec_jpeg": JPEG, "check_report": {"compliant": False, "problems": ["BLURRY"]}}).encode())
    assert doc.format == "photo-kiosk-capture/1"
    assert doc.check_report == CheckReport(passed=False, problems=["BLURRY"])


def test_the_booth_writes_the_current_version_and_it_reads_back() -> None:
    doc = CaptureDocument(capture_id="a" * 32, spec_jpeg=JPEG, id_number="110101200103151236",
                          name="张三", check_report=CheckReport(passed=True))
    again = CaptureDocument.open(doc.sealed_bytes())
    assert json.loads(doc.sealed_bytes())["format"] == CAPTURE_FORMAT
    assert again == doc and again.check_report.passed is True  # type: ignore[union-attr]


@pytest.mark.parametrize("field, value", [
    ("name", "张" * 6_000_000),  # issue 24 item 10: a booth-sent 6-million-character name
    ("id_number", "1" * 33),
    ("code_payload", "C" * 5000),
    ("spec_jpeg", "A" * (16 * 1024 * 1024 + 4)),
    ("student_ref", "r" * 200),
    ("session", "s" * 300),
])
def test_every_field_is_bounded_and_the_error_never_quotes_the_value(field: str,
                                                                     value: str) -> None:
    doc = {"spec_jpeg": JPEG, field: value}
    with pytest.raises(ValueError) as caught:
        CaptureDocument.open(json.dumps(doc).encode())
    message = str(caught.value)
    assert field in message and value[:20] not in message and len(message) < 300


def test_unknown_fields_are_kept_only_a_few_and_small() -> None:
    doc = CaptureDocument.open(json.dumps({"spec_jpeg": JPEG, "report": {"passed": True}}).encode())
    assert doc.columns()["report"] == {"passed": True}
    with pytest.raises(ValueError):
        CaptureDocument.open(json.dumps({"spec_jpeg": JPEG, "x": "y" * 5000}).encode())
    with pytest.raises(ValueError):
        CaptureDocument.open(json.dumps({"spec_jpeg": JPEG,
                                         **{f"f{i}": 1 for i in range(17)}}).encode())


def test_not_json_not_an_object_and_no_photo_are_clear_errors() -> None:
    for plaintext in (b"not json", b"[1, 2]", b'{"name": "x"}', b'{"spec_jpeg": "***"}'):
        with pytest.raises(ValueError, match="capture contract|not base64"):
            CaptureDocument.open(plaintext).photos()


def test_the_receipts_reference_is_readable_and_searchable() -> None:
    capture_id = "49985f9b0c1d4e2fa3b4c5d6e7f80912"
    assert reference(capture_id) == "4998-5F9B"
    # The office types it back as it reads it, with or without the dash and case.
    for typed in ("4998-5F9B", "49985f9b", " 4998 5f9b "):
        assert reference_prefix(typed) == "49985f9b" and capture_id.startswith(reference_prefix(typed))
    for not_one in ("4998-5F9", "4998-5F9G", "", "49985f9b0"):
        assert reference_prefix(not_one) is None
