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

from .services import S3_KEYS

STARTUP_SECONDS = 30


def fresh_database_url(admin_url: str) -> str:
    """A new, empty database on the PostgreSQL server admin_url points at."""
    from sqlalchemy import create_engine, make_url, text

    name = f"photo_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by fresh_database_url (and cut its leftover connections)."""
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        engine.dispose()


class Bucket:
    """A fresh bucket on an S3 endpoint (any keys: SeaweedFS without identities)."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint = endpoint
        self.name = f"photo-test-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client("s3", endpoint_url=endpoint, **S3_KEYS)
        self.client.create_bucket(Bucket=self.name)

    def config(self, prefix: str = "") -> str:
        """The server.toml [storage] tables for this bucket."""
        return (f'[storage]\nbackend = "s3"\n[storage.s3]\n'
                f"endpoint_url = {json.dumps(self.endpoint)}\nbucket = {json.dumps(self.name)}\n"
                f'region = "us-east-1"\nprefix = {json.dumps(prefix)}\n'
                'access_key = "test"\nsecret_key = "test"\n')

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name,
                                                                      Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def delete(self) -> None:
        for key in self.keys():
            self.client.delete_object(Bucket=self.name, Key=key)
        self.client.delete_bucket(Bucket=self.name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def end_process(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminate proc (if any), killing it after 10 s."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
        end_process(self.proc)
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
    """One data dir with its key pair and a running server.

    By default the school's configuration: SQLite and objects in the data dir.
    postgres (an admin URL) gives it a fresh database on that PostgreSQL
    server, s3 (an endpoint) a fresh bucket there, objects under s3_prefix:
    with both, the province's configuration."""

    def __init__(self, data_dir: Path, config: str = "", *, postgres: str | None = None,
                 s3: str | None = None, s3_prefix: str = "") -> None:
        """config: extra server.toml text (top-level keys only with s3)."""
        self.data_dir = data_dir
        self.postgres_admin_url = postgres
        self.database_url = fresh_database_url(postgres) if postgres else None
        self.bucket = Bucket(s3) if s3 else None
        self.s3_prefix = s3_prefix.strip("/") + "/" if s3_prefix.strip("/") else ""
        if self.database_url:
            config = f"database_url = {json.dumps(self.database_url)}\n{config}"
        if self.bucket:
            config += self.bucket.config(s3_prefix)
        if config:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            (data_dir / "server.toml").write_text(config, encoding="utf-8")
        result = run_cli(data_dir, "keygen")
        assert result.code == 0, result.err
        self.public_key = base64.b64decode(result.out.strip())
        self.server = ServerProcess(data_dir)

    def close(self) -> None:
        self.server.stop()
        if self.postgres_admin_url and self.database_url:
            drop_database(self.postgres_admin_url, self.database_url)
        if self.bucket:
            self.bucket.delete()

    def stored_object(self, key: str) -> bytes:
        """The bytes the object store holds under key (as the server names it)."""
        if self.bucket:
            return self.bucket.get(self.s3_prefix + key)
        return (self.data_dir / "objects" / key).read_bytes()

    def stored_keys(self, under: str = "") -> list[str]:
        """Every object key under a key prefix (temporary files included)."""
        if self.bucket:
            return [k.removeprefix(self.s3_prefix)
                    for k in self.bucket.keys(self.s3_prefix + under)]
        root = self.data_dir / "objects"
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                      if p.is_file() and p.relative_to(root).as_posix().startswith(under))

    def cli(self, *args: str) -> CliResult:
        return run_cli(self.data_dir, *args)

    def cli_stdin(self, stdin: str, *args: str) -> CliResult:
        """cli() with stdin text (add-user reads the password there)."""
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            return self.cli(*args)
        finally:
            sys.stdin = old

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
