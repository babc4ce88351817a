"""Camera interface: a live preview stream and a full-resolution still.

Backends: camera_sim.SimulatedCamera (laptop demo, tests),
camera_picamera2.Picamera2Camera (the Pi camera) and
camera_opencv.OpenCvCamera (a USB webcam through OpenCV/V4L2). Frames are RGB uint8
numpy arrays of shape (height, width, 3).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


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

