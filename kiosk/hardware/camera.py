"""Camera interface: a live preview stream and a full-resolution still.

Backends: camera_sim.SimulatedCamera (laptop demo, tests),
camera_picamera2.Picamera2Camera (the Pi camera) and
camera_opencv.OpenCvCamera (a USB webcam through OpenCV/V4L2). Frames are RGB uint8
numpy arrays of shape (height, width, 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from kiosk.config import CameraConfig


class CameraError(Exception):
    """The camera is gone or failed; the flow's failsafe takes over."""


class Camera(Protocol):
    preview_size: tuple[int, int]  # (width, height)

    def start(self) -> None:
        """Open the device and start the preview stream. Raises CameraError."""

    def preview_frame(self) -> np.ndarray:
        """The newest preview frame (RGB). Raises CameraError."""

    def capture_still(self) -> np.ndarray:
        """One full-resolution still (RGB). Raises CameraError."""

    def is_available(self) -> bool:
        """Cheap check used to recover after a failure without a restart."""

    def close(self) -> None: ...


def make_camera(config: CameraConfig) -> Camera:
    """Pick the backend named in the config; Pi-only imports stay inside."""
    if config.backend == "simulated":
        from kiosk.hardware.camera_sim import SimulatedCamera

        return SimulatedCamera(config)
    if config.backend == "picamera2":
        from kiosk.hardware.camera_picamera2 import Picamera2Camera

        return Picamera2Camera(config)
    if config.backend == "opencv":
        from kiosk.hardware.camera_opencv import OpenCvCamera

        return OpenCvCamera(config)
    raise ValueError(f"unknown camera backend {config.backend!r}")
