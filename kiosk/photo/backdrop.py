"""The booth's backdrop: a colour model that tells backdrop from person.

A pixel is backdrop when its chromaticity (r, g, b divided by their sum) is
close to the backdrop's and its brightness is within a wide band around the
backdrop's. Chromaticity does not change when light falls off or a shadow
lands on the cloth, so a shadow still reads as backdrop, only darker: that
is how shadows are found, and why they do not count as hair when the head
top is searched.

The default model is the spec's reference blue, RGB(100, 197, 255). Staff
calibrate it from a frame of the empty booth (staff mode, or `kiosk
calibrate-backdrop`): the measured colour and noise of this cloth under
these lamps with this camera replace the defaults, saved as JSON in the data
dir.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

REFERENCE_RGB: tuple[int, int, int] = (100, 197, 255)
BACKDROP_FILE = "backdrop.json"


class CalibrationError(ValueError):
    """The frame cannot calibrate the backdrop; the message says why (English,
    for logs); `code` keys the staff-facing text."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Backdrop:
    rgb: tuple[float, float, float] = REFERENCE_RGB
    # Largest chromaticity distance still called backdrop. JPEG noise on the
    # simulated cloth measures under 0.01; skin and hair are 0.15 or more
    # away from blue, a light-blue shirt about 0.07.
    chroma_tolerance: float = 0.06
    # Brightness (r+g+b) relative to the backdrop's: below min_brightness a
    # pixel is too dark to judge its colour (hair, shadowed cloth in a dark
    # booth), above max_brightness it is a lamp or glare.
    min_brightness: float = 0.3
    max_brightness: float = 1.6
    # A backdrop pixel darker than this share of the visible backdrop's
    # median is in shadow.
    shadow_below: float = 0.8
    calibrated_at: str | None = None  # None: the spec default, not measured

    # Made once a model (a frozen model's own numbers): is_backdrop reads
    # them on every call, several a preview frame.
    @cached_property
    def chroma(self) -> np.ndarray:
        r = np.asarray(self.rgb, np.float32)
        return r / max(float(r.sum()), 1.0)

    @cached_property
    def _chroma_floats(self) -> tuple[float, float, float]:
        return tuple(float(x) for x in self.chroma)  # type: ignore[return-value]

    @cached_property
    def brightness(self) -> float:
        return float(sum(self.rgb))

    def is_backdrop(self, rgb: np.ndarray) -> np.ndarray:
        """Boolean mask of backdrop pixels (lit or shadowed) of an RGB image:
        chromaticity within chroma_tolerance of the cloth's (|rgb/sum - c| <
        tol, multiplied out by sum) and brightness within the band. Per channel
        plane: 12x faster than on (h, w, 3) arrays, and it runs every frame."""
        if rgb.shape[-1] != 3:
            raise ValueError("expected RGB pixels")
        # Any shape (h, w, 3) or (n, 3): as one column of n pixels for OpenCV.
        r, g, b = (p.astype(np.float32) for p in cv2.split(np.ascontiguousarray(rgb).reshape(-1, 1, 3)))
        total = r + g + b
        cr, cg, cb = self._chroma_floats
        dr, dg, db = r - cr * total, g - cg * total, b - cb * total
        tol = self.chroma_tolerance * total
        mask = ((dr * dr + dg * dg + db * db < tol * tol)
                & (total > self.min_brightness * self.brightness)
                & (total < self.max_brightness * self.brightness))
        return mask.reshape(rgb.shape[:-1])

    def shadow_share(self, rgb: np.ndarray, where: np.ndarray) -> float | None:
        """Share of the backdrop pixels inside `where` that lie in shadow:
        darker than shadow_below times the median of the backdrop seen there.
        None when no backdrop shows."""
        region = rgb[where]
        if region.size == 0:
            return None
        bg = self.is_backdrop(region)
        if bg.sum() < 50:
            return None
        total = region[bg].astype(np.float32).sum(axis=-1)
        return float(np.mean(total < self.shadow_below * float(np.median(total))))

    def save(self, data_dir: Path) -> Path:
        """Write the model durably (temp + fsync + rename) as data_dir/backdrop.json."""
        path = Path(data_dir) / BACKDROP_FILE
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path


def load_backdrop(data_dir: Path) -> Backdrop:
    """The calibrated model from data_dir, or the default when there is none
    (or it is unreadable: a bad file must not stop the booth)."""
    path = Path(data_dir) / BACKDROP_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["rgb"] = tuple(float(v) for v in raw["rgb"])
        model = Backdrop(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return Backdrop()
    sane = (len(model.rgb) == 3 and all(0 < v <= 255 for v in model.rgb)
            and 0 < model.chroma_tolerance < 0.5
            and 0 <= model.min_brightness < 1 < model.max_brightness
            and 0 < model.shadow_below < 1)
    return model if sane else Backdrop()


def calibrate(empty: np.ndarray, now: datetime | None = None,
              reference: Backdrop = Backdrop()) -> Backdrop:
    """A model measured on a frame of the empty, lit backdrop.

    Refuses (CalibrationError) a frame that is not mostly one colour close
    enough to a blue backdrop (someone standing in front, lamps off, the
    camera pointing elsewhere), because a wrong model would misjudge every
    later photo.
    """
    if empty.ndim != 3 or empty.shape[2] != 3:
        raise CalibrationError("not_image", "expected an RGB image")
    # Ignore the outer tenth each side: the cloth's edge and the booth frame.
    h, w = empty.shape[:2]
    core = empty[h // 10: h - h // 10, w // 10: w - w // 10].reshape(-1, 3).astype(np.float32)
    total = core.sum(axis=1)
    median_rgb = np.median(core, axis=0)
    if float(median_rgb.sum()) < 0.35 * reference.brightness:
        raise CalibrationError("too_dark", "the backdrop is too dark: are the lamps on?")
    chroma = core / np.maximum(total, 1.0)[:, None]
    centre = median_rgb / float(median_rgb.sum())
    if float(np.linalg.norm(centre - reference.chroma)) > 0.08:
        raise CalibrationError(
            "wrong_colour", f"the frame is not the blue backdrop (median RGB {median_rgb.round()})")
    dist = np.linalg.norm(chroma - centre, axis=1)
    if float(np.mean(dist > reference.chroma_tolerance)) > 0.02:
        raise CalibrationError("not_empty", "something other than the backdrop is in view")
    # Four times the noise, kept within limits that still tell a light-blue
    # shirt (0.07 away) from the cloth.
    tolerance = float(np.clip(4.0 * np.percentile(dist, 99), 0.03, 0.06))
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return Backdrop(rgb=tuple(float(round(v, 1)) for v in median_rgb),  # type: ignore[arg-type]
                    chroma_tolerance=round(tolerance, 4), min_brightness=reference.min_brightness,
                    max_brightness=reference.max_brightness, shadow_below=reference.shadow_below,
                    calibrated_at=stamp)
