"""photo_wire.ids.refs_in_parallel: the booth's and the server's one way of
hashing many values, on a thread pool (scrypt releases the GIL), and the
scheme it computes."""

from __future__ import annotations

import hashlib

import pytest

from photo_wire.ids import SALT, SCRYPT_N, SCRYPT_P, SCRYPT_R, opaque_ref, refs_in_parallel

VALUES = ["110101200001011234", "11010120000202567X", "04A2C3D4", "", "110101200001011234"]


@pytest.mark.parametrize("workers", [1, 3, None])
def test_same_refs_in_the_same_order_as_one_by_one(workers: int | None) -> None:
    assert refs_in_parallel(VALUES, "id", workers) == [opaque_ref("id", v) for v in VALUES]


def test_kind_keeps_equal_values_apart() -> None:
    assert refs_in_parallel(["1234"], "uid") != refs_in_parallel(["1234"], "id")


def test_progress_every_n_and_at_the_end() -> None:
    calls: list[tuple[int, int]] = []
    refs_in_parallel(VALUES, "id", 2, lambda done, total: calls.append((done, total)), every=2)
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_nothing_to_hash_is_no_work_and_no_progress() -> None:
    calls: list[tuple[int, int]] = []
    assert refs_in_parallel([], "id", progress=lambda d, t: calls.append((d, t))) == []
    assert calls == []


def test_workers_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="workers must be at least 1"):
        refs_in_parallel(VALUES, "id", 0)


@pytest.mark.parametrize("value", ["110101200001011234", "04A2C3D4", "", "学生"])
def test_the_ref_is_plain_scrypt_whatever_computes_it(value: str) -> None:
    """libsodium computes it (faster); the scheme is scrypt-v1 as before: every
    ref already on a booth or in a roster still matches."""
    expected = hashlib.scrypt(f"id:{value}".encode(), salt=SALT, n=SCRYPT_N, r=SCRYPT_R,
                              p=SCRYPT_P, maxmem=2**27, dklen=32).hex()
    assert opaque_ref("id", value) == expected
