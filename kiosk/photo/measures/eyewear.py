"""Glasses: whether the student wears them, reflections in the lenses, and
tinted lenses, each measured against this student's own face.

A school sets what it allows (PhotoConfig.glasses): "allowed" (any clear
glasses), "no_glare" (clear glasses without reflections, the spec's rule
and the default) or "forbidden" (some collection notices: 不得佩戴眼镜).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo, luma
from kiosk.photo.measures.base import EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS, Measure, MeasureSettings, _band, _clip_box

POLICIES = ("allowed", "no_glare", "forbidden")

INNER_CORNERS = (133, 362)  # the eyes' inner corners, image-left first
BRIDGE_SIZE = (16, 64)  # columns, rows the bridge zone is resampled to
UNDER_EYE = 0.45  # the skin under each eye, this many eye widths below its centre


def _eye_width(face: FaceInfo) -> float:
    lm = face.landmarks
    return float(np.mean([np.linalg.norm(lm[b] - lm[a]) for a, b in (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS)]))


def frame_edge(img: np.ndarray, face: FaceInfo) -> float | None:
    """How strongly a frame's bridge crosses the nose between the eyes.

    The zone between the inner eye corners (their middle 40 %), from under
    the brows to just below the eye line, is read as a profile of rows
    (CIELAB): a bridge is a bar across every column, sharp against the
    smooth skin of the nose. Each row's departure from the profile smoothed
    over an eighth of the zone, median over the columns: lightness relative
    to the zone's own (so a black frame on dark skin counts as on light
    skin), colour in CIELAB units / 40 (a grey metal frame on skin of its
    lightness). The strongest row. Bare faces read about 0.03."""
    lm = face.landmarks
    xl, xr = sorted((float(lm[INNER_CORNERS[0], 0]), float(lm[INNER_CORNERS[1], 0])))
    ew = _eye_width(face)
    inset = 0.3 * (xr - xl)
    box = _clip_box(img.shape, xl + inset, face.eye_line_y - 0.45 * ew, xr - inset, face.eye_line_y + 0.1 * ew)
    if box is None or xr - xl < 4:
        return None
    x0, y0, x1, y1 = box
    lab = cv2.cvtColor(np.ascontiguousarray(img[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB)
    zone = cv2.resize(lab, BRIDGE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    smooth = cv2.GaussianBlur(zone, (1, 0), sigmaX=0.1, sigmaY=BRIDGE_SIZE[1] / 8)
    rows = np.median(zone - smooth, axis=1)  # (rows, L a b)
    lightness = max(float(np.median(zone[..., 0])), 16.0)
    strength = (rows[:, 0] / lightness) ** 2 + (rows[:, 1] ** 2 + rows[:, 2] ** 2) / 40.0 ** 2
    return float(np.sqrt(strength.max()))


def glare_share(img: np.ndarray, face: FaceInfo, s: MeasureSettings, worn: bool) -> float | None:
    """The largest blob of near-clipped light over either eye, as a share of
    that eye's lens area: a lamp reflected in a lens. Near-clipped is a
    channel at s.glare_luma or more with the pixel either colourless (every
    channel within 20 of it: white glare) or cool (blue at least red: the
    bluish, greenish or purple glare of a coated lens; skin's own shine is
    always redder than blue). A catchlight in the pupil is a few pixels.

    0 on a face wearing no glasses (worn: frame_edge over s.max_frame_edge):
    no lens, no reflection in one. On bare real faces the blobs were the
    clipped shine of very light skin and the booth's blue beside the eye."""
    boxes = _eye_boxes(img, face)
    if boxes is None:
        return None
    if not worn:
        return 0.0
    worst = 0.0
    for x0, y0, x1, y1 in boxes:
        region = img[y0:y1, x0:x1]
        top = region.max(axis=-1)
        # The usual case, nothing near clipped at all, in one pass.
        if not (top >= s.glare_luma).any():
            continue
        r, b = region[..., 0], region[..., 2]
        bright = (top >= s.glare_luma) & ((region.min(axis=-1) >= s.glare_luma - 20) | (b >= r))
        n, _, stats, _ = cv2.connectedComponentsWithStats(bright.astype(np.uint8), connectivity=8)
        if n > 1:
            worst = max(worst, float(stats[1:, cv2.CC_STAT_AREA].max()) / bright.size)
    return worst


def lens_darkening(img: np.ndarray, face: FaceInfo) -> float | None:
    """Median luma of the skin under the eyes (inside a lens) / that of the
    cheeks lower down (outside it): a tinted lens darkens the one and not
    the other, a clear one neither. The eyes themselves (iris, lashes, a
    deep socket) are left out: they made clear lenses and bare faces read
    as tinted."""
    lm = face.landmarks
    ew = _eye_width(face)
    inside, outside = [], []
    for a, b in (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS):
        cx, cy = (lm[a] + lm[b]) / 2
        for zone, dy in ((inside, UNDER_EYE), (outside, 1.05)):
            box = _clip_box(img.shape, cx - 0.3 * ew, cy + (dy - 0.08) * ew, cx + 0.3 * ew, cy + (dy + 0.08) * ew)
            if box is None:
                return None
            zone.append(luma(img[box[1]:box[3], box[0]:box[2]]).ravel())
    return float(np.median(np.concatenate(inside))) / max(float(np.median(np.concatenate(outside))), 1.0)


def _eye_boxes(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]] | None:
    """The lens area in front of each eye: the eye widened by 30 % each side,
    an eye width high."""
    boxes = []
    for a, b in (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS):
        p, q = face.landmarks[a], face.landmarks[b]
        ew = float(np.linalg.norm(q - p))
        cx, cy = (p + q) / 2
        box = _clip_box(img.shape, cx - 0.8 * ew, cy - 0.5 * ew, cx + 0.8 * ew, cy + 0.5 * ew)
        if box is None:
            return None
        boxes.append(box)
    return boxes


def eyewear(img, gray, face, s, g) -> list[Measure]:
    """GLASSES (worn: fails whenever a frame is seen; the school's policy
    decides whether that is a problem, see apply_policy), and GLASSES_GLARE
    and TINTED_GLASSES, both judged only on a face wearing glasses (the skin
    under bare eyes is often darker than the cheeks)."""
    edge = frame_edge(img, face)
    worn = edge is not None and edge > s.max_frame_edge
    tint = _band("TINTED_GLASSES", lens_darkening(img, face), s.min_lens_to_cheek_luma, None)
    if not worn:
        tint = replace(tint, passed=True)
    return [_band("GLASSES", edge, None, s.max_frame_edge),
            _band("GLASSES_GLARE", glare_share(img, face, s, worn), None, s.max_glare_share), tint]


def apply_policy(checks: dict[str, Measure], policy: str) -> dict[str, Measure]:
    """The school's glasses policy over the measures: GLASSES is a problem
    only where glasses are forbidden, GLASSES_GLARE not where any glasses
    are allowed. The measured values stay in the report."""
    allowed = {"GLASSES"} if policy != "forbidden" else set()
    if policy == "allowed":
        allowed.add("GLASSES_GLARE")
    return {code: replace(m, passed=True) if code in allowed and m.value is not None else m
            for code, m in checks.items()}
