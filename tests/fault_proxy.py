"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, for the sync tests.

It sits between the kiosk's sync agent and a real school server and, per
request, can pass it, drop the connection before forwarding, delay it, answer
500 itself, answer 503 with Retry-After itself, forward it and answer garbage, or forward it (the server commits)
and then reset the connection before the client reads the answer. It can
also stop listening (connection refused) and listen again on the same port.

Faults come from `script` (a list consumed in order), then from
`choose(method, path)` (default: pass). Every request is logged in `log`.
Threads, not asyncio: the tests and the agent are threaded too.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable


class Fault(str, Enum):
    PASS = "pass"
    DROP = "drop"  # close before forwarding: the server never sees it
    DELAY = "delay"  # wait `delay` seconds, then forward (past the client's timeout)
    ERROR_500 = "500"  # answer 500 without forwarding
    BUSY_503 = "503"  # answer 503 with Retry-After: `retry_after` without forwarding
    GARBAGE = "garbage"  # forward (server commits), answer 200 with a broken body
    RESET_AFTER = "reset_after"  # forward (server commits), then RST before the answer


@dataclass
class Logged:
    method: str
    path: str
    fault: Fault
    upstream_status: int | None  # None: not forwarded or no answer
    at: float = field(default_factory=time.monotonic)  # when the request arrived


@dataclass
class FaultProxy:
    upstream_port: int
    delay: float = 1.0
    retry_after: int = 1  # BUSY_503's Retry-After, in seconds
    script: list[Fault] = field(default_factory=list)
    choose: Callable[[str, str], Fault] = lambda method, path: Fault.PASS
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = 0
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        self._listen()
        return self

    def refuse(self, refusing: bool) -> None:
        """True: stop listening and cut open connections (connection refused);
        False: listen again on the same port."""
        if refusing:
            self._stop_listening()
            self._cut_clients()
        else:
            self._listen()

    def close(self) -> None:
        self._closed = True
        self._stop_listening()
        self._cut_clients()

    def count(self, method: str, path_prefix: str, fault: Fault | None = None) -> int:
        with self._lock:
            return sum(1 for e in self.log if e.method == method and e.path.startswith(path_prefix)
                       and (fault is None or e.fault == fault))

    # ------------------------------------------------------------------ internals

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept_loop, args=(sock,), daemon=True).start()

    def _stop_listening(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _cut_clients(self) -> None:
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            _reset(c)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _next_fault(self, method: str, path: str) -> Fault:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        return self.choose(method, path)

    def _serve(self, client: socket.socket) -> None:
        buf = b""
        try:
            while True:
                request, buf = _read_request(client, buf)
                if request is None:
                    return
                line = request.split(b"\r\n", 1)[0].decode("latin-1")
                method, path = line.split(" ")[:2]
                fault = self._next_fault(method, path)
                entry = Logged(method, path, fault, None)
                with self._lock:
                    self.log.append(entry)
                if fault == Fault.DROP:
                    _reset(client)
                    return
                if fault == Fault.ERROR_500:
                    body = b'{"detail": "injected"}'
                    client.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: "
                                   b"application/json\r\ncontent-length: "
                                   + str(len(body)).encode() + b"\r\n\r\n" + body)
                    continue
                if fault == Fault.BUSY_503:
                    body = b'{"detail": "too many uploads at once; retry later"}'
                    client.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: "
                                   b"application/json\r\nretry-after: "
                                   + str(self.retry_after).encode() + b"\r\ncontent-length: "
                                   + str(len(body)).encode() + b"\r\n\r\n" + body)
                    continue
                if fault == Fault.DELAY:
                    time.sleep(self.delay)
                response = self._forward(request)
                if response is None:  # upstream down: like a dropped connection
                    _reset(client)
                    return
                entry.upstream_status = int(response.split(b" ", 2)[1])
                if fault == Fault.RESET_AFTER:
                    _reset(client)
                    return
                if fault == Fault.GARBAGE:
                    body = b"<html>\x00\xff not json"
                    response = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                client.sendall(response)
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(client)
            client.close()

    def _forward(self, request: bytes) -> bytes | None:
        """One request on a fresh upstream connection (Connection: close), read to EOF."""
        head, body = request.split(b"\r\n\r\n", 1)
        lines = [h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        upstream_request = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body
        try:
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as up:
                up.sendall(upstream_request)
                chunks = []
                while True:
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
        except OSError:
            return None
        response = b"".join(chunks)
        if not response:
            return None
        # Keep the client's connection alive: drop the upstream's "close".
        rhead, rbody = response.split(b"\r\n\r\n", 1)
        rlines = [h for h in rhead.split(b"\r\n") if not h.lower().startswith(b"connection:")]
        if not any(h.lower().startswith(b"content-length:") for h in rlines):
            rlines.append(b"content-length: " + str(len(rbody)).encode())
        return b"\r\n".join(rlines) + b"\r\n\r\n" + rbody


def _read_request(sock: socket.socket, buf: bytes) -> tuple[bytes | None, bytes]:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for h in head.split(b"\r\n")[1:]:
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def _reset(sock: socket.socket) -> None:
    # SO_LINGER 0: close sends RST, as a crashed peer or a middlebox would.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
