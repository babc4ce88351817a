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

from kiosk.photo.backdrop import Backdrop

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
    # The analysed pixels and the backdrop model used, shared (not copied)
    # with every measure that needs more than the landmarks.
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    backdrop: Backdrop = field(default_factory=Backdrop, repr=False)

    @property
    def face(self) -> FaceInfo | None:
        """The only face, or None when there are none or several."""
        return self.faces[0] if len(self.faces) == 1 else None


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def find_head_top(
    rgb: np.ndarray,
    x_range: tuple[float, float],
    start_y: float,
    backdrop: Backdrop = Backdrop(),
    run: int = 3,
) -> float | None:
    """Scan up every column of x_range from start_y to the first run of
    backdrop pixels: the hair ends there. The head top is the highest such
    point (ignoring the two highest columns, against noise).

    Shadows on the cloth are backdrop (see kiosk.photo.backdrop), so a shadow
    above the head is not taken for hair. None when a fifth of the columns
    never reach backdrop (hair cut off by the frame edge, or no backdrop).
    """
    h, w = rgb.shape[:2]
    y_start = int(min(max(start_y, 0), h - 1))
    x0, x1 = max(int(x_range[0]), 0), min(int(round(x_range[1])) + 1, w)
    if y_start < run or x1 - x0 < 1:
        return None
    # Rows from start_y up to the top edge, nearest-to-forehead first.
    is_bg = backdrop.is_backdrop(rgb[y_start::-1, x0:x1]).astype(np.int32)
    # runs[i, c]: backdrop pixels among rows i .. i+run-1 of column c.
    csum = np.vstack([np.zeros((1, is_bg.shape[1]), np.int32), np.cumsum(is_bg, axis=0)])
    runs = csum[run:] - csum[:-run]
    hit = runs == run
    found = hit.any(axis=0)
    if found.mean() < 0.8:
        return None
    first = np.argmax(hit, axis=0)[found]  # first run in each column
    tops = np.sort(y_start - first + 1)  # first non-backdrop row above it
    return float(tops[min(2, len(tops) - 1)])


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
        backdrop: Backdrop = Backdrop(),
    ) -> None:
        import mediapipe as mp  # heavy import, only where a model is needed

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=max_num_faces,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )
        self.backdrop = backdrop  # staff may recalibrate it while running

    def analyse(self, rgb: np.ndarray) -> FrameAnalysis:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (h, w, 3)")
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        result = self._mesh.process(rgb)
        faces = [self._face(rgb, lms.landmark, w, h) for lms in (result.multi_face_landmarks or [])]
        # Every 4th pixel each way is plenty for a mean, and 16x cheaper.
        mean_luma = float(luma(np.ascontiguousarray(rgb[::4, ::4])).mean())
        return FrameAnalysis(width=w, height=h, faces=faces, mean_luma=mean_luma,
                             image=rgb, backdrop=self.backdrop)

    def _face(self, rgb: np.ndarray, lms, w: int, h: int) -> FaceInfo:
        xyz = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float64)
        pts = xyz[:, :2] * (w, h)
        depth = xyz[:, 2] * w
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

        # Scan the columns across the middle of the head (about the span of
        # the eyes): the crown, not the sides of the hair, is the head top.
        fx = float(pts[FOREHEAD, 0])
        half = 0.35 * face_width
        top = find_head_top(rgb, (fx - half, fx + half), forehead_y, self.backdrop)
        found = top is not None
        if top is None:
            top = forehead_y - 0.5 * (chin_y - forehead_y)

        bx0, by0 = max(int(x0), 0), max(int(y0), 0)
        bx1, by1 = min(int(math.ceil(x1)), w), min(int(math.ceil(y1)), h)
        box_luma = (float(luma(np.ascontiguousarray(rgb[by0:by1, bx0:bx1])).mean())
                    if bx1 > bx0 and by1 > by0 else 0.0)
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
