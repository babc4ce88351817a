"""import-roster hashes on a thread pool: the same refs, warnings and errors
as one row after another, a bad line refused before any hashing, and
progress on stderr for a big file. Rosters stay small: scrypt is slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import photo_wire.ids
from photo_wire.ids import student_ref, uid_ref
from school_server import cli, cli_import, db, roster_import
from school_server.models import RosterRow
from school_server.settings import load_settings

from server.harness import Deployment

HEADER = "id_number,student_ref,name,programme,centre,session,card_uid\n"
GIVEN_REF = "f" * 64


def _rows(dep: Deployment, centre: str) -> list[tuple[str, str | None, str, str]]:
    engine = db.make_engine(load_settings(dep.data_dir).db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(RosterRow.student_ref, RosterRow.uid_hash, RosterRow.name, RosterRow.session)
                .where(RosterRow.centre == centre).order_by(RosterRow.id))]
    finally:
        engine.dispose()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_pool_gives_the_refs_of_one_by_one_hashing_and_names_the_bad_rows(
        deployment: Deployment, tmp_path: Path) -> None:
    text = (HEADER +
            "110101200001011232,,甲,Law,Pool,s1,04:a2:c3:d4\n"   # ID and card
            "11010120000202107x,,乙,Law,Pool,s1,\n"              # ID only, lower-case x
            f",{GIVEN_REF},丙,Law,Pool,s2,04 B5 E6\n"            # given ref and card
            "1.10101E+17,,丁,Law,Pool,s2,\n"                      # Excel's number: a problem
            "110101200003031237,,戊,Law,Pool,,\n"                 # no session: a problem
            "１１０１０１２００００４０４１２３４,,己,Law,Pool,s2,\n")  # full-width
    path = _write(tmp_path, text)
    problems = [
        f"photo-server import-roster: {path}: line 5: id_number was saved as a number by Excel "
        "and lost digits (format the column as text)",
        f"photo-server import-roster: {path}: line 6: session is empty"]
    refused = deployment.cli("import-roster", str(path), "--workers", "2")
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.splitlines() == problems + [
        f"photo-server import-roster: {path}: 2 of 6 rows have a problem; nothing imported "
        "(fix them, or --skip-bad-rows imports the 4 others)"]
    assert _rows(deployment, "pool") == []
    result = deployment.cli("import-roster", str(path), "--workers", "2", "--skip-bad-rows")
    assert result.code == 0, result.err
    assert result.out == "pool: 4 roster rows\n"
    assert result.err.splitlines() == problems
    assert _rows(deployment, "pool") == [
        (student_ref("110101200001011232"), uid_ref("04A2C3D4"), "甲", "s1"),
        (student_ref("11010120000202107X"), None, "乙", "s1"),
        (GIVEN_REF, uid_ref("04B5E6"), "丙", "s2"),
        (student_ref("110101200004041234"), None, "己", "s2")]


def test_a_bad_line_is_refused_before_any_row_is_hashed(
        deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert deployment.cli("import-roster", str(_write(
        tmp_path, HEADER + "110101200001011232,,甲,Law,Early,s1,\n"))).code == 0
    before = _rows(deployment, "early")
    hashed: list[str] = []
    real = photo_wire.ids.opaque_ref
    monkeypatch.setattr(photo_wire.ids, "opaque_ref",
                        lambda kind, value: hashed.append(kind) or real(kind, value))
    path = _write(tmp_path, HEADER + "11010120000202107X,,乙,Law,Early,s1,\n"
                  f"110101200003031237,,{'名' * 201},Law,Early,s1,\n")
    result = deployment.cli("import-roster", str(path), "--workers", "2")
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines()[0] == (f"photo-server import-roster: {path}: line 3: name "
                                          "must be at most 200 characters (it has 201)")
    assert hashed == []
    assert _rows(deployment, "early") == before


def test_a_big_file_reports_progress_on_stderr(
        deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_import, "PROGRESS_EVERY", 2)  # 5 rows stand for thousands
    monkeypatch.setattr(roster_import, "BATCH_PER_WORKER", 1)  # a batch of 2 rows on 2 threads
    ids = ["110101200001011232", "11010120000202107X", "110101200003031237",
           "110101200004041234", "110101200005051231"]
    lines = [f"{n},,学生{i},Law,Big,s1,{'04AA0' + str(i) if i < 2 else ''}\n"
             for i, n in enumerate(ids)]
    result = deployment.cli("import-roster", str(_write(tmp_path, HEADER + "".join(lines))),
                            "--workers", "2")
    assert result.code == 0, result.err
    assert result.out == "big: 5 roster rows\n"
    assert result.err.splitlines() == ["student refs: 2/5", "student refs: 4/5",
                                       "student refs: 5/5"]
    assert [r[0] for r in _rows(deployment, "big")] == [student_ref(n) for n in ids]


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_workers_must_be_a_positive_whole_number(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["import-roster", "--data", str(tmp_path), str(tmp_path / "r.csv"),
                  "--workers", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"--workers: must be a whole number of at least 1 (got '{value}')" in err


def test_ctrl_c_while_hashing_is_one_line_and_imports_nothing(
        deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert deployment.cli("import-roster", str(_write(
        tmp_path, HEADER + "110101200001011232,,甲,Law,Stop,s1,\n"))).code == 0
    before = _rows(deployment, "stop")
    real = photo_wire.ids.opaque_ref

    def interrupted_on_the_second(kind: str, value: str) -> str:
        if value == "11010120000202107X":
            raise KeyboardInterrupt  # what Ctrl-C raises; a worker's reaches the main thread
        return real(kind, value)

    monkeypatch.setattr(photo_wire.ids, "opaque_ref", interrupted_on_the_second)
    path = _write(tmp_path, HEADER + "110101200003031237,,乙,Law,Stop,s1,\n"
                  "11010120000202107X,,丙,Law,Stop,s1,\n")
    result = deployment.cli("import-roster", str(path), "--workers", "1")
    assert (result.code, result.out) == (130, "")
    assert result.err == "photo-server import-roster: interrupted; nothing imported\n"
    assert _rows(deployment, "stop") == before
