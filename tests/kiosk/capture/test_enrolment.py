"""`kiosk enrol` against a hostile server (issue 24 item 10): a huge token or
one that holds a path is refused with one line, and nothing is stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.capture.enrolment import TOKEN_FILE, read_token

ROOT = Path(__file__).resolve().parents[3]


class _Hostile(BaseHTTPRequestHandler):
    answer = b""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[tuple[ThreadingHTTPServer, type[_Hostile]]]:
    handler = type("Handler", (_Hostile,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def _enrol(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nid = "booth-1"\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(cfg), "enrol",
                           "--server", url, "--code", "ABCD-EFGH"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("token", ["t" * (20 * 1024 * 1024), "../../etc/cron.d/x", "a b\nc",
                                   "", "short"])
def test_a_hostile_token_is_refused_in_one_line(hostile, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                token: str) -> None:
    server, handler = hostile
    handler.answer = json.dumps({"token": token}).encode()
    result = _enrol(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("enrol:")]
    assert len(lines) == 1 and lines[0].startswith("enrol: refused the server's answer"), lines
    assert len(lines[0]) < 200 and "etc/cron" not in lines[0]
    assert not (tmp_path / "data" / TOKEN_FILE).exists()


def test_a_good_token_is_stored_private(hostile, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, handler = hostile
    handler.answer = json.dumps({"token": "Abc_-" * 9}).encode()
    result = _enrol(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "data" / TOKEN_FILE
    assert path.stat().st_mode & 0o077 == 0
    assert read_token(tmp_path / "data") == "Abc_-" * 9
