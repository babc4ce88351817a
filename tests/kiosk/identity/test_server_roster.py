"""The office rejected a student's photo: the server roster marks them
`retake`, and the booth takes them again although it holds their earlier
capture (issue 13, review queue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.domain import IdCard, RosterOutcome
from kiosk.identity.roster import RosterError
from kiosk.identity.server_roster import ServerRoster
from photo_wire.ids import student_ref
from photo_wire.models import SCHEME, RosterRowOut

ZHANG, LI = "110101200103151236", "310104200011022468"


def _roster(**retake: object) -> ServerRoster:
    rows = [{"student_ref": student_ref(ZHANG), "uid_hash": None, "centre": "centre-a",
             "session": "morning", **retake},
            {"student_ref": student_ref(LI), "uid_hash": None, "centre": "centre-a",
             "session": "morning"}]
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


def test_a_retake_carries_the_offices_reason() -> None:
    roster = _roster(retake=True, retake_reason="glasses_glare")
    match = roster.lookup(IdCard(id_number=ZHANG, name="张三"))
    assert match.outcome == RosterOutcome.EXPECTED and match.retake_reason == "glasses_glare"
    assert roster.lookup(IdCard(id_number=LI, name="李四")).retake_reason == ""


def test_a_reason_the_booth_has_no_words_for_is_told_as_other() -> None:
    roster = _roster(retake=True, retake_reason="too_much_hair")
    assert roster.lookup(IdCard(id_number=ZHANG, name="张三")).retake_reason == "other"


def test_an_old_cache_with_names_still_loads_and_drops_them(tmp_path: Path) -> None:
    # Cached by a booth before the roster lost its names (issue 22, item 5).
    doc = {"centre": "centre-a", "version": "v0", "student_ref_scheme": SCHEME.model_dump(),
           "rows": [{"student_ref": student_ref(ZHANG), "uid_hash": None, "name": "张三",
                     "programme": "Law", "centre": "centre-a", "session": "morning",
                     "retake": False}]}
    cache = tmp_path / "server-roster.json"
    cache.write_text(json.dumps({"etag": "v0", "roster": doc}, ensure_ascii=False), "utf-8")
    roster = ServerRoster.from_cache(cache, "centre-a", "morning")
    match = roster.lookup(IdCard(id_number=ZHANG, name="张三"))
    assert match.outcome == RosterOutcome.EXPECTED and match.programme == ""
    assert "张三" not in repr(roster.__dict__)


def test_the_rows_model_has_no_name_or_programme() -> None:
    row = RosterRowOut(student_ref="r", uid_hash=None, centre="c", session="s")
    assert set(row.model_dump()) == {"student_ref", "uid_hash", "centre", "session", "retake",
                                     "retake_reason"}


def test_the_schools_roster_takes_another_centres_student_in_makeup_mode() -> None:
    # The server sends every centre's refs (issue 22, item 4): the booth tells a
    # student of another centre where they belong, and takes them as a makeup.
    rows = [{"student_ref": student_ref(ZHANG), "uid_hash": None, "centre": "centre-b",
             "session": "afternoon"}]
    doc = {"centre": "centre-a", "version": "v2", "rows": rows,
           "student_ref_scheme": SCHEME.model_dump()}
    closed = ServerRoster(doc, "centre-a", "morning").lookup(IdCard(id_number=ZHANG, name="张三"))
    assert closed.outcome == RosterOutcome.OTHER_CENTRE
    assert (closed.centre, closed.session) == ("centre-b", "afternoon")
    makeup = ServerRoster(doc, "centre-a", "morning", makeup_mode=True).lookup(
        IdCard(id_number=ZHANG, name="张三"))
    assert makeup.outcome == RosterOutcome.EXPECTED and makeup.makeup
