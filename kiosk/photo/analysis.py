"""One analysis pass over a frame: faces, landmarks, head top, brightness.

Every measure (guidance hints, crop, compliance checks) reads the same
FrameAnalysis, so a frame is run through the face model once. The model is
mediapipe's legacy FaceMesh (468 landmarks + 10 iris points), which ships
inside the mediapipe 0.10.18 wheel: nothing is downloaded at run time.

Coordinates are pixels of the analysed image, x to the right, y down, in the
camera's own (unmirrored) orientation. "left_eye" is the eye on the image's
left, which is the subject's right eye.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# The booth's backdrop colour (photo spec reference blue), RGB.
BACKDROP_RGB: tuple[int, int, int] = (100, 197, 255)

# FaceMesh landmark indices (canonical face model).
FOREHEAD = 10  # top of the forehead, at the mid line
CHIN = 152
CHEEK_IMAGE_LEFT = 234  # face oval at ear level, image left (subject's right)
CHEEK_IMAGE_RIGHT = 454
IRIS_IMAGE_LEFT = 468  # iris centres, present with refine_landmarks=True
IRIS_IMAGE_RIGHT = 473
EYE_CORNERS_IMAGE_LEFT = (33, 133)
EYE_CORNERS_IMAGE_RIGHT = (362, 263)


@dataclass(frozen=True)
class FaceInfo:
    """One face, in pixels of the analysed frame."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 over all landmarks
    left_eye: tuple[float, float]  # eye on the image's left (subject's right eye)
    right_eye: tuple[float, float]
    eye_line_y: float  # mean y of the two eye centres
    face_width: float  # cheek to cheek (234-454)
    roll_deg: float  # eye-line angle; + means the image-right eye is lower
    chin_y: float
    forehead_y: float
    head_top_y: float  # top of the hair
    head_top_found: bool  # False: head_top_y is the forehead/chin estimate
    mean_luma: float  # 0-255 over the face box
    landmarks: np.ndarray = field(repr=False, compare=False)  # (N, 2) pixels
    # Landmark depth in pixels (mediapipe's z times the frame width; smaller
    # = nearer the camera): head pose needs the third axis.
    depth: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def eyes_mid(self) -> tuple[float, float]:
        return (
            (self.left_eye[0] + self.right_eye[0]) / 2,
            (self.left_eye[1] + self.right_eye[1]) / 2,
        )

    @property
    def centre_x(self) -> float:
        """Horizontal face centre: midway between the cheeks."""
        lm = self.landmarks
        return float(lm[CHEEK_IMAGE_LEFT, 0] + lm[CHEEK_IMAGE_RIGHT, 0]) / 2


@dataclass(frozen=True)
class FrameAnalysis:
    width: int
    height: int
    faces: list[FaceInfo]
    mean_luma: float  # 0-255 over the whole frame

    @property
    def face(self) -> FaceInfo | None:
        """The only face, or None when there are none or several."""
        return self.faces[0] if len(self.faces) == 1 else None


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def find_head_top(
    rgb: np.ndarray,
    columns: list[float],
    start_y: float,
    backdrop: tuple[int, int, int] = BACKDROP_RGB,
    tolerance: float = 60.0,
    run: int = 3,
) -> float | None:
    """Scan up each column from start_y to the first run of backdrop pixels.

    The hair ends where the backdrop starts; the highest such point over the
    columns is the head top. None when no column reaches backdrop (hair cut
    off by the frame edge, or a backdrop of another colour).
    """
    h, w = rgb.shape[:2]
    y_start = int(min(max(start_y, 0), h - 1))
    if y_start < run:
        return None
    ref = np.asarray(backdrop, dtype=np.float32)
    tops: list[int] = []
    for cx in columns:
        x = int(round(cx))
        if not 0 <= x < w:
            continue
        # Column from start_y up to the top edge, nearest-to-forehead first.
        col = rgb[y_start::-1, x, :].astype(np.float32)
        is_bg = np.linalg.norm(col - ref, axis=1) < tolerance
        # First index where `run` consecutive pixels are backdrop (ignores noise).
        if len(is_bg) < run:
            continue
        runs = np.convolve(is_bg.astype(np.int8), np.ones(run, dtype=np.int8), "valid")
        hits = np.flatnonzero(runs == run)
        if hits.size:
            tops.append(y_start - int(hits[0]) + 1)  # first non-backdrop row above
    return float(min(tops)) if tops else None


class FaceAnalyser:
    """FaceMesh wrapper. Not thread-safe: one instance per thread.

    static_image_mode=False tracks faces across a preview stream (faster,
    steadier); True detects afresh on every image (stills, spec checks).
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        max_num_faces: int = 2,
        min_detection_confidence: float = 0.5,
        backdrop: tuple[int, int, int] = BACKDROP_RGB,
        backdrop_tolerance: float = 60.0,
    ) -> None:
        import mediapipe as mp  # heavy import, only where a model is needed

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=max_num_faces,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )
        self.backdrop = backdrop
        self.backdrop_tolerance = backdrop_tolerance

    def analyse(self, rgb: np.ndarray) -> FrameAnalysis:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (h, w, 3)")
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        gray = luma(rgb)
        result = self._mesh.process(rgb)
        faces = [
            self._face(rgb, gray, lms.landmark, w, h) for lms in (result.multi_face_landmarks or [])
        ]
        return FrameAnalysis(width=w, height=h, faces=faces, mean_luma=float(gray.mean()))

    def _face(self, rgb: np.ndarray, gray: np.ndarray, lms, w: int, h: int) -> FaceInfo:
        pts = np.array([(p.x * w, p.y * h) for p in lms], dtype=np.float64)
        depth = np.array([p.z * w for p in lms], dtype=np.float64)
        if len(pts) > IRIS_IMAGE_RIGHT:
            eye_l, eye_r = pts[IRIS_IMAGE_LEFT], pts[IRIS_IMAGE_RIGHT]
        else:  # unrefined model: eye-corner means
            eye_l = pts[list(EYE_CORNERS_IMAGE_LEFT)].mean(axis=0)
            eye_r = pts[list(EYE_CORNERS_IMAGE_RIGHT)].mean(axis=0)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        face_width = float(np.linalg.norm(pts[CHEEK_IMAGE_RIGHT] - pts[CHEEK_IMAGE_LEFT]))
        roll = math.degrees(math.atan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0]))
        chin_y, forehead_y = float(pts[CHIN, 1]), float(pts[FOREHEAD, 1])

        # Scan columns across the middle of the head (about the span of the
        # eyes): the crown, not the sides of the hair, is the head top.
        fx = float(pts[FOREHEAD, 0])
        half = 0.35 * face_width
        columns = [fx + f * half for f in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        top = find_head_top(
            rgb, columns, forehead_y, self.backdrop, self.backdrop_tolerance
        )
        found = top is not None
        if top is None:
            top = forehead_y - 0.5 * (chin_y - forehead_y)

        bx0, by0 = max(int(x0), 0), max(int(y0), 0)
        bx1, by1 = min(int(math.ceil(x1)), w), min(int(math.ceil(y1)), h)
        box_luma = float(gray[by0:by1, bx0:bx1].mean()) if bx1 > bx0 and by1 > by0 else 0.0
        return FaceInfo(
            box=(float(x0), float(y0), float(x1), float(y1)),
            left_eye=(float(eye_l[0]), float(eye_l[1])),
            right_eye=(float(eye_r[0]), float(eye_r[1])),
            eye_line_y=float(eye_l[1] + eye_r[1]) / 2,
            face_width=face_width,
            roll_deg=roll,
            chin_y=chin_y,
            forehead_y=forehead_y,
            head_top_y=float(top),
            head_top_found=found,
            mean_luma=box_luma,
            landmarks=pts,
            depth=depth,
        )

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
