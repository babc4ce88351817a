"""Exposure and colour: how the camera recorded the face, judged from what
a camera fixes (highlights, clipping), never from the skin's own lightness."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo, luma
from kiosk.photo.backdrop import Backdrop
from kiosk.photo.measures.base import Measure, MeasureSettings, _band, _skin
from kiosk.photo.measures.scene import background_boxes, background_mask


def backdrop_luma(img: np.ndarray, gray: np.ndarray, face: FaceInfo, backdrop: Backdrop) -> float | None:
    """Median luma of the backdrop cloth visible around the head, or None
    when too little of it shows (a photo taken elsewhere)."""
    where = background_mask(img.shape, face)
    where &= backdrop.is_backdrop(img)
    return float(np.median(gray[where])) if where.sum() >= 200 else None


def clipped_mask(rgb: np.ndarray, s: MeasureSettings) -> np.ndarray:
    """255 where the camera clipped: luma at s.clip_luma or more, or two
    channels saturated (a burnt cloth, a white shirt, a shining forehead).
    One saturated channel is not clipping: the spec's own backdrop blue,
    (100, 197, 255), has it."""
    rgb = np.ascontiguousarray(rgb)
    # OpenCV on 8-bit planes: numpy's sum over the channel axis cost the
    # preview 1 ms a frame.
    r, g, b = cv2.split(cv2.compare(rgb.reshape(rgb.shape[0], -1), 254, cv2.CMP_GE).reshape(rgb.shape))
    hit = (r & g) | (r & b) | (g & b)
    hit |= cv2.compare(luma(rgb), s.clip_luma, cv2.CMP_GE)
    return hit


def clipped_share(rgb: np.ndarray, s: MeasureSettings) -> float:
    """Share of the frame the camera clipped (clipped_mask): a dark face
    under far too much light keeps its skin but loses everything around
    it. A spec photo is head and shoulders, so the whole frame is the
    person and the cloth right around them."""
    hit = clipped_mask(rgb, s)
    return cv2.countNonZero(hit) / hit.size


def exposure(img, gray, face, s, g) -> list[Measure]:
    """UNDEREXPOSED: the face's highlights (99th percentile) against a floor
    that rises with the measured backdrop: a dim camera or a face in shadow
    before a lit cloth both fail, a dark but well-lit face does not (its
    eye whites and lit skin still reach the highlights). OVEREXPOSED: what
    the camera clipped, the face's share or the frame's (scaled so that
    s.max_frame_clipped_share reads as s.max_clipped_share), whichever is
    worse: skin of any tone is judged by the light around it too."""
    skin = _skin(gray, face)
    if skin.size == 0:
        return [_band("UNDEREXPOSED", None, s.min_highlight_luma, None),
                _band("OVEREXPOSED", None, None, s.max_clipped_share)]
    highlight = face.highlight_luma
    floor = s.min_highlight_luma
    cloth = backdrop_luma(img, gray, face, s.backdrop)
    if cloth is not None:
        floor = max(floor, round(s.min_highlight_to_backdrop * cloth, 1))
    clipped = max(float(np.mean(skin >= s.clip_luma)),
                  clipped_share(img, s) * s.max_clipped_share / s.max_frame_clipped_share)
    return [_band("UNDEREXPOSED", highlight, floor, None),
            _band("OVEREXPOSED", clipped, None, s.max_clipped_share)]


# Matched skin zones on the two cheeks, (image left, image right) FaceMesh
# points: cheek centre, under the eye, outer cheek, beside the nostril,
# cheekbone. Skin on every face, clear of the eyes, brows, nostrils, lips
# and glasses frames; a beard or a fringe covers both or neither.
CHEEK_PAIRS = ((50, 280), (118, 347), (123, 352), (205, 425), (187, 411))
CHEEK_ZONE = 0.04  # half side of a zone, of the face width
# 8-bit sRGB to linear light: a ratio of light there is the lamps' ratio,
# the same on every skin tone (luma differences shrink on dark skin).
_SRGB = np.arange(256) / 255
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)


def stops(luma_a: float, luma_b: float) -> float:
    """log2 of the light at luma a over that at luma b (8-bit, linear light)."""
    return float(np.log2(max(_LINEAR[int(luma_a)], 1e-4) / max(_LINEAR[int(luma_b)], 1e-4)))


def cheek_stops(gray: np.ndarray, face: FaceInfo) -> float | None:
    """log2 of the light on the image-left cheek over the right (+ = left
    brighter): the median over CHEEK_PAIRS of each pair's ratio, in linear
    light, of the zones' median luma. The same skin on both sides, so
    hair, a beard, glasses, the eyes and the mouth do not count, and a
    turned head compares the same spots. None when no pair is in frame."""
    h, w = gray.shape
    r = max(int(CHEEK_ZONE * face.face_width), 1)
    ratios = []
    for pair in CHEEK_PAIRS:
        zones = [gray[max(y - r, 0):min(y + r + 1, h), max(x - r, 0):min(x + r + 1, w)]
                 for x, y in face.landmarks[list(pair)].astype(int)]
        if all(z.size for z in zones):
            ratios.append(stops(*(np.median(z) for z in zones)))
    return float(np.median(ratios)) if ratios else None


def cloth_stops(gray: np.ndarray, face: FaceInfo) -> float | None:
    """log2 of the light on the cloth beside the head, image left over
    right (median luma of each side's background box, in linear light).
    None when the frame shows no cloth on one side."""
    boxes = background_boxes(gray.shape, face)
    left = [b for b in boxes if b[2] <= face.box[0]]
    right = [b for b in boxes if b[0] >= face.box[2]]
    if not left or not right:
        return None
    return stops(*(np.median(gray[y0:y1, x0:x1]) for x0, y0, x1, y1 in (left[0], right[0])))


def lighting(img, gray, face, s, g) -> list[Measure]:
    """UNEVEN_LIGHTING: the cheeks' light ratio in stops (cheek_stops),
    within s.max_lighting_stops; within s.max_side_light_stops when the
    cloth beside the head falls off the same way by that much too (a lamp
    off, a window: light from one side reaches the cloth as well; the
    face's own form under the booth's even light does not grade it)."""
    value, cloth = cheek_stops(gray, face), cloth_stops(gray, face)
    lim = s.max_lighting_stops
    if value is not None and cloth is not None and value * cloth > 0 and abs(cloth) >= s.max_side_light_stops:
        lim = s.max_side_light_stops
    return [_band("UNEVEN_LIGHTING", value, -lim, lim, {"cloth_stops": cloth})]


def independent_colour(img: np.ndarray, face: FaceInfo, s: MeasureSettings) -> float:
    """CIELAB a*b* units of colour in the face that its lightness does not
    explain. A greyscale, sepia or single-tone image has one colour per
    lightness (its a*, b* are a function of L*); a colour face does not:
    lips redder than skin of the same lightness, eye whites neutral, the
    iris another hue. Each face pixel's (a*, b*) less the mean of its
    lightness bin (s.colour_lightness_bin, 8-bit L), smoothed over
    s.colour_smoothing of the face width (JPEG's chroma noise is fine
    grained, lips are not), and the 97th percentile of its size: the lips
    and eyes are a few percent of the face.

    Only the face counts, so the backdrop (white, grey, the blue) and the
    clothes do not decide it; clipped pixels and the booth's cloth inside
    the oval (a turned head) are left out."""
    h, w = img.shape[:2]
    oval = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(oval, cv2.convexHull(face.landmarks[:468].astype(np.int32)), 1)
    x, y, bw, bh = cv2.boundingRect(oval)
    if bw == 0 or bh == 0:
        return 0.0
    crop = np.ascontiguousarray(img[y:y + bh, x:x + bw])
    keep = oval[y:y + bh, x:x + bw].astype(bool) & (clipped_mask(crop, s) == 0)
    keep &= ~s.backdrop.is_backdrop(crop).reshape(keep.shape)
    if not keep.any():
        return 0.0
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    ab, bins = lab[..., 1:] - 128, lab[..., 0].astype(np.int32) // s.colour_lightness_bin
    # Each bin's mean colour (bincount: one pass, 10x faster than a median
    # per bin; the lips and eyes are too few to pull it far).
    n = np.bincount(bins[keep], minlength=bins.max() + 1)
    mean = np.stack([np.bincount(bins[keep], ab[..., i][keep], n.size) for i in (0, 1)], -1) / np.maximum(n, 1)[:, None]
    rest = np.where(keep[..., None], ab - mean[bins], 0).astype(np.float32)
    # Smoothed over the face only: a normalised blur, so the oval's edge
    # is not pulled towards zero.
    sigma = max(s.colour_smoothing * face.face_width, 0.5)
    weight = keep.astype(np.float32)
    smooth = cv2.GaussianBlur(rest * weight[..., None], (0, 0), sigma)
    smooth /= np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-3)[..., None]
    size = np.hypot(smooth[..., 0], smooth[..., 1])[keep]
    return float(np.percentile(size, 97))


def colour(img, gray, face, s, g) -> list[Measure]:
    """NOT_COLOUR: 24-bit true colour (the spec), not greyscale, sepia or
    one tone stored as RGB (a greyscale JPEG is WRONG_FORMAT already)."""
    return [_band("NOT_COLOUR", independent_colour(img, face, s), s.min_independent_colour, None)]
