"""What a request body may cost: refusals come from the headers, before the
body is read; big bodies go to disk and only a few at a time.

A raw client (http.client) sends the headers of a big upload and then waits
for the answer without sending the body: the server must answer from the
headers alone (before this, it read and buffered every body first, so 12
unauthenticated 24 MiB bodies took it from 79 MiB to 1.2 GiB of memory;
benchmarks/bench_server_bodies.py measures that).
"""

from __future__ import annotations

import http.client
import json
import os
import select
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server.harness import Deployment, Kiosk, new_capture_id

ANSWER_SECONDS = 10  # an answer from the headers alone comes at once; the body never does
BIG = 24 * 1024 * 1024 - 1  # just under max_body_bytes


def _send_headers(server_url: str, method: str, path: str, length: int,
                  token: str | None = None) -> http.client.HTTPConnection:
    """A request whose headers are sent and whose body is not (yet)."""
    conn = http.client.HTTPConnection(urlsplit(server_url).hostname or "",
                                      urlsplit(server_url).port, timeout=ANSWER_SECONDS)
    conn.putrequest(method, path)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(length))
    if token is not None:
        conn.putheader("Authorization", f"Bearer {token}")
    conn.endheaders()
    return conn


def _answer(conn: http.client.HTTPConnection) -> tuple[int, dict[str, str], dict]:
    reply = conn.getresponse()  # socket timeout (a failure) if the server waits for the body
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, json.loads(reply.read())


def test_an_unauthenticated_big_body_is_refused_before_it_is_sent(
        deployment: Deployment) -> None:
    url = deployment.server.url
    for token in (None, "not-a-token"):
        for method, path in (("PUT", f"/api/v1/captures/{new_capture_id()}"),
                             ("POST", "/api/v1/heartbeat")):
            conn = _send_headers(url, method, path, BIG, token)
            try:
                status, headers, body = _answer(conn)
            finally:
                conn.close()
            assert status == 401, (method, path, token)
            assert headers["www-authenticate"] == "Bearer"
            assert body["detail"] in ("missing bearer token", "unknown token")
    # A revoked kiosk is told so the same way.
    kiosk = deployment.enrol("Haidian")
    assert deployment.cli("revoke", kiosk.kiosk_id).code == 0
    conn = _send_headers(url, "PUT", f"/api/v1/captures/{new_capture_id()}", BIG, kiosk.token)
    try:
        assert _answer(conn)[2] == {"detail": "kiosk revoked"}
    finally:
        conn.close()


def test_a_client_that_sends_its_whole_body_first_still_reads_the_refusal(
        deployment: Deployment) -> None:
    """httpx writes the whole body before reading: it gets the 401, not a
    reset connection (uvicorn reads and drops the rest)."""
    body = b'{"pad": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    with httpx.Client(base_url=deployment.server.url, timeout=30) as client:
        for _ in range(2):  # and the connection stays usable
            reply = client.put(f"/api/v1/captures/{new_capture_id()}", content=body,
                               headers={"Authorization": "Bearer nope",
                                        "Content-Type": "application/json"})
            assert reply.status_code == 401 and reply.json() == {"detail": "unknown token"}
        assert client.get("/api/v1/health").status_code == 200


def test_sizes_are_refused_from_the_headers(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    url = deployment.server.url
    # Over max_body_bytes, even with a good token.
    conn = _send_headers(url, "PUT", f"/api/v1/captures/{new_capture_id()}", BIG + 2,
                         kiosk.token)
    try:
        status, _, body = _answer(conn)
    finally:
        conn.close()
    assert status == 413 and body["detail"] == f"request body over {BIG + 1} bytes"
    # Enrolment takes no token, so no big body either.
    conn = _send_headers(url, "POST", "/api/v1/enrol", 1024 * 1024)
    try:
        status, _, body = _answer(conn)
    finally:
        conn.close()
    assert status == 413 and body["detail"] == "request body over 65536 bytes"


def _big_upload(kiosk: Kiosk) -> tuple[str, bytes]:
    """A real capture whose request body is over 1 MiB (so it is spooled and counted)."""
    sealed = kiosk.seal({"spec_jpeg": "A" * 1_200_000})
    return new_capture_id(), json.dumps(kiosk.upload_body(sealed)).encode()


@pytest.fixture
def two_uploads(tmp_path: Path) -> Iterator[Deployment]:
    """A server that takes two big uploads at once."""
    dep = Deployment(tmp_path / "data", "max_concurrent_uploads = 2\n")
    try:
        dep.server.start()
        yield dep
    finally:
        dep.close()


def test_big_uploads_beyond_the_limit_get_503_with_retry_after(two_uploads: Deployment) -> None:
    dep = two_uploads
    kiosk = dep.enrol("Haidian")
    started = []
    for _ in range(2):  # two slow uploads, halfway through their bodies
        capture_id, body = _big_upload(kiosk)
        conn = _send_headers(dep.server.url, "PUT", f"/api/v1/captures/{capture_id}",
                             len(body), kiosk.token)
        conn.send(body[:len(body) // 2])
        started.append((conn, body))
    try:
        third_id, third_body = _big_upload(kiosk)
        third = _send_headers(dep.server.url, "PUT", f"/api/v1/captures/{third_id}",
                              len(third_body), kiosk.token)
        try:
            status, headers, answer = _answer(third)
        finally:
            third.close()
        assert status == 503 and headers["retry-after"] == "5"
        assert "retry" in answer["detail"]
        # A client without a token is told 401 first (it holds no slot either),
        # and small uploads and heartbeats are not held up.
        nobody = _send_headers(dep.server.url, "PUT", f"/api/v1/captures/{third_id}",
                               len(third_body))
        try:
            assert _answer(nobody)[0] == 401
        finally:
            nobody.close()
        assert kiosk.put(new_capture_id(), kiosk.upload_body(kiosk.seal({"a": 1}))) \
            .status_code == 201
        # The slow uploads finish and are stored; then a big one fits again.
        for conn, body in started:
            conn.send(body[len(body) // 2:])
            assert _answer(conn)[0] == 201
    finally:
        for conn, _ in started:
            conn.close()
    assert kiosk.put(third_id, json.loads(third_body)).status_code == 201
    # Spooled bodies leave nothing behind (temporary files are unlinked at once).
    assert os.listdir(dep.data_dir / "spool") == []


@pytest.fixture
def strict_rate(tmp_path: Path) -> Iterator[Deployment]:
    """Four big uploads at once, two per kiosk, bodies at 10 KB/s after 2 s."""
    dep = Deployment(tmp_path / "data", "max_concurrent_uploads = 4\nmax_uploads_per_kiosk = 2\n"
                     "min_upload_rate = 10240\nupload_grace_seconds = 2\n")
    try:
        dep.server.start()
        yield dep
    finally:
        dep.close()


def _drip_until_answered(conns: list[http.client.HTTPConnection], seconds: float) -> dict[int, int]:
    """Send one byte every 0.5 s on each connection until it is answered:
    index -> (status, seconds until the answer)."""
    started = time.monotonic()
    answered: dict[int, int] = {}
    while len(answered) < len(conns) and time.monotonic() - started < seconds:
        for i, conn in enumerate(conns):
            if i in answered:
                continue
            if select.select([conn.sock], [], [], 0)[0]:
                answered[i] = conn.getresponse().status
                continue
            try:
                conn.send(b" ")
            except OSError:
                pass  # closed by the server: its answer is waiting to be read
        time.sleep(0.5)
    return answered


def test_slow_uploads_are_cut_off_and_one_booth_cannot_take_every_slot(
        strict_rate: Deployment) -> None:
    """Issue 24 item 7: four uploads from one booth's token sending a byte
    every 2 s held every big-upload slot, and another booth's 2 MB upload got
    503 for a whole minute."""
    dep = strict_rate
    thief, other = dep.enrol("Haidian"), dep.enrol("Chaoyang")
    slow = []
    for _ in range(4):
        capture_id, body = _big_upload(thief)
        slow.append(_send_headers(dep.server.url, "PUT", f"/api/v1/captures/{capture_id}",
                                  2 * 1024 * 1024, thief.token))
        time.sleep(0.2)  # in order: the first two take the kiosk's slots
    try:
        for conn in slow[2:]:  # the kiosk's own cap, answered at once
            status, headers, answer = _answer(conn)
            assert status == 503 and headers["retry-after"] == "5", answer
        capture_id, body = _big_upload(other)
        assert len(body) > 1024 * 1024
        started = time.monotonic()
        reply = httpx.put(f"{dep.server.url}/api/v1/captures/{capture_id}", content=body,
                          headers={**other.headers, "Content-Type": "application/json"}, timeout=30)
        assert reply.status_code == 201, reply.text
        assert time.monotonic() - started < 5
        # The drippers are cut off soon after the grace period, with 408, and
        # the connection is closed (not kept for them to go on).
        started = time.monotonic()
        answered = _drip_until_answered(slow[:2], seconds=20)
        assert answered == {0: 408, 1: 408}
        assert time.monotonic() - started < 8
        for conn in slow[:2]:
            assert conn.sock is None or conn.sock.recv(1) == b""
    finally:
        for conn in slow:
            conn.close()
    # Their slots are free again: the thief's token (until revoked) may upload at speed.
    capture_id, body = _big_upload(thief)
    assert thief.put(capture_id, json.loads(body)).status_code == 201
