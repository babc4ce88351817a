"""Appearance: hair over the brows and ears, measured against this
student's own skin, sampled on the cheeks (glasses: eyewear.py)."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.measures.base import (CHEEK_LEFT, CHEEK_RIGHT, Measure,
                                       MeasureSettings, _band, _clip_box)


# ------------------------------------------------------------ hair (skin)

CHEEKS = (50, 280)  # mid-cheek points, under each eye
BROW_TOP_LEFT = (70, 63, 105, 66, 107)  # upper edge of the image-left brow
BROW_TOP_RIGHT = (300, 293, 334, 296, 336)


def _lab(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)


def _cheek_boxes(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]]:
    r = 0.04 * face.face_width
    boxes = (_clip_box(img.shape, x - r, y - r, x + r, y + r)
             for x, y in (face.landmarks[i] for i in CHEEKS))
    return [b for b in boxes if b is not None]


def skin_lab(img: np.ndarray, face: FaceInfo) -> np.ndarray | None:
    """Median CIELAB colour of the two cheeks: this student's skin."""
    boxes = _cheek_boxes(img, face)
    if not boxes:
        return None
    return np.median(np.concatenate([_lab(img, b).reshape(-1, 3) for b in boxes]), axis=0)


def _is_skin(img, box, skin: np.ndarray, s: MeasureSettings) -> np.ndarray:
    # Lightness counts half: skin in shade (an ear, under the brow) is still
    # skin, while hair differs from it in hue as well.
    diff = (_lab(img, box) - skin) * _SKIN_WEIGHTS
    return np.einsum("...i,...i->...", diff, diff) < s.skin_tolerance ** 2


_SKIN_WEIGHTS = np.asarray([0.5, 1.0, 1.0], np.float32)


def brow_skin(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
              skin: np.ndarray | None) -> float | None:
    """The lower of the two brows' best skin row just above the brow: low when
    a fringe hides the brows (the mesh still places them under the hair).
    skin: skin_lab(img, face), shared with ear_hair."""
    if skin is None:
        return None
    fw = face.face_width
    values = []
    for ids in (BROW_TOP_LEFT, BROW_TOP_RIGHT):
        pts = face.landmarks[list(ids)]
        x0, x1 = pts[:, 0].min(), pts[:, 0].max()
        inset = 0.1 * (x1 - x0)  # the tails of the brow meet the temples' hair
        top = pts[:, 1].min()
        box = _clip_box(img.shape, x0 + inset, top - 0.08 * fw, x1 - inset, top)
        if box is None:
            return None
        values.append(float(_is_skin(img, box, skin, s).mean(axis=1).max()))
    return min(values)


def ear_hair(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
             skin: np.ndarray | None) -> float | None:
    """The larger share, over the two ear zones, of what is neither skin nor
    backdrop. The zone is beside the cheek, from the eye line down about as
    far as an ear reaches. skin: skin_lab(img, face)."""
    if skin is None:
        return None
    fw = face.face_width
    values = []
    for idx, side, eye in ((CHEEK_LEFT, -1, face.left_eye), (CHEEK_RIGHT, 1, face.right_eye)):
        x = face.landmarks[idx, 0]
        xa, xb = sorted((x + side * 0.01 * fw, x + side * 0.12 * fw))
        box = _clip_box(img.shape, xa, eye[1], xb, eye[1] + 0.3 * fw)
        if box is None:
            return None
        region = img[box[1]:box[3], box[0]:box[2]]
        other = ~(_is_skin(img, box, skin, s) | s.backdrop.is_backdrop(region))
        values.append(float(other.mean()))
    return max(values)


def hair(img, gray, face, s, g) -> list[Measure]:
    skin = skin_lab(img, face)
    return [_band("EYEBROWS_COVERED", brow_skin(img, face, s, skin), s.min_brow_skin_share, None),
            _band("EARS_COVERED", ear_hair(img, face, s, skin), None, s.max_ear_hair_share)]
