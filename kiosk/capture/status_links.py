"""The booth's side of the student's status link (photo_wire/status_link.py).

The key is the booth's own: data_dir/status-link.key, 32 random bytes (0600),
made once when [sync] public_url is set and kept across re-enrolments (a new
bearer token would change every link of the captures still queued). The
receipt shows the link; the upload sends only the token's hash, whenever the
key exists (a capture taken while the QR code was shown keeps its link even
if public_url is later removed).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from photo_wire.files import ReadRefused, read_bounded, write_private_file
from photo_wire.status_link import KEY_BYTES, status_token, status_url, token_hash

KEY_FILE = "status-link.key"
log = logging.getLogger(__name__)


def read_status_key(data_dir: Path) -> bytes | None:
    """The booth's status key, or None when it has none (or an unusable file)."""
    path = Path(data_dir) / KEY_FILE
    try:
        key = read_bounded(path, KEY_BYTES, "status key")
    except FileNotFoundError:
        return None
    except ReadRefused as err:
        log.error("%s", err)
        return None
    if len(key) != KEY_BYTES:
        log.error("%s is not a status key (%d bytes): no status links", path, len(key))
        return None
    return key


def ensure_status_key(data_dir: Path) -> bytes | None:
    """The status key, made now if there is none (the first writer wins)."""
    key = read_status_key(data_dir)
    if key is not None:
        return key
    try:
        write_private_file(Path(data_dir) / KEY_FILE, os.urandom(KEY_BYTES), exclusive=True)
    except FileExistsError:
        pass  # made meanwhile by another writer: theirs is the key
    return read_status_key(data_dir)


def status_hash(key: bytes | None, capture_id: str) -> str | None:
    """What the upload head carries for this capture (None without a key)."""
    return token_hash(status_token(key, capture_id)) if key else None


class StatusLinks:
    """The receipt's link, when [sync] public_url is set; '' otherwise."""

    def __init__(self, public_url: str, data_dir: Path) -> None:
        self.public_url, self.key = public_url, None
        if public_url:
            try:
                self.key = ensure_status_key(data_dir)
            except OSError as err:  # a full or read-only disk: receipts without a QR code
                log.error("cannot make the status key: %s", err.strerror or type(err).__name__)

    def url(self, capture_id: str) -> str:
        if not (self.public_url and self.key and capture_id):
            return ""
        return status_url(self.public_url, status_token(self.key, capture_id))
