"""Headers on every response (pure ASGI, so streamed downloads stream).

The office's pages hold students' names and photos: no framing, no referrer,
no sniffing, only this server's own images and forms, and no script but
the review grid's own file (script-src 'self': keyboard operation needs
one; inline script stays refused, so injected markup still cannot run),
and `Cache-Control: no-store` under /office so a shared office computer's
cache keeps nothing."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
EVERY_RESPONSE = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, no_store_prefix: str) -> None:
        self.app, self.no_store_prefix = app, no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(self.no_store_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_RESPONSE.items():
                    headers[name] = value
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)
        await self.app(scope, receive, send_with_headers)
