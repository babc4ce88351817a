"""What the review grid and the search know of a capture without opening it
again: copied into its capture_reviews row the first time it is opened.

The name is kept in clear (the roster holds it in clear too); the ID number
only masked (first 6 + last 4), so a full number is found through its
student_ref and a partial one by its first 6 or last 4 digits only. The
booth's verdict becomes a triage rank: 0 the booth failed it, 1 it passed
with a measure near its limit (borderline), 2 it passed well."""

from __future__ import annotations

import re
from typing import Any

from photo_wire.capture import CaptureDocument, CheckReport
from photo_wire.idnumber import mask_id
from school_server.models import PERSON_NAME_CHARS, Capture, CaptureReview

FLAGGED, BORDERLINE, CLEAR = 0, 1, 2
NEAR_LIMIT = 0.1  # a measure within 10 % of its band's width (or of a one-sided limit)
TEXT_CHARS = 400


def _near_limit(value: Any, band: Any) -> bool:
    if not isinstance(value, (int, float)) or not isinstance(band, (list, tuple)) \
            or len(band) != 2:
        return False
    low, high = (b if isinstance(b, (int, float)) else None for b in band)
    if low is not None and high is not None:
        return min(value - low, high - value) <= NEAR_LIMIT * (high - low)
    edge = low if low is not None else high
    return edge is not None and abs(value - edge) <= NEAR_LIMIT * abs(edge)


def _checks(report: CheckReport) -> dict[str, dict[str, Any]]:
    checks = report.measures.get("checks")
    return {str(k): v for k, v in checks.items() if isinstance(v, dict)} \
        if isinstance(checks, dict) else {}


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else "-"


def summarise(report: CheckReport | None) -> tuple[int, str]:
    """The triage rank and the measured values worth a look: "CODE value low
    high" of each failed or borderline measure, joined by ";" (the page
    names the code in its language)."""
    if report is None or report.passed is None:
        return BORDERLINE, ""
    shown, borderline = [], False
    for code, m in sorted(_checks(report).items()):
        near = _near_limit(m.get("value"), m.get("band"))
        if m.get("passed") is False or near:
            band = [*(m.get("band") if isinstance(m.get("band"), (list, tuple)) else []),
                    None, None]
            shown.append(f"{re.sub(r'[^A-Za-z0-9_]', '', code)[:40] or '-'} "
                         f"{_number(m.get('value'))} {_number(band[0])} {_number(band[1])}")
            borderline = borderline or (near and m.get("passed") is not False)
    rank = FLAGGED if not report.passed else BORDERLINE if borderline else CLEAR
    text = ";".join(shown)
    while len(text) > TEXT_CHARS:  # whole entries only
        text = text.rpartition(";")[0]
    return rank, text


def fill(review: CaptureReview, cap: Capture, doc: CaptureDocument) -> None:
    """Copy what the grid and search need into the review row."""
    rank, measures = summarise(doc.check_report)
    review.received_at = cap.received_at
    review.name = doc.name[:PERSON_NAME_CHARS]
    review.id_masked = mask_id(doc.id_number)[:24]
    review.makeup = doc.makeup
    review.name_disputed = doc.name_disputed
    review.passed = doc.check_report.passed if doc.check_report else None
    review.problems = " ".join(doc.check_report.problems if doc.check_report else [])[:TEXT_CHARS]
    review.measures = measures
    # A name the student says is wrong is looked at first, whatever the booth's verdict.
    review.triage = FLAGGED if doc.name_disputed else rank
