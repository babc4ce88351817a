"""Glasses: whether the student wears them, reflections in the lenses, and
tinted lenses, each measured against this student's own face.

A school sets what it allows (PhotoConfig.glasses): "allowed" (any clear
glasses), "no_glare" (clear glasses without reflections, the spec's rule
and the default) or "forbidden" (some collection notices: 不得佩戴眼镜).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo, luma
from kiosk.photo.measures.base import (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS, Measure, MeasureSettings, _band,
                                       _clip_box, median_rows)

POLICIES = ("allowed", "no_glare", "forbidden")

INNER_CORNERS = (133, 362)  # the eyes' inner corners, image-left first
BRIDGE_SIZE = (16, 128)  # columns, rows the bridge zone (with its margins) is resampled to
BAR_STEP = 3  # rows a change is measured over (of 128: about 0.026 eye widths)
BAR_REACH = 24  # rows either side of a bar's middle its edges are looked for
UNDER_EYE = 0.45  # the skin under each eye, this many eye widths below its centre


def _eye_width(face: FaceInfo) -> float:
    lm = face.landmarks
    return float(np.mean([np.linalg.norm(lm[b] - lm[a]) for a, b in (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS)]))


def frame_edge(img: np.ndarray, face: FaceInfo) -> float | None:
    """How strongly a frame's bridge crosses the nose between the eyes: a
    bar, sharp-edged on both sides.

    The zone between the inner eye corners (their middle 40 %), from under
    the brows to just below the eye line, and half its height again above
    and below, is read as a profile of rows (CIELAB, the median over the
    columns): a bridge is a bar across every column. A bar is a steep change
    within BAR_REACH rows above its middle and a steep change back within as
    many below; its strength the weaker of the two (lightness relative to
    the zone's own, so a black frame on dark skin counts as on light skin;
    chroma in CIELAB units / 40, a grey metal frame on skin of its
    lightness). The shadow of a brow ridge over a lit nose, or a crease
    fading into it, is a step with one steep side: on real dark faces that
    was read as a bridge. Bare faces read about 0.03-0.06."""
    lm = face.landmarks
    xl, xr = sorted((float(lm[INNER_CORNERS[0], 0]), float(lm[INNER_CORNERS[1], 0])))
    ew = _eye_width(face)
    inset = 0.3 * (xr - xl)
    top, bottom = face.eye_line_y - 0.45 * ew, face.eye_line_y + 0.1 * ew
    pad = 0.5 * (bottom - top)
    box = _clip_box(img.shape, xl + inset, top - pad, xr - inset, bottom + pad)
    if box is None or xr - xl < 4:
        return None
    x0, y0, x1, y1 = box
    lab = cv2.cvtColor(np.ascontiguousarray(img[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB)
    zone = cv2.resize(lab, BRIDGE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    rows = median_rows(zone.transpose(1, 0, 2))  # (rows, L a b): the median of each row
    lightness = max(float(median_rows(rows[:, 0])), 16.0)
    chroma = np.hypot(rows[:, 1] - 128, rows[:, 2] - 128)
    strength = 0.0
    for profile in (rows[:, 0] / lightness, chroma / 40.0):
        strength = max(strength, _bar(profile))
    return strength


def _bar(profile: np.ndarray) -> float:
    """The strongest bar in the middle half of a row profile (the zone
    proper): the weaker of the steepest change into it from above and the
    steepest change back out of it below, either sign."""
    n = len(profile)
    step = np.zeros(n + BAR_REACH, np.float32)  # change over BAR_STEP rows from each row; 0 past the end
    step[:n - BAR_STEP] = profile[BAR_STEP:] - profile[:-BAR_STEP]
    above_rows, below_rows = _bar_windows(n)
    above, below = step[above_rows], step[below_rows]
    dark = np.minimum(-above.min(axis=1), below.max(axis=1))  # darker (or less coloured) inside
    light = np.minimum(above.max(axis=1), -below.min(axis=1))
    return float(max(dark.max(), light.max(), 0.0))


@cache
def _bar_windows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row i of the middle half of an n-row profile, the rows of
    _bar's steps above it (i-REACH .. i-STEP) and below it (i .. i+REACH-1):
    made once (every profile has BRIDGE_SIZE's rows), where two sliding
    window views a call cost 20 us."""
    mid = np.arange(n // 4, n - n // 4)[:, None]
    return mid - BAR_REACH + np.arange(BAR_REACH - BAR_STEP + 1), mid + np.arange(BAR_REACH)


def glasses_worn(img: np.ndarray, face: FaceInfo, s: MeasureSettings) -> tuple[float | None, bool]:
    """(frame_edge, whether glasses are worn): the one reading of "wears
    glasses" that the check and the live hints share (a frame seen over
    s.max_frame_edge)."""
    edge = frame_edge(img, face)
    return edge, edge is not None and edge > s.max_frame_edge


def glare_share(img: np.ndarray, face: FaceInfo, s: MeasureSettings, worn: bool) -> float | None:
    """The largest blob of near-clipped light over either eye, as a share of
    that eye's lens area: a lamp reflected in a lens. Near-clipped is a
    channel at s.glare_luma or more with the pixel either colourless (every
    channel within 20 of it: white glare) or cool (blue at least red: the
    bluish, greenish or purple glare of a coated lens; skin's own shine is
    always redder than blue). A catchlight in the pupil is a few pixels.

    0 on a face wearing no glasses (worn: glasses_worn):
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


def lens_tint(img: np.ndarray, face: FaceInfo) -> tuple[float, float] | None:
    """(light, colour) of the lenses: the skin under each eye (inside a
    lens) read against the cheek lower down (outside it), each eye on its
    own. light: luma inside over outside, the lighter eye (a dark lens
    darkens the one and not the other, a clear one neither). colour: how
    far apart their colours are (CIELAB a*b* per unit of the cheek's
    L* + 16, times 116: a lens shifts a dark cheek's a*b* less, by as much
    relative to its L* + 16), the less coloured eye (a blue, brown or
    mirrored lens colours the skin seen through it, a clear one, lit as the
    cheek is, does not: on real faces a light blue lens that darkens little
    read as clear by light alone). The eyes themselves (iris, lashes, a deep
    socket) are left out: they made clear lenses and bare faces read as
    tinted. Four small strips are read, cheap enough for the live hint."""
    lm = face.landmarks
    ew = _eye_width(face)
    light, colour = 0.0, np.inf
    for a, b in (EYE_LEFT_CORNERS, EYE_RIGHT_CORNERS):
        cx, cy = (lm[a] + lm[b]) / 2
        inside, outside = _median_lab(img, cx, cy + UNDER_EYE * ew, ew), _median_lab(img, cx, cy + 1.05 * ew, ew)
        if inside is None or outside is None:
            return None
        light = max(light, inside[0] / max(outside[0], 1.0))
        # A lens passes no more light than it gets: skin brighter under the
        # eye than the cheek is lit there, its colour washed out by the
        # light (an overlit face's clipped shine), not tinted.
        shift = np.hypot(*(inside[2:] - outside[2:])) * 116 / (outside[1] + 16) if inside[0] < outside[0] else 0.0
        colour = min(colour, float(shift))
    return light, colour


def _median_lab(img: np.ndarray, cx: float, cy: float, ew: float) -> np.ndarray | None:
    """(luma, L*, a*, b*) of the per-channel median colour of a strip 0.6
    eye widths wide and 0.16 high centred at (cx, cy)."""
    box = _clip_box(img.shape, cx - 0.3 * ew, cy - 0.08 * ew, cx + 0.3 * ew, cy + 0.08 * ew)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    rgb = np.median(img[y0:y1, x0:x1].reshape(-1, 3), axis=0).round().astype(np.uint8)[None, None]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    return np.array([float(luma(rgb)[0, 0]), lab[0] * 100 / 255, lab[1] - 128, lab[2] - 128], np.float32)


def tinted(tint: tuple[float, float] | None, s: MeasureSettings) -> float | None:
    """TINTED_GLASSES' value: 1 at the line, under 1 tinted (too dark, or
    too coloured), whichever is nearer its line."""
    if tint is None:
        return None
    light, colour = tint
    return min(light / s.min_lens_light, s.max_lens_colour / max(colour, 1e-3))


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
    under bare eyes is often darker than the cheeks): a bare face's tint is
    not read (None, passed)."""
    edge, worn = glasses_worn(img, face, s)
    lenses = lens_tint(img, face) if worn else None  # no lens, no tint: nothing read
    parts = None if lenses is None else {"light": lenses[0], "colour": lenses[1]}
    tint = _band("TINTED_GLASSES", tinted(lenses, s), 1.0, None, parts)
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
