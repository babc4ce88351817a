"""A USB webcam through OpenCV (V4L2 on Linux), for booths built without a Pi camera.

cv2 comes with mediapipe. The preview runs at config.preview_size; for the
still the camera is switched to config.still_size (what a UVC webcam
offers nearest to it), a few frames are dropped while its auto exposure
adapts to the new mode, one is kept, and the preview size is set back.
OpenCV gives B,G,R: frames are reversed to R,G,B.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiosk.hardware.camera import CameraError

if TYPE_CHECKING:
    from kiosk.config import CameraConfig

STILL_WARMUP_FRAMES = 5  # frames dropped after a mode change (exposure adapting)


class OpenCvCamera:
    def __init__(self, config: CameraConfig) -> None:
        self.device = config.device
        self.preview_size: tuple[int, int] = tuple(config.preview_size)  # type: ignore[assignment]
        self.still_size: tuple[int, int] = tuple(config.still_size)  # type: ignore[assignment]
        self._cap: Any = None
        self._lock = threading.Lock()  # the camera thread and the still worker share it

    def start(self) -> None:
        import cv2

        with self._lock:
            if self._cap is not None:
                return
            cap = cv2.VideoCapture(self.device)
            if not cap.isOpened():
                cap.release()
                raise CameraError(f"no USB camera at {self.device} (check the cable, or camera.device)")
            # MJPG: full resolution over USB 2 at a usable frame rate.
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            self._cap = cap
            self._set_size(self.preview_size)
            self._read()  # a camera that opens but sends nothing fails here, not later

    def preview_frame(self) -> np.ndarray:
        with self._lock:
            return self._read()

    def capture_still(self) -> np.ndarray:
        with self._lock:
            self._require()
            self._set_size(self.still_size)
            try:
                for _ in range(STILL_WARMUP_FRAMES):
                    self._require().grab()
                return self._read()
            finally:
                if self._cap is not None:
                    self._set_size(self.preview_size)

    def is_available(self) -> bool:
        return Path(self.device).exists()

    def close(self) -> None:
        with self._lock:
            self._release()

    # ------------------------------------------------------------ helpers

    def _require(self) -> Any:
        if self._cap is None:
            raise CameraError("camera not started")
        return self._cap

    def _set_size(self, size: tuple[int, int]) -> None:
        import cv2

        cap = self._require()
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])

    def _read(self) -> np.ndarray:
        ok, bgr = self._require().read()
        if not ok or bgr is None:
            self._release()  # so the runtime's recovery opens it afresh
            raise CameraError(f"the USB camera at {self.device} sent no picture")
        return np.ascontiguousarray(bgr[:, :, ::-1])

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
