"""Test harness for the school server: a real `photo-server serve` process
(uvicorn on 127.0.0.1, a free port) over a temporary data dir, a test kiosk
speaking httpx, and the CLI run in-process against the same data dir."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from nacl.public import PublicKey, SealedBox

from school_server import cli

STARTUP_SECONDS = 30
# Set to a PostgreSQL server URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
# to run the server tests on a fresh PostgreSQL database per deployment
# instead of SQLite. Needs psycopg (the `postgres` extra).
POSTGRES_ENV = "PHOTO_SERVER_TEST_POSTGRES_URL"


def fresh_database_url() -> str | None:
    """A new, empty database on the test PostgreSQL server, or None (SQLite)."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        return None
    from sqlalchemy import create_engine, make_url, text

    name = f"photo_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str | None) -> None:
    """Drop a database made by fresh_database_url (nothing for None)."""
    if not url:
        return
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(os.environ[POSTGRES_ENV], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}"'))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python -m school_server serve` in a subprocess; its log in a file."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "school_server", "serve", "--data", str(self.data_dir),
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer in {STARTUP_SECONDS} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(data_dir: Path, *args: str) -> CliResult:
    """photo-server COMMAND --data DATA ARGS..., in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([args[0], "--data", str(data_dir), *args[1:]])
    return CliResult(code, out.getvalue(), err.getvalue())


class Kiosk:
    """A test kiosk: enrolled token, and helpers to build uploads."""

    def __init__(self, server: ServerProcess, kiosk_id: str, token: str, public_key: bytes):
        self.server, self.kiosk_id, self.token = server, kiosk_id, token
        self.public_key = public_key

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers=self.headers, timeout=30)

    def seal(self, doc: dict[str, Any]) -> bytes:
        return SealedBox(PublicKey(self.public_key)).encrypt(json.dumps(doc).encode())

    def upload_body(self, sealed: bytes, session: str = "2026-06-a", **over: Any) -> dict[str, Any]:
        body = {"kiosk_id": self.kiosk_id, "session": session,
                "created_at": "2026-06-20T09:30:00+08:00",
                "sealed": base64.b64encode(sealed).decode(),
                "digest": hashlib.sha256(sealed).hexdigest()}
        return {**body, **over}

    def put(self, capture_id: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.put(f"{self.server.url}/api/v1/captures/{capture_id}", json=body,
                         headers=self.headers, timeout=30)


class Deployment:
    """One data dir with its key pair and a running server."""

    def __init__(self, data_dir: Path, config: str = "") -> None:
        """config: extra server.toml text (tables go after the top-level keys)."""
        self.data_dir = data_dir
        self.database_url = database_url = fresh_database_url()
        if database_url:
            config = f"database_url = {json.dumps(database_url)}\n{config}"
        if config:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data_dir / "server.toml").write_text(config, encoding="utf-8")
        result = run_cli(data_dir, "keygen")
        assert result.code == 0, result.err
        self.public_key = base64.b64decode(result.out.strip())
        self.server = ServerProcess(data_dir)

    def close(self) -> None:
        self.server.stop()
        drop_database(self.database_url)

    def cli(self, *args: str) -> CliResult:
        return run_cli(self.data_dir, *args)

    def enrol_code(self, centre: str, hours: str = "24") -> str:
        result = self.cli("enrol-code", "--centre", centre, "--hours", hours)
        assert result.code == 0, result.err
        return result.out.strip()

    def enrol(self, centre: str, kiosk_id: str | None = None) -> Kiosk:
        kiosk_id = kiosk_id or f"kiosk-{uuid.uuid4().hex[:8]}"
        reply = httpx.post(f"{self.server.url}/api/v1/enrol",
                           json={"enrolment_code": self.enrol_code(centre), "kiosk_id": kiosk_id})
        assert reply.status_code == 200, reply.text
        return Kiosk(self.server, kiosk_id, reply.json()["token"], self.public_key)


def new_capture_id() -> str:
    return uuid.uuid4().hex
