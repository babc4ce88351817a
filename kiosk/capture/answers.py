"""Reading the school server's answers: its Retry-After, its refusal
detail (made safe to show staff)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

API = "/api/v1"
MAX_RETRY_AFTER_SECONDS = 300.0  # a server's Retry-After beyond this is not waited out
MAX_DETAIL_CHARS = 300  # a server's refusal detail, as shown to staff


def retry_after_seconds(reply: httpx.Response, now: datetime | None = None) -> float:
    """A 429/503's Retry-After (seconds or an HTTP date) in seconds, capped at
    MAX_RETRY_AFTER_SECONDS; 0 when absent, unreadable or for another status."""
    value = reply.headers.get("retry-after", "").strip()
    if reply.status_code not in (429, 503) or not value:
        return 0.0
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value)
                       - (now or datetime.now(timezone.utc))).total_seconds()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def refusal_detail(reply: httpx.Response, *secrets: str) -> str:
    """The server's JSON `detail` as one safe line for staff: printable characters
    only, secrets (the code) blanked, at most MAX_DETAIL_CHARS; "" when none."""
    try:
        detail = reply.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(detail, str):
        return ""
    line = " ".join("".join(c if c.isprintable() else " " for c in detail).split())
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    if len(line) > MAX_DETAIL_CHARS:
        line = line[:MAX_DETAIL_CHARS - 1] + "…"
    return line
