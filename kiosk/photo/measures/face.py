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

