"""Jewellery: earrings under the ear lobes, a necklace at the neck.

Chinese diploma photo notices rule both out (不得佩戴耳环、项链等饰物); a
school sets how strict the booth is (PhotoConfig.jewellery): "refuse"
(JEWELLERY is a problem), "warn" (the live hint asks the student to take it
off, the photo is not refused for it) or "ignore" (the default: only
reported; docs/photo-checks.md says why).

Gold, silver and pearl are light and are neither this student's skin
(sampled on the cheeks) nor the backdrop, and they are small: a piece of
jewellery is a small blob of such pixels where a lobe hangs (beside the jaw,
from the nose's base down) or round the neck under the chin. Hair is darker
or, when light, a large region; a collar is large as well.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.measures.appearance import lab_distance, skin_lab
from kiosk.photo.measures.base import CHEEK_LEFT, CHEEK_RIGHT, Measure, MeasureSettings, _band, _clip_box

POLICIES = ("ignore", "warn", "refuse")
NOSE_BASE = 2  # FaceMesh: under the nose, about where the ear lobes end
LIGHT_L = 150  # OpenCV 8-bit L (L* 59): metal and pearl under the booth's lamps
# Blob sizes, as shares of the face width squared: smaller is noise, larger
# is hair or a collar (a stud 0.04 face widths across is 0.0013).
MIN_ROUND, MAX_BLOB = 0.0010, 0.012
ROUND_FILL = 0.55  # a round blob fills this share of its bounding box or more
MAX_ROUND_ASPECT = 1.6  # and is at most this much longer than wide
MIN_CHAIN = 0.2  # a chain spans this many face widths
THICK = 0.06  # face widths: a collar, the neck, a lock of hair is thicker
NEUTRAL_CHROMA = 10.0  # CIELAB chroma: silver, pearl
MIN_CHROMA_GAP = 6.0  # a metal pixel's chroma differs from the skin's by this much
GOLD_CHROMA, GOLD_HUES = 40.0, (65.0, 100.0)  # gold: vivid, yellow
# Glints (glint_area): chosen on the fit half of the real set on the booth's
# blue (docs/photo-checks.md). Zone: from the face's outline at the cheek to
# 0.25 face widths out (0.05 inside read an old face's lit jaw fold as one),
# from 0.05 above the nose's base to 0.4 below it.
GLINT_IN, GLINT_OUT, GLINT_DOWN = 0.0, 0.25, 0.4
GLINT_DISC = 0.05  # face widths: a white top-hat this wide keeps what is smaller
GLINT_CONTRAST, GLINT_L = 25, 170  # OpenCV L: above its surroundings; its brightest pixel
GLINT_AREA = (0.001, 0.01)  # shares of the face width squared
GLINT_ASPECT, GLINT_FILL = 2.5, 0.3  # compact: not a strand of hair, not a jaw line
GLINT_SKIN = 10.0  # mean CIELAB distance from the cheeks' skin (lightness counting half)
_COT = tuple(float(1 / np.tan(np.radians(h))) for h in GOLD_HUES)


def _zones(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]]:
    """Under each ear lobe (beside the jaw), and the neck under the chin."""
    fw, lm = face.face_width, face.landmarks
    lobe = float(lm[NOSE_BASE, 1])
    boxes = []
    for idx, side in ((CHEEK_LEFT, -1), (CHEEK_RIGHT, 1)):
        xa, xb = sorted((lm[idx, 0] - side * 0.04 * fw, lm[idx, 0] + side * 0.14 * fw))
        boxes.append(_clip_box(img.shape, xa, lobe - 0.03 * fw, xb, lobe + 0.22 * fw))
    cx = face.centre_x
    boxes.append(_clip_box(img.shape, cx - 0.32 * fw, face.chin_y + 0.03 * fw, cx + 0.32 * fw, face.chin_y + 0.4 * fw))
    return [b for b in boxes if b is not None]


def _jewellery_pixels(zone: np.ndarray, skin: np.ndarray, s: MeasureSettings) -> np.ndarray:
    """Light pixels of a metal's or a pearl's colour, neither skin nor
    backdrop: near neutral (silver, white gold, pearl) or a vivid yellow
    (gold; skin and blond hair are duller). Next to the backdrop is left
    out: skin blended with the blue cloth along the jaw is neutral grey."""
    lab = cv2.cvtColor(zone, cv2.COLOR_RGB2LAB).astype(np.float32)
    a, b = lab[..., 1] - 128, lab[..., 2] - 128
    chroma = np.sqrt(a * a + b * b)
    # Gold's hue, 65-100 deg from +a*, without an arctan per pixel.
    gold = (chroma >= GOLD_CHROMA) & (a <= b * _COT[0]) & (a >= b * _COT[1])
    metal = (chroma <= NEUTRAL_CHROMA) | gold
    # Not the skin: far from it, or of another chroma (silver beside pale skin is close in CIELAB).
    skin_chroma = float(np.hypot(skin[1] - 128, skin[2] - 128))
    not_skin = (lab_distance(lab, skin) >= s.skin_tolerance) | (
        np.abs(chroma - skin_chroma) >= MIN_CHROMA_GAP)
    backdrop = s.backdrop.is_backdrop(zone).reshape(zone.shape[:2]).astype(np.uint8)
    near_backdrop = cv2.dilate(backdrop, np.ones((5, 5), np.uint8)) > 0
    return (lab[..., 0] >= LIGHT_L) & metal & not_skin & ~near_backdrop


def blobs(img: np.ndarray, boxes: list[tuple[int, int, int, int]], skin: np.ndarray, s: MeasureSettings,
          k: int) -> list[np.ndarray]:
    """Per box, the stats (cv2.connectedComponentsWithStats) of its thin
    blobs of jewellery pixels: only the parts thinner than k px (a chain, a
    stud, a drop), since a collar, the neck or a lock of light hair is
    thicker. Each box is read k px wider each side, so a thick shape its
    edge cuts (an ear, a collar) leaves no thin sliver."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    out = []
    for x0, y0, x1, y1 in boxes:
        px0, py0 = max(x0 - k, 0), max(y0 - k, 0)
        light = _jewellery_pixels(np.ascontiguousarray(img[py0:y1 + k, px0:x1 + k]), skin, s).astype(np.uint8)
        thin = light & (1 - cv2.morphologyEx(light, cv2.MORPH_OPEN, disc))
        part = np.ascontiguousarray(thin[y0 - py0:y1 - py0, x0 - px0:x1 - px0])
        out.append(cv2.connectedComponentsWithStats(part, connectivity=8)[2][1:])
    return out


def _jewellery_sized(stats: np.ndarray, fw: float) -> np.ndarray:
    """Areas (shares of fw squared) of the blobs shaped like jewellery: a
    round one (a stud, a pearl, a pendant: it fills most of its box) or a
    long thin one across the neck (a chain); strands of light hair are
    small or ragged, a collar's edge short."""
    area, w, h = (stats[:, i].astype(np.float64) for i in (cv2.CC_STAT_AREA, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    share = area / fw ** 2
    round_ = (area >= ROUND_FILL * w * h) & (np.maximum(w, h) <= MAX_ROUND_ASPECT * np.minimum(w, h)) & (share >= MIN_ROUND)
    chain = (w >= MIN_CHAIN * fw) & (h <= w) & (area <= 0.03 * fw * w)
    return share[(round_ | chain) & (share <= MAX_BLOB)]


def _glint_zones(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]]:
    fw, lm = face.face_width, face.landmarks
    lobe = float(lm[NOSE_BASE, 1])
    boxes = []
    for idx, side in ((CHEEK_LEFT, -1), (CHEEK_RIGHT, 1)):
        xa, xb = sorted((lm[idx, 0] - side * GLINT_IN * fw, lm[idx, 0] + side * GLINT_OUT * fw))
        boxes.append(_clip_box(img.shape, xa, lobe - 0.05 * fw, xb, lobe + GLINT_DOWN * fw))
    return [b for b in boxes if b is not None]


def glint_area(img: np.ndarray, face: FaceInfo, s: MeasureSettings, skin: np.ndarray) -> float:
    """The largest glint under an ear lobe (share of the face width
    squared; 0: none): a compact bright blob standing out of a white
    top-hat, not the backdrop nor next to it, not the skin's colour."""
    fw = face.face_width
    k = 2 * int(GLINT_DISC * fw / 2) + 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    best = 0.0
    for x0, y0, x1, y1 in _glint_zones(img, face):
        px0, py0 = max(x0 - k, 0), max(y0 - k, 0)
        lab = cv2.cvtColor(np.ascontiguousarray(img[py0:y1 + k, px0:x1 + k]), cv2.COLOR_RGB2LAB).astype(np.float32)
        tophat = cv2.morphologyEx(lab[..., 0], cv2.MORPH_TOPHAT, disc)
        cut = np.s_[y0 - py0:y1 - py0, x0 - px0:x1 - px0]
        lab, tophat = lab[cut], tophat[cut]
        zone = np.ascontiguousarray(img[y0:y1, x0:x1])
        backdrop = s.backdrop.is_backdrop(zone).reshape(zone.shape[:2]).astype(np.uint8)
        near_backdrop = cv2.dilate(backdrop, np.ones((3, 3), np.uint8)) > 0
        lit = ((tophat >= GLINT_CONTRAST) & ~near_backdrop).astype(np.uint8)
        skin_d = lab_distance(lab, skin)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(lit, connectivity=8)
        for i in range(1, n):
            area, w, h = (int(stats[i, c]) for c in (cv2.CC_STAT_AREA, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
            share = area / fw ** 2
            if not (GLINT_AREA[0] <= share <= GLINT_AREA[1] and max(w, h) <= GLINT_ASPECT * min(w, h)
                    and area >= GLINT_FILL * w * h) or share <= best:
                continue
            blob = labels == i
            if lab[..., 0][blob].max() >= GLINT_L and skin_d[blob].mean() >= GLINT_SKIN:
                best = share
    return best


def ornament_area(img: np.ndarray, face: FaceInfo, s: MeasureSettings, skin: np.ndarray | None) -> float | None:
    """The largest jewellery-shaped blob (blobs()) over the lobe and neck
    zones, or glint under a lobe (glint_area()), as a share of the face
    width squared (0: none). skin: skin_lab(img, face)."""
    if skin is None:
        return None
    k = 2 * int(THICK * face.face_width / 2) + 1
    zones = _zones(img, face)
    if not zones:
        return None
    areas = np.concatenate([_jewellery_sized(stats, face.face_width) for stats in blobs(img, zones, skin, s, k)])
    return max(float(areas.max()) if len(areas) else 0.0, glint_area(img, face, s, skin))


def jewellery(img, gray, face, s, g) -> list[Measure]:
    return [_band("JEWELLERY", ornament_area(img, face, s, skin_lab(img, face)), None, s.max_jewellery_area)]


def worn_policy(checks: dict[str, Measure], code: str, policy: str) -> dict[str, Measure]:
    """A worn thing (JEWELLERY, HEAD_COVERED) is a problem only where the
    school's policy for it is "refuse"; its value stays in the report."""
    m = checks.get(code)
    if policy == "refuse" or m is None or m.value is None:
        return checks
    return {**checks, code: replace(m, passed=True)}
