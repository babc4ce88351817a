"""Simulated camera: renders a booth scene for the laptop demo and the tests.

Not a canned image: a real portrait (scikit-image's astronaut by default, or
the files in camera.simulated.faces) is cut out of its own background once,
kept in memory, and composited on the booth's blue backdrop every time the
scene changes. The scene (SceneControl) says where the student sits, how far,
how tilted, how bright the lights are, whether a second person or a phone with
a QR code is in view, and whether the camera is unplugged. The demo changes
it from the keyboard (apply_key); tests change it with update_scene().

Scene coordinates are normalised to a 4:3 frame, so the preview (640x480)
and the still (2028x1520 by default) show the same scene at different
resolutions. Frames are the camera's own, unmirrored view: dx > 0 moves the
face to the image's right, which is the student's left. The UI mirrors the
preview for the student.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kiosk.hardware.camera import CameraError
from kiosk.hardware.sim_mouth import close_mouth

if TYPE_CHECKING:
    from kiosk.config import CameraConfig

BACKDROP_RGB = (100, 197, 255)
# At scale 1 the face (cheek to cheek) spans this share of the frame width and
# the eye line sits at this share of the frame height: a good seat, from
# which a still crops to the spec with room to spare.
FACE_SHARE = 0.18
EYE_Y = 0.41
# The second person stands behind and beside the student, so looks smaller.
SECOND_FACE = (0.75, 0.31, -0.05)  # scale, dx, dy relative to the first face
# A payload shaped like a 图像采集码 (opaque, >= 16 characters, not a URL).
DEMO_QR_PAYLOAD = "XJCJ-DEMO-3F9A7C21B0E84D56A1C2"
NOISE_SIGMA = 2.0  # sensor noise, in 8-bit levels
VIGNETTE = 0.12  # brightness loss in the corners of the backdrop


@dataclass(frozen=True)
class SceneControl:
    """What is in front of the simulated camera (immutable; see update_scene)."""

    dx: float = 0.0  # face offset, fraction of frame width; + = image right
    dy: float = 0.0  # fraction of frame height; + = down
    scale: float = 1.0  # 1.0 = a good distance; > 1 closer
    roll_deg: float = 0.0  # in-plane head tilt; + = image-right eye lower
    brightness: float = 1.0  # light level multiplier
    faces: int = 1  # 0, 1, or 2 (a second, smaller person beside)
    qr_payload: str | None = None  # a phone showing this QR code in front of the chest
    unplugged: bool = False
    person: int = 0  # which portrait (index into config.simulated.faces)
    # The astronaut's hair hangs over her ears, which the spec refuses; the
    # default student has it tucked behind them (see Cutout.looks).
    hair_over_ears: bool = False
    # The astronaut smiles with her teeth showing, which the spec refuses;
    # the default student has her lips closed (kiosk.hardware.sim_mouth).
    # True shows the portrait's own mouth, as photographed.
    smile: bool = False

    def clamped(self) -> SceneControl:
        return dataclasses.replace(
            self,
            dx=float(np.clip(self.dx, -0.6, 0.6)),
            dy=float(np.clip(self.dy, -0.6, 0.6)),
            scale=float(np.clip(self.scale, 0.3, 2.5)),
            roll_deg=float(np.clip(self.roll_deg, -45.0, 45.0)),
            brightness=float(np.clip(self.brightness, 0.0, 3.0)),
            faces=int(np.clip(self.faces, 0, 2)),
        )


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


def cut_out_portrait(rgb: np.ndarray) -> Cutout:
    """Cut the head and shoulders out of a portrait (grabCut seeded by landmarks).

    The rectangle, the certain-face and certain-torso seeds and the
    certain-background zones beside and above the head all come from the face
    landmarks, so busy backgrounds (the astronaut's flag and shuttle) go.
    """
    h, w = rgb.shape[:2]
    pts = _landmarks(rgb)
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

    # grabCut on the region of interest only (plus a margin of background).
    m = 12
    rx0, rx1 = max(0, x0 - m), min(w, x1 + m)
    ry0, ry1 = max(0, y0 - m), min(h, cut + m)
    roi_mask = np.ascontiguousarray(mask[ry0:ry1, rx0:rx1])
    roi_bgr = np.ascontiguousarray(rgb[ry0:ry1, rx0:rx1, ::-1])
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(roi_bgr, roi_mask, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
    fg = np.zeros((h, w), np.uint8)
    fg[ry0:ry1, rx0:rx1] = np.where((roi_mask == 1) | (roi_mask == 3), 255, 0)

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
        looks[False, smile] = _premultiplied(*_paint_ears(face, alpha, local, fw))
    return Cutout(looks=looks, anchor=(cx - cx0, eye - cy0), face_width=fw, roll_deg=roll)


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


def load_cutout(source: Path | None) -> Cutout:
    """The cutout for a portrait file (None: the astronaut), computed once per process."""
    key = str(source) if source else "skimage:astronaut"
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
                _cutouts[key] = cut_out_portrait(rgb)
            except ValueError as err:
                raise ValueError(f"{key}: {err}") from None
        return _cutouts[key]


# -------------------------------------------------------------- rendering


def _backdrop(w: int, h: int) -> np.ndarray:
    """The lit blue backdrop with a slight lens vignette (corners VIGNETTE darker)."""
    # The vignette is smooth: compute it small and scale up (fast at 4056x3040).
    sw, sh = min(w, 160), min(h, 120)
    gx = ((np.arange(sw, dtype=np.float32) + 0.5) / sw * 2 - 1) ** 2
    gy = ((np.arange(sh, dtype=np.float32) + 0.5) / sh * 2 - 1) ** 2
    gain = 1.0 - VIGNETTE * (gy[:, None] + gx[None, :]) / 2
    small = np.asarray(BACKDROP_RGB, np.float32)[None, None, :] * gain[..., None]
    small = np.clip(small, 0, 255).round().astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _qr_modules(payload: str) -> np.ndarray:
    import segno

    qr = segno.make_qr(payload)  # make() might pick a Micro QR that cv2 cannot read
    return np.array(qr.matrix, dtype=bool)


def _composite(frame: np.ndarray, rgba: np.ndarray, m: np.ndarray) -> None:
    """Warp a premultiplied RGBA cutout with affine m and blend it over frame, in place."""
    h, w = frame.shape[:2]
    ch, cw = rgba.shape[:2]
    corners = np.array([[0, 0, 1], [cw, 0, 1], [0, ch, 1], [cw, ch, 1]], np.float64) @ m.T
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    shifted = m.copy()
    shifted[:, 2] -= (x0, y0)  # warp only the region the person covers
    patch = cv2.warpAffine(
        rgba, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0),
    )
    # Premultiplied "over" in saturating uint8 cv2 ops: several times faster
    # than float numpy on a 4056x3040 still.
    inv = cv2.bitwise_not(patch[..., 3])
    roi = frame[y0:y1, x0:x1]
    behind = cv2.multiply(roi, cv2.merge([inv, inv, inv]), scale=1 / 255)
    roi[:] = cv2.add(np.ascontiguousarray(patch[..., :3]), behind)


def _draw_phone(frame: np.ndarray, modules: np.ndarray, cx: float, qr_cy: float, unit: float) -> None:
    """A phone held up toward the camera, its screen showing the QR code."""
    n = modules.shape[0] + 8  # 4-module quiet zone each side
    side = 0.24 * unit  # the code, quiet zone included, as a share of frame width
    px = max(1, int(round(side / n)))  # whole pixels per module keep it crisp
    side = px * n
    qx0, qy0 = int(round(cx - side / 2)), int(round(qr_cy - side / 2))
    pw = int(side * 1.22)
    ph = int(pw * 2.05)
    bx0, by0 = int(round(cx - pw / 2)), qy0 - int(side * 0.12)
    radius = max(2, pw // 10)
    color = (28, 30, 34)
    # Rounded dark phone body.
    cv2.rectangle(frame, (bx0 + radius, by0), (bx0 + pw - radius, by0 + ph), color, -1)
    cv2.rectangle(frame, (bx0, by0 + radius), (bx0 + pw, by0 + ph - radius), color, -1)
    for ccx, ccy in ((bx0 + radius, by0 + radius), (bx0 + pw - radius, by0 + radius),
                     (bx0 + radius, by0 + ph - radius), (bx0 + pw - radius, by0 + ph - radius)):
        cv2.circle(frame, (ccx, ccy), radius, color, -1)
    # Screen (white) and the code.
    inset = max(1, int(side * 0.06))
    cv2.rectangle(frame, (bx0 + inset, by0 + inset), (bx0 + pw - inset, by0 + ph - inset),
                  (246, 246, 246), -1)
    code = np.pad(modules, 4, constant_values=False)
    img = np.where(np.kron(code, np.ones((px, px), bool)), 20, 246).astype(np.uint8)
    h, w = frame.shape[:2]
    sx0, sy0 = max(qx0, 0), max(qy0, 0)
    sx1, sy1 = min(qx0 + side, w), min(qy0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        frame[sy0:sy1, sx0:sx1] = img[sy0 - qy0 : sy1 - qy0, sx0 - qx0 : sx1 - qx0, None]


def render_scene(scene: SceneControl, size: tuple[int, int], people: list[Cutout],
                 backdrop: np.ndarray | None = None) -> np.ndarray:
    """The noiseless scene at size (w, h) with brightness 1 (RGB uint8)."""
    w, h = size
    frame = backdrop.copy() if backdrop is not None else _backdrop(w, h)
    unit = float(w)  # scene lengths are shares of the width of a 4:3 frame
    def to_px(fx: float, fy: float) -> tuple[float, float]:
        return w / 2 + (fx - 0.5) * unit, h / 2 + (fy - 0.5) * 0.75 * unit

    cut = people[scene.person % len(people)] if people else None
    placements: list[tuple[float, float, float]] = []
    if scene.faces >= 2:
        s2, dx2, dy2 = SECOND_FACE
        placements.append((scene.scale * s2, scene.dx + dx2, scene.dy + dy2))
    if scene.faces >= 1:
        placements.append((scene.scale, scene.dx, scene.dy))
    if cut is not None:
        for s, dx, dy in placements:  # the person behind first
            ax, ay = to_px(0.5 + dx, EYE_Y + dy)
            k = FACE_SHARE * s * unit / cut.face_width
            # cv2 angles are anticlockwise; the portrait's own tilt is undone
            # so roll_deg=0 renders level eyes.
            m = cv2.getRotationMatrix2D(cut.anchor, cut.roll_deg - scene.roll_deg, k)
            m[:, 2] += (ax - cut.anchor[0], ay - cut.anchor[1])
            _composite(frame, cut.looks[scene.hair_over_ears, scene.smile], m)
    if scene.qr_payload:
        ax, ay = to_px(0.5 + scene.dx, EYE_Y + scene.dy)
        fw = FACE_SHARE * scene.scale * unit
        _draw_phone(frame, _qr_modules(scene.qr_payload), ax, ay + 1.6 * fw, unit)
    return frame


class SimulatedCamera:
    """Camera protocol implementation that renders SceneControl (see module doc)."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.preview_size: tuple[int, int] = tuple(config.preview_size)  # type: ignore[assignment]
        self.still_size: tuple[int, int] = tuple(config.simulated.still_size)  # type: ignore[assignment]
        self.scene = SceneControl()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._started = False
        self._people: list[Cutout] | None = None
        self._backdrops: dict[tuple[int, int], np.ndarray] = {}
        self._noise: dict[tuple[int, int], np.ndarray] = {}
        self._clean: dict[tuple[int, int], tuple[SceneControl, np.ndarray]] = {}
        self._rng = np.random.default_rng(2026)

    # -- scene

    def update_scene(self, **changes: object) -> SceneControl:
        """Change the scene atomically (unknown names raise TypeError)."""
        with self._lock:
            self.scene = dataclasses.replace(self.scene, **changes).clamped()  # type: ignore[arg-type]
            return self.scene

    def reset_scene(self) -> SceneControl:
        with self._lock:
            self.scene = SceneControl()
            return self.scene

    @property
    def people_count(self) -> int:
        return max(1, len(self.config.simulated.faces))

    # -- Camera protocol

    def start(self) -> None:
        if self.scene.unplugged:
            raise CameraError("simulated camera is unplugged")
        self._load_people()
        self._started = True

    def is_available(self) -> bool:
        return not self.scene.unplugged

    def preview_frame(self) -> np.ndarray:
        return self._frame(self.preview_size)

    def capture_still(self) -> np.ndarray:
        return self._frame(self.still_size)

    def close(self) -> None:
        self._started = False

    # -- internals

    def _load_people(self) -> list[Cutout]:
        if self._people is None:
            try:
                sources = list(self.config.simulated.faces) or [None]
                self._people = [load_cutout(p) for p in sources]
            except ValueError as err:
                raise CameraError(f"simulated camera: {err}") from err
        return self._people

    def _frame(self, size: tuple[int, int]) -> np.ndarray:
        scene = self.scene  # one consistent snapshot (the object is immutable)
        if scene.unplugged:
            raise CameraError("simulated camera is unplugged")
        if not self._started:
            raise CameraError("camera not started")
        geometry = dataclasses.replace(scene, brightness=1.0, unplugged=False)
        with self._render_lock:
            cached = self._clean.get(size)
            if cached is None or cached[0] != geometry:
                # Only a scene change re-renders; frames in between are cheap.
                if size not in self._backdrops:
                    self._backdrops[size] = _backdrop(*size)
                clean = render_scene(geometry, size, self._load_people(), self._backdrops[size])
                self._clean[size] = (geometry, clean)
            else:
                clean = cached[1]
            noise = self._noise.get(size)
            if noise is None:
                w, h = size
                # Tile a small random block: drawing 37 M normals for a
                # 4056x3040 still takes seconds; a tile repeat is invisible.
                block = self._rng.normal(0, NOISE_SIGMA, (251, 257, 3)).round().astype(np.int16)
                reps = (-(-(h + 16) // 251), -(-(w + 16) // 257), 1)
                noise = np.ascontiguousarray(np.tile(block, reps)[: h + 16, : w + 16])
                self._noise[size] = noise
            ox, oy = (int(v) for v in self._rng.integers(0, 16, 2))
        w, h = size
        out = cv2.convertScaleAbs(clean, alpha=scene.brightness) if scene.brightness != 1.0 else clean
        return cv2.add(out, noise[oy : oy + h, ox : ox + w], dtype=cv2.CV_8U)


# ---------------------------------------------------------------- keys

MOVE_STEP = 0.02
SCALE_STEP = 1.06
ROLL_STEP = 3.0


def apply_key(camera: SimulatedCamera, key: str) -> bool:
    """Demo keyboard: change the scene for one key press; True if the key was used.

    Arrows move the student as seen in the mirrored preview: 'left' is a step
    to the student's own left (the face moves left on the screen, right in the
    camera frame), so the key named by a MOVE_LEFT hint is the one that obeys it.
    +/- closer/further, [ ] tilt, d/b darker/brighter, 2 second person,
    0 nobody, q phone with the demo QR code, h hair down over the ears,
    s smile (teeth showing), u unplug, n next portrait, r reset.
    """
    s = camera.scene
    k = key.lower()
    if k == "left":
        camera.update_scene(dx=s.dx + MOVE_STEP)
    elif k == "right":
        camera.update_scene(dx=s.dx - MOVE_STEP)
    elif k == "up":
        camera.update_scene(dy=s.dy - MOVE_STEP)
    elif k == "down":
        camera.update_scene(dy=s.dy + MOVE_STEP)
    elif k in ("+", "=", "plus", "numpadadd"):
        camera.update_scene(scale=s.scale * SCALE_STEP)
    elif k in ("-", "_", "minus", "numpadsubstract", "numpadsubtract"):
        camera.update_scene(scale=s.scale / SCALE_STEP)
    elif k == "[":
        camera.update_scene(roll_deg=s.roll_deg - ROLL_STEP)
    elif k == "]":
        camera.update_scene(roll_deg=s.roll_deg + ROLL_STEP)
    elif k == "d":
        camera.update_scene(brightness=s.brightness * 0.8)
    elif k == "b":
        camera.update_scene(brightness=s.brightness * 1.25)
    elif k == "2":
        camera.update_scene(faces=1 if s.faces == 2 else 2)
    elif k == "0":
        camera.update_scene(faces=1 if s.faces == 0 else 0)
    elif k == "q":
        camera.update_scene(qr_payload=None if s.qr_payload else DEMO_QR_PAYLOAD)
    elif k == "h":
        camera.update_scene(hair_over_ears=not s.hair_over_ears)
    elif k == "s":
        camera.update_scene(smile=not s.smile)
    elif k == "u":
        camera.update_scene(unplugged=not s.unplugged)
    elif k == "n":
        camera.update_scene(person=(s.person + 1) % camera.people_count)
    elif k == "r":
        camera.reset_scene()
    else:
        return False
    return True
