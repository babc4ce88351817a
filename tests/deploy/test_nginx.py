"""The shipped reverse-proxy configuration (school_server/deploy/nginx.conf)
run for real (issue 24 item 3): nginx from that file, with the test's ports
and a throwaway certificate, in front of a real `photo-server serve` that
trusts only that proxy. A browser's forged X-Forwarded-For must not move the
address the server sees; the per-address login limit must still tell
clients apart; bodies up to client_max_body_size pass and bigger ones get
413 from nginx.

Clients connect from 127.0.0.2 and up (the loopback is all of 127.0.0.0/8),
nginx reaches the server from 127.0.0.1, the one trusted proxy."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from server.harness import Deployment, Kiosk, new_capture_id
from server.nginx_proxy import NginxProxy, nginx_binary
from server.office_http import login_csrf, outcome, post_login
from services_required import service_missing

FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
BEAT = {"status": "idle", "queue_depth": 0, "free_mb": 900, "version": "0.1.0"}
MIB = 1 << 20


def _require_nginx() -> None:
    if nginx_binary() is None:
        service_missing("nginx is not installed (apt install nginx)", "the reverse-proxy tests")


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, NginxProxy]]:
    """A server that trusts the proxy on 127.0.0.1, and the shipped nginx in front of it."""
    _require_nginx()
    tmp = tmp_path_factory.mktemp("nginx")
    dep = Deployment(tmp / "data", 'trusted_proxies = ["127.0.0.1"]\n'
                                   "office_login_failures_per_address = 3\n")
    try:
        dep.server.start()
        proxy = NginxProxy(tmp / "nginx", dep.server.port)
        proxy.start()
        try:
            yield dep, proxy
        finally:
            proxy.stop()
    finally:
        dep.close()


def test_nginx_accepts_the_shipped_file(behind: tuple[Deployment, NginxProxy]) -> None:
    checked = behind[1].check()
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_http_is_sent_to_https(behind: tuple[Deployment, NginxProxy]) -> None:
    proxy = behind[1]
    reply = httpx.get(f"http://127.0.0.1:{proxy.http_port}/office/login")
    assert reply.status_code == 301
    assert reply.headers["location"].startswith("https://127.0.0.1/office/login")


def _last_address(dep: Deployment, kiosk_id: str) -> str:
    with closing(sqlite3.connect(dep.data_dir / "server.db")) as db:
        return db.execute("SELECT last_address FROM kiosks WHERE kiosk_id = ?",
                          (kiosk_id,)).fetchone()[0]


def test_a_forged_forwarded_for_does_not_move_a_booth(behind: tuple[Deployment, NginxProxy]) -> None:
    dep, proxy = behind
    kiosk = dep.enrol("Haidian")
    for source in ("127.0.0.2", "127.0.0.4"):  # the booth moves; the forged address stays
        with proxy.client(source, headers=kiosk.headers) as client:
            assert client.post("/api/v1/heartbeat", json=BEAT, headers=FORGED).status_code == 204
        assert _last_address(dep, kiosk.kiosk_id) == source


def test_status_links_pass_and_stay_out_of_the_access_log(behind: tuple[Deployment, NginxProxy]) -> None:
    # /status/<token> has its own location (no access log): it must still
    # reach the server, whose answer to an unknown link is its own 404 page.
    proxy = behind[1]
    token = "Zq9x" * 6
    with proxy.client("127.0.0.6") as client:
        assert client.get("/office/login").status_code == 200
        reply = client.get(f"/status/{token}")
    assert reply.status_code == 404 and "<html" in reply.text.lower(), reply.text[:300]
    logged = (proxy.run_dir / "access.log").read_text(encoding="utf-8")
    assert "/office/login" in logged  # the log is written...
    assert token not in logged  # ...but not the link's token


def _login(proxy: NginxProxy, source: str, user: str, forged: str) -> str:
    """A wrong password from source, claiming to come from forged."""
    with proxy.client(source) as client:
        reply = post_login(client, login_csrf(client), user, "wrong password!",
                           {"X-Forwarded-For": forged, "X-Real-IP": forged})
        assert reply.status_code == 303, reply.text[:300]
        return outcome(reply.headers["location"])


def test_the_login_limit_per_address_works_through_the_proxy(
        behind: tuple[Deployment, NginxProxy]) -> None:
    proxy = behind[1]
    # Four guesses from one address, each forging another: the fourth is over the limit of 3.
    assert [_login(proxy, "127.0.0.3", f"user{i}", f"198.51.100.{i}") for i in range(4)] == \
        ["bad", "bad", "bad", "throttled"]
    # Another client behind the same proxy has its own count.
    assert _login(proxy, "127.0.0.5", "someone", "198.51.100.0") == "bad"


def _upload(proxy: NginxProxy, kiosk: Kiosk, sealed_bytes: int) -> tuple[int, str]:
    body = kiosk.upload_body(os.urandom(sealed_bytes))
    with proxy.client("127.0.0.2", headers=kiosk.headers) as client:
        reply = client.put(f"/api/v1/captures/{new_capture_id()}", json=body)
    return reply.status_code, reply.text


def test_a_big_upload_passes_and_a_too_big_one_gets_413(
        behind: tuple[Deployment, NginxProxy]) -> None:
    dep, proxy = behind
    kiosk = dep.enrol("Chaoyang")
    # 15 MiB sealed: about 20 MiB of JSON (base64), a capture with its original still.
    status, text = _upload(proxy, kiosk, 15 * MIB)
    assert status == 201, text[:300]
    # 24.5 MiB of JSON: through nginx (25m), refused by the server's max_body_bytes
    # (24 MiB) before it reads the body, and that answer reaches the client (not a 502).
    status, text = _upload(proxy, kiosk, 18 * MIB + 400 * 1024)
    assert status == 413 and "request body over" in text, text[:300]
    # 26 MiB of JSON: refused by nginx itself, before the server sees a byte.
    status, text = _upload(proxy, kiosk, 19 * MIB + 512 * 1024)
    assert status == 413 and "nginx" in text, text[:300]


def test_a_revoked_booths_upload_gets_401_through_the_proxy(
        behind: tuple[Deployment, NginxProxy]) -> None:
    """The server refuses it from the headers; the booth must see 401 (enrol
    again), not a 502 it would retry for ever."""
    dep, proxy = behind
    kiosk = dep.enrol("Chaoyang")
    assert dep.cli("revoke", kiosk.kiosk_id).code == 0
    status, text = _upload(proxy, kiosk, 15 * MIB)
    assert status == 401 and "revoked" in text, text[:300]


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_forwarding_headers_are_overwritten(tmp_path: Path) -> None:
    """What the app receives, seen by an echo upstream: one X-Forwarded-For
    and one X-Real-IP, both the client's own address, whatever it sent."""
    _require_nginx()
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    proxy = NginxProxy(tmp_path, echo.server_address[1])
    proxy.start()
    try:
        with proxy.client("127.0.0.6") as client:
            seen = client.get("/", headers={**FORGED, "X-Forwarded-Proto": "http"}).text.splitlines()
    finally:
        proxy.stop()
        echo.shutdown()
    assert [line for line in seen if line.lower().startswith(("x-forwarded", "x-real"))] == \
        ["X-Forwarded-For: 127.0.0.6", "X-Real-IP: 127.0.0.6", "X-Forwarded-Proto: https"]
