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
import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kiosk.hardware.camera import CameraError
from kiosk.hardware.sim_portrait import Cutout, load_cutout
from kiosk.hardware.sim_scene import DEMO_QR_PAYLOAD, SceneControl, render_scene

if TYPE_CHECKING:
    from kiosk.config import CameraConfig

NOISE_SIGMA = 2.0  # sensor noise, in 8-bit levels
NOISE_TILE = (251, 257)  # rows, columns of the repeated noise block


class SimulatedCamera:
    """Camera protocol implementation that renders SceneControl (see module doc)."""

    def __init__(self, config: CameraConfig, paint_ears: bool | None = None) -> None:
        """paint_ears: give the portraits' tucked-hair looks painted ears
        (None: the demo student only; real portraits are shown as shot)."""
        self.config = config
        self._paint_ears = paint_ears
        self.preview_size: tuple[int, int] = tuple(config.preview_size)  # type: ignore[assignment]
        self.still_size: tuple[int, int] = tuple(config.simulated.still_size)  # type: ignore[assignment]
        self.scene = SceneControl()
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()
        self._started = False
        self._people: list[Cutout] | None = None
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
                self._people = [load_cutout(p, self._paint_ears) for p in sources]
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
        keep = size == self.preview_size
        with self._render_lock:
            cached = self._clean.get(size)
            if cached is None or cached[0] != geometry:
                # Only a scene change re-renders a preview; frames in between
                # are cheap. The backdrop is made afresh (50 ms at 12 MP).
                clean = render_scene(geometry, size, self._load_people())
                if keep:
                    self._clean = {size: (geometry, clean)}
            else:
                clean = cached[1]
            block = self._noise.get(size)
            if block is None:
                # One small random block, repeated: drawing 37 M normals for
                # a 4056x3040 still takes seconds; a tile repeat is invisible.
                block = self._rng.normal(0, NOISE_SIGMA, NOISE_TILE + (3,)).round().astype(np.int16)
                self._noise[size] = block
            ox, oy = (int(v) for v in self._rng.integers(0, 16, 2))
        if scene.brightness != 1.0:
            out = cv2.convertScaleAbs(clean, alpha=scene.brightness)
        else:
            # A still's render is not kept (a camera holds no copy of the
            # still it handed out: 37 MB at 12 MP beside the still while it
            # is checked); it becomes the frame itself.
            out = clean.copy() if keep else clean
        return _add_tiled(out, np.roll(block, (-oy, -ox), axis=(0, 1)))


def _add_tiled(img: np.ndarray, block: np.ndarray) -> np.ndarray:
    """img + block repeated over it, saturated, in place: a full-size noise
    plane would hold 74 MB (int16) beside a 12 MP still."""
    th, tw = block.shape[:2]
    h, w = img.shape[:2]
    for y in range(0, h, th):
        for x in range(0, w, tw):
            tile = img[y:y + th, x:x + tw]
            tile[...] = cv2.add(tile, block[:tile.shape[0], :tile.shape[1]], dtype=cv2.CV_8U)
    return img


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
