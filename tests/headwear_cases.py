"""Head coverings and jewellery painted on a face, at its face mesh
(issue 23 items 4 and 5): a cap with a brim, a knit beanie, a beret, a
hood and a headscarf, in cloth of several colours (some close to hair,
skin or the backdrop); gold, silver and pearl earrings and necklaces; and
the backdrop swapped for white.

Each function takes an RGB uint8 image and the FaceInfo of its face, and
returns a new image; nothing is saved. The cloth has a little shading
(folds, light from above) and camera noise, so it is not a flat fill; the
knit has ribs. Painted, not photographed: the real-people set
(benchmarks/real_faces/) is what confirms the measures.
"""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.backdrop import Backdrop

# Cloth colours. Hair-like ones (black, dark brown) and the backdrop's own
# light blue are the known misses (kiosk/photo/measures/headwear.py).
CLOTH = {
    "red": (175, 30, 40), "navy": (35, 45, 95), "white": (238, 238, 236), "pink": (225, 150, 180),
    "green": (40, 110, 60), "grey": (130, 130, 132), "beige": (200, 175, 140),
}
HAIR_LIKE_CLOTH = {"black": (28, 28, 30), "dark brown": (70, 48, 34)}
BACKDROP_CLOTH = {"light blue": (110, 195, 250)}
COVERINGS = ("cap", "beanie", "beret", "hood", "headscarf")

METALS = {"gold": (235, 190, 90), "silver": (212, 212, 214), "pearl": (245, 240, 228)}
WHITE = Backdrop(rgb=(245.0, 245.0, 245.0))


def _geometry(face: FaceInfo) -> tuple[float, float, float, float]:
    """Face width, centre x, head top y, forehead y."""
    return face.face_width, face.centre_x, face.head_top_y, face.forehead_y


def _cloth(shape: tuple[int, ...], colour: tuple[int, int, int], seed: int, ribs: int = 0) -> np.ndarray:
    """A cloth texture: colour with soft folds, lighter at the top, noise;
    ribs: vertical knit ribs this many px apart (0: woven, none)."""
    h, w = shape[:2]
    rng = np.random.default_rng(seed)
    folds = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 9)
    folds /= max(float(np.abs(folds).max()), 1e-6)
    shade = 1.0 + 0.08 * folds + np.linspace(0.06, -0.06, h, dtype=np.float32)[:, None]
    if ribs:
        shade *= 1.0 + 0.1 * np.sin(np.arange(w, dtype=np.float32) * 2 * np.pi / ribs)[None, :]
    out = np.asarray(colour, np.float32) * shade[..., None] + rng.normal(0, 1.5, (h, w, 3))
    return np.clip(out, 0, 255)


def _paint(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], seed: int,
           ribs: int = 0) -> np.ndarray:
    a = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.8)[..., None]
    out = img.astype(np.float32) * (1 - a) + _cloth(img.shape, colour, seed, ribs) * a
    return out.round().astype(np.uint8)


def _face_hole(face: FaceInfo, shape: tuple[int, ...], top: float) -> np.ndarray:
    """The face oval (mesh hull) from `top` down: what a hood or scarf leaves bare."""
    hole = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(hole, cv2.convexHull(face.landmarks[:468].astype(np.int32)), 1)
    hole[: max(int(top), 0)] = 0
    return hole


def covering(img: np.ndarray, face: FaceInfo, kind: str, colour: tuple[int, int, int]) -> np.ndarray:
    """img with a head covering of `kind` (COVERINGS) in `colour` on."""
    fw, cx, top, brow = _geometry(face)
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    centre = (int(cx), int(brow))
    if kind == "cap":  # a crown down to the forehead and a brim with a hard edge
        cv2.ellipse(mask, centre, (int(0.56 * fw), int(brow - top + 0.06 * fw)), 0, 180, 360, 1, -1)
        brim = np.zeros_like(mask)
        cv2.ellipse(brim, (int(cx), int(brow + 0.02 * fw)), (int(0.5 * fw), int(0.1 * fw)), 0, 0, 360, 1, -1)
        out = _paint(img, mask | brim, colour, 1)
        shadow = np.zeros((h, w), np.float32)  # the brim's shadow on the forehead
        cv2.ellipse(shadow, (int(cx), int(brow + 0.1 * fw)), (int(0.45 * fw), int(0.06 * fw)), 0, 0, 360, 1, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 3)[..., None] * (1 - brim[..., None])
        return (out * (1 - 0.35 * shadow)).round().astype(np.uint8)
    if kind == "beanie":  # a knit dome to just above the brows, ribbed
        cv2.ellipse(mask, (int(cx), int(brow + 0.04 * fw)),
                    (int(0.57 * fw), int(brow - top + 0.12 * fw)), 0, 180, 360, 1, -1)
        return _paint(img, mask, colour, 2, ribs=5)
    if kind == "beret":  # a flat disc over the crown, tilted, to the forehead
        cv2.ellipse(mask, (int(cx + 0.08 * fw), int(top + 0.22 * fw)), (int(0.68 * fw), int(0.26 * fw)),
                    -8, 0, 360, 1, -1)
        cv2.rectangle(mask, (int(cx - 0.5 * fw), int(top + 0.22 * fw)), (int(cx + 0.5 * fw), int(brow)), 1, -1)
        return _paint(img, mask, colour, 3)
    if kind in ("hood", "headscarf"):  # around the face, down to the shoulders
        wide = 0.85 if kind == "hood" else 0.66
        cv2.ellipse(mask, (int(cx), int((top + face.chin_y) / 2)),
                    (int(wide * fw), int((face.chin_y - top) / 2 + 0.12 * fw)), 0, 0, 360, 1, -1)
        mask[int(face.chin_y + 0.5 * fw):] = 0
        mask &= 1 - _face_hole(face, img.shape, brow + (0.0 if kind == "hood" else 0.03 * fw))
        return _paint(img, mask, colour, 4 if kind == "hood" else 5)
    raise ValueError(f"unknown covering {kind!r}")


def on_white(img: np.ndarray, backdrop: Backdrop = Backdrop()) -> np.ndarray:
    """The (blue) backdrop swapped for a white one, its shading kept."""
    cloth = cv2.GaussianBlur(backdrop.is_backdrop(img).reshape(img.shape[:2]).astype(np.float32), (0, 0), 0.8)
    lum = img.astype(np.float32).sum(axis=2) / max(backdrop.brightness, 1.0)
    white = np.clip(np.asarray(WHITE.rgb, np.float32) * lum[..., None], 0, 255)
    a = cloth[..., None]
    return (img * (1 - a) + white * a).round().astype(np.uint8)


def _metal(img: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Metal or pearl: its colour, a specular highlight along the top."""
    m = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.6)
    shine = np.roll(m, -1, axis=0) * (1 - np.roll(m, 1, axis=0))  # the upper rim catches the lamp
    out = img.astype(np.float32) * (1 - m[..., None]) + np.asarray(colour, np.float32) * m[..., None]
    out += 60 * np.clip(shine, 0, 1)[..., None]
    return np.clip(out, 0, 255).round().astype(np.uint8)


def earrings(img: np.ndarray, face: FaceInfo, metal: str = "gold", drop: bool = False) -> np.ndarray:
    """A stud (or with drop=True, a hanging drop) under each ear lobe: just
    outside the face outline, below the ear's middle."""
    fw = face.face_width
    lm = face.landmarks
    mask = np.zeros(img.shape[:2], np.uint8)
    lobe_y = float(lm[2, 1])  # the nose's base: about where the lobes end
    for idx, side in ((234, -1), (454, 1)):
        x = float(lm[idx, 0]) + side * 0.02 * fw
        r = max(2, int(round(0.022 * fw)))
        cv2.circle(mask, (int(x), int(lobe_y + 0.02 * fw)), r, 1, -1)
        if drop:
            cv2.line(mask, (int(x), int(lobe_y + 0.02 * fw)), (int(x), int(lobe_y + 0.12 * fw)), 1, 1)
            cv2.circle(mask, (int(x), int(lobe_y + 0.13 * fw)), r + 1, 1, -1)
    return _metal(img, mask, METALS[metal])


def necklace(img: np.ndarray, face: FaceInfo, metal: str = "gold", pendant: bool = True) -> np.ndarray:
    """A chain hanging in a curve round the neck, below the chin, with a
    small pendant at its lowest point."""
    fw = face.face_width
    mask = np.zeros(img.shape[:2], np.uint8)
    cx, y = int(face.centre_x), int(face.chin_y + 0.22 * fw)
    thick = max(1, int(round(0.012 * fw)))
    cv2.ellipse(mask, (cx, y - int(0.1 * fw)), (int(0.2 * fw), int(0.1 * fw)), 0, 10, 170, 1, thick)
    if pendant:
        cv2.circle(mask, (cx, y + int(0.02 * fw)), max(2, int(0.025 * fw)), 1, -1)
    return _metal(img, mask, METALS[metal])


def lit_photos(analyser, folder):
    """photo(portrait, skin) -> (the lit booth's spec photo RGB of a case of
    tests/face_set.py, its FaceInfo), made on first use."""
    from functools import cache

    import face_set as fs

    runner = fs.Runner(analyser, folder)

    @cache
    def photo(portrait: str, skin: float | None):
        rgb = fs.decode(runner.lit(portrait, skin)[1])
        return rgb, analyser.analyse(rgb).faces[0]

    return photo
