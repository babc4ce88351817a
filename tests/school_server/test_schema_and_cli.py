"""Migrations, the committed OpenAPI document, settings, the console script."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from school_server import cli, db
from school_server.models import Base
from school_server.settings import load_settings

from server.harness import drop_database, fresh_database_url, run_cli

TABLES = {"centres", "kiosks", "enrolment_codes", "captures", "roster_rows", "schedule",
          "heartbeats", "alembic_version", "staff_users", "staff_sessions", "audit_log",
          "capture_reviews", "corrections", "login_counters", "audit_head"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_on_an_empty_database_creates_the_schema(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    admin_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    url = fresh_database_url(admin_url) if admin_url else f"sqlite:///{tmp_path / 'empty.db'}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        # The migrations and the models agree (nothing left to autogenerate).
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        # Downgrade works too, and upgrade is repeatable.
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        db.upgrade(engine)
        db.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()
        if admin_url:
            drop_database(admin_url, url)


def test_migrate_command_on_a_fresh_data_dir(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "migrate")
    assert result.code == 0, result.err
    assert (tmp_path / "data" / "server.db").exists()


def test_committed_openapi_document_is_current() -> None:
    committed = cli.OPENAPI_FILE.read_text(encoding="utf-8")
    assert committed == cli.openapi_text(), (
        "school_server/openapi.json is stale: run `photo-server openapi` and commit it")
    paths = json.loads(committed)["paths"]
    assert set(paths) == {"/api/v1/health", "/api/v1/enrol", "/api/v1/captures/{capture_id}",
                          "/api/v1/heartbeat", "/api/v1/roster", "/api/v1/schedule"}


def test_settings_from_toml_then_environment(tmp_path: Path) -> None:
    (tmp_path / "server.toml").write_text(
        'database_url = "postgresql+psycopg://photo@db/photo"\n'
        "max_body_bytes = 1000\n"
        '[storage]\nbackend = "s3"\n[storage.s3]\nbucket = "from-toml"\n', encoding="utf-8")
    settings = load_settings(tmp_path, environ={"PHOTO_SERVER_S3_BUCKET": "from-env",
                                                "PHOTO_SERVER_MAX_BODY_BYTES": "2000"})
    assert settings.db_url == "postgresql+psycopg://photo@db/photo"
    assert settings.storage.backend == "s3"
    assert settings.storage.s3.bucket == "from-env"
    assert settings.max_body_bytes == 2000
    default = load_settings(environ={"PHOTO_SERVER_DATA": str(tmp_path / "other")})
    assert default.db_url == f"sqlite:///{(tmp_path / 'other').resolve() / 'server.db'}"
    assert default.storage.backend == "local"
    with pytest.raises(ValueError, match="data dir"):
        load_settings(environ={})
    (tmp_path / "server.toml").write_text("databse_url = 'typo'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="databse_url"):
        load_settings(tmp_path, environ={})
    (tmp_path / "server.toml").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(tmp_path, environ={"PHOTO_SERVER_TIMEZONE": "Mars/Olympus"})
    assert load_settings(tmp_path, environ={"PHOTO_SERVER_TIMEZONE": "UTC"}).timezone == "UTC"


def test_console_script_keygen_makes_a_private_key_once(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "photo-server"
    assert script.exists(), "photo-server is not installed: pip install -e '.[server]'"
    data = tmp_path / "data"

    def keygen() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), "keygen", "--data", str(data)], capture_output=True,
                              text=True, timeout=60, env={**os.environ})

    first = keygen()
    assert first.returncode == 0, first.stderr
    public = first.stdout.strip()
    assert len(base64.b64decode(public)) == 32
    key_file = data / "server.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    second = keygen()
    assert second.stdout.strip() == public and "kept" in second.stderr
