"""Image files that claim more than they hold, generated on the spot (tests, benchmarks).

A PNG is written row by row through zlib, so a file claiming 20000x20000
costs the test a few KB of memory; the JPEG is a bare header (start of
image, frame header with the size, end of image) that Pillow reads the size from.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_claiming(path: Path, width: int, height: int, mode: str = "1") -> Path:
    """A valid all-black PNG of that size: mode '1' (1 bit a pixel, tiny) or 'RGB'."""
    bits, colour_type, channels = {"1": (1, 0, 1), "RGB": (8, 2, 3)}[mode]
    row = b"\x00" + bytes((width * bits * channels + 7) // 8)  # filter byte, then pixels
    compressor = zlib.compressobj(9)
    idat = bytearray()
    for _ in range(height):
        idat += compressor.compress(row)
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bits, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", bytes(idat))
                     + _chunk(b"IEND", b""))
    return path


def jpeg_header_claiming(path: Path, width: int, height: int) -> Path:
    """23 bytes: SOI, a baseline frame header for a 3-component image, EOI."""
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    path.write_bytes(b"\xff\xd8\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame + b"\xff\xd9")
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
