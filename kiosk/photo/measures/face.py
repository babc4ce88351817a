"""Face measures: framing of the head, pose, eyes and mouth, sharpness."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kiosk.photo.analysis import FaceInfo
from kiosk.photo.crop import SpecGeometry
from kiosk.photo.face_model import FACE_MODEL
from kiosk.photo.measures.base import (EYE_LEFT_CORNERS, EYE_LEFT_LIDS, EYE_RIGHT_CORNERS, EYE_RIGHT_LIDS,
                                       MOUTH_CORNERS, MOUTH_INNER, Measure, MeasureSettings, _band, _box)


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
    """fit_head_pose(face), fitted once per face (face.derived): a preview
    frame's pose hint and its ears' hidden side, or a still's pose and
    hair checks, share the one fit."""
    if "pose" not in face.derived:
        face.derived["pose"] = fit_head_pose(face)
    return face.derived["pose"]  # type: ignore[return-value]


def fit_head_pose(face: FaceInfo) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees, or None without depth: the rotation that
    best turns the generic 3D face (kiosk.photo.face_model) onto this face's
    mesh (468 points), yaw + = face turned towards the image right, pitch +
    = chin up.

    The fit weighs the image positions fully and FaceMesh's guessed depth
    at DEPTH_WEIGHT: a scaled-orthographic fit of the model to the x, y
    points, where each point's depth is mostly the model's own, turned with
    the head (alternating: fit, re-predict the depth, refit; the weighted
    least squares it converges to). FaceMesh's depth is its least reliable
    output: on real faces it leans with the face's shape and expression
    (43 level heads of real people read -11..+15 deg when the fit followed
    it, issue 23), and on dark skin chin-up (issue 11); the x, y points follow
    what the camera sees. A small weight keeps the depth's sense of
    direction: on the 2D points alone a 12 deg chin-up face read +5.8.
    """
    if face.depth is None:
        return None
    # The model is centred, so the mesh needs no centring: its mean drops
    # out, and every product below is 3x3 (runs on every preview frame).
    a = _MODEL_T @ face.landmarks[:MESH_POINTS]  # (3, 2)
    b = _MODEL_T @ face.depth[:MESH_POINTS]  # (3,)
    cov = np.empty((3, 3))  # [a | depth], its last column refitted each step
    cov[:, :2] = a
    cov[:, 2] = depth = b
    rot = _rotation(cov)
    weighted = DEPTH_WEIGHT * b
    for _ in range(POSE_ITERATIONS):
        scale = (rot[0] @ a[:, 0] + rot[1] @ a[:, 1]) / (rot[0] @ _GRAM @ rot[0] + rot[1] @ _GRAM @ rot[1])
        target = weighted + (1 - DEPTH_WEIGHT) * scale * (_GRAM @ rot[2])
        depth = depth + OVER_RELAX * (target - depth)
        cov[:, 2] = depth
        rot = _rotation(cov)
    n = -rot[:, 2]  # the model's "towards the camera" (depth decreasing), turned
    yaw = math.degrees(math.atan2(n[0], -n[2]))
    pitch = math.degrees(math.atan2(-n[1], -n[2]))  # image y is down
    return yaw, pitch


def _rotation(cov: np.ndarray) -> np.ndarray:
    """The rotation (model -> image) for a model/mesh covariance (Kabsch)."""
    u, _, vt = np.linalg.svd(cov)
    rot = vt.T @ u.T
    return rot if _det(rot) > 0 else vt.T @ _MIRROR @ u.T  # a rotation, no mirror


def _det(m: np.ndarray) -> float:
    """3x3 determinant in plain floats (np.linalg.det costs 7 us a call,
    and the fit makes eight a frame); only its sign is read, of a matrix
    whose determinant is +-1."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


# Chosen on half of the real level faces (benchmarks/bench_real_faces.py,
# docs/photo-checks.md) with the chin-up/down faces of tests/face_set.py as
# the bound: 0.1 narrowed the level faces' spread, 0 let a 12 deg chin-up
# face read +5.8 against the 5 deg limit.
DEPTH_WEIGHT = 0.1
POSE_ITERATIONS = 7  # over-relaxed: within 0.04 deg of convergence on both sets
OVER_RELAX = 1.8  # 1 needs 20 steps; 2 and over lets the fast modes oscillate
_MIRROR = np.diag([1.0, 1.0, -1.0])
MESH_POINTS = len(FACE_MODEL)
_MODEL_T = np.ascontiguousarray((FACE_MODEL - FACE_MODEL.mean(axis=0)).T)  # (3, 468), centred
_GRAM = _MODEL_T @ _MODEL_T.T  # the model's own second moments, (3, 3)


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


_LIDS = np.array(EYE_LEFT_LIDS), np.array(EYE_RIGHT_LIDS)  # (upper, lower) point pairs
_LIPS = np.array(MOUTH_INNER)


def _aperture(lm: np.ndarray, corners: tuple[int, int], pairs: np.ndarray) -> float:
    """Mean gap between the pairs of points (an (n, 2) index array) over
    the width between the corners."""
    width = float(np.linalg.norm(lm[corners[1]] - lm[corners[0]]))
    d = lm[pairs[:, 0]] - lm[pairs[:, 1]]  # all gaps at once: this runs every preview frame
    gap = float(np.mean(np.sqrt((d * d).sum(axis=1))))
    return gap / width if width > 0 else 0.0


def eye_openness(face: FaceInfo) -> float:
    """The less open eye's aperture / width (one closed eye is a fail too)."""
    lm = face.landmarks
    return min(_aperture(lm, EYE_LEFT_CORNERS, _LIDS[0]), _aperture(lm, EYE_RIGHT_CORNERS, _LIDS[1]))


def mouth_opening(face: FaceInfo) -> float:
    return _aperture(face.landmarks, MOUTH_CORNERS, _LIPS)


def eyes(img, gray, face, s, g) -> list[Measure]:
    return [_band("EYES_CLOSED", eye_openness(face), s.min_eye_openness, None)]


def mouth(img, gray, face, s, g) -> list[Measure]:
    return [_band("MOUTH_OPEN", mouth_opening(face), None, s.max_mouth_opening)]


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

