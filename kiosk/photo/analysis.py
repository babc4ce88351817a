"""One analysis pass over a frame: faces, landmarks, head top, brightness.

Every measure (guidance hints, crop, compliance checks) reads the same
FrameAnalysis, so a frame is run through the face model once. The model is
mediapipe's legacy FaceMesh (468 landmarks + 10 iris points), which ships
inside the mediapipe 0.10.18 wheel: nothing is downloaded at run time.

People are counted by the full-range face detector of the same wheel
(model_selection=1): FaceMesh's own detector is the short-range one, which
misses faces under about a tenth of the frame (the people at the back of a
group photo, a second person behind the student). A preview stream tracks
one face (FaceMesh asked for two reruns its detector on every frame) and
counts people every COUNT_EVERY frames, for the "only you in the picture"
hint; stills and checks (static_image_mode) count on every image.

Coordinates are pixels of the analysed image, x to the right, y down, in the
camera's own (unmirrored) orientation. "left_eye" is the eye on the image's
left, which is the subject's right eye.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from kiosk.photo.backdrop import Backdrop

COUNT_EVERY = 6  # preview frames between two people counts (0.4 s at 15 fps)
# The detector sees 192x192 whatever it is given, but converting a 12 MP
# still to that costs it 150+ ms: it is handed a strided copy instead.
COUNT_SIDE = 1024
# FaceMesh reads the face through a 256x256 crop whatever it is given, but
# a 12 MP still costs it 200+ ms and 50 MB of copies inside the graph: it
# is handed a copy at most this long (a still's face stays 400+ px wide);
# the landmarks come back normalised, so they map onto the full still.
MESH_SIDE = 2048

# FaceMesh landmark indices (canonical face model).
FOREHEAD = 10  # top of the forehead, at the mid line
CHIN = 152
CHEEK_IMAGE_LEFT = 234  # face oval at ear level, image left (subject's right)
CHEEK_IMAGE_RIGHT = 454
IRIS_IMAGE_LEFT = 468  # iris centres, present with refine_landmarks=True
IRIS_IMAGE_RIGHT = 473
EYE_CORNERS_IMAGE_LEFT = (33, 133)
EYE_CORNERS_IMAGE_RIGHT = (362, 263)
# Each eye's lid contour, corner to corner and back (FaceMesh), (2, 16).
EYE_CONTOURS = np.array([(33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
                         (362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382)])


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
    # The brighter of the face oval's 99th percentile luma (catchlights, the
    # lit side of the skin) and the eye whites' (90th percentile inside the
    # lids): good exposure puts it high on any skin tone
    # (kiosk.photo.measures.light.exposure, and TOO_DARK in guidance).
    highlight_luma: float
    landmarks: np.ndarray = field(repr=False, compare=False)  # (N, 2) pixels
    # Landmark depth in pixels (mediapipe's z times the frame width; smaller
    # = nearer the camera): head pose needs the third axis.
    depth: np.ndarray | None = field(default=None, repr=False, compare=False)
    # What measures derive from this face's own fields (its head pose: the
    # pose hint, the ears' hidden side and the still's checks all read it),
    # made on first use and shared, so a frame fits it once.
    derived: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

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
    # The analysed pixels and the backdrop model used, shared (not copied)
    # with every measure that needs more than the landmarks.
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    backdrop: Backdrop = field(default_factory=Backdrop, repr=False)
    # People the full-range detector counted beyond the faces FaceMesh
    # found (see the module docstring).
    extra_faces: int = 0

    @property
    def face_count(self) -> int:
        """People in view. One person the landmarker found no face on (too
        small for FaceMesh's short-range detector, washed out, turned away)
        is no face to check: 0, so every check says NO_FACE, never "one face"
        with no landmarks (issue 23, item 8)."""
        n = len(self.faces) + self.extra_faces
        return n if n > 1 else len(self.faces)

    @cached_property
    def sparse(self) -> np.ndarray:
        """Every 4th pixel each way: plenty for a frame's mean or clipped
        share, and 16x cheaper. Made on first use, once a frame."""
        if self.image is None:
            raise ValueError("no image to measure")
        return every_kth(self.image, 4)

    @cached_property
    def mean_luma(self) -> float:
        """0-255 over the whole frame. Only a frame without a face needs it
        (TOO_DARK as the reason for NO_FACE): measured on first use, it costs
        a preview frame with a face nothing (a 12 MP still 6 ms)."""
        return float(luma(self.sparse).mean())

    @property
    def face(self) -> FaceInfo | None:
        """The only face, or None when there are none or several."""
        return self.faces[0] if self.face_count == 1 and self.faces else None


def every_kth(rgb: np.ndarray, k: int) -> np.ndarray:
    """rgb[::k, ::k] as a packed array. When k divides both sides OpenCV's
    nearest-neighbour resize picks exactly those pixels, 5-6x faster than
    numpy's strided copy (0.3 ms a preview frame)."""
    h, w = rgb.shape[:2]
    if k <= 1:
        return rgb
    if h % k == 0 and w % k == 0:
        return cv2.resize(rgb, (w // k, h // k), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(rgb[::k, ::k])


def counting_copy(rgb: np.ndarray) -> np.ndarray:
    """Every k-th pixel each way, k the smallest step that brings the long
    side to COUNT_SIDE or under: a plain stride, no filtering (a resize of
    a 12 MP still would cost what it saves)."""
    h, w = rgb.shape[:2]
    return every_kth(rgb, -(-max(h, w) // COUNT_SIDE))


def mesh_copy(rgb: np.ndarray) -> np.ndarray:
    """rgb shrunk by the smallest whole factor that brings its long side to
    MESH_SIDE or under (area average: a 2x2 box for a 12 MP still)."""
    h, w = rgb.shape[:2]
    k = -(-max(h, w) // MESH_SIDE)
    return rgb if k <= 1 else cv2.resize(rgb, (w // k, h // k), interpolation=cv2.INTER_AREA)


def luma(rgb: np.ndarray) -> np.ndarray:
    """8-bit luma. A box cut from a frame (rows apart, pixels packed) needs
    no copy first; a strided view such as rgb[::4, ::4] does."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def percentile_u8(values: np.ndarray, mask: np.ndarray | None, q: float) -> float | None:
    """np.percentile(values[mask != 0], q) of 8-bit values, read off their
    histogram (no sort, no masked copy: a 12 MP still's face is a million
    pixels). Same linear interpolation as numpy. None when nothing is masked."""
    hist = cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel().astype(np.int64)
    cum = np.cumsum(hist)
    n = int(cum[-1])
    if n == 0:
        return None
    k = (n - 1) * (q / 100)
    lo = math.floor(k)
    t = k - lo
    # The value of the i-th smallest sample (0-based): the first bin whose
    # running count exceeds i.
    a = float(np.searchsorted(cum, lo, side="right"))
    b = float(np.searchsorted(cum, min(lo + 1, n - 1), side="right"))
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


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
    # Rows from start_y up to the top edge, nearest-to-forehead first, in
    # growing blocks: the hair usually ends within a face width, and once
    # every column has met the backdrop the rows above cannot change the
    # answer (a still's full scan would cost 10 ms).
    region = rgb[y_start::-1, x0:x1]
    rows = region.shape[0]
    is_bg = np.zeros((0, x1 - x0), bool)
    end, step = 0, max(4 * run, x1 - x0)
    while True:
        end, step = min(rows, end + step), 2 * step
        is_bg = np.concatenate([is_bg, backdrop.is_backdrop(region[len(is_bg):end])])
        # hit[i, c]: rows i .. i+run-1 of column c are all backdrop.
        hit = is_bg[: end - run + 1].copy()
        for k in range(1, run):
            hit &= is_bg[k: end - run + 1 + k]
        found = hit.any(axis=0)
        if end == rows or found.all():
            break
    if found.mean() < 0.8:
        return None
    first = np.argmax(hit, axis=0)[found]  # first run in each column
    tops = np.sort(y_start - first + 1)  # first non-backdrop row above it
    return float(tops[min(2, len(tops) - 1)])


# One NormalizedLandmark as FaceMesh serialises it (x, y, z set, nothing
# else): field tag, length 15, then tag + float32 for each of x, y, z.
_LANDMARK_RECORD = np.dtype([("tag", "u1"), ("size", "u1"), ("tx", "u1"), ("x", "<f4"),
                             ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")])
_LANDMARK_TAGS = {"tag": 0x0A, "size": 15, "tx": 0x0D, "ty": 0x15, "tz": 0x1D}
_TAG_OFFSETS = np.array([_LANDMARK_RECORD.fields[k][1] for k in _LANDMARK_TAGS])
_TAG_VALUES = np.array(list(_LANDMARK_TAGS.values()), np.uint8)  # at those byte offsets


def landmark_array(landmark_list) -> np.ndarray:
    """(N, 3) float64 normalised x, y, z of a NormalizedLandmarkList.

    Reading 478 landmarks one attribute at a time costs 0.5 ms a frame;
    the serialised message, when it has exactly the layout above, is read
    in one go (0.05 ms). Any other layout takes the attribute path."""
    raw = landmark_list.SerializeToString()
    n = len(landmark_list.landmark)
    if n and len(raw) == n * _LANDMARK_RECORD.itemsize:
        tags = np.frombuffer(raw, np.uint8).reshape(n, -1)[:, _TAG_OFFSETS]
        if (tags == _TAG_VALUES).all():
            rec = np.frombuffer(raw, dtype=_LANDMARK_RECORD)
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float64)
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], dtype=np.float64).reshape(-1, 3)


_counters: dict[float, object] = {}
_counter_lock = threading.Lock()


def count_people_in(rgb: np.ndarray, min_confidence: float = 0.5) -> int:
    """Faces the full-range detector finds. One detector per process, shared
    by the preview's and the stills' analysers (a graph is 16 MB; it has no
    state between images), one image at a time."""
    with _counter_lock:
        counter = _counters.get(min_confidence)
        if counter is None:
            import mediapipe as mp

            counter = _counters[min_confidence] = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_confidence)
        return len(counter.process(rgb).detections or [])  # type: ignore[attr-defined]


class FaceAnalyser:
    """FaceMesh wrapper. Not thread-safe: one instance per thread.

    static_image_mode=False tracks faces across a preview stream (faster,
    steadier); True detects afresh on every image (stills, spec checks).
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        backdrop: Backdrop = Backdrop(),
    ) -> None:
        import mediapipe as mp  # heavy import, only where a model is needed

        from kiosk.photo.memory import tune_heap

        tune_heap()  # before the first frame: big arrays mapped, given back on free

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=2 if static_image_mode else 1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )
        self._min_confidence = min_detection_confidence
        self._count_every = 1 if static_image_mode else COUNT_EVERY
        # Made now, not while the first frame with a face waits (0.3-0.8 s here):
        # the people counter, and OpenCV's CIELAB tables (built on first use).
        count_people_in(np.zeros((8, 8, 3), np.uint8), min_detection_confidence)
        cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_RGB2LAB)
        self._frames = 0
        self._people = 0  # the last count
        self.backdrop = backdrop  # staff may recalibrate it while running

    def analyse(self, rgb: np.ndarray, count_people: bool = True) -> FrameAnalysis:
        """count_people=False: FaceMesh's faces only (a crop of a still
        whose people were already counted)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (h, w, 3)")
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        result = self._mesh.process(mesh_copy(rgb))
        faces = [self._face(rgb, landmark_array(lms), w, h) for lms in (result.multi_face_landmarks or [])]
        people = 0
        if count_people:
            if self._frames % self._count_every == 0:
                self._people = count_people_in(counting_copy(rgb), self._min_confidence)
            self._frames += 1
            people = self._people
        return FrameAnalysis(width=w, height=h, faces=faces, image=rgb, backdrop=self.backdrop,
                             extra_faces=max(0, people - len(faces)))

    def _face(self, rgb: np.ndarray, xyz: np.ndarray, w: int, h: int) -> FaceInfo:
        pts = xyz[:, :2] * (w, h)
        depth = xyz[:, 2] * w
        if len(pts) > IRIS_IMAGE_RIGHT:
            eye_l, eye_r = pts[IRIS_IMAGE_LEFT], pts[IRIS_IMAGE_RIGHT]
        else:  # unrefined model: eye-corner means
            eye_l = pts[list(EYE_CORNERS_IMAGE_LEFT)].mean(axis=0)
            eye_r = pts[list(EYE_CORNERS_IMAGE_RIGHT)].mean(axis=0)
        xs, ys = pts[:, 0], pts[:, 1]  # 1-D reductions: axis 0 of (478, 2) cost 30-45 us
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
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
        box_luma = highlight = 0.0
        if bx1 > bx0 and by1 > by0:
            box = luma(rgb[by0:by1, bx0:bx1])
            box_luma = cv2.sumElems(box)[0] / box.size  # exact: a sum of integers
            oval = np.zeros(box.shape, np.uint8)
            cv2.fillConvexPoly(oval, cv2.convexHull((pts[:468] - (bx0, by0)).astype(np.int32)), 1)
            highlight = percentile_u8(box, oval, 99.0) or 0.0
            # The eye whites (the eye's brightest tenth: the iris and lashes
            # are the rest) show the light whatever the skin: without teeth
            # or shine, a well-lit dark face's own highlights sit near the floor.
            eyes = np.zeros(box.shape, np.uint8)
            cv2.fillPoly(eyes, list((pts[EYE_CONTOURS] - (bx0, by0)).astype(np.int32)), 1)
            highlight = max(highlight, percentile_u8(box, eyes, 90.0) or 0.0)
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
            highlight_luma=highlight,
            landmarks=pts,
            depth=depth,
        )

    def close(self) -> None:
        self._mesh.close()  # the shared people counter lives on

    def __enter__(self) -> FaceAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
