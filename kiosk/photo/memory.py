"""Keep the process's memory near what it uses (glibc's allocator).

A 12 MP still is 37 MB, and every copy of it (BGR for the encoder, a
mesh copy, a crop) is freed within the still's processing; but glibc
keeps freed heap memory, and once a big block has been freed it raises
its threshold for serving big blocks from the heap (up to 32 MB), so the
next copies land there and the process's RSS ratchets up still by still.
tune_heap fixes the threshold (big arrays are mapped, and given back on
free); release hands back what the heap holds after a one-off burst (the
simulator's portrait cut-out). Not after every still: malloc_trim there
cost 90 ms of CPU a 12 MP still (the pages fault back in), for memory the
fixed threshold already gives back. Both do nothing where the C library
is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

_M_MMAP_THRESHOLD = -3  # mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD = 1 << 20  # a 640x480 frame is 0.9 MB: frames and up are mapped


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc has both
    except (OSError, AttributeError):
        return None
    return libc


@cache
def tune_heap() -> bool:
    """Once per process: serve blocks of MMAP_THRESHOLD and up by mapping.
    True when it took effect."""
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release() -> None:
    """Give the heap's free memory back (after a one-off burst, not per still)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
