"""The server's secrets in the data dir, each a base64 line in a 0600 file.

server.key  the PyNaCl (Curve25519) private key: kiosks seal captures to its
            public key; only `photo-server export` opens them. `serve` never
            reads it, so it may live on the export machine alone.

(student_ref needs no key: see photo_wire.ids. A roster.key left by an older
version is no longer read.)
"""

from __future__ import annotations

import base64
from pathlib import Path

from nacl.public import PrivateKey

from photo_wire.files import write_private_file


def _write_secret(path: Path, raw: bytes) -> None:
    # exclusive: never replace a key; captures sealed to it would be lost.
    write_private_file(path, base64.b64encode(raw) + b"\n", exclusive=True)


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
