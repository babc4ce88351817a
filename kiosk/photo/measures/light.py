"""Exposure and colour: how the camera recorded the face, judged from what
a camera fixes (highlights, clipping), never from the skin's own lightness."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.backdrop import Backdrop
from kiosk.photo.measures.base import _band, _skin
from kiosk.photo.measures.scene import background_mask


def backdrop_luma(img: np.ndarray, gray: np.ndarray, face: FaceInfo, backdrop: Backdrop) -> float | None:
    """Median luma of the backdrop cloth visible around the head, or None
    when too little of it shows (a photo taken elsewhere)."""
    where = background_mask(img.shape, face)
    where &= backdrop.is_backdrop(img)
    return float(np.median(gray[where])) if where.sum() >= 200 else None


def exposure(img, gray, face, s, g) -> list[Measure]:
    """UNDEREXPOSED: the face's highlights (99th percentile) against a floor
    that rises with the measured backdrop: a dim camera or a face in shadow
    before a lit cloth both fail, a dark but well-lit face does not (its
    eye whites and lit skin still reach the highlights). OVEREXPOSED: the
    share of the face clipped white."""
    skin = _skin(gray, face)
    if skin.size == 0:
        return [_band("UNDEREXPOSED", None, s.min_highlight_luma, None),
                _band("OVEREXPOSED", None, None, s.max_clipped_share)]
    highlight = face.highlight_luma
    floor = s.min_highlight_luma
    cloth = backdrop_luma(img, gray, face, s.backdrop)
    if cloth is not None:
        floor = max(floor, round(s.min_highlight_to_backdrop * cloth, 1))
    clipped = float(np.mean(skin >= s.clip_luma))
    return [_band("UNDEREXPOSED", highlight, floor, None),
            _band("OVEREXPOSED", clipped, None, s.max_clipped_share)]


def lighting(img, gray, face, s, g) -> list[Measure]:
    """Left vs right half of the face oval (split at the nose bridge)."""
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.landmarks[:468].astype(np.int32)), 1)
    mid = int(round(face.landmarks[168, 0]))  # between the eyes
    left = gray[:, :mid][mask[:, :mid].astype(bool)]
    right = gray[:, mid:][mask[:, mid:].astype(bool)]
    if left.size == 0 or right.size == 0:
        lim = s.max_lighting_asymmetry
        return [_band("UNEVEN_LIGHTING", None, -lim, lim)]
    a, b = float(np.median(left)), float(np.median(right))
    value = (a - b) / max((a + b) / 2, 1.0)  # + = image left brighter
    lim = s.max_lighting_asymmetry
    return [_band("UNEVEN_LIGHTING", value, -lim, lim)]

