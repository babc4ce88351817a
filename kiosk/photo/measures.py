"""Small independent quality measures over one analysed photo (OFIQ's shape).

The face model runs once (kiosk.photo.analysis); each measure here reads that
FaceInfo and the image and returns a Measure: a code, the measured value, the
allowed band and whether it passed. A measure never depends on another, so a
new one is one more function in MEASURES.

Values are plain Python floats so a report is JSON as it stands. A band end
of None means "open on that side" (JSON has no infinity).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo, luma
from kiosk.photo.backdrop import REFERENCE_RGB, Backdrop
from kiosk.photo.crop import GEOMETRY, SpecGeometry
from kiosk.photo.face_model import FACE_MODEL

Band = tuple[float | None, float | None]


@dataclass(frozen=True)
class Measure:
    code: str  # the problem code when it fails
    value: float | None  # None: could not be measured (then it fails)
    band: Band
    passed: bool

    def as_dict(self) -> dict:
        return {"value": self.value, "band": list(self.band), "passed": self.passed}


@dataclass(frozen=True)
class MeasureSettings:
    """Every threshold of the final-photo measures, in one place."""

    # Head pose, degrees (ISO/IEC 19794-5 full frontal). Roll is the pupil
    # line angle (what collection units check), in SpecGeometry.max_roll_deg.
    max_yaw_deg: float = 5.0
    max_pitch_deg: float = 5.0
    # What a level head reads. The generic face of head_pose is the mean
    # of frontal portraits (tests/face_model.py), so its zero is theirs: 0.
    # A booth whose camera sits well above or below eye level sets the
    # reading of a level head here (recalibrate on real booth captures).
    pitch_offset_deg: float = 0.0
    # Eyelid aperture / eye width, the less open eye. Open eyes measure about
    # 0.3, closed ones under 0.1.
    min_eye_openness: float = 0.15
    # Inner lip gap / mouth width (the spec: lips closed, no teeth showing).
    # In the booth (preview and still, every skin tone of tests/face_set.py)
    # closed lips read 0.001-0.005 (Grace Hopper; the simulator's astronaut)
    # and open mouths 0.10 and up (the astronaut's smile with teeth
    # 0.13-0.18; Grace Hopper's lips parted by 12 % of the mouth width
    # 0.10-0.15, by 20 % 0.16-0.23). The limit sits in that gap, 30 % below
    # the lowest open reading, so a relaxed gap of a few hundredths passes.
    max_mouth_opening: float = 0.07
    # Exposure, judged from what a camera fixes, never from the skin's own
    # lightness (kiosk.photo.measures.exposure): the face's highlights (99th
    # percentile luma of the face oval, or the eye whites' (90th percentile
    # inside the lids), whichever is brighter: FaceInfo.highlight_luma) must
    # reach min_highlight_luma and, where the backdrop shows,
    # min_highlight_to_backdrop of its measured luma. Well lit faces of every
    # skin tone in tests/face_set.py read 174-227 (the darkest by their eye
    # whites: with lips closed, their skin's own highlights read 161-169);
    # at 0.6x the light, 106-137. At most max_clipped_share of
    # the face may be clipped white (clip_luma).
    min_highlight_luma: float = 160.0
    min_highlight_to_backdrop: float = 0.9
    clip_luma: int = 250
    max_clipped_share: float = 0.05
    # (left half - right half) median face luma / their mean. The astronaut
    # portrait's own studio light measures 0.2.
    max_lighting_asymmetry: float = 0.30
    # Sharpness: gradient energy of the inner face over that of the same
    # region blurred (sigma 1 px), at sharpness_eye_px between the pupils.
    # A ratio, so light and skin tone cancel out. Sharp faces of
    # tests/face_set.py: 1.32 and up; blurred at sigma 1.5-7: 1.30 and down.
    min_sharpness: float = 1.31
    sharpness_eye_px: float = 96.0
    # Background: mean colour's distance to the nearest colour the spec
    # allows (RGB), and the spread of the (denoised) background around its
    # mean.
    backdrops: tuple[tuple[int, int, int], ...] = (REFERENCE_RGB,)
    max_background_distance: float = 60.0
    max_background_spread: float = 12.0
    # Share of the visible backdrop in shadow (a lamp behind the student, a
    # shadow cast by the head). The simulated booth's vignette is not one.
    max_shadow_share: float = 0.05
    # Clothing: share of the chest and shoulders the booth's backdrop model
    # calls backdrop (a blue top merges with the backdrop).
    max_clothing_backdrop_share: float = 0.35
    # Shoulders level (the spec: "sitting upright, shoulders level"): the
    # tilt of the line through the tops of the shoulders, degrees. Measured
    # and reported, not enforced (None) until calibrated on real booth
    # captures: the only real portrait we have, the astronaut, sits with her
    # shoulders 16 deg off level, so no threshold could be tested here on a
    # compliant real face.
    max_shoulder_tilt_deg: float | None = None
    # This booth's cloth, as calibrated (kiosk.photo.backdrop).
    backdrop: Backdrop = field(default_factory=Backdrop)
    # Hair, from a skin model sampled on the cheeks: CIELAB distance (OpenCV
    # 8-bit scale) within which a pixel is skin. Cheek pixels measure under
    # 15 from their own median, hair 60 or more.
    skin_tolerance: float = 25.0
    # Eyebrows: some row of the band just above each brow must be at least
    # this share skin (a fringe over the brows leaves none). The portrait,
    # whose fringe stops a brow's height above: 0.94 and 0.65.
    min_brow_skin_share: float = 0.4
    # Ears: share of the zone beside each cheek at ear height that is
    # neither skin nor backdrop (hair hanging over the ear).
    max_ear_hair_share: float = 0.5
    # Glasses: the largest clipped, colourless blob over either eye, as a
    # share of the eye's lens area (a catchlight in the pupil is a few px).
    glare_luma: int = 245
    max_glare_share: float = 0.02
    # Tinted lenses: median luma of the eye areas / median cheek luma.
    min_eye_to_cheek_luma: float = 0.55
    geometry: SpecGeometry = field(default=GEOMETRY)


DEFAULT_MEASURE_SETTINGS = MeasureSettings()

# FaceMesh indices (image-left eye = subject's right eye).
EYE_LEFT_CORNERS, EYE_LEFT_LIDS = (33, 133), ((159, 145), (158, 153), (160, 144))
EYE_RIGHT_CORNERS, EYE_RIGHT_LIDS = (362, 263), ((386, 374), (385, 380), (387, 373))
MOUTH_CORNERS, MOUTH_INNER = (78, 308), ((13, 14), (82, 87), (312, 317))
NOSE_TIP = 1
CHEEK_LEFT, CHEEK_RIGHT = 234, 454  # face oval at ear level


def _band(code: str, value: float | None, lo: float | None, hi: float | None) -> Measure:
    ok = value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)
    return Measure(code, None if value is None else round(float(value), 3), (lo, hi), ok)


def _box(face: FaceInfo, shape: tuple[int, ...], inset: float = 0.0) -> tuple[int, int, int, int]:
    """The landmark box, shrunk by inset of its size each side, clipped to the image."""
    x0, y0, x1, y1 = face.box
    dx, dy = (x1 - x0) * inset, (y1 - y0) * inset
    h, w = shape[:2]
    return (max(int(x0 + dx), 0), max(int(y0 + dy), 0),
            min(int(x1 - dx), w), min(int(y1 - dy), h))


def _skin(gray: np.ndarray, face: FaceInfo) -> np.ndarray:
    """Luma inside the face oval (hull of the landmarks), as a flat array."""
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.landmarks[:468].astype(np.int32)), 1)
    return gray[mask.astype(bool)]


# ---------------------------------------------------------------- geometry


def face_width(img, gray, face, s: MeasureSettings, g: SpecGeometry) -> list[Measure]:
    return [
        _band("FACE_TOO_SMALL", face.face_width, g.face_width[0], None),
        _band("FACE_TOO_LARGE", face.face_width, None, g.face_width[1]),
    ]


def head_top(img, gray, face, s, g) -> list[Measure]:
    value = face.head_top_y if face.head_top_found else None  # not found = hair cut off
    return [_band("HEAD_TOP_OUT_OF_BAND", value, *g.head_top)]


def eye_line(img, gray, face, s, g) -> list[Measure]:
    return [_band("EYE_LINE_OUT_OF_BAND", face.eye_line_y, *g.eye_line)]


def centre(img, gray, face, s, g) -> list[Measure]:
    offset = face.centre_x - img.shape[1] / 2
    return [_band("FACE_OFF_CENTRE", offset, -g.centre_tolerance, g.centre_tolerance)]


def roll(img, gray, face, s, g) -> list[Measure]:
    return [_band("HEAD_ROLL", face.roll_deg, -g.max_roll_deg, g.max_roll_deg)]


# -------------------------------------------------------------------- pose


def head_pose(face: FaceInfo) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees, or None without depth: the rotation that
    best turns the generic 3D face (kiosk.photo.face_model) onto this face's
    mesh (468 points: x, y and mediapipe's depth), by least squares over
    every point (Kabsch). Yaw + = face turned towards the image right,
    pitch + = chin up.

    Against the tilt of the plane through the mesh (what this measured
    before), fitting a whole face shape keeps the forehead's slope and the
    chin's depth out of the reading, and its zero is that of the frontal
    portraits the model was made from. The depth that FaceMesh guesses for
    a dark face leans chin-up (forehead back, chin forward, issue 11): the
    plane tilted with it by up to 7 deg, the whole-shape fit by up to 4.
    The 2D points alone do not do: a dark chin-up face read level (README).
    """
    if face.depth is None:
        return None
    # The model is centred, so the mesh needs no centring: its mean drops out.
    cov = np.column_stack([_MODEL_T @ face.landmarks[:MESH_POINTS], _MODEL_T @ face.depth[:MESH_POINTS]])
    u, _, vt = np.linalg.svd(cov)
    flip = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])  # a rotation, no mirror
    rot = vt.T @ flip @ u.T  # model -> image
    n = -rot[:, 2]  # the model's "towards the camera" (depth decreasing), turned
    yaw = math.degrees(math.atan2(n[0], -n[2]))
    pitch = math.degrees(math.atan2(-n[1], -n[2]))  # image y is down
    return yaw, pitch


MESH_POINTS = len(FACE_MODEL)
_MODEL_T = np.ascontiguousarray((FACE_MODEL - FACE_MODEL.mean(axis=0)).T)  # (3, 468), centred


def pose_angles(face: FaceInfo, s: MeasureSettings) -> tuple[float, float] | None:
    """(yaw, pitch) with pitch 0 for a level face (see pitch_offset_deg)."""
    angles = head_pose(face)
    return None if angles is None else (angles[0], angles[1] - s.pitch_offset_deg)


def pose(img, gray, face, s, g) -> list[Measure]:
    angles = pose_angles(face, s)
    yaw, pitch = angles if angles else (None, None)
    return [
        _band("HEAD_YAW", yaw, -s.max_yaw_deg, s.max_yaw_deg),
        _band("HEAD_PITCH", pitch, -s.max_pitch_deg, s.max_pitch_deg),
    ]


# ------------------------------------------------------------ eyes, mouth


def _aperture(lm: np.ndarray, corners: tuple[int, int], pairs) -> float:
    width = float(np.linalg.norm(lm[corners[1]] - lm[corners[0]]))
    a, b = zip(*pairs)
    d = lm[list(a)] - lm[list(b)]  # all gaps at once: this runs every preview frame
    gap = float(np.mean(np.sqrt((d * d).sum(axis=1))))
    return gap / width if width > 0 else 0.0


def eye_openness(face: FaceInfo) -> float:
    """The less open eye's aperture / width (one closed eye is a fail too)."""
    lm = face.landmarks
    return min(_aperture(lm, EYE_LEFT_CORNERS, EYE_LEFT_LIDS),
               _aperture(lm, EYE_RIGHT_CORNERS, EYE_RIGHT_LIDS))


def mouth_opening(face: FaceInfo) -> float:
    return _aperture(face.landmarks, MOUTH_CORNERS, MOUTH_INNER)


def eyes(img, gray, face, s, g) -> list[Measure]:
    return [_band("EYES_CLOSED", eye_openness(face), s.min_eye_openness, None)]


def mouth(img, gray, face, s, g) -> list[Measure]:
    return [_band("MOUTH_OPEN", mouth_opening(face), None, s.max_mouth_opening)]


# ----------------------------------------------------------------- light


def backdrop_luma(img: np.ndarray, gray: np.ndarray, face: FaceInfo, backdrop: Backdrop) -> float | None:
    """Median luma of the backdrop cloth visible around the head, or None
    when too little of it shows (a photo taken elsewhere)."""
    where = background_mask(img.shape, face)
    where &= backdrop.is_backdrop(img)
    return float(np.median(gray[where])) if where.sum() >= 200 else None


def exposure(img, gray, face, s, g) -> list[Measure]:
    """UNDEREXPOSED: the face's highlights (99th percentile) against a floor
    that rises with the measured backdrop: a dim camera or a face in shadow
    before a lit cloth both fail, a dark but well-lit face does not (its
    eye whites and lit skin still reach the highlights). OVEREXPOSED: the
    share of the face clipped white."""
    skin = _skin(gray, face)
    if skin.size == 0:
        return [_band("UNDEREXPOSED", None, s.min_highlight_luma, None),
                _band("OVEREXPOSED", None, None, s.max_clipped_share)]
    highlight = face.highlight_luma
    floor = s.min_highlight_luma
    cloth = backdrop_luma(img, gray, face, s.backdrop)
    if cloth is not None:
        floor = max(floor, round(s.min_highlight_to_backdrop * cloth, 1))
    clipped = float(np.mean(skin >= s.clip_luma))
    return [_band("UNDEREXPOSED", highlight, floor, None),
            _band("OVEREXPOSED", clipped, None, s.max_clipped_share)]


def lighting(img, gray, face, s, g) -> list[Measure]:
    """Left vs right half of the face oval (split at the nose bridge)."""
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.landmarks[:468].astype(np.int32)), 1)
    mid = int(round(face.landmarks[168, 0]))  # between the eyes
    left = gray[:, :mid][mask[:, :mid].astype(bool)]
    right = gray[:, mid:][mask[:, mid:].astype(bool)]
    if left.size == 0 or right.size == 0:
        lim = s.max_lighting_asymmetry
        return [_band("UNEVEN_LIGHTING", None, -lim, lim)]
    a, b = float(np.median(left)), float(np.median(right))
    value = (a - b) / max((a + b) / 2, 1.0)  # + = image left brighter
    lim = s.max_lighting_asymmetry
    return [_band("UNEVEN_LIGHTING", value, -lim, lim)]


def _gradient_energy(region: np.ndarray) -> float:
    gx = cv2.Sobel(region, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(region, cv2.CV_32F, 0, 1)
    return float((gx * gx + gy * gy).mean())


def sharpness(img, gray, face, s, g) -> list[Measure]:
    """Gradient energy of the inner face / that of the same region blurred
    by 1 px, at a fixed distance between the pupils. Light and skin tone
    scale both alike; what is left is how much fine detail there is (a
    blurred photo has little to lose to one more blur)."""
    x0, y0, x1, y1 = _box(face, gray.shape, inset=0.15)
    eyes = math.dist(face.left_eye, face.right_eye)
    if x1 - x0 < 8 or y1 - y0 < 8 or eyes < 4:
        return [_band("BLURRY", None, s.min_sharpness, None)]
    k = s.sharpness_eye_px / eyes
    region = cv2.resize(gray[y0:y1, x0:x1].astype(np.float32), None, fx=k, fy=k,
                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    fine = _gradient_energy(region)
    coarse = _gradient_energy(cv2.GaussianBlur(region, (0, 0), 1.0))
    value = fine / coarse if coarse > 0 else 0.0
    return [_band("BLURRY", value, s.min_sharpness, None)]


# ------------------------------------------------------------ background


def background_mask(shape: tuple[int, ...], face: FaceInfo) -> np.ndarray:
    """Where the backdrop must show: above the hair, and beside the head down
    to the nose tip (lower, shoulders and collars rise into view), with a
    margin around the person's likely outline."""
    h, w = shape[:2]
    fw = face.face_width
    mask = np.zeros((h, w), bool)
    top = int(face.head_top_y - 0.06 * fw)
    if top > 0:
        mask[:top, :] = True
    x0, _, x1, _ = face.box
    bottom = int(min(max(face.landmarks[NOSE_TIP, 1], 0), h))
    left, right = int(x0 - 0.35 * fw), int(x1 + 0.35 * fw)  # hair and ears
    if left > 0:
        mask[:bottom, :left] = True
    if right < w:
        mask[:bottom, max(right, 0):] = True
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


# ---------------------------------------------------- hair, glasses (skin)

CHEEKS = (50, 280)  # mid-cheek points, under each eye
BROW_TOP_LEFT = (70, 63, 105, 66, 107)  # upper edge of the image-left brow
BROW_TOP_RIGHT = (300, 293, 334, 296, 336)


def _clip_box(shape: tuple[int, ...], x0: float, y0: float, x1: float, y1: float
              ) -> tuple[int, int, int, int] | None:
    h, w = shape[:2]
    box = max(int(x0), 0), max(int(y0), 0), min(int(round(x1)), w), min(int(round(y1)), h)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def _lab(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)


def _cheek_boxes(img: np.ndarray, face: FaceInfo) -> list[tuple[int, int, int, int]]:
    r = 0.04 * face.face_width
    boxes = (_clip_box(img.shape, x - r, y - r, x + r, y + r)
             for x, y in (face.landmarks[i] for i in CHEEKS))
    return [b for b in boxes if b is not None]


def skin_lab(img: np.ndarray, face: FaceInfo) -> np.ndarray | None:
    """Median CIELAB colour of the two cheeks: this student's skin."""
    boxes = _cheek_boxes(img, face)
    if not boxes:
        return None
    return np.median(np.concatenate([_lab(img, b).reshape(-1, 3) for b in boxes]), axis=0)


def _is_skin(img, box, skin: np.ndarray, s: MeasureSettings) -> np.ndarray:
    # Lightness counts half: skin in shade (an ear, under the brow) is still
    # skin, while hair differs from it in hue as well.
    diff = (_lab(img, box) - skin) * _SKIN_WEIGHTS
    return np.einsum("...i,...i->...", diff, diff) < s.skin_tolerance ** 2


_SKIN_WEIGHTS = np.asarray([0.5, 1.0, 1.0], np.float32)


def brow_skin(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
              skin: np.ndarray | None) -> float | None:
    """The lower of the two brows' best skin row just above the brow: low when
    a fringe hides the brows (the mesh still places them under the hair).
    skin: skin_lab(img, face), shared with ear_hair."""
    if skin is None:
        return None
    fw = face.face_width
    values = []
    for ids in (BROW_TOP_LEFT, BROW_TOP_RIGHT):
        pts = face.landmarks[list(ids)]
        x0, x1 = pts[:, 0].min(), pts[:, 0].max()
        inset = 0.1 * (x1 - x0)  # the tails of the brow meet the temples' hair
        top = pts[:, 1].min()
        box = _clip_box(img.shape, x0 + inset, top - 0.08 * fw, x1 - inset, top)
        if box is None:
            return None
        values.append(float(_is_skin(img, box, skin, s).mean(axis=1).max()))
    return min(values)


def ear_hair(img: np.ndarray, face: FaceInfo, s: MeasureSettings,
             skin: np.ndarray | None) -> float | None:
    """The larger share, over the two ear zones, of what is neither skin nor
    backdrop. The zone is beside the cheek, from the eye line down about as
    far as an ear reaches. skin: skin_lab(img, face)."""
    if skin is None:
        return None
    fw = face.face_width
    values = []
    for idx, side, eye in ((CHEEK_LEFT, -1, face.left_eye), (CHEEK_RIGHT, 1, face.right_eye)):
        x = face.landmarks[idx, 0]
        xa, xb = sorted((x + side * 0.01 * fw, x + side * 0.12 * fw))
        box = _clip_box(img.shape, xa, eye[1], xb, eye[1] + 0.3 * fw)
        if box is None:
            return None
        region = img[box[1]:box[3], box[0]:box[2]]
        other = ~(_is_skin(img, box, skin, s) | s.backdrop.is_backdrop(region))
        values.append(float(other.mean()))
    return max(values)


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


def glare_share(img: np.ndarray, face: FaceInfo, s: MeasureSettings) -> float | None:
    """The largest blob of clipped, colourless pixels over either eye, as a
    share of that eye's lens area: a lamp reflected in a lens."""
    boxes = _eye_boxes(img, face)
    if boxes is None:
        return None
    worst = 0.0
    near_white = (s.glare_luma - 20,) * 3
    for x0, y0, x1, y1 in boxes:
        region = img[y0:y1, x0:x1]
        # The usual case, no near-white pixel at all, in one OpenCV call
        # (a min over the channel axis costs more than all other hints).
        if not cv2.inRange(region, near_white, (255, 255, 255)).any():
            continue
        bright = (region.min(axis=-1) >= s.glare_luma - 20) & (region.max(axis=-1) >= s.glare_luma)
        n, _, stats, _ = cv2.connectedComponentsWithStats(bright.astype(np.uint8), connectivity=8)
        if n > 1:
            worst = max(worst, float(stats[1:, cv2.CC_STAT_AREA].max()) / bright.size)
    return worst


def eye_darkness(img: np.ndarray, face: FaceInfo) -> float | None:
    """Median luma over the eye areas / median cheek luma: tinted lenses
    darken the one and not the other."""
    boxes, cheeks = _eye_boxes(img, face), _cheek_boxes(img, face)
    if boxes is None or not cheeks:
        return None

    def median_luma(bs: list[tuple[int, int, int, int]]) -> float:
        return float(np.median(np.concatenate(
            [luma(img[y0:y1, x0:x1]).ravel() for x0, y0, x1, y1 in bs])))

    return median_luma(boxes) / max(median_luma(cheeks), 1.0)


def hair(img, gray, face, s, g) -> list[Measure]:
    skin = skin_lab(img, face)
    return [_band("EYEBROWS_COVERED", brow_skin(img, face, s, skin), s.min_brow_skin_share, None),
            _band("EARS_COVERED", ear_hair(img, face, s, skin), None, s.max_ear_hair_share)]


def glasses(img, gray, face, s, g) -> list[Measure]:
    return [_band("GLASSES_GLARE", glare_share(img, face, s), None, s.max_glare_share),
            _band("TINTED_GLASSES", eye_darkness(img, face), s.min_eye_to_cheek_luma, None)]


MeasureFn = Callable[[np.ndarray, np.ndarray, FaceInfo, MeasureSettings, SpecGeometry], list[Measure]]
MEASURES: tuple[MeasureFn, ...] = (
    face_width, head_top, eye_line, centre, roll, pose, eyes, mouth,
    exposure, lighting, sharpness, background, background_shadow, clothing, shoulders, hair, glasses,
)


def measure_face(
    rgb: np.ndarray, face: FaceInfo, settings: MeasureSettings = DEFAULT_MEASURE_SETTINGS,
    geometry: SpecGeometry | None = None,
) -> dict[str, Measure]:
    """Every measure of one face in a final photo, by code (in MEASURES order).

    geometry: the head bands for this frame size (default: settings.geometry).
    """
    g = geometry or settings.geometry
    gray = luma(rgb)
    out: dict[str, Measure] = {}
    for fn in MEASURES:
        for m in fn(rgb, gray, face, settings, g):
            out[m.code] = m
    return out
