"""Photo test cases built from the real astronaut portrait (simulated camera).

Each function returns an RGB uint8 image: a raw still (the kiosk crops it)
or a 480x640 final photo (checked as it is).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from kiosk.config import PhotoConfig
from kiosk.hardware.camera_sim import SimulatedCamera
from kiosk.hardware.sim_scene import BACKDROP_RGB
from kiosk.photo.analysis import FaceAnalyser, FaceInfo
from kiosk.photo.crop import _resample, encode_jpeg, plan_crop

SPEC = PhotoConfig()
BACKDROP = np.asarray(BACKDROP_RGB, np.float32)


def still(camera: SimulatedCamera, **scene: object) -> np.ndarray:
    camera.reset_scene()
    camera.update_scene(**scene)
    img = camera.capture_still()
    camera.reset_scene()
    return img.copy()


def one_face(analyser: FaceAnalyser, img: np.ndarray) -> FaceInfo:
    faces = analyser.analyse(img).faces
    assert len(faces) == 1, f"{len(faces)} faces"
    return faces[0]


def framed(img: np.ndarray, face: FaceInfo, shift: tuple[float, float] = (0, 0)) -> np.ndarray:
    """A 480x640 final photo cut with the kiosk's window for face, moved by
    shift (output px; + moves the face left/up in the photo). img may be
    another still of the same size: the window does not follow its face."""
    h, w = img.shape[:2]
    plan = plan_crop(face, w, h, SPEC)
    x0 = int(round(plan.x0 + shift[0] / plan.scale))
    y0 = int(round(plan.y0 + shift[1] / plan.scale))
    cw, ch = int(round(plan.width)), int(round(plan.height))
    assert 0 <= x0 and 0 <= y0 and x0 + cw <= w and y0 + ch <= h, "window leaves the still"
    return _resample(img, x0, y0, cw, ch, SPEC)


def jpeg(img: np.ndarray) -> bytes:
    return encode_jpeg(img, SPEC).data


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def blue_top(img: np.ndarray, face: FaceInfo) -> np.ndarray:
    """Recolour everything below the chin that is not backdrop toward the
    backdrop blue: a light-blue shirt."""
    out = img.copy()
    y0 = int(face.chin_y + 0.15 * face.face_width)
    region = out[y0:].astype(np.float32)
    cloth = np.linalg.norm(region - BACKDROP, axis=2) > 40
    region[cloth] = region[cloth] * 0.15 + BACKDROP * 0.85
    out[y0:] = region.round().astype(np.uint8)
    return out


def side_light(img: np.ndarray, face: FaceInfo, left: float = 1.15, right: float = 0.5) -> np.ndarray:
    """A left-to-right gain ramp across the face (one lamp off)."""
    w = img.shape[1]
    x0, _, x1, _ = face.box
    gain = np.interp(np.arange(w), [x0, x1], [left, right]).astype(np.float32)
    return np.clip(img * gain[None, :, None], 0, 255).round().astype(np.uint8)


def key_light(img: np.ndarray, face: FaceInfo, left: float = 1.1, right: float = 0.6) -> np.ndarray:
    """side_light on the person alone, the cloth as it was: a lamp to one
    side that models the face (as on studio portraits), not the booth."""
    person = np.linalg.norm(img.astype(np.float32) - BACKDROP, axis=2) > 40
    a = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 2.0)[..., None]
    return (img * (1 - a) + side_light(img, face, left, right) * a).round().astype(np.uint8)


def busy_background(img: np.ndarray, seed: int = 7) -> np.ndarray:
    """Replace the backdrop with coloured noise (posters, a crowd, a room)."""
    out = img.copy()
    bg = np.linalg.norm(out.astype(np.float32) - BACKDROP, axis=2) < 40
    noise = np.random.default_rng(seed).integers(0, 256, out.shape, dtype=np.uint8)
    noise = cv2.GaussianBlur(noise, (0, 0), 2.0)  # blobs, not sensor noise
    noise = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)
    out[bg] = noise[bg]
    return out


def fringe(img: np.ndarray, face: FaceInfo) -> np.ndarray:
    """Bangs down over the eyebrows: the student's own hair, taken from above
    the forehead, stretched down over the brows to just above the eyes."""
    out = img.copy()
    lm = face.landmarks
    fw = face.face_width
    x0, x1 = int(lm[70, 0] - 0.08 * fw), int(lm[300, 0] + 0.08 * fw)
    bottom = int(min(lm[159, 1], lm[386, 1]) - 0.05 * fw)  # above the upper lids
    top = int(lm[10, 1] - 0.3 * fw)  # inside the hair above the forehead
    source = img[top:int(lm[10, 1] - 0.05 * fw), int(lm[70, 0]):int(lm[300, 0])]
    hair = cv2.resize(source, (x1 - x0, bottom - top), interpolation=cv2.INTER_LINEAR)
    # A wavy lower edge, soft like hair.
    rows = bottom - top
    mask = np.zeros((rows, x1 - x0), np.float32)
    edge = rows - 1 - (0.03 * fw * (1 + np.sin(np.arange(x1 - x0) / (0.05 * fw)))).astype(int)
    for c, e in enumerate(edge):
        mask[:e, c] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0)[..., None]
    region = out[top:bottom, x0:x1].astype(np.float32)
    out[top:bottom, x0:x1] = (hair * mask + region * (1 - mask)).round().astype(np.uint8)
    return out


def _lenses(face: FaceInfo) -> list[tuple[tuple[float, float], float]]:
    """(centre, eye width) of each eye."""
    lm = face.landmarks
    return [((lm[a] + lm[b]) / 2, float(np.linalg.norm(lm[b] - lm[a]))) for a, b in ((33, 133), (362, 263))]


def lens_glare(img: np.ndarray, face: FaceInfo) -> np.ndarray:
    """A lamp reflected in each lens of a pair of black-framed glasses: a
    clipped white streak across the eye (glare is judged only on glasses)."""
    from glasses_cases import glasses

    out = glasses(img, face).astype(np.float32)
    for (cx, cy), ew in _lenses(face):
        blob = np.zeros(img.shape[:2], np.float32)
        cv2.ellipse(blob, ((cx + 0.2 * ew, cy - 0.1 * ew), (0.6 * ew, 0.3 * ew), -20), 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), 0.6)[..., None]
        out = out * (1 - blob) + 255.0 * blob
    return out.round().astype(np.uint8)


def tinted_glasses(img: np.ndarray, face: FaceInfo, tint: float = 0.3) -> np.ndarray:
    """Sunglasses: a black frame whose lenses pass `tint` of the light."""
    from glasses_cases import glasses

    return glasses(img, face, tint=tint)
