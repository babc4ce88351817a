"""CLI commands refuse values the database cannot hold, the same way on both backends.

SQLite keeps a string longer than its column and a NUL character; PostgreSQL
refuses both, and the command used to die with a traceback (quoting students'
names from the failed INSERT). Now each command checks what it would write
first: one line naming the file, line, column and limit, exit 1, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from school_server import db, roster_import
from school_server.models import Base
from school_server.settings import load_settings

from server.harness import CliResult, Deployment

ID_A = "110101200001011232"
ID_B = "11010120000202107X"
HEADER = "id_number,student_ref,name,programme,centre,session\n"
GOOD_ROW = f"{ID_A},,张三明,Computing,Haidian,2026-06-A\n"


def _tables(dep: Deployment) -> dict[str, list[Any]]:
    """Every row of every table, to show a refused command changed nothing."""
    engine = db.make_engine(load_settings(dep.data_dir).db_url)
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
                    for name, table in Base.metadata.tables.items()}
    finally:
        engine.dispose()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(result: CliResult, *parts: str) -> None:
    """Exit 1 and stderr holding every part (a line per problem, then what
    was done), no traceback."""
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err and result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) <= 2 and all(line.startswith("photo-server ") for line in lines), result.err
    for part in parts:
        assert part in result.err, (part, result.err)
    # No ID number, whole or in part beyond the first 6 / last 4 characters.
    for id_number in (ID_A, ID_B):
        assert id_number[:7] not in result.err and id_number[-5:] not in result.err


@pytest.fixture
def baseline(deployment: Deployment, tmp_path: Path) -> dict[str, list[Any]]:
    """A roster and schedule already imported; the tables as they then are."""
    path = _write(tmp_path, "base.csv", HEADER + GOOD_ROW)
    assert deployment.cli("import-roster", str(path)).code == 0
    # (With a schedule, the roster's centres and sessions must be in it.)
    path = _write(tmp_path, "base-schedule.csv", "centre,session,starts_at,ends_at\n"
                  "Haidian,2026-06-A,2026-06-20T09:00,2026-06-20T17:00\n"
                  "Haidian,2026-06-B,2026-06-21T09:00,2026-06-21T17:00\n"
                  "Xihu,2026-06-A,2026-06-20T09:00,2026-06-20T17:00\n")
    assert deployment.cli("import-schedule", str(path)).code == 0
    return _tables(deployment)


ROSTER_CASES = {
    # field: (bad row, the limit quoted in the message)
    "centre": (f"{ID_B},,李四,Nursing,{'C' * 101},2026-06-B\n", "at most 100 characters"),
    # 60 characters, 120 once case-folded: the column holds the folded name.
    "centre-folded": (f"{ID_B},,李四,Nursing,{'ß' * 60},2026-06-B\n",
                      "at most 100 characters once case-folded (it has 120)"),
    "session": (f"{ID_B},,李四,Nursing,Haidian,{'S' * 101}\n", "at most 100 characters"),
    "name": (f"{ID_B},,{'李' * 201},Nursing,Haidian,2026-06-B\n", "at most 200 characters"),
    "programme": (f"{ID_B},,李四,{'P' * 201},Haidian,2026-06-B\n", "at most 200 characters"),
    "student_ref": (f",{'r' * 65},李四,Nursing,Haidian,2026-06-B\n", "at most 64 characters"),
}


@pytest.mark.parametrize("case", sorted(ROSTER_CASES))
def test_roster_import_refuses_a_value_longer_than_its_column(
        deployment: Deployment, tmp_path: Path, baseline: dict[str, list[Any]], case: str) -> None:
    bad_row, limit = ROSTER_CASES[case]
    field = case.split("-")[0]
    # The good row first: the import is all or nothing, so it is not written either.
    path = _write(tmp_path, "roster.csv", HEADER + f"{ID_A},,新名字,Law,Xihu,2026-06-A\n" + bad_row)
    result = deployment.cli("import-roster", str(path))
    _refused(result, f"{path}: line 3: {field} must be {limit}", "nothing imported")
    assert _tables(deployment) == baseline


def test_roster_import_takes_values_exactly_as_long_as_their_columns(
        deployment: Deployment, tmp_path: Path) -> None:
    centre = "Z" * 100
    path = _write(tmp_path, "full.csv", HEADER +
                  f",{'r' * 64},{'名' * 200},{'P' * 200},{centre},{'S' * 100}\n")
    result = deployment.cli("import-roster", str(path))
    assert result.code == 0, result.err
    assert f"{centre.lower()}: 1 roster rows" in result.out
    rows = [r for r in _tables(deployment)["roster_rows"] if r[1] == centre.lower()]
    assert len(rows) == 1 and rows[0][5] == "名" * 200


@pytest.mark.parametrize("column", ["name", "id_number", "card_uid", "header"])
def test_a_nul_character_in_a_csv_is_refused(deployment: Deployment, tmp_path: Path,
                                             baseline: dict[str, list[Any]], column: str) -> None:
    header = "id_number,student_ref,name,programme,centre,session,card_uid\n"
    row = {"name": f"{ID_B},,李\x00四,Nursing,Haidian,2026-06-B,\n",
           "id_number": f"{ID_B}\x00,,李四,Nursing,Haidian,2026-06-B,\n",
           "card_uid": f"{ID_B},,李四,Nursing,Haidian,2026-06-B,04:a2\x00\n",
           "header": f"{ID_B},,李四,Nursing,Haidian,2026-06-B,\n"}[column]
    if column == "header":
        header = header.replace("name", "na\x00me")
    path = _write(tmp_path, "roster.csv", header + GOOD_ROW + row)
    where = "line 1: column 3" if column == "header" else f"line 3: {column}"
    _refused(deployment.cli("import-roster", str(path)),
             f"{path}: {where} contains a NUL character", "nothing imported")
    assert _tables(deployment) == baseline


@pytest.mark.parametrize(("row", "message"), [
    (f"{'C' * 101},2026-06-B,2026-06-21T09:00,2026-06-21T17:00",
     "line 3: centre must be at most 100 characters"),
    (f"Haidian,{'ẞ' * 51},2026-06-21T09:00,2026-06-21T17:00",
     "line 3: session must be at most 100 characters once case-folded (it has 102)"),
    ("Haidian,2026-06-\x00B,2026-06-21T09:00,2026-06-21T17:00",
     "line 3: session contains a NUL character"),
    # 0001-01-01 in Shanghai is the year 0 in UTC; 9999-12-31T22:00-05:00 the year 10000.
    ("Haidian,2026-06-B,0001-01-01T00:00,2026-06-21T17:00", "line 3: starts_at is out of range"),
    ("Haidian,2026-06-B,2026-06-21T09:00,9999-12-31T22:00-05:00",
     "line 3: ends_at is out of range"),
], ids=["centre", "session-folded", "nul", "year-0", "year-10000"])
def test_schedule_import_refuses_what_the_database_cannot_hold(
        deployment: Deployment, tmp_path: Path, baseline: dict[str, list[Any]],
        row: str, message: str) -> None:
    path = _write(tmp_path, "schedule.csv", "centre,session,starts_at,ends_at\n"
                  "Xihu,2026-06-A,2026-06-20T09:00,2026-06-20T12:00\n" + row + "\n")
    _refused(deployment.cli("import-schedule", str(path)), f"{path}: {message}",
             "nothing imported")
    assert _tables(deployment) == baseline


@pytest.mark.parametrize(("args", "message"), [
    (["--centre", "C" * 101], "centre name must be at most 100 characters"),
    (["--centre", "ß" * 51], "centre name must be at most 100 characters once case-folded"),
    (["--centre", "Haidian", "--hours", "1e12"], "hours too large"),
    (["--centre", "Haidian", "--hours", "inf"], "--hours must be a positive number"),
    (["--centre", "Haidian", "--hours", "nan"], "--hours must be a positive number"),
], ids=["centre", "centre-folded", "hours-1e12", "hours-inf", "hours-nan"])
def test_enrol_code_refuses_a_centre_or_hours_the_database_cannot_hold(
        deployment: Deployment, baseline: dict[str, list[Any]], args: list[str],
        message: str) -> None:
    _refused(deployment.cli("enrol-code", *args), f"photo-server enrol-code: {message}")
    assert _tables(deployment) == baseline


def test_enrol_code_takes_a_centre_exactly_as_long_as_the_column(deployment: Deployment) -> None:
    assert deployment.enrol_code("E" * 100)
    assert ("e" * 100,) in [row[:1] for row in _tables(deployment)["centres"]]


def test_a_short_row_or_a_huge_field_is_a_message_not_a_traceback(
        deployment: Deployment, tmp_path: Path, baseline: dict[str, list[Any]]) -> None:
    # A row with fewer cells than the header has empty ones: named, nothing imported.
    path = _write(tmp_path, "short.csv", HEADER + f"{ID_B},,李四\n")
    result = deployment.cli("import-roster", str(path))
    assert result.code == 1 and f"{path}: line 2: centre is empty" in result.err
    assert f"{path}: line 2: session is empty" in result.err
    assert ID_B not in result.out + result.err
    assert _tables(deployment) == baseline
    # A field over the csv module's limit (128 KiB).
    path = _write(tmp_path, "huge.csv", HEADER + GOOD_ROW + f"{ID_B},,{'李' * 200_000},N,H,S\n")
    _refused(deployment.cli("import-roster", str(path)),
             f"{path}: line 3: field larger than field limit", "nothing imported")
    assert _tables(deployment) == baseline


# Only PostgreSQL: SQLite stores an overlong value.
@pytest.mark.parametrize("deployment", ["province"], indirect=True)
def test_a_value_the_database_refuses_anyway_is_one_line_without_the_data(
        deployment: Deployment, tmp_path: Path, baseline: dict[str, list[Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence, for a value no check caught: PostgreSQL's
    refusal as one line, never the statement's parameters (students' names)."""
    assert deployment.database_url is not None
    monkeypatch.setattr(roster_import, "LIMITS", {})
    path = _write(tmp_path, "roster.csv", HEADER + f"{ID_B},,{'李' * 201},Nursing,Haidian,2026-06-B\n")
    _refused(deployment.cli("import-roster", str(path)),
             "photo-server import-roster: the database refused a value: "
             "value too long for type character varying(200)")
    assert _tables(deployment) == baseline
