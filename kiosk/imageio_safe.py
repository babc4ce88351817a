"""Read an image file given on the command line, refusing what would hurt.

Staff and scripts hand `check-photo`, `guide` and `calibrate-backdrop` any
file. A PNG of a few hundred KB or a JPEG header of 23 bytes can claim
20000x20000 pixels (a decompression bomb): decoding it would take gigabytes.
Pillow reads the size from the header without decoding, so the size is
checked first and anything above MAX_PIXELS is refused. Only JPEG and PNG
are opened (what the photo spec and the camera use), so no other decoder
ever sees these files.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from photo_wire.files import ReadRefused, read_bounded

# The Pi HQ camera's still is 12.3 Mpx (4056x3040) and a phone's full-resolution
# photo up to 50 Mpx (8160x6120); above that nothing real is checked here.
# Peak memory per size: benchmarks/bench_image_limit.py.
MAX_PIXELS = 50_000_000
# A 50-Mpx PNG is at most ~150 MB; a bigger file is not a photo.
MAX_FILE_BYTES = 200 * 1024 * 1024
FORMATS = ("JPEG", "PNG")


class ImageError(Exception):
    """The file is not an image we can read; the message says why in one line."""


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[bytes, np.ndarray]:
    """(file bytes, RGB uint8 array) of a JPEG or PNG no larger than max_pixels."""
    path = Path(path)
    try:
        data = read_bounded(path, MAX_FILE_BYTES, "image")
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except ReadRefused as err:
        raise ImageError(str(err)) from None
    try:
        with warnings.catch_warnings():
            # Our own limit is lower than Pillow's warning threshold; its
            # DecompressionBombError (far above it) still comes as an error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as err:
        # Far above our limit: Pillow refused it at the header, naming the pixel count.
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        raise ImageError(_too_large(path, int(claimed[1]) if claimed else None, max_pixels)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError(f"{path}: not a JPEG or PNG image") from None
    width, height = img.size  # from the header: nothing decoded yet
    if width * height > max_pixels:
        raise ImageError(_too_large(path, width * height, max_pixels, f"{width}x{height} = "))
    try:
        img.load()
        # A phone photo is stored sideways with an EXIF Orientation tag:
        # analyse it the way it is shown.
        img = ImageOps.exif_transpose(img)
        rgb = np.ascontiguousarray(np.asarray(img.convert("RGB")))
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageError(f"{path}: damaged or truncated image ({err})") from None
    return data, rgb


def _too_large(path: Path, pixels: int | None, max_pixels: int, size: str = "") -> str:
    mpx = f"{pixels / 1e6:.1f}".removesuffix(".0")
    claimed = f"{size}{mpx} Mpx" if pixels else "far more pixels"
    return (f"{path}: image too large ({claimed}; at most {max_pixels / 1e6:.0f} Mpx): "
            "refused before decoding")
