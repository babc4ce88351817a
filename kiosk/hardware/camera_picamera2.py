"""The Pi camera through picamera2 (libcamera).

UNTESTED ON HARDWARE: written from the picamera2 manual; no Pi camera was
available when it was written. picamera2 only imports on Raspberry Pi OS
(apt python3-picamera2, venv with --system-site-packages), so it is imported
inside the methods, never at module level.

Preview: one 'main' RGB888 stream at config.preview_size, started once.
picamera2's "RGB888" is B,G,R in memory (libcamera/DRM naming), so frames are
reversed to R,G,B. Still: switch_mode_and_capture_array() with a still
configuration at config.still_size; picamera2 switches back to the preview
mode by itself after the capture.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from kiosk.hardware.camera import CameraError

if TYPE_CHECKING:
    from kiosk.config import CameraConfig


class Picamera2Camera:
    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.preview_size: tuple[int, int] = tuple(config.preview_size)  # type: ignore[assignment]
        self.still_size: tuple[int, int] = tuple(config.still_size)  # type: ignore[assignment]
        self._cam: Any = None
        self._still_config: Any = None
        # preview_frame and capture_still may come from different threads;
        # picamera2 must not switch mode under a running capture_array.
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._cam is not None:
                return
            try:
                from picamera2 import Picamera2

                cam = Picamera2()
                preview = cam.create_preview_configuration(
                    main={"size": self.preview_size, "format": "RGB888"}
                )
                self._still_config = cam.create_still_configuration(
                    main={"size": self.still_size, "format": "RGB888"}
                )
                cam.configure(preview)
                cam.start()
                self._cam = cam
            except Exception as err:  # ImportError, RuntimeError from libcamera, ...
                self._close_quietly()
                raise CameraError(f"camera start failed: {err}") from err

    def preview_frame(self) -> np.ndarray:
        with self._lock:
            cam = self._require()
            try:
                bgr = cam.capture_array("main")
            except Exception as err:
                self._close_quietly()  # so a later start() reopens the device
                raise CameraError(f"preview capture failed: {err}") from err
        return np.ascontiguousarray(bgr[:, :, 2::-1])  # B,G,R(,X) -> R,G,B

    def capture_still(self) -> np.ndarray:
        with self._lock:
            cam = self._require()
            try:
                bgr = cam.switch_mode_and_capture_array(self._still_config, "main")
            except Exception as err:
                self._close_quietly()
                raise CameraError(f"still capture failed: {err}") from err
        return np.ascontiguousarray(bgr[:, :, 2::-1])

    def is_available(self) -> bool:
        try:
            from picamera2 import Picamera2

            return bool(Picamera2.global_camera_info())
        except Exception:
            return False

    def close(self) -> None:
        with self._lock:
            self._close_quietly()

    def _require(self) -> Any:
        if self._cam is None:
            raise CameraError("camera not started")
        return self._cam

    def _close_quietly(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
                cam.close()
            except Exception:
                pass  # closing a camera that already failed
