"""What a request body may cost before the route sees it (ASGI middleware).

An unauthenticated client must not make the server hold megabytes: every
refusal is answered before the body is read, from the headers alone, in this
order: a declared size over max_bytes (413); a route that needs a token and
a missing, unknown or revoked one (401), or a body over PUBLIC_BODY_BYTES on
a route that needs none (413); a big body (over spool_bytes, or of unknown
size) while max_big_bodies are already in flight, or while the same kiosk
already has per_kiosk of them (503 with Retry-After): one booth's token,
stolen or stuck, cannot take every slot. uvicorn then reads and drops
whatever the client still sends, so a client that writes its whole body
before reading gets the answer, not a reset.

A body must keep arriving: after grace_seconds it must average at least
min_rate bytes a second (else 408 and the connection is closed). Four
uploads sending a byte every 2 s used to hold every big slot for good.

An accepted body is read into a spooled temporary file (on disk past
spool_bytes, in spool_dir), so a slow upload holds no memory while it
arrives, and is handed on whole: the route never sees half a capture.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Enrolment is the only body a client without a token sends: a few dozen bytes.
PUBLIC_BODY_BYTES = 64 * 1024
# Bodies up to this size stay in memory; bigger ones go to disk and count as big.
SPOOL_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
# A Pi on a poor school network still sends 100 KB/s; a capture of 24 MiB at
# this floor takes 40 minutes, and a client dripping bytes is cut off.
MIN_RATE = 10 * 1024
GRACE_SECONDS = 10.0

# Authorization header -> (the kiosk's id, None) for a valid token, or ("", why it is refused).
TokenCheck = Callable[[str | None], Awaitable[tuple[str, str | None]]]


class BodyGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int, max_big_bodies: int, per_kiosk: int,
                 spool_dir: Path | None, token_paths: tuple[re.Pattern[str], ...], check_token: TokenCheck,
                 spool_bytes: int = SPOOL_BYTES, min_rate: int = MIN_RATE,
                 grace_seconds: float = GRACE_SECONDS, upload_paths: tuple[re.Pattern[str], ...] = (),
                 check_upload: TokenCheck | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.spool_bytes = spool_bytes
        self.max_big_bodies = max_big_bodies
        self.per_kiosk = per_kiosk
        self.min_rate = min_rate
        self.grace_seconds = grace_seconds
        self.spool_dir = spool_dir
        self.token_paths = token_paths
        self.check_token = check_token
        # The office's file uploads (an admin's session cookie, checked here first).
        self.upload_paths, self.check_upload = upload_paths, check_upload
        # One event loop: no lock needed between check and count.
        self.big_in_flight = 0
        self.big_by_kiosk: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = _declared_length(headers)
        if length == 0:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if length is not None and length > limit:
            await _too_large(send, limit)
            return
        kiosk = ""
        if any(pattern.match(scope["path"]) for pattern in self.token_paths):
            kiosk, refused = await self.check_token(_text(headers.get(b"authorization")))
            if refused is not None:
                await _answer(send, 401, refused, [(b"www-authenticate", b"Bearer")])
                return
        elif self.check_upload and any(p.match(scope["path"]) for p in self.upload_paths):
            refused = await self.check_upload(_text(headers.get(b"cookie")))
            if refused is not None:
                await _answer(send, 403, refused)
                return
        else:
            # Enrolment, the office's forms (a session cookie, checked by the page)
            # and unknown paths: small bodies only.
            limit = min(limit, PUBLIC_BODY_BYTES)
            if length is not None and length > limit:
                await _too_large(send, limit)
                return
        # Big: may be over spool_bytes (a body limited below that never is).
        big = (length is None or length > self.spool_bytes) and limit > self.spool_bytes
        if big and (self.big_in_flight >= self.max_big_bodies
                    or self.big_by_kiosk[kiosk] >= self.per_kiosk):
            await _answer(send, 503, "too many uploads at once; retry later",
                          [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
            return
        self.big_in_flight += big
        self.big_by_kiosk[kiosk] += big
        try:
            body = await self._read(receive, send, limit)
            if body is not None:
                await self.app(scope, _replay(body, receive), send)
        finally:
            self.big_in_flight -= big
            self.big_by_kiosk[kiosk] -= big
            if self.big_by_kiosk[kiosk] <= 0:
                del self.big_by_kiosk[kiosk]

    async def _read(self, receive: Receive, send: Send, limit: int) -> bytes | None:
        """The whole body; None when the client left, the body grew over limit
        (413 sent) or came too slowly (408 sent)."""
        started = time.monotonic()
        with tempfile.SpooledTemporaryFile(max_size=self.spool_bytes,
                                           dir=self.spool_dir) as spool:
            size = 0
            while True:
                # The next chunk is due by the time the body so far would take at min_rate.
                due = self.grace_seconds + size / self.min_rate - (time.monotonic() - started)
                try:
                    async with asyncio.timeout(max(due, 0.0)):
                        message = await receive()
                except TimeoutError:
                    await _answer(send, 408, f"request body too slow (under {self.min_rate} "
                                  "bytes a second)", [(b"connection", b"close")])
                    return None
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:  # a chunked body, or one longer than it said
                    await _too_large(send, limit)
                    return None
                spool.write(chunk)
                if not message.get("more_body", False):
                    break
            spool.seek(0)
            return spool.read()


def _declared_length(headers: dict[bytes, bytes]) -> int | None:
    """Content-Length, or None when the size is unknown (chunked)."""
    if b"transfer-encoding" in headers:
        return None
    value = headers.get(b"content-length")
    if value is None:
        return 0
    return int(value) if value.isdigit() else None


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _replay(body: bytes, receive: Receive) -> Receive:
    # One message with the whole body: Starlette's request.body() then keeps
    # this very bytes object instead of joining a copy.
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(send: Send, limit: int) -> None:
    await _answer(send, 413, f"request body over {limit} bytes")


async def _answer(send: Send, status: int, detail: str,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
