"""Crop a still to the 480x640 spec frame and encode it as the spec JPEG.

Only cropping and scaling: the standard forbids edits (no rotation, no
background fill, no mirroring), so a crop that would run past the still's
edges is refused, never padded with invented pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from kiosk.config import PhotoConfig
from kiosk.photo.analysis import FaceInfo


class PhotoError(Exception):
    """The photo engine cannot make a spec photo from this still."""


class CropError(PhotoError):
    """The spec crop would need pixels outside the still."""


@dataclass(frozen=True)
class SpecGeometry:
    """Head geometry bands of the spec, in pixels of a 480x640 frame."""

    head_top: tuple[float, float] = (50, 110)
    eye_line: tuple[float, float] = (200, 300)
    face_width: tuple[float, float] = (180, 300)
    # Horizontal: face centre within this many px of the frame centre.
    centre_tolerance: float = 24
    max_roll_deg: float = 8.0  # ISO/IEC 19794-5 roll tolerance
    # The crop aims this far inside each band, so that re-measuring the
    # encoded photo (a few px of landmark jitter) still lands in band.
    margin: float = 12
    # A still is refused (LOW_RESOLUTION) when its face is narrower than
    # face_width[0] or the crop would enlarge it more than this: enlarging
    # invents no detail (a 45 px face blown up 5x is not a photo).
    max_upscale: float = 1.5

    def scaled(self, spec: PhotoConfig) -> SpecGeometry:
        """The bands for a frame of spec.height (they are defined for 640)."""
        f = spec.height / 640
        if f == 1:
            return self
        return SpecGeometry(
            head_top=(self.head_top[0] * f, self.head_top[1] * f),
            eye_line=(self.eye_line[0] * f, self.eye_line[1] * f),
            face_width=(self.face_width[0] * f, self.face_width[1] * f),
            centre_tolerance=self.centre_tolerance * f,
            max_roll_deg=self.max_roll_deg,
            margin=self.margin * f,
            max_upscale=self.max_upscale,
        )


GEOMETRY = SpecGeometry()


@dataclass(frozen=True)
class CropPlan:
    """Where the spec frame lies in the source image."""

    scale: float  # output px per source px
    x0: float  # window in source pixels
    y0: float
    width: float
    height: float
    eye_out: float  # predicted positions in the output frame
    head_top_out: float
    face_width_out: float
    fits: bool
    reason: str  # why it does not fit ("" when it does)

    def edges(self, src_w: int, src_h: int) -> dict[str, float]:
        """Source pixels the window runs past each edge (0 when inside)."""
        return {
            "left": max(0.0, -self.x0),
            "top": max(0.0, -self.y0),
            "right": max(0.0, self.x0 + self.width - src_w),
            "bottom": max(0.0, self.y0 + self.height - src_h),
        }


def plan_crop(
    face: FaceInfo, src_w: int, src_h: int, spec: PhotoConfig, geometry: SpecGeometry = GEOMETRY
) -> CropPlan:
    """Choose scale and window: face width mid-band, eye line mid-band unless
    the head top would leave its band, then both inside with a margin."""
    g = geometry.scaled(spec)
    m = g.margin
    target_fw = sum(g.face_width) / 2
    s = target_fw / face.face_width
    # Eye-to-head-top distance must fit between the two bands' gap limits.
    d = face.eye_line_y - face.head_top_y
    lo_gap = g.eye_line[0] - g.head_top[1] + 2 * m
    hi_gap = g.eye_line[1] - g.head_top[0] - 2 * m
    if d > 0 and d * s > hi_gap:
        s = hi_gap / d  # tall hair: make the head a little smaller
    elif d > 0 and d * s < lo_gap:
        s = lo_gap / d
    fw_lo, fw_hi = g.face_width[0] + m, g.face_width[1] - m
    s = min(max(s, fw_lo / face.face_width), fw_hi / face.face_width)
    gap = d * s
    eye_lo = max(g.eye_line[0] + m, g.head_top[0] + m + gap)
    eye_hi = min(g.eye_line[1] - m, g.head_top[1] - m + gap)
    eye_mid = sum(g.eye_line) / 2
    eye_out = min(max(eye_mid, eye_lo), eye_hi) if eye_lo <= eye_hi else (eye_lo + eye_hi) / 2

    cx, _ = face.eyes_mid
    w, h = spec.width / s, spec.height / s
    x0 = cx - w / 2
    y0 = face.eye_line_y - eye_out / s
    plan = CropPlan(
        scale=s, x0=x0, y0=y0, width=w, height=h, eye_out=eye_out,
        head_top_out=eye_out - gap, face_width_out=face.face_width * s, fits=True, reason="",
    )
    over = {k: v for k, v in plan.edges(src_w, src_h).items() if v > 0.5}
    if over:
        reason = "crop runs past the still's " + ", ".join(
            f"{edge} edge by {v:.0f} px" for edge, v in over.items()
        )
        plan = CropPlan(**{**plan.__dict__, "fits": False, "reason": reason})
    return plan


def _resample(src: np.ndarray, x0: int, y0: int, w: int, h: int, spec: PhotoConfig) -> np.ndarray:
    region = src[y0 : y0 + h, x0 : x0 + w]
    shrinking = w >= spec.width
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(region, (spec.width, spec.height), interpolation=interp)
    return np.ascontiguousarray(out)


def crop_to_spec(
    still: np.ndarray, face: FaceInfo, spec: PhotoConfig, geometry: SpecGeometry = GEOMETRY
) -> np.ndarray:
    """The spec frame (spec.height x spec.width RGB) cut from the still.

    Raises CropError when the window runs past the still's edges.
    """
    src_h, src_w = still.shape[:2]
    plan = plan_crop(face, src_w, src_h, spec, geometry)
    if not plan.fits:
        raise CropError(plan.reason)
    x0, y0 = int(round(plan.x0)), int(round(plan.y0))
    w, h = int(round(plan.width)), int(round(plan.height))
    # Rounding may push the window a pixel out; it is inside by construction.
    x0, y0 = min(max(x0, 0), src_w - w), min(max(y0, 0), src_h - h)
    return _resample(still, x0, y0, w, h, spec)


def crop_inside(still: np.ndarray, face: FaceInfo, spec: PhotoConfig,
                geometry: SpecGeometry = GEOMETRY) -> np.ndarray:
    """Best effort when crop_to_spec cannot: the planned window pushed (and
    if need be shrunk) to lie inside the still. The face is then off its
    bands, which the checks report; still nothing invented."""
    src_h, src_w = still.shape[:2]
    plan = plan_crop(face, src_w, src_h, spec, geometry)
    shrink = min(1.0, src_w / plan.width, src_h / plan.height)
    w = int(math.floor(plan.width * shrink))
    h = int(math.floor(plan.height * shrink))
    cx, cy = plan.x0 + plan.width / 2, plan.y0 + plan.height / 2
    x0 = int(round(min(max(cx - w / 2, 0), src_w - w)))
    y0 = int(round(min(max(cy - h / 2, 0), src_h - h)))
    return _resample(still, x0, y0, w, h, spec)


# ------------------------------------------------------------------ JPEG


@dataclass(frozen=True)
class EncodedPhoto:
    data: bytes
    quality: int
    in_range: bool  # size within spec.min_kb..spec.max_kb

    @property
    def kb(self) -> float:
        return len(self.data) / 1024


def _jpeg(img: np.ndarray, quality: int, dpi: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img, "RGB").save(
        buf, "JPEG", quality=quality, dpi=(dpi, dpi), progressive=False, optimize=True
    )
    return buf.getvalue()


def encode_jpeg(img: np.ndarray, spec: PhotoConfig, max_quality: int = 95) -> EncodedPhoto:
    """Baseline RGB JPEG with a JFIF dpi tag, quality chosen for the KB range.

    The highest quality in [spec.min_quality, max_quality] whose file is at
    most spec.max_kb; if even that is under spec.min_kb the image is simply
    plain (max_quality is used), and if spec.min_quality is already over
    spec.max_kb, min_quality is used and in_range says so. Never padded.
    """
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image")
    lo_q, hi_q = spec.min_quality, max(spec.min_quality, max_quality)
    max_b, min_b = spec.max_kb * 1024, spec.min_kb * 1024
    cache: dict[int, bytes] = {}

    def enc(q: int) -> bytes:
        if q not in cache:
            cache[q] = _jpeg(img, q, spec.dpi)
        return cache[q]

    if len(enc(hi_q)) <= max_b:
        best = hi_q
    elif len(enc(lo_q)) > max_b:
        best = lo_q
    else:
        # Invariant: size(lo) <= max < size(hi); size grows with quality.
        lo, hi = lo_q, hi_q
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if len(enc(mid)) <= max_b:
                lo = mid
            else:
                hi = mid
        best = lo
    data = enc(best)
    return EncodedPhoto(data=data, quality=best, in_range=min_b <= len(data) <= max_b)


def encode_original(img: np.ndarray, quality: int = 92) -> bytes:
    """The full still as captured, kept for audit (no spec constraints).

    OpenCV's encoder, fed BGR by swapping img's channels in place and back
    (img is borrowed: nothing else may read it meanwhile): Pillow first
    copies a 12 MP still to 4 bytes a pixel (49 MB) and takes 1.6x as long,
    and a BGR copy would be 37 MB."""
    if not (img.flags.c_contiguous and img.flags.writeable):
        img = img.copy()  # a view or a decoded file's read-only pixels
    _swap_red_blue(img)
    try:
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    finally:
        _swap_red_blue(img)
    if not ok:
        raise PhotoError("the still could not be encoded")
    return data.tobytes()


def _swap_red_blue(img: np.ndarray, rows: int = 256) -> None:
    """RGB <-> BGR in place, a band of rows at a time (OpenCV copies what it
    converts in place: by bands that is 3 MB, not the whole still)."""
    for y in range(0, img.shape[0], rows):
        band = img[y:y + rows]
        cv2.cvtColor(band, cv2.COLOR_RGB2BGR, dst=band)
