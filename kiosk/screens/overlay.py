"""Framing overlay geometry for the live preview (pure Python, no Kivy).

The photo-spec bands inside the 480x640 spec crop: head top 50-110 px,
eye line 200-300 px, face width 180-300 px. The crop drawn on the preview is
the 3:4 rectangle centred in the frame, sized so that a face
target_face_share * preview_w wide fills 240/480 of the crop's width (the
middle of the allowed face width). Rectangles are in preview pixels, origin
top-left, y down; the screen converts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.photo.crop import GEOMETRY
from kiosk.photo.guidance import DEFAULT_SETTINGS

# The spec's bands have one home (kiosk.photo.crop.GEOMETRY).
SPEC_W, SPEC_H = 480, 640
HEAD_TOP = GEOMETRY.head_top
EYE_LINE = GEOMETRY.eye_line
FACE_WIDTH = GEOMETRY.face_width
FACE_TARGET = sum(FACE_WIDTH) / 2
FACE_BAND_BOTTOM = 420  # where the cheek markers end (about the mouth)
# The middle of the distance band guidance accepts, so the box drawn is the
# crop the kiosk will make when the student stands where guidance wants.
DEFAULT_FACE_SHARE = (DEFAULT_SETTINGS.face_share_min + DEFAULT_SETTINGS.face_share_max) / 2


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def inside(self, other: Rect, tol: float = 1e-6) -> bool:
        return (
            self.x >= other.x - tol
            and self.y >= other.y - tol
            and self.right <= other.right + tol
            and self.bottom <= other.bottom + tol
        )


@dataclass(frozen=True)
class OverlayGeometry:
    crop: Rect  # the 3:4 spec crop
    head_top: Rect  # band the top of the hair should fall in (crop-wide)
    eye_line: Rect  # band the eyes should fall in (crop-wide)
    face_left: Rect  # where the left cheek edge should be
    face_right: Rect  # where the right cheek edge should be
    scale: float  # preview px per spec px


def overlay_geometry(
    preview_w: float, preview_h: float, target_face_share: float = DEFAULT_FACE_SHARE
) -> OverlayGeometry:
    """The spec crop and its bands for a preview_w x preview_h preview.

    If the crop for target_face_share would not fit the frame, it is shrunk
    to fit (the face share shown is then larger than asked).
    """
    if preview_w <= 0 or preview_h <= 0:
        raise ValueError("preview size must be positive")
    if not 0 < target_face_share <= 1:
        raise ValueError("target_face_share must be in (0, 1]")
    crop_w = target_face_share * preview_w * SPEC_W / FACE_TARGET
    crop_w = min(crop_w, preview_w, preview_h * SPEC_W / SPEC_H)
    s = crop_w / SPEC_W
    crop_h = SPEC_H * s
    cx, x0, y0 = preview_w / 2, (preview_w - crop_w) / 2, (preview_h - crop_h) / 2

    def band(top: float, bottom: float) -> Rect:
        return Rect(x0, y0 + top * s, crop_w, (bottom - top) * s)

    lo, hi = FACE_WIDTH
    marker_w = (hi - lo) / 2 * s
    marker_top = y0 + EYE_LINE[0] * s
    marker_h = (FACE_BAND_BOTTOM - EYE_LINE[0]) * s
    return OverlayGeometry(
        crop=Rect(x0, y0, crop_w, crop_h),
        head_top=band(*HEAD_TOP),
        eye_line=band(*EYE_LINE),
        face_left=Rect(cx - hi / 2 * s, marker_top, marker_w, marker_h),
        face_right=Rect(cx + lo / 2 * s, marker_top, marker_w, marker_h),
        scale=s,
    )
