"""The USB webcam backend (OpenCV). No /dev/video device here: OpenCV reads a
video file written by the test through the same VideoCapture calls; a file
that runs out of frames is a camera that stops sending."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config import CameraConfig
from kiosk.hardware.backends import make_camera
from kiosk.hardware.camera import CameraError
from kiosk.hardware.camera_opencv import STILL_WARMUP_FRAMES, OpenCvCamera


def webcam_recording(path: Path, frames: int, size: tuple[int, int] = (320, 240)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, size)
    assert writer.isOpened()
    for i in range(frames):
        bgr = np.full((size[1], size[0], 3), (200, 120, 40), np.uint8)  # a blue-ish backdrop
        bgr[:40, :40] = (0, 0, 255)  # red patch, B,G,R as OpenCV gives it
        bgr[-40:, -40:] = min(255, i * 8)  # changes from frame to frame
        writer.write(bgr)
    writer.release()
    return path


def camera(device: Path) -> OpenCvCamera:
    cam = make_camera(CameraConfig(backend="opencv", device=str(device)))
    assert isinstance(cam, OpenCvCamera)
    return cam


def test_frames_come_out_rgb(tmp_path: Path) -> None:
    cam = camera(webcam_recording(tmp_path / "cam.avi", 30))
    assert cam.is_available()
    cam.start()
    frame = cam.preview_frame()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    r, g, b = frame[10, 10].astype(int)
    assert r > 200 and g < 50 and b < 50  # the red patch is red
    r, g, b = frame[120, 160].astype(int)
    assert b > r  # the backdrop is blue
    still = cam.capture_still()
    assert still.shape == (240, 320, 3)  # a file has one size; a webcam switches modes
    cam.close()


def test_still_drops_the_frames_after_the_mode_change(tmp_path: Path) -> None:
    cam = camera(webcam_recording(tmp_path / "cam.avi", 30))
    cam.start()  # reads frame 0
    cam.preview_frame()  # frame 1
    still = cam.capture_still()  # frames 2..6 dropped, frame 7 kept
    assert abs(int(still[-10, -10, 0]) - (2 + STILL_WARMUP_FRAMES) * 8) <= 6


def test_no_camera_at_the_device(tmp_path: Path) -> None:
    cam = camera(tmp_path / "video9")
    assert not cam.is_available()
    with pytest.raises(CameraError, match="no USB camera at"):
        cam.start()


def test_camera_that_stops_sending_then_comes_back(tmp_path: Path) -> None:
    path = webcam_recording(tmp_path / "cam.avi", 4)
    cam = camera(path)
    cam.start()
    with pytest.raises(CameraError, match="sent no picture"):
        for _ in range(10):
            cam.preview_frame()
    with pytest.raises(CameraError, match="not started"):
        cam.capture_still()
    webcam_recording(path, 10)  # plugged back in
    cam.start()
    assert cam.preview_frame().shape == (240, 320, 3)
    cam.close()
