"""The server's secrets in the data dir, each a base64 line in a 0600 file.

server.key  the PyNaCl (Curve25519) private key: kiosks seal captures to its
            public key; only `photo-server export` opens them. `serve` never
            reads it, so it may live on the export machine alone.
roster.key  the HMAC key for student_ref = HMAC-SHA256(key, "id:" + ID number),
            handed to enrolled kiosks with the roster so they key card reads
            the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from nacl.public import PrivateKey


def _write_secret(path: Path, raw: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: never replace a key; captures sealed to it would be lost.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, base64.b64encode(raw) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_secret(path: Path) -> bytes:
    return base64.b64decode(path.read_text().strip(), validate=True)


def keygen(path: Path) -> tuple[str, bool]:
    """Make the private key unless it exists. Returns (public key base64, made)."""
    made = False
    if not path.exists():
        _write_secret(path, bytes(PrivateKey.generate()))
        made = True
    return public_key_b64(load_private_key(path)), made


def load_private_key(path: Path) -> PrivateKey:
    return PrivateKey(_read_secret(path))


def public_key_b64(key: PrivateKey) -> str:
    return base64.b64encode(bytes(key.public_key)).decode()


def roster_key(path: Path) -> bytes:
    """The roster HMAC key, made on first use."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    try:
        _write_secret(path, secrets.token_bytes(32))
    except FileExistsError:
        pass  # another process made it first
    return _read_secret(path)


def student_ref(key: bytes, kind: str, value: str) -> str:
    # "kind:value" as the kiosk's roster does, so an ID number and a card UID
    # that happen to be equal give different refs.
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
