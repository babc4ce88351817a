"""Head coverings: a hat, cap, beret, hood or headscarf over the crown.

The spec allows none ("no hat, scarf or head covering"). The analysis pass
already found the head top (the first backdrop above the hair, so a hat's
top when there is one) and the forehead; between them, across the face's
width, is the crown. Every pixel there is backdrop, this student's skin
(sampled on the cheeks), hair, or something else; a covering is the
something else. Hair is dark (black, dark brown, any dyed dark) or of a
natural hair colour (blond, brown, auburn, grey), so a covering shows as
a colour no natural hair has: a saturated or cool hue (red, blue, green,
purple, pink, navy, bright gold) or clean white that is solid and not at
the backdrop's edge (grey and blond hair have white streaks and a light
fringe against the cloth). Dark and faintly coloured is hair under a
tinted light, whatever the hue. A crown not read (no head top, no crown
box, no skin sample) reads 0.

Not seen: a covering in a natural hair colour (black, brown, grey, beige:
it reads as hair), in the student's skin colour (it reads as skin), or in
the backdrop's (the head top then sits on its brim: HEAD_TOP_OUT_OF_BAND,
and no crown is left to read). Hair's texture was tried as a cue for
smooth cloth in hair colours: blur and JPEG smooth hair as much, so a
soft photo of a bare head read as covered.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.measures.appearance import lab_distance, skin_lab
from kiosk.photo.measures.base import CHEEK_LEFT, CHEEK_RIGHT, Measure, MeasureSettings, _band, _clip_box

# CIELAB, OpenCV's 8-bit scale (L 0-255, a and b offset by 128).
WHITE_L = 217  # L* 85: clean white, with ...
WHITE_CHROMA = 10  # ... at most this chroma, is cloth (hair this white is rare)
COLOUR_CHROMA = 12  # chroma over which the hue tells hair from cloth
HAIR_HUES = (20.0, 105.0)  # degrees from +a*: red-brown, orange, yellow-blond
HAIR_MAX_CHROMA = 55  # brighter than the most vivid ginger (fit half: 48-53): gold thread, dye
# Dark hair under tinted light (a stage gel, a screen, a camera's white
# balance) takes a faint cool hue; cloth that dark and that faint is rare, and
# already a hair colour to a reader. Below DARK_L (L* 51) a chroma under
# DARK_CHROMA counts as hair. Chosen on the real-faces fit half
# (docs/photo-checks.md); navy, green and red cloth are well over it.
DARK_L, DARK_CHROMA = 130, 30
# White (clean white) counts only where it is solid and away from the
# backdrop: white in hair is streaks of highlight between strands, and
# where fine blond or grey hair meets the blue cloth it blends into a light,
# nearly neutral fringe. Both in face widths, chosen on the real-faces fit
# half with Grace Hopper's white cap (tests/kiosk/photo/measures/
# test_headwear.py) kept at 1.5x the band (docs/photo-checks.md).
SOLID, EDGE = 0.02, 0.02
_EDGES = tuple((float(np.cos(np.radians(h))), float(np.sin(np.radians(h)))) for h in HAIR_HUES)


def covering_mask(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
                  skin: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(covering, counted) masks over the crown box: the pixels read as a
    covering, and those that are not backdrop (nor its edge: the blend of
    hair and cloth along the outline is neither). None: no crown to read."""
    lm = face.landmarks
    box = _clip_box(img.shape, lm[CHEEK_LEFT, 0], face.head_top_y, lm[CHEEK_RIGHT, 0], face.forehead_y)
    if box is None or skin is None:
        return None
    x0, y0, x1, y1 = box
    zone = np.ascontiguousarray(img[y0:y1, x0:x1])
    lab = cv2.cvtColor(zone, cv2.COLOR_RGB2LAB).astype(np.float32)
    is_skin = lab_distance(lab, skin) < s.skin_tolerance
    backdrop = s.backdrop.is_backdrop(zone).reshape(zone.shape[:2]).astype(np.uint8)
    counted = cv2.dilate(backdrop, np.ones((5, 5), np.uint8)) == 0
    light, a, b = lab[..., 0], lab[..., 1] - 128, lab[..., 2] - 128
    chroma2 = a * a + b * b
    # The hue within HAIR_HUES: on the inner side of both edges of that
    # wedge (no arctan per pixel: this runs on every preview frame).
    hair_hue = (b * _EDGES[0][0] - a * _EDGES[0][1] >= 0) & (a * _EDGES[1][1] - b * _EDGES[1][0] >= 0)
    not_hair_hue = (chroma2 > COLOUR_CHROMA ** 2) & (~hair_hue | (chroma2 > HAIR_MAX_CHROMA ** 2))
    not_hair_hue &= (light >= DARK_L) | (chroma2 >= DARK_CHROMA ** 2)
    white = ((light >= WHITE_L) & (chroma2 <= WHITE_CHROMA ** 2)).astype(np.uint8)
    k = 2 * int(SOLID * face.face_width / 2) + 1
    white = cv2.morphologyEx(white, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    e = 2 * int(EDGE * face.face_width) + 1
    white &= cv2.dilate(backdrop, np.ones((e, e), np.uint8)) == 0
    return counted & ~is_skin & (not_hair_hue | white), counted


def cover_share(img: np.ndarray, face: FaceInfo, s: MeasureSettings, skin: np.ndarray | None) -> float:
    """Share of the crown (its pixels that are not backdrop) read as a
    covering: neither skin, nor hair-like. skin: skin_lab(img, face).
    A head top not found (hair cut by the frame, or no backdrop above it)
    reads 0: the box would be wall or the frame's edge, not a crown, and
    HEAD_TOP_OUT_OF_BAND already refuses such a photo. No crown box (the
    head top at the forehead, or off the image) or no cheeks to sample the
    skin from reads 0 too: nothing was read, so nothing is claimed (a None
    fails the band, and the still was refused for a hat nobody saw)."""
    masks = covering_mask(img, face, s, skin) if face.head_top_found else None
    if masks is None:
        return 0.0
    covering, counted = masks
    n = int(counted.sum())
    return float(covering.sum()) / n if n else 0.0


def headwear(img, gray, face, s, g) -> list[Measure]:
    return [_band("HEAD_COVERED", cover_share(img, face, s, skin_lab(img, face)), None, s.max_cover_share)]
