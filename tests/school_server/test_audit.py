"""The audit log under attack (issue 24, item 4), on a real server: a flood
of throttled logins writes a handful of rows, each with the count; an INSERT
OR REPLACE over an existing row is refused; and a row rewritten on a copy
of the database (triggers dropped) is found by `photo-server verify-audit`."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import Deployment, run_cli
from server.office_http import log_in, outcome

PASSWORD = "correct horse battery"
AUDIT_BROKEN = 3  # verify-audit: the chain is broken (docs/server-security.md)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    dep = Deployment(tmp_path_factory.mktemp("audit") / "data",
                     "office_login_failures_per_address = 2\n")
    try:
        dep.server.start()
        assert dep.cli_stdin(PASSWORD + "\n", "add-user", "amy", "--role", "admin").code == 0
        yield dep
    finally:
        dep.close()


def _rows(data_dir: Path, action: str) -> list[str]:
    db = sqlite3.connect(data_dir / "server.db")
    try:
        return [r[0] for r in db.execute("SELECT detail FROM audit_log WHERE action = ? "
                                         "ORDER BY id", (action,))]
    finally:
        db.close()


def test_a_flood_of_refusals_writes_a_few_counted_rows(server: Deployment) -> None:
    answers = [outcome(log_in(server.server.url, "amy", "wrong password!")) for _ in range(70)]
    assert answers[:2] == ["bad", "bad"] and set(answers[2:]) == {"throttled"}
    details = _rows(server.data_dir, "login_throttled")
    # Refusals 1, 2, 4, 8, 16, 32 and 64 of the 68.
    assert len(details) == 7, details
    assert "refusal 64 in this window" in details[-1] and "from 127.0.0.1" in details[-1]


def test_replace_over_a_row_is_refused(server: Deployment) -> None:
    db = sqlite3.connect(server.data_dir / "server.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("INSERT OR REPLACE INTO audit_log (id, at, username, action, target, "
                       "detail, chain) VALUES (1, '2026-01-01 00:00:00', 'x', 'login', '', '', "
                       "'')")
    finally:
        db.close()


def test_verify_audit_finds_a_row_rewritten_on_a_copy(server: Deployment,
                                                      tmp_path: Path) -> None:
    result = server.cli("verify-audit")
    assert result.code == 0 and "audit log intact" in result.out, result.err
    copy = tmp_path / "copy"
    copy.mkdir(mode=0o700)
    src = sqlite3.connect(server.data_dir / "server.db")
    dst = sqlite3.connect(copy / "server.db")
    src.backup(dst)
    src.close()
    for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
        dst.execute(f"DROP TRIGGER {trigger}")
    dst.execute("UPDATE audit_log SET username = 'someone' WHERE id = 2")
    dst.commit()
    dst.close()
    shutil.copy(server.data_dir / "server.key", copy / "server.key")
    result = run_cli(copy, "verify-audit")
    assert result.code == AUDIT_BROKEN
    assert "row 2 does not follow" in result.err and "Traceback" not in result.err
    # Rows cut from the end: the head says where the chain should end.
    dst = sqlite3.connect(copy / "server.db")
    dst.execute("DELETE FROM audit_log WHERE id >= 2")
    dst.commit()
    dst.close()
    result = run_cli(copy, "verify-audit")
    assert result.code == AUDIT_BROKEN and "removed at the end" in result.err


def test_rows_from_before_the_chain_are_chained_by_the_migration(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from school_server import audit, db as dbm

    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        cfg = dbm.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004")
            for i in (1, 2, 3):
                conn.execute(text("INSERT INTO audit_log (id, at, username, action, target, "
                                  "detail) VALUES (:i, '2026-06-0' || :i || ' 08:00:00.000000', "
                                  "'amy', 'login', '', '')"), {"i": i})
        dbm.upgrade(engine)
        with dbm.make_sessions(engine)() as session:
            audit.record(session, "amy", audit.Action.LOGOUT)
            check = audit.verify(session)
        assert check.intact and check.rows == 4 and check.last_id == 4
    finally:
        engine.dispose()
