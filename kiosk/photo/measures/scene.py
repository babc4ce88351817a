"""The scene around the student: the backdrop, shadows on it, clothing that
merges with it, and the shoulders against it."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.backdrop import Backdrop
from kiosk.photo.measures.base import NOSE_TIP, _band, Measure


# ------------------------------------------------------------ background


def background_boxes(shape: tuple[int, ...], face: FaceInfo) -> list[tuple[int, int, int, int]]:
    """Where the backdrop must show, as boxes x0, y0, x1, y1 (none empty):
    above the hair, and beside the head down to the nose tip (lower,
    shoulders and collars rise into view), with a margin around the
    person's likely outline."""
    h, w = shape[:2]
    fw = face.face_width
    top = min(int(face.head_top_y - 0.06 * fw), h)
    x0, _, x1, _ = face.box
    bottom = int(min(max(face.landmarks[NOSE_TIP, 1], 0), h))
    left, right = min(int(x0 - 0.35 * fw), w), max(int(x1 + 0.35 * fw), 0)  # hair and ears
    boxes = [(0, 0, w, top), (0, max(top, 0), left, bottom), (right, max(top, 0), w, bottom)]
    return [b for b in boxes if b[2] > b[0] and b[3] > b[1]]


def background_mask(shape: tuple[int, ...], face: FaceInfo) -> np.ndarray:
    """background_boxes as a mask of the image."""
    mask = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in background_boxes(shape, face):
        mask[y0:y1, x0:x1] = True
    return mask


def background(img, gray, face, s, g) -> list[Measure]:
    mask = background_mask(img.shape, face)
    if mask.sum() < 200:  # no backdrop visible at all: the framing is wrong
        return [_band("BACKGROUND_COLOUR", None, None, s.max_background_distance),
                _band("BACKGROUND_UNEVEN", None, None, s.max_background_spread)]
    # A light blur removes sensor noise and JPEG ringing, not gradients or objects.
    smooth = cv2.blur(img, (3, 3)).astype(np.float32)
    px = smooth[mask]
    mean = px.mean(axis=0)
    dist = min(float(np.linalg.norm(mean - np.asarray(ref, np.float32))) for ref in s.backdrops)
    spread = float(np.sqrt(((px - mean) ** 2).sum(axis=1).mean()))
    return [_band("BACKGROUND_COLOUR", dist, None, s.max_background_distance),
            _band("BACKGROUND_UNEVEN", spread, None, s.max_background_spread)]


def clothing_region(shape: tuple[int, ...], face: FaceInfo) -> tuple[int, int, int, int]:
    """The chest and shoulders below the neck: x0, y0, x1, y1."""
    h, w = shape[:2]
    fw = face.face_width
    cx = face.centre_x
    y0 = int(face.chin_y + 0.45 * fw)
    return (max(int(cx - 0.9 * fw), 0), min(max(y0, 0), h), min(int(cx + 0.9 * fw), w), h)


def clothing(img, gray, face, s, g) -> list[Measure]:
    x0, y0, x1, y1 = clothing_region(img.shape, face)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return [_band("CLOTHING_MATCHES_BACKGROUND", None, None, s.max_clothing_backdrop_share)]
    near = s.backdrop.is_backdrop(img[y0:y1, x0:x1])
    return [_band("CLOTHING_MATCHES_BACKGROUND", float(near.mean()), None,
                  s.max_clothing_backdrop_share)]


def shoulder_tilt(img: np.ndarray, face: FaceInfo, backdrop: Backdrop) -> float | None:
    """Tilt of the shoulder line in degrees (+: the image-right shoulder is
    lower), from the backdrop model: in a band of columns each side of the
    neck (0.7-0.95 face widths from the face centre), the first run of three
    non-backdrop rows below jaw level is the top of that shoulder. None when
    a band is outside the frame or shows no body."""
    h, w = img.shape[:2]
    fw, cx = face.face_width, face.centre_x
    y0 = int(min(max(face.chin_y - 0.35 * fw, 0), h))
    tops = []
    for xa, xb in ((cx - 0.95 * fw, cx - 0.7 * fw), (cx + 0.7 * fw, cx + 0.95 * fw)):
        x0, x1 = max(int(xa), 0), min(int(xb), w)
        if x1 - x0 < 3 or h - y0 < 4:
            return None
        body = (~backdrop.is_backdrop(img[y0:, x0:x1])).astype(np.int32)
        csum = np.vstack([np.zeros((1, body.shape[1]), np.int32), np.cumsum(body, axis=0)])
        hit = (csum[3:] - csum[:-3]) == 3
        found = hit.any(axis=0)
        if found.mean() < 0.8:
            return None
        tops.append((float(np.median(np.argmax(hit, axis=0)[found])) + y0, (x0 + x1) / 2))
    (yl, xl), (yr, xr) = tops
    return math.degrees(math.atan2(yr - yl, xr - xl))


def shoulders(img, gray, face, s, g) -> list[Measure]:
    tilt = shoulder_tilt(img, face, s.backdrop)
    limit = s.max_shoulder_tilt_deg
    if limit is None:  # reported only
        return [Measure("SHOULDERS_NOT_LEVEL", None if tilt is None else round(tilt, 3), (None, None), True)]
    return [_band("SHOULDERS_NOT_LEVEL", None if tilt is None else abs(tilt), None, limit)]


def background_shadow(img, gray, face, s, g) -> list[Measure]:
    value = s.backdrop.shadow_share(img, background_mask(img.shape, face))
    return [_band("BACKGROUND_SHADOW", value, None, s.max_shadow_share)]


def backdrop_rgb(img: np.ndarray, face: FaceInfo) -> np.ndarray | None:
    """The colour of the backdrop as this photo shows it, whatever it is
    (blue cloth, a white or grey wall): the commonest colour where the
    backdrop must show (background_boxes), not the booth's calibrated model.
    Commonest, not median: long hair or shoulders reaching into the boxes
    spread over many colours, a plain backdrop fills one. None when too
    little of them is in the frame."""
    boxes = background_boxes(img.shape, face)
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
    k = max(1, int((area / 2000) ** 0.5))  # some 2,000 pixels are plenty for a mode
    parts = [img[y0:y1:k, x0:x1:k].reshape(-1, 3) for x0, y0, x1, y1 in boxes]
    px = np.concatenate(parts) if parts else np.zeros((0, 3), np.uint8)
    if len(px) < 100:
        return None
    bins = (px >> 4).astype(np.int32)  # 16 levels a channel
    keys = (bins[:, 0] << 8) | (bins[:, 1] << 4) | bins[:, 2]
    top = int(np.bincount(keys, minlength=4096).argmax())
    centre = np.array([top >> 8, (top >> 4) & 15, top & 15], np.int32)
    near = (np.abs(bins - centre) <= 1).all(axis=1)  # the mode's bin and its neighbours
    return px[near].mean(axis=0, dtype=np.float32)
