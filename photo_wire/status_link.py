"""The student's status link (issue 22 item 2): the QR code on the booth's
receipt opens GET /status/<token> on the school server's public address.

The booth derives the token from a secret of its own and the capture id
(HMAC-SHA256, the first 144 bits, URL-safe base64: 24 characters), so
nothing is synced back to show it; the upload carries only sha256(token)
(CaptureUploadHead.status_hash), which is all the server stores. Someone who
reads the server's database cannot rebuild a link, and a link names no one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOKEN_BYTES = 18  # 144 bits: no guessing, and 24 characters (a small QR code)
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{24}$"
STATUS_PATH = "/status/"
KEY_BYTES = 32
# The booth's public_url and the server's answer: bounded, so a QR code stays readable.
MAX_PUBLIC_URL_CHARS = 200


def status_token(key: bytes, capture_id: str) -> str:
    """The capture's token: the same for the same key and id, another for each capture."""
    if len(key) < 16:
        raise ValueError("the status key must be at least 16 bytes")
    mac = hmac.new(key, b"status:" + capture_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).decode("ascii")


def token_hash(token: str) -> str:
    """What the server stores and looks a token up by (sha256 hex)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def status_url(public_url: str, token: str) -> str:
    """The link in the QR code: the server's public address, /status/, the token."""
    return public_url.rstrip("/") + STATUS_PATH + token
