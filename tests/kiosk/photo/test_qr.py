"""The 采集码 reader on camera-like frames: a phone screen held up in front of the booth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import segno

from kiosk.config import CameraConfig
from kiosk.hardware.camera_sim import SimulatedCamera
from kiosk.photo.qr import QrReader

# Opaque, like the real code: base64-looking text, as long as a real one.
PAYLOAD = "XJCJ1:q9A+/zX0lK3mN8pR2sT5uV7wY1bC4dE6fG8hJ0kL2mN4pQ6rS8tU0vW2xY4z=="


@pytest.fixture(scope="module")
def backdrop_frame() -> np.ndarray:
    """A real preview frame: the simulated student on the blue backdrop, no code."""
    cam = SimulatedCamera(CameraConfig())
    cam.start()
    frame = cam.preview_frame()
    cam.close()
    return frame


def code_image(payload: str = PAYLOAD, module_px: int = 4) -> np.ndarray:
    """The code as a phone shows it: black on a bright screen with a quiet zone."""
    matrix = np.array(segno.make_qr(payload, error="m").matrix, dtype=bool)
    matrix = np.pad(matrix, 4, constant_values=False)
    img = np.where(matrix, 20, 245).astype(np.uint8)
    img = np.kron(img, np.ones((module_px, module_px), np.uint8))
    return np.dstack([img] * 3)


def paste_warped(frame: np.ndarray, code: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Paste code into frame with a perspective warp to the given 4 corners (tl, tr, br, bl)."""
    h, w = code.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, np.float32(corners))
    out = frame.copy()
    size = (frame.shape[1], frame.shape[0])
    warped = cv2.warpPerspective(code, m, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, size)
    out[mask > 0] = warped[mask > 0]
    return out


def square(cx: float, cy: float, side: float, angle_deg: float = 0.0) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    half = side / 2
    pts = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    return pts @ rot.T + (cx, cy)


@pytest.fixture(scope="module")
def reader() -> QrReader:
    return QrReader()


def test_upright_code_held_up(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    frame = paste_warped(backdrop_frame, code_image(), square(320, 330, 170))
    assert reader.decode(frame) == PAYLOAD


def test_no_code_gives_none(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    assert reader.decode(backdrop_frame) is None


def test_small_code_far_from_the_camera(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    # About 2.3 px per module: the smallest a 640x480 preview still reads.
    frame = paste_warped(backdrop_frame, code_image(), square(320, 330, 105))
    assert reader.decode(frame) == PAYLOAD


@pytest.mark.parametrize("angle", [-35, -15, 20, 45])
def test_tilted_phone(reader: QrReader, backdrop_frame: np.ndarray, angle: float) -> None:
    frame = paste_warped(backdrop_frame, code_image(), square(320, 320, 160, angle))
    assert reader.decode(frame) == PAYLOAD


def test_perspective_phone_leaning_back(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    corners = np.array([[255, 250], [385, 250], [405, 420], [235, 420]])  # top edge farther away
    frame = paste_warped(backdrop_frame, code_image(), corners)
    assert reader.decode(frame) == PAYLOAD


def test_glare_spot_on_the_screen(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    frame = paste_warped(backdrop_frame, code_image(), square(320, 330, 180)).astype(np.float32)
    yy, xx = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    # A soft reflection over a corner of the code (error correction M absorbs it).
    glare = 140 * np.exp(-(((xx - 370) ** 2 + (yy - 290) ** 2) / (2 * 22.0**2)))
    frame = np.clip(frame + glare[..., None], 0, 255).astype(np.uint8)
    assert reader.decode(frame) == PAYLOAD


def test_phone_screen_moire(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    frame = paste_warped(backdrop_frame, code_image(), square(320, 330, 180)).astype(np.float32)
    yy, xx = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    # Interference between the screen's pixel grid and the sensor: a fine beat pattern.
    moire = 28 * np.sin(2 * np.pi * (xx * 0.37 + yy * 0.11)) * np.sin(2 * np.pi * yy * 0.045)
    noise = np.random.default_rng(7).normal(0, 6, frame.shape[:2])
    frame = np.clip(frame + (moire + noise)[..., None], 0, 255).astype(np.uint8)
    assert reader.decode(frame) == PAYLOAD


def test_chinese_payload_survives(reader: QrReader, backdrop_frame: np.ndarray) -> None:
    payload = "学信网图像采集码-测试-0123456789ABCDEF"
    frame = paste_warped(backdrop_frame, code_image(payload), square(320, 330, 190))
    assert reader.decode(frame) == payload


def test_noise_frame_is_not_a_code(reader: QrReader) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert reader.decode(noise) is None
