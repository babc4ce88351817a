"""Synthetic glasses drawn on a face, at its face mesh's eye landmarks
(issue 23 item 3): a frame (two rounded-rectangle rims, the bridge across
the nose, the temple arms towards the ears), with clear or tinted lenses,
and reflections in them, white or coloured (an anti-reflective coating
reflects a lamp bluish).

Each function takes an RGB uint8 image and the FaceInfo of its face, and
returns a new image; nothing is saved.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo

FRAMES = {"black": (25, 25, 28), "brown": (70, 45, 30), "metal": (175, 175, 180)}
GLARES = {"white": (255, 255, 255), "bluish": (150, 200, 255), "greenish": (185, 255, 215)}
# Coloured lenses that darken little: the share of red, green and blue each
# passes (a light blue fashion lens, a brown driving lens).
LENS_COLOURS = {"blue": (0.55, 0.75, 1.0), "brown": (1.0, 0.7, 0.45)}


def _lenses(face: FaceInfo) -> list[tuple[np.ndarray, float]]:
    """(centre, eye width) of each eye, image-left first."""
    lm = face.landmarks
    return [((lm[a] + lm[b]) / 2, float(np.linalg.norm(lm[b] - lm[a]))) for a, b in ((33, 133), (362, 263))]


def _rim(centre: np.ndarray, ew: float) -> np.ndarray:
    """A lens outline: a rounded rectangle 1.7 x 1.2 eye widths."""
    w, h, r = 0.85 * ew, 0.6 * ew, 0.3 * ew
    t = np.linspace(0, np.pi / 2, 8)
    pts = []
    for sx, sy, a0 in ((1, -1, 0), (-1, -1, np.pi / 2), (-1, 1, np.pi), (1, 1, 1.5 * np.pi)):
        cx, cy = centre[0] + sx * (w - r), centre[1] + sy * (h - r)
        pts += [(cx + r * np.cos(a0 + u), cy - r * np.sin(a0 + u)) for u in t]
    return np.round(np.asarray(pts)).astype(np.int32)


def glasses(img: np.ndarray, face: FaceInfo, frame: str = "black", tint: float | tuple[float, float, float] = 1.0,
            glare: str | None = None, thickness: float = 0.09) -> np.ndarray:
    """img with glasses on: frame colour, lenses passing `tint` of the light
    (1.0 clear; a triple: of red, green and blue each), a lamp reflected in
    each lens (`glare` colour or None), the frame `thickness` eye widths
    thick (0.09 a plastic frame, 0.04 a thin metal one)."""
    out = img.astype(np.float32)
    (lc, lew), (rc, rew) = _lenses(face)
    ew = (lew + rew) / 2
    thick = max(1, int(round(thickness * ew)))
    colour = FRAMES[frame]
    rims = [_rim(lc, ew), _rim(rc, ew)]
    lens = np.zeros(img.shape[:2], np.float32)
    cv2.fillPoly(lens, rims, 1.0)
    lens = cv2.GaussianBlur(lens, (0, 0), 0.8)[..., None]
    out = out * (1 - lens) + out * np.asarray(tint, np.float32) * lens
    if glare is not None:
        for c in (lc, rc):
            blob = np.zeros(img.shape[:2], np.float32)
            cv2.ellipse(blob, ((float(c[0] + 0.25 * ew), float(c[1] - 0.2 * ew)), (0.7 * ew, 0.3 * ew), -20),
                        1.0, -1)
            blob = cv2.GaussianBlur(blob, (0, 0), 0.8)[..., None]
            out = out * (1 - 0.95 * blob) + np.asarray(GLARES[glare], np.float32) * 0.95 * blob
    cv2.polylines(out, rims, True, colour, thick, cv2.LINE_AA)
    # Bridge over the nose, a little above the eye line, and the temple arms.
    y = float((lc[1] + rc[1]) / 2 - 0.25 * ew)
    cv2.line(out, (int(lc[0] + 0.85 * ew), int(y)), (int(rc[0] - 0.85 * ew), int(y)), colour, thick, cv2.LINE_AA)
    lm = face.landmarks
    for x_lens, x_ear in ((lc[0] - 0.85 * ew, lm[234, 0]), (rc[0] + 0.85 * ew, lm[454, 0])):
        cv2.line(out, (int(x_lens), int(y)), (int(x_ear), int(y + 0.05 * ew)), colour, thick, cv2.LINE_AA)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def brow_shadow(img: np.ndarray, face: FaceInfo, depth: float = 0.5) -> np.ndarray:
    """img with the shadow of a heavy brow ridge: everything between the
    eyes' centres from the brows down to where a bridge would sit (0.25 eye
    widths above the eye line) passes 1 - depth of the light, with a sharp
    lower edge over the lit nose. A step, dark on one side only: on real
    dark faces under a top light this read as a frame's bridge."""
    (lc, lew), (rc, rew) = _lenses(face)
    ew = (lew + rew) / 2
    y = float((lc[1] + rc[1]) / 2 - 0.25 * ew)
    shade = np.zeros(img.shape[:2], np.float32)
    cv2.rectangle(shade, (int(lc[0]), int(y - 0.9 * ew)), (int(rc[0]), int(y)), 1.0, -1)
    shade = cv2.GaussianBlur(shade, (0, 0), 0.8)[..., None]
    out = img.astype(np.float32) * (1 - depth * shade)
    return np.clip(out, 0, 255).round().astype(np.uint8)
