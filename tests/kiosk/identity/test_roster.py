"""The CSV roster: outcomes, file formats, and no plain ID numbers in memory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.domain import IdCard, RosterOutcome
from kiosk.hardware.id_reader_sim import DEMO_CARDS, to_id_card
from kiosk.identity.roster import CsvRoster, RosterError
from photo_wire.ids import student_ref, uid_ref

ROOT = Path(__file__).resolve().parents[3]

ZHANG = "110101200103151236"
LI = "310104200011022468"
WANG = "44010619990721135X"  # any 18 characters: the roster does not validate cards
ZHAO = "510107200004053588"
SUN = "330106200109182626"

CSV = f"""id_number,name,programme,centre,session,card_uid
{ZHANG},张三,计算机科学与技术,centre-a,morning,
{LI},李四,会计学,centre-a,morning,04:a2:c3:d4
{WANG},王五,法学,centre-a,afternoon,
{ZHAO},赵六,工商管理,centre-b,morning,
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def card(id_number: str = "", uid: str | None = None) -> IdCard:
    return IdCard(id_number=id_number, name="测试", uid=uid)


@pytest.fixture
def roster_path(tmp_path: Path) -> Path:
    return write(tmp_path, CSV)


def make(path: Path, **kwargs) -> CsvRoster:
    return CsvRoster(path, "centre-a", "morning", **kwargs)


# ---------------------------------------------------------------- outcomes


def test_expected(roster_path: Path) -> None:
    match = make(roster_path).lookup(card(ZHANG))
    assert match.outcome == RosterOutcome.EXPECTED
    assert match.programme == "计算机科学与技术"
    assert len(match.student_ref) == 64 and int(match.student_ref, 16) >= 0


def test_not_expected(roster_path: Path) -> None:
    match = make(roster_path).lookup(card(SUN))
    assert match.outcome == RosterOutcome.NOT_EXPECTED
    assert match.student_ref == "" and match.programme == ""


def test_other_centre(roster_path: Path) -> None:
    match = make(roster_path).lookup(card(ZHAO))
    assert match.outcome == RosterOutcome.OTHER_CENTRE
    assert match.programme == "工商管理"


def test_other_session_counts_as_other_centre(roster_path: Path) -> None:
    assert make(roster_path).lookup(card(WANG)).outcome == RosterOutcome.OTHER_CENTRE


def test_makeup_mode_accepts_other_centres(roster_path: Path) -> None:
    roster = make(roster_path, makeup_mode=True)
    assert roster.lookup(card(ZHAO)).outcome == RosterOutcome.EXPECTED
    assert roster.lookup(card(WANG)).outcome == RosterOutcome.EXPECTED
    assert roster.lookup(card(SUN)).outcome == RosterOutcome.NOT_EXPECTED


def test_already_captured(roster_path: Path) -> None:
    captured: set[str] = set()
    roster = make(roster_path, has_capture=lambda ref: ref in captured)
    first = roster.lookup(card(ZHANG))
    assert first.outcome == RosterOutcome.EXPECTED
    captured.add(first.student_ref)
    again = roster.lookup(card(ZHANG))
    assert again.outcome == RosterOutcome.ALREADY_CAPTURED
    assert again.student_ref == first.student_ref
    assert roster.lookup(card(LI)).outcome == RosterOutcome.EXPECTED


def test_allow_recapture(roster_path: Path) -> None:
    roster = make(roster_path, allow_recapture=True, has_capture=lambda ref: True)
    assert roster.lookup(card(ZHANG)).outcome == RosterOutcome.EXPECTED


def test_number_normalised(roster_path: Path) -> None:
    roster = make(roster_path)
    upper = roster.lookup(card(WANG))
    lower = roster.lookup(card(" " + WANG.lower() + " "))
    assert upper.student_ref == lower.student_ref != ""


def test_uid_matches_card_uid_column(roster_path: Path) -> None:
    roster = make(roster_path)
    by_uid = roster.lookup(card(uid="04A2C3D4"))
    assert by_uid.outcome == RosterOutcome.EXPECTED
    assert by_uid.student_ref == roster.lookup(card(LI)).student_ref
    assert roster.lookup(card(uid="FFFF")).outcome == RosterOutcome.NOT_EXPECTED


def test_refs_are_the_wire_scheme_whatever_the_booth(roster_path: Path, tmp_path: Path) -> None:
    """One scheme, no per-booth key: two booths (and the server) agree on a ref."""
    a = make(roster_path).lookup(card(ZHANG))
    b = make(roster_path).lookup(card(ZHANG.lower()))
    assert a.student_ref == b.student_ref == student_ref(ZHANG)
    # Excel's text marker and a space before the number (as the school's CSV had them)
    quoted = write(tmp_path, CSV.replace(f"{ZHANG},", f"' {ZHANG},"), name="quoted.csv")
    assert make(quoted).lookup(card(ZHANG)).student_ref == student_ref(ZHANG)
    # A UID-only row's ref is its UID's.
    uid_only = write(tmp_path, "id_number,name,programme,centre,session,card_uid\n"
                     ",某,法学,centre-a,morning,04 a2 c3 d5\n", name="uid.csv")
    assert make(uid_only).lookup(card(uid="04A2C3D5")).student_ref == uid_ref("04:A2:C3:D5")


def test_centre_and_session_compare_loosely(roster_path: Path) -> None:
    roster = CsvRoster(roster_path, " Centre-A ", "MORNING")
    assert roster.lookup(card(ZHANG)).outcome == RosterOutcome.EXPECTED


# ------------------------------------------------------------ file formats


def test_bom_file(tmp_path: Path) -> None:
    path = write(tmp_path, CSV, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert make(path).lookup(card(ZHANG)).outcome == RosterOutcome.EXPECTED


def test_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, CSV.replace("\n", "\r\n") + "\r\n,,,,,\r\n")
    roster = make(path)
    assert len(roster) == 4
    assert roster.lookup(card(LI)).outcome == RosterOutcome.EXPECTED


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "id_number,name,centre,session\n" + ZHANG + ",张三,centre-a,morning\n")
    with pytest.raises(RosterError) as info:
        make(path)
    message = str(info.value)
    assert str(path) in message and "'programme'" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(RosterError, match="nope.csv: roster file not found"):
        make(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="empty"):
        make(write(tmp_path, ""))


def test_gbk_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, CSV, encoding="gbk")
    with pytest.raises(RosterError, match="UTF-8"):
        make(path)


def test_row_warnings_never_quote_the_number(tmp_path: Path) -> None:
    bad = "110101200103151230"  # wrong check character
    text = CSV + f"{bad},某人,法学,centre-a,morning,\n1.10101E+17,某人,法学,centre-a,morning,\n"
    roster = make(write(tmp_path, text))
    assert any("line 6" in w and "check" in w for w in roster.warnings)
    assert any("line 7" in w and "Excel" in w for w in roster.warnings)
    assert all(bad not in w for w in roster.warnings)


# ------------------------------------------------------------------ privacy


def test_no_plain_id_number_or_name_in_the_object(roster_path: Path) -> None:
    roster = make(roster_path)
    roster.lookup(card(ZHANG))
    dumped = repr(vars(roster)) + repr(roster) + str(roster)
    for number in (ZHANG, LI, WANG, ZHAO):
        assert number not in dumped
        assert number[:17] not in dumped
    assert "张三" not in dumped



# --------------------------------------------------------------- demo data


def test_demo_roster_matches_demo_cards() -> None:
    roster = CsvRoster(ROOT / "examples" / "roster-demo.csv", "demo-centre", "demo-session")
    outcome = {c.label: roster.lookup(to_id_card(c)).outcome for c in DEMO_CARDS}
    assert outcome["zhangsan"] == RosterOutcome.EXPECTED
    assert outcome["lisi"] == RosterOutcome.EXPECTED
    assert outcome["wangwu"] == RosterOutcome.EXPECTED
    assert outcome["wangwu-campus"] == RosterOutcome.EXPECTED
    assert outcome["zhaoliu"] == RosterOutcome.OTHER_CENTRE
    assert outcome["sunqi"] == RosterOutcome.NOT_EXPECTED
    # Same student whether the ID card or the campus card is used.
    wang = {c.label: to_id_card(c) for c in DEMO_CARDS}
    assert (roster.lookup(wang["wangwu"]).student_ref
            == roster.lookup(wang["wangwu-campus"]).student_ref)
    assert roster.warnings == []


def test_xlsx_roster_from_the_student_system(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["ID_Number", "Name", "Programme", "Centre", "Session"])
    sheet.append([ZHANG, "张三", "会计学", "centre-a", "morning"])
    sheet.append([None, None, None, None, None])
    sheet.append([float(LI), "李四", "法学", "centre-a", "morning"])  # number-formatted cell
    path = tmp_path / "roster.xlsx"
    book.save(path)
    roster = make(path)
    assert roster.lookup(card(ZHANG)).outcome == RosterOutcome.EXPECTED
    assert roster.lookup(card(LI)).outcome == RosterOutcome.NOT_EXPECTED
    assert any("line 4" in w and "Excel" in w for w in roster.warnings)


def test_broken_xlsx_is_refused_clearly(tmp_path: Path) -> None:
    path = write(tmp_path, "not a zip", name="roster.xlsx")
    with pytest.raises(RosterError, match="not a readable XLSX file"):
        make(path)


def test_a_roster_keyed_the_old_way_is_refused_with_what_to_do() -> None:
    from photo_wire.models import SCHEME

    from kiosk.identity.server_roster import ServerRoster

    row = {"student_ref": "a" * 64, "uid_hash": None, "name": "", "programme": "法学",
           "centre": "centre-a", "session": "morning"}
    old = {"centre": "centre-a", "version": "v", "rows": [row],
           "student_ref_scheme": {"algorithm": "hmac-sha256", "id_message": "", "key": "a2V5"}}
    with pytest.raises(RosterError, match="another way.*update the school server"):
        ServerRoster(old, "centre-a", "morning")
    new = {**old, "student_ref_scheme": SCHEME.model_dump()}
    assert len(ServerRoster(new, "centre-a", "morning")) == 1
