"""A real portrait cut out of its own background, ready to composite into
the simulated booth (kiosk.hardware.sim_scene renders it).

The portrait (scikit-image's astronaut by default, or a file of
camera.simulated.faces) is cut out once per process and kept in memory.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.hardware.sim_mouth import close_mouth
from kiosk.photo.memory import release


@dataclass(frozen=True)
class Cutout:
    """A person cut out of a portrait, ready to composite."""

    # (h, w, 4) uint8, colour premultiplied by alpha, by (hair_over_ears,
    # smile). Hair tucked: ears painted in skin tone over the hair beside
    # the cheeks; no smile: lips closed (sim_mouth.close_mouth). Only the
    # simulator does this; it stands in for a student who was asked to.
    looks: dict[tuple[bool, bool], np.ndarray]
    anchor: tuple[float, float]  # midpoint between the eyes, pixels
    face_width: float  # cheek to cheek, pixels
    roll_deg: float  # the portrait's own head tilt, undone when rendering


# --------------------------------------------------------------- cutouts

_cutouts: dict[str, Cutout] = {}
_cutout_lock = threading.Lock()


def _landmarks(rgb: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True
    ) as mesh:
        res = mesh.process(np.ascontiguousarray(rgb))
    if not res.multi_face_landmarks:
        raise ValueError("no face found in the portrait")
    h, w = rgb.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark])


def _person_probability(rgb: np.ndarray) -> np.ndarray:
    """mediapipe's selfie segmentation (it ships in the wheel): 0-1 a pixel."""
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        return seg.process(np.ascontiguousarray(rgb)).segmentation_mask


SURE_BACKGROUND = 0.05  # person probability below which a pixel seeds grabCut's background
PLAIN_RIM_SPREAD = 12.0  # 8-bit levels: a rim this even is a backdrop
PLAIN_NEAR = 40.0  # 8-bit RGB distance to a plain backdrop's colour: the wall (shading and all)


def _rim(rgb: np.ndarray, eye: float) -> np.ndarray:
    """The portrait's top row and its sides above the eyes: its backdrop, if any."""
    return np.concatenate([rgb[0], rgb[: int(eye), 0], rgb[: int(eye), -1]]).astype(np.float32)


def _plain_colour(rgb: np.ndarray, eye: float) -> np.ndarray | None:
    """The colour of a plain backdrop (the rim one even colour), else None."""
    rim = _rim(rgb, eye)
    return np.median(rim, axis=0) if float(rim.std(axis=0).max()) < PLAIN_RIM_SPREAD else None


def _seeds(shape: tuple[int, ...], pts: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
    """grabCut's seed mask from the landmarks, its region of interest
    (x0, y0, x1, y1, with a margin of background) and the shoulder row."""
    h, w = shape[:2]
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    cx = float(pts[234, 0] + pts[454, 0]) / 2
    eye = float(pts[468, 1] + pts[473, 1]) / 2
    chin = float(pts[152, 1])
    cut = int(min(h, eye + 2.6 * fw))  # shoulders; below this we extrude

    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    x0, x1 = int(max(0, cx - 1.9 * fw)), int(min(w, cx + 1.9 * fw))
    y0 = int(max(0, eye - 1.5 * fw))
    mask[y0:cut, x0:x1] = cv2.GC_PR_FGD
    yy, xx = np.mgrid[0:h, 0:w]
    mask[(yy < eye + 0.2 * fw) & (np.abs(xx - cx) > 1.2 * fw)] = cv2.GC_BGD  # beside the head
    mask[yy < eye - 1.3 * fw] = cv2.GC_BGD  # well above the hair
    mask[(yy < eye + 1.2 * fw) & (np.abs(xx - cx) > 1.6 * fw)] = cv2.GC_BGD  # beside the neck
    hull = cv2.convexHull(pts[:468].astype(np.int32))
    cv2.fillConvexPoly(mask, hull, int(cv2.GC_FGD))
    mask[int(chin + 0.4 * fw) : cut, int(cx - 0.9 * fw) : int(cx + 0.9 * fw)] = cv2.GC_FGD
    m = 12
    return mask, (max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, cut + m)), cut


def _with_room(rgb: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A tight portrait (an ID-photo crop) padded with its own background
    colour, where the seeds' certain-background zones beside and above the
    head fall outside it: grabCut needs background samples (it fails
    without). The padding is background to grabCut and never part of the
    person. A portrait with room is returned as it is."""
    mask, (rx0, ry0, rx1, ry1), _ = _seeds(rgb.shape, pts)
    roi = mask[ry0:ry1, rx0:rx1]
    if (roi == cv2.GC_BGD).mean() >= MIN_BACKGROUND_SEEDS:
        return rgb, pts
    h, w = rgb.shape[:2]
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    eye = float(pts[468, 1] + pts[473, 1]) / 2
    side = int(2 * fw)
    top = max(0, int(1.6 * fw - eye))
    # The backdrop of an ID photo: its top row and the edges above the eyes.
    colour = tuple(float(v) for v in np.median(_rim(rgb, eye), axis=0))
    padded = cv2.copyMakeBorder(rgb, top, 0, side, side, cv2.BORDER_CONSTANT, value=colour)
    return padded, pts + (side, top)


def _at_most(rgb: np.ndarray, pts: np.ndarray, face_width: float) -> tuple[np.ndarray, np.ndarray]:
    """The portrait scaled down so the face is at most face_width pixels
    cheek to cheek: a camera's full-size photo (a face 1000+ px wide) keeps
    GrabCut busy for minutes and its extruded torso takes hundreds of MB,
    for detail no frame of the booth shows."""
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    if fw <= face_width:
        return rgb, pts
    k = face_width / fw
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    return small, pts * k


# Cheek to cheek, pixels. The portrait is kept with its face at most
# MAX_FACE_WIDTH wide (the default still shows a face 0.18 x 2028 = 365 px
# wide, sim_scene.FACE_SHARE; the demo student's is 91 px); GrabCut works
# at most at SEGMENT_FACE_WIDTH (a region of about 1 MP).
MAX_FACE_WIDTH = 400.0
SEGMENT_FACE_WIDTH = 256.0
MIN_BACKGROUND_SEEDS = 0.02  # share of grabCut's region that must be certain background


def cut_out_portrait(rgb: np.ndarray, paint_ears: bool = False) -> Cutout:
    """Cut the head and shoulders out of a portrait (grabCut seeded by landmarks).

    The rectangle, the certain-face and certain-torso seeds and the
    certain-background zones beside and above the head all come from the face
    landmarks, so busy backgrounds (the astronaut's flag and shuttle) go.
    A tight crop is padded first (_with_room). paint_ears: the looks with
    the hair tucked get ears painted over the hair (the demo student only:
    a real portrait run through the booth is shown as photographed).
    """
    rgb, pts = _at_most(rgb, _landmarks(rgb), MAX_FACE_WIDTH)
    plain = _plain_colour(rgb, float(pts[468, 1] + pts[473, 1]) / 2)  # before any padding
    shot, shot_pts = rgb, pts
    rgb, pts = _with_room(rgb, pts)
    side, top = (int(round(v)) for v in pts[0] - shot_pts[0])
    h, w = rgb.shape[:2]
    fw = float(np.linalg.norm(pts[454] - pts[234]))
    cx = float(pts[234, 0] + pts[454, 0]) / 2
    eye = float(pts[468, 1] + pts[473, 1]) / 2
    mask, (rx0, ry0, rx1, ry1), cut = _seeds(rgb.shape, pts)
    open_ = mask == cv2.GC_PR_FGD
    if plain is None or side or top:  # a plain photo with room needs no segmenter
        # It sees the photo as shot: a tight crop's wide padding squeezed it
        # (it took the rocks and leaves beside a boy's head for him).
        person = cv2.copyMakeBorder(_person_probability(shot), top, 0, side, side, cv2.BORDER_CONSTANT, value=0.0)
    if plain is None:
        # A photo's own background (a wall, a flag, a building): where a
        # person segmenter doubts the person, grabCut starts from background
        # (sure of it: certain background); the landmarks' seeds and a
        # tight crop's one-colour padding alone left it beside the head.
        mask[open_ & (person < 0.5)] = cv2.GC_PR_BGD
        mask[open_ & (person < SURE_BACKGROUND)] = cv2.GC_BGD
    elif side or top:
        # A tight crop on a plain wall: its only certain background was the
        # one-colour padding, and grabCut, whose background model then knew
        # one exact colour, kept the photo's whole wall (shaded, grainy) as
        # the person. Certain background also where the segmenter is sure of
        # it and the pixel has the wall's colour; the colour test keeps what
        # the segmenter alone would drop (a dark cap on blue). A plain photo
        # with room needs no help: its own wall seeds the background.
        near = np.linalg.norm(rgb.astype(np.float32) - plain, axis=2) < PLAIN_NEAR
        mask[open_ & near & (person < SURE_BACKGROUND)] = cv2.GC_BGD

    # grabCut on the region of interest only (plus a margin of background).
    fg = np.zeros((h, w), np.uint8)
    fg[ry0:ry1, rx0:rx1] = _grab_cut(rgb[ry0:ry1, rx0:rx1, ::-1], mask[ry0:ry1, rx0:rx1],
                                     min(1.0, SEGMENT_FACE_WIDTH / fw))

    # Cleanup: smooth, keep the largest blob, fill holes.
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, k)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = np.where(labels == biggest, 255, 0).astype(np.uint8)
    holes = fg.copy()
    flood = np.zeros((h + 2, w + 2), np.uint8)
    cv2.floodFill(holes, flood, (0, 0), 255)
    fg = fg | cv2.bitwise_not(holes)

    # Crop to the person, then extrude the last row downwards so the torso
    # runs past the bottom of any frame (the portrait ends at the shoulders).
    cols = np.flatnonzero(fg.any(axis=0))
    rows = np.flatnonzero(fg.any(axis=1))
    cx0, cx1 = int(cols[0]), int(cols[-1]) + 1
    cy0, cy1 = int(rows[0]), min(int(rows[-1]) + 1, cut)
    part = rgb[cy0:cy1, cx0:cx1]
    alpha = fg[cy0:cy1, cx0:cx1]
    extra = max(0, int(eye + 16 * fw) - cy1)
    # The last row smoothed sideways: a plain garment, not the suit's zips and
    # straps drawn out into stripes.
    k = max(3, int(fw * 0.3)) | 1
    weight = alpha[-8:].astype(np.float32) / 255  # only the person's own colours
    colour = (part[-8:].astype(np.float32) * weight[..., None]).sum(axis=0, keepdims=True)
    colour = cv2.blur(colour, (k, 1), borderType=cv2.BORDER_REPLICATE)
    weights = cv2.blur(weight.sum(axis=0, keepdims=True), (k, 1), borderType=cv2.BORDER_REPLICATE)
    smooth = colour / np.maximum(weights, 1e-3)[..., None]
    fade = np.minimum(1.0, np.arange(1, extra + 1, dtype=np.float32) / max(1.0, 0.5 * fw))[:, None, None]
    below = part[-1:].astype(np.float32) * (1 - fade) + smooth * fade  # no seam where the photo ends
    part = np.concatenate([part, np.clip(below.round(), 0, 255).astype(part.dtype)])
    # ... and whole: the span of the last row, without the gaps grabCut left.
    body = np.flatnonzero(alpha[-1] > 127)
    span = np.zeros_like(alpha[-1:])
    if body.size:
        span[0, body[0]:body[-1] + 1] = 255
    alpha = np.concatenate([alpha, np.repeat(span, extra, axis=0)])
    local = pts - (cx0, cy0)
    roll = math.degrees(math.atan2(pts[473, 1] - pts[468, 1], pts[473, 0] - pts[468, 0]))
    looks = {}
    for smile, face in ((True, part), (False, close_mouth(part, local, fw))):
        looks[True, smile] = _premultiplied(face, alpha)
        looks[False, smile] = (_premultiplied(*_paint_ears(face, alpha, local, fw)) if paint_ears
                               else looks[True, smile])
    return Cutout(looks=looks, anchor=(cx - cx0, eye - cy0), face_width=fw, roll_deg=roll)


def _grab_cut(bgr: np.ndarray, seeds: np.ndarray, k: float) -> np.ndarray:
    """The person's mask (0/255) of a region from its seeds, worked out at
    scale k and scaled back: GrabCut's time grows faster than the pixels
    (a 1.4 MP region takes half a minute)."""
    h, w = seeds.shape
    if k < 1.0:
        bgr = cv2.resize(bgr, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        seeds = cv2.resize(seeds, bgr.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    seeds = np.ascontiguousarray(seeds)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(bgr), seeds, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
    fg = np.where((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    if k < 1.0:
        fg = np.where(cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR) > 127, 255, 0).astype(np.uint8)
    return fg


def _premultiplied(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # Soft edge, like a real lens and hair.
    a = cv2.GaussianBlur(alpha, (0, 0), 1.0).astype(np.float32) / 255.0
    premult = (rgb.astype(np.float32) * a[..., None]).round().astype(np.uint8)
    return np.ascontiguousarray(np.dstack([premult, (a * 255).round().astype(np.uint8)]))


def _paint_ears(rgb: np.ndarray, alpha: np.ndarray, pts: np.ndarray, fw: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ears beside the cheeks, in the cheeks' own colour with a darker bowl
    and rim shading: the portrait with the hair tucked behind the ears."""
    out = rgb.astype(np.float32)
    alpha = alpha.copy()
    eye_y = float(pts[468, 1] + pts[473, 1]) / 2
    h, w = rgb.shape[:2]
    cheek = []
    for i in (50, 280):
        x, y = pts[i].astype(int)
        r = max(2, int(0.04 * fw))
        cheek.append(rgb[max(y - r, 0):y + r, max(x - r, 0):x + r].reshape(-1, 3))
    skin = np.median(np.concatenate(cheek), axis=0).astype(np.float32)
    for idx, side in ((234, -1), (454, 1)):
        centre = (float(pts[idx, 0]) + side * 0.065 * fw, eye_y + 0.09 * fw)
        axes = (0.075 * fw, 0.21 * fw)
        shape = np.zeros((h, w), np.float32)
        cv2.ellipse(shape, ((centre[0], centre[1]), (2 * axes[0], 2 * axes[1]), side * 8.0),
                    1.0, -1)
        bowl = np.zeros((h, w), np.float32)
        cv2.ellipse(bowl, ((centre[0] - side * 0.01 * fw, centre[1] + 0.01 * fw),
                           (1.0 * axes[0], 1.2 * axes[1]), side * 8.0), 1.0, -1)
        soft = max(1.0, 0.012 * fw)
        shape = cv2.GaussianBlur(shape, (0, 0), soft)
        bowl = cv2.GaussianBlur(bowl, (0, 0), 2 * soft)
        ear = skin[None, None, :] * (0.97 - 0.12 * bowl[..., None])
        out = out * (1 - shape[..., None]) + ear * shape[..., None]
        alpha = np.maximum(alpha, (shape * 255).round().astype(np.uint8))
    return np.clip(out, 0, 255).round().astype(np.uint8), alpha


def forget_cutouts() -> None:
    """Drop the cutouts kept so far (10-20 MB each): for a run that shows
    many portraits one after another (benchmarks/bench_real_faces_booth.py)."""
    with _cutout_lock:
        _cutouts.clear()


def load_cutout(source: Path | None, paint_ears: bool | None = None) -> Cutout:
    """The cutout for a portrait file (None: the astronaut), computed once
    per process. paint_ears (None: only for the astronaut, the demo student)
    gives its tucked-hair looks painted ears."""
    paint = source is None if paint_ears is None else paint_ears
    key = f"{source or 'skimage:astronaut'}|ears={paint}"
    with _cutout_lock:
        if key not in _cutouts:
            if source is None:
                from skimage import data

                rgb = data.astronaut()
            else:
                bgr = cv2.imread(str(source), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise ValueError(f"{source}: not a readable image")
                rgb = bgr[:, :, ::-1]
            try:
                _cutouts[key] = cut_out_portrait(rgb, paint_ears=paint)
            except ValueError as err:
                raise ValueError(f"{source or 'skimage:astronaut'}: {err}") from None
            finally:
                release()  # the segmentation's and GrabCut's work arrays (50 MB)
        return _cutouts[key]

