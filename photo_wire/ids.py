"""Who a student is on the wire: normalised values and their opaque refs.

student_ref (and a card UID's uid_hash, and the 采集码's digest) is scrypt
over "kind:value" with fixed parameters and salt: the same on every booth
from its first capture and on the server, with no key to hand out, so a
booth never changes scheme when the server's roster arrives. It is
memory-hard on purpose: the booth's SD card holds these refs, and an ID
number has only ~10^8-10^9 plausible values (area code, birth date,
sequence; the check character follows), so a fast hash, or a keyed one
whose key sits next to it, lets anyone holding the card recover every ID
number. benchmarks/bench_refs.py prints what one ref and a brute force cost.
"""

from __future__ import annotations

import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Literal, Sequence

from nacl.bindings import crypto_pwhash_scryptsalsa208sha256_ll as _scrypt

# 32 MiB and ~0.1 s per ref on a PC core (a Pi 4 is slower, once per card or
# 采集码): 10^9 guesses cost ~10^8 core-seconds. Changing any of these
# changes every ref: it is a new scheme (new SCHEME_NAME), not a tweak.
SCHEME_NAME = "scrypt-v1"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT = b"photo-kiosk student_ref scrypt-v1"
_MAXMEM = 2 * 128 * SCRYPT_N * SCRYPT_R * SCRYPT_P

Kind = Literal["id", "uid", "code"]


def normalise_id(value: str) -> str:
    """An ID number as read from a card, typed, or taken from a spreadsheet
    cell: full-width characters made plain (NFKC), Excel's leading ' text
    marker and every space dropped, the check character X upper-case."""
    text = unicodedata.normalize("NFKC", value).strip().lstrip("'")
    return "".join(text.split()).upper()


def normalise_uid(value: str) -> str:
    """A card UID as readers and spreadsheets write it ("04:A2:c3...",
    "04 a2 c3..."): upper-case hex, no separators."""
    text = unicodedata.normalize("NFKC", value).upper()
    return "".join(ch for ch in text if ch not in ":-" and not ch.isspace())


def name_key(value: str) -> str:
    """Centre and session names as stored and compared: stripped, casefolded."""
    return value.strip().casefold()


def opaque_ref(kind: Kind, value: str) -> str:
    """scrypt("kind:value") as 64 hex digits; kind keeps an ID number, a UID
    and a 采集码 that happen to be equal apart. value must be normalised.
    libsodium's scrypt, not hashlib's (OpenSSL): the same bytes, in ~30 %
    less CPU on x86 (its salsa20/8 uses SSE2), which is most of the office's
    search by full ID number; an attacker's GPU is faster than either."""
    return _scrypt(f"{kind}:{value}".encode("utf-8"), SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P,
                   dklen=32, maxmem=_MAXMEM).hex()


def refs_in_parallel(values: Sequence[str], kind: Kind, workers: int | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     every: int = 500) -> list[str]:
    """opaque_ref(kind, v) for each normalised value, in order, on a pool of
    threads (os.cpu_count() unless workers says): the scrypt call releases
    the GIL (cffi) (benchmarks/bench_roster_import.py measures it), so threads use
    every core without a process pool's start-up and pickling. progress:
    called with (done, total) every `every` refs and at the end."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    out: list[str] = []
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        for ref in pool.map(lambda value: opaque_ref(kind, value), values):
            out.append(ref)
            if progress and (len(out) % every == 0 or len(out) == len(values)):
                progress(len(out), len(values))
    return out


def student_ref(id_number: str) -> str:
    """The student's ref: roster rows, captures and "already captured" use it."""
    return opaque_ref("id", normalise_id(id_number))


def uid_ref(uid: str) -> str:
    """A roster row's uid_hash, and a PC/SC card read's lookup key."""
    return opaque_ref("uid", normalise_uid(uid))


def code_digest(code_payload: str) -> str:
    """What the booth keeps of a 采集码 to refuse it for another student."""
    return opaque_ref("code", code_payload)
