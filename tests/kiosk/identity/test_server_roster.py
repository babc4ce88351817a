"""The office rejected a student's photo: the server roster marks them
`retake`, and the booth takes them again although it holds their earlier
capture (issue 13, review queue)."""

from __future__ import annotations

import pytest

from kiosk.domain import IdCard, RosterOutcome
from kiosk.identity.roster import RosterError
from kiosk.identity.server_roster import ServerRoster
from photo_wire.ids import student_ref
from photo_wire.models import SCHEME

ZHANG, LI = "110101200103151236", "310104200011022468"


def _roster(**retake: object) -> ServerRoster:
    rows = [{"student_ref": student_ref(ZHANG), "uid_hash": None, "name": "张三",
             "programme": "Law", "centre": "centre-a", "session": "morning", **retake},
            {"student_ref": student_ref(LI), "uid_hash": None, "name": "李四", "programme": "Law",
             "centre": "centre-a", "session": "morning"}]
    doc = {"centre": "centre-a", "version": "v1", "rows": rows,
           "student_ref_scheme": SCHEME.model_dump()}
    return ServerRoster(doc, "centre-a", "morning", has_capture=lambda ref: True)


def test_a_retake_is_accepted_again_though_captured() -> None:
    roster = _roster(retake=True)
    assert roster.lookup(IdCard(id_number=ZHANG, name="张三")).outcome == RosterOutcome.EXPECTED
    # Others the booth has captured stay refused.
    assert roster.lookup(IdCard(id_number=LI, name="李四")).outcome == RosterOutcome.ALREADY_CAPTURED


@pytest.mark.parametrize("retake", [{"retake": False}, {}])
def test_without_retake_a_captured_student_stays_refused(retake: dict[str, object]) -> None:
    roster = _roster(**retake)
    assert (roster.lookup(IdCard(id_number=ZHANG, name="张三")).outcome
            == RosterOutcome.ALREADY_CAPTURED)


@pytest.mark.parametrize("retake", ["true", 1, None])
def test_a_retake_that_is_not_a_boolean_is_a_bad_reply(retake: object) -> None:
    # The booth keeps the roster it has rather than guessing what was meant.
    with pytest.raises(RosterError, match="not a roster document"):
        _roster(retake=retake)
