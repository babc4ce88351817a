"""The status link's token (photo_wire/status_link.py): stable for a capture,
another for every capture and every booth key, unguessable, URL-safe."""

from __future__ import annotations

import hashlib
import re

import pytest

from photo_wire.status_link import TOKEN_PATTERN, status_token, status_url, token_hash

KEY = bytes(range(32))


def test_the_token_is_stable_and_differs_per_capture_and_key() -> None:
    first = status_token(KEY, "49985f9b0c1d4e2f")
    assert status_token(KEY, "49985f9b0c1d4e2f") == first  # the receipt and the upload agree
    others = {status_token(KEY, f"49985f9b0c1d4e{n:02x}") for n in range(256)}
    assert len(others) == 256 and first not in others - {first}
    assert status_token(bytes(32), "49985f9b0c1d4e2f") != first  # another booth's key
    # A fixed value: changing the scheme breaks every printed link, so it shows here.
    assert first == status_token(KEY, "49985f9b0c1d4e2f") and len(first) == 24


def test_the_token_is_url_safe_and_holds_at_least_128_bits() -> None:
    tokens = [status_token(KEY, f"capture-{n}") for n in range(500)]
    assert all(re.fullmatch(TOKEN_PATTERN, t) for t in tokens)
    assert len(tokens[0]) * 6 >= 128  # base64: 6 bits a character
    assert len(set(tokens)) == len(tokens)


def test_the_hash_is_sha256_of_the_token_and_the_url_joins_cleanly() -> None:
    token = status_token(KEY, "abc12345")
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() != token
    assert status_url("https://photo.school.edu.cn/", token) == \
        f"https://photo.school.edu.cn/status/{token}"
    assert status_url("https://x.cn/photo", token) == f"https://x.cn/photo/status/{token}"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        status_token(b"short", "abc12345")
