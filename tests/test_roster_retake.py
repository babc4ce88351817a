"""The office rejected a student's photo: the server roster marks them
`retake`, and the booth takes them again although it holds their earlier
capture (issue 13, review queue)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from kiosk.flow import RosterOutcome
from kiosk.hardware.id_reader import IdCard
from kiosk.roster import ServerRoster

KEY = b"k" * 32
ZHANG, LI = "110101200103151236", "310104200011022468"


def _ref(id_number: str) -> str:
    return hmac.new(KEY, f"id:{id_number}".encode(), hashlib.sha256).hexdigest()


def _roster(retake: object) -> ServerRoster:
    rows = [{"student_ref": _ref(ZHANG), "uid_hash": None, "name": "张三", "programme": "Law",
             "centre": "centre-a", "session": "morning", "retake": retake},
            {"student_ref": _ref(LI), "uid_hash": None, "name": "李四", "programme": "Law",
             "centre": "centre-a", "session": "morning"}]
    doc = {"centre": "centre-a", "version": "v1", "rows": rows,
           "student_ref_scheme": {"algorithm": "hmac-sha256", "id_message": "id:{id_number}",
                                  "key": base64.b64encode(KEY).decode()}}
    return ServerRoster(doc, "centre-a", "morning", has_capture=lambda ref: True)


def test_a_retake_is_accepted_again_though_captured() -> None:
    roster = _roster(True)
    assert roster.lookup(IdCard(id_number=ZHANG, name="张三")).outcome == RosterOutcome.EXPECTED
    # Others the booth has captured stay refused.
    assert roster.lookup(IdCard(id_number=LI, name="李四")).outcome == RosterOutcome.ALREADY_CAPTURED


@pytest.mark.parametrize("retake", [False, "true", 1, None])
def test_only_a_true_retake_lifts_already_captured(retake: object) -> None:
    roster = _roster(retake)
    assert (roster.lookup(IdCard(id_number=ZHANG, name="张三")).outcome
            == RosterOutcome.ALREADY_CAPTURED)
