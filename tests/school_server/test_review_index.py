"""The review grid's triage of the booth's verdict (school_server/review_index.py)."""

from __future__ import annotations

from photo_wire.capture import CheckReport
from school_server.review_index import BORDERLINE, CLEAR, FLAGGED, TEXT_CHARS, summarise


def _report(passed: bool | None, **checks: tuple[float, list[float | None], bool]) -> CheckReport:
    return CheckReport(passed=passed, problems=[c for c, (_, _, ok) in checks.items() if not ok],
                       measures={"checks": {c: {"value": v, "band": b, "passed": ok}
                                            for c, (v, b, ok) in checks.items()}})


def test_failed_is_flagged_with_the_failing_measure() -> None:
    rank, text = summarise(_report(False, FACE_TOO_SMALL=(0.42, [0.5, 0.7], False),
                                   BLURRY=(300.0, [100.0, None], True)))
    assert rank == FLAGGED and text == "FACE_TOO_SMALL 0.42 0.5 0.7"


def test_a_measure_near_its_limit_is_borderline() -> None:
    rank, text = summarise(_report(True, HEAD_ROLL=(2.9, [None, 3.0], True),
                                   EYES_CLOSED=(0.3, [0.15, None], True)))
    assert rank == BORDERLINE and text == "HEAD_ROLL 2.9 - 3"
    # Inside a two-sided band, within 10 % of its width from an edge.
    assert summarise(_report(True, X=(0.51, [0.5, 0.7], True)))[0] == BORDERLINE
    assert summarise(_report(True, X=(0.6, [0.5, 0.7], True))) == (CLEAR, "")


def test_no_verdict_is_borderline_and_odd_measures_do_not_break_it() -> None:
    assert summarise(None) == (BORDERLINE, "")
    assert summarise(CheckReport(passed=None)) == (BORDERLINE, "")
    odd = CheckReport(passed=True, measures={"checks": {"A B<script>": {"value": "x", "band": []},
                                                        "C": {"value": 1.0, "band": [1.0]},
                                                        "D": "not a dict"}})
    assert summarise(odd) == (CLEAR, "")
    failing = CheckReport(passed=False, measures={"checks": {
        "A B<script>": {"value": None, "band": [], "passed": False}}})
    assert summarise(failing) == (FLAGGED, "ABscript - - -")


def test_the_text_keeps_whole_entries() -> None:
    many = {f"CODE_{i:03d}": (0.0, [1.0, 2.0], False) for i in range(60)}
    rank, text = summarise(_report(False, **many))
    assert rank == FLAGGED and len(text) <= TEXT_CHARS
    assert all(len(entry.split(" ")) == 4 for entry in text.split(";"))
