"""The simulator's mouth edits: a portrait's lips closed, or parted.

The demo portrait (scikit-image's astronaut) smiles with her teeth showing,
which the spec refuses, so the simulator's default student has her lips
closed: a smooth vertical warp (cv2.remap) pulls the lower lip up onto the
upper one and fades out towards the chin, so the teeth vanish. The opposite
warp parts closed lips, for test cases of an open mouth (the mouth between
them painted dark, with a band of upper teeth). Both work on the portrait's
own pixels at run time; nothing is taken from elsewhere.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.measures.base import MOUTH_CORNERS

# FaceMesh inner-lip contours, corner to corner (MOUTH_CORNERS).
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
CHIN = 152
# Lips whose widest inner gap is under this share of the mouth width are
# closed already (the mouth-open measure reads Grace Hopper's 0.003, the
# astronaut's smile 0.17).
CLOSED_GAP = 0.03


def _lip_lines(pts: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper and lower inner lip lines at columns xs (y, pixels)."""
    up, lo = pts[list(UPPER_INNER)], pts[list(LOWER_INNER)]
    up, lo = up[np.argsort(up[:, 0])], lo[np.argsort(lo[:, 0])]
    return np.interp(xs, up[:, 0], up[:, 1]), np.interp(xs, lo[:, 0], lo[:, 1])


def _shift_field(shape: tuple[int, int], pts: np.ndarray, gap: np.ndarray, seam: np.ndarray,
                 fw: float) -> np.ndarray:
    """Per-pixel vertical shift: gap(x) at the seam, fading smoothly to 0 at
    the chin and beside the mouth corners."""
    h, w = shape
    xs = np.arange(w, dtype=np.float32)
    left, right = pts[MOUTH_CORNERS[0], 0], pts[MOUTH_CORNERS[1], 0]
    margin = 0.06 * fw  # fade beyond the corners, so the cheeks do not tear
    side = np.clip(np.minimum(xs - (left - margin), (right + margin) - xs) / margin, 0, 1)
    gap = gap * side * side * (3 - 2 * side)
    ys = np.arange(h, dtype=np.float32)[:, None]
    depth = np.maximum(pts[CHIN, 1] + 0.1 * fw - seam, 1.0)  # the fade runs to below the chin
    t = np.clip((ys - seam[None, :]) / depth[None, :], 0, 1)
    fade = 0.5 * (1 + np.cos(np.pi * t))  # 1 at the seam, 0 at the chin, smooth
    return np.where(ys >= seam[None, :], gap[None, :] * fade, 0).astype(np.float32)


def close_mouth(rgb: np.ndarray, pts: np.ndarray, fw: float) -> np.ndarray:
    """The portrait with its lips closed (pts: FaceMesh landmarks in pixels);
    lips already closed are left as they are."""
    h, w = rgb.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    upper, lower = _lip_lines(pts, xs)
    if float(np.max(lower - upper)) < CLOSED_GAP * float(pts[MOUTH_CORNERS[1], 0] - pts[MOUTH_CORNERS[0], 0]):
        return rgb
    inside = (xs > pts[MOUTH_CORNERS[0], 0]) & (xs < pts[MOUTH_CORNERS[1], 0])
    # Cut a pixel into the upper lip and land a pixel into the lower one so
    # no sliver of teeth is left between them.
    seam = np.where(inside, upper - 1.0, upper)
    gap = np.where(inside, np.maximum(lower - upper + 2.0, 0), 0)
    shift = _shift_field((h, w), pts, gap, seam, fw)
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    map_y = np.arange(h, dtype=np.float32)[:, None] + shift
    out = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return _shade_seam(out, seam, pts, fw)


def _shade_seam(rgb: np.ndarray, seam: np.ndarray, pts: np.ndarray, fw: float) -> np.ndarray:
    """The shadow line where closed lips meet (without it they read as one
    pink band), strongest mid-mouth and gone at the corners."""
    h, w = rgb.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    left, right = pts[MOUTH_CORNERS[0], 0], pts[MOUTH_CORNERS[1], 0]
    along = np.clip((xs - left) / max(right - left, 1.0), 0, 1)
    strength = 0.28 * np.sqrt(np.sin(np.pi * along).clip(0, 1))
    ys = np.arange(h, dtype=np.float32)[:, None]
    width = max(0.6, 0.008 * fw)
    line = np.exp(-0.5 * ((ys - seam[None, :]) / width) ** 2) * strength[None, :]
    return np.clip(rgb * (1 - line[..., None]), 0, 255).round().astype(np.uint8)


def open_mouth(rgb: np.ndarray, pts: np.ndarray, fw: float, opening: float = 0.2) -> np.ndarray:
    """The opposite warp: the lower lip pushed down by `opening` x the mouth
    width at its middle (fading to the corners and to the chin), the gap
    showing a dark mouth with the upper teeth, as when speaking."""
    h, w = rgb.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    upper, lower = _lip_lines(pts, xs)
    left, right = pts[MOUTH_CORNERS[0], 0], pts[MOUTH_CORNERS[1], 0]
    along = np.clip((xs - left) / max(right - left, 1.0), 0, 1)
    gap = opening * (right - left) * np.sin(np.pi * along).clip(0, 1) ** 0.7
    seam = (upper + lower) / 2
    shift = _shift_field((h, w), pts, gap, seam, fw)
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    map_y = np.arange(h, dtype=np.float32)[:, None] - shift
    out = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The mouth between the lips: dark, with the upper teeth along the top.
    ys = np.arange(h, dtype=np.float32)[:, None]
    soft = max(0.5, 0.006 * fw)
    top, bottom = seam[None, :], seam[None, :] + gap[None, :]
    inside = np.clip((ys - top) / soft, 0, 1) * np.clip((bottom - ys) / soft, 0, 1)
    teeth = np.clip((top + 0.45 * gap[None, :] - ys) / soft, 0, 1) * (np.abs(along - 0.5) < 0.36)[None, :]
    colour = np.where(teeth[..., None] > 0.5, (218, 208, 192), (58, 24, 28)).astype(np.float32)
    # Shaded like a cavity: darker towards the corners and the lower lip.
    depth = np.clip((ys - top) / np.maximum(gap[None, :], 1.0), 0, 1)
    colour *= ((0.55 + 0.45 * np.sin(np.pi * along)) * (1 - 0.25 * depth))[..., None]
    a = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), soft)[..., None]
    return np.clip(out * (1 - a) + colour * a, 0, 255).round().astype(np.uint8)
