"""The booth scene the simulated camera shows: what is in front of it
(SceneControl) and how it is drawn (render_scene): the lit blue backdrop, the
student and perhaps a second person (kiosk.hardware.sim_portrait cut-outs),
a phone with a QR code.

Scene coordinates are normalised to a 4:3 frame, so the preview and the
still show the same scene at different resolutions. dx > 0 moves the face
to the image's right, which is the student's left.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.hardware.sim_portrait import Cutout

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


# -------------------------------------------------------------- rendering


def backdrop_frame(w: int, h: int) -> np.ndarray:
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


COMPOSITE_ROWS = 512


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
    # Warp and blend in bands of rows: a 12 MP still's person is a 30 MB
    # RGBA patch, and the blend's temporaries as many again each.
    for b0 in range(y0, y1, COMPOSITE_ROWS):
        b1 = min(b0 + COMPOSITE_ROWS, y1)
        shifted = m.copy()
        shifted[:, 2] -= (x0, b0)  # warp only the band the person covers
        patch = cv2.warpAffine(
            rgba, shifted, (x1 - x0, b1 - b0), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0),
        )
        # Premultiplied "over" in saturating uint8 cv2 ops: several times
        # faster than float numpy on a 4056x3040 still.
        inv = cv2.bitwise_not(patch[..., 3])
        roi = frame[b0:b1, x0:x1]
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
    frame = backdrop.copy() if backdrop is not None else backdrop_frame(w, h)
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

