"""The Pi camera through picamera2 (libcamera).

picamera2 only imports on Raspberry Pi OS (apt python3-picamera2, venv with
--system-site-packages), so it is imported inside the methods, never at
module level. tests/fake_picamera2 stands in for it in CI; no Pi camera was
at hand to try this on.

Preview: one 'main' RGB888 stream at config.preview_size, started once.
picamera2's "RGB888" is B,G,R in memory (libcamera/DRM naming), so frames are
reversed to R,G,B. Still: exposure and white balance are first given time to
settle under the booth's lights (the lamps come on for posing) and then
locked, so the still is exposed like the preview the student saw; a Camera
Module 3 (autofocus) runs one focus scan; then
switch_mode_and_capture_array() with a still configuration at
config.still_size (picamera2 switches back to the preview mode by itself),
and AE/AWB are let go again for the next student.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from kiosk.hardware.camera import CameraError

if TYPE_CHECKING:
    from kiosk.config import CameraConfig

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # at most this long for AE to converge before the still
SETTLE_FRAMES = 60  # ...or this many frames


class Picamera2Camera:
    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.preview_size: tuple[int, int] = tuple(config.preview_size)  # type: ignore[assignment]
        self.still_size: tuple[int, int] = tuple(config.still_size)  # type: ignore[assignment]
        self._cam: Any = None
        self._still_config: Any = None
        self.autofocus = False  # a Camera Module 3: its lens focuses
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
            except IndexError:  # picamera2's way of saying "no camera attached"
                raise CameraError("no camera found (check the ribbon cable)") from None
            except Exception as err:  # ImportError, RuntimeError "Failed to acquire camera", ...
                raise CameraError(f"camera start failed: {err}") from err
            self._cam = cam
            try:
                preview = cam.create_preview_configuration(
                    main={"size": self.preview_size, "format": "RGB888"}
                )
                self._still_config = cam.create_still_configuration(
                    main={"size": self.still_size, "format": "RGB888"}
                )
                cam.configure(preview)
                self.autofocus = "AfMode" in cam.camera_controls
                if self.autofocus:
                    from libcamera import controls

                    cam.set_controls({"AfMode": controls.AfModeEnum.Continuous})
                cam.start()
            except Exception as err:
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
                self._settle_and_lock(cam)
                try:
                    bgr = cam.switch_mode_and_capture_array(self._still_config, "main")
                finally:
                    cam.set_controls({"AeEnable": True, "AwbEnable": True})
            except Exception as err:
                self._close_quietly()
                raise CameraError(f"still capture failed: {err}") from err
        return np.ascontiguousarray(bgr[:, :, 2::-1])

    def _settle_and_lock(self, cam: Any) -> None:
        """Wait for AE to converge (AeLocked), then fix exposure, gain and colour gains."""
        deadline = time.monotonic() + SETTLE_SECONDS
        metadata: dict[str, Any] = {}
        for _ in range(SETTLE_FRAMES):
            metadata = cam.capture_metadata()
            if metadata.get("AeLocked") or time.monotonic() > deadline:
                break
        if not metadata.get("AeLocked"):
            log.warning("exposure had not settled before the still; locking it as it is")
        cam.set_controls({"AeEnable": False, "AwbEnable": False,
                          "ExposureTime": int(metadata["ExposureTime"]),
                          "AnalogueGain": float(metadata["AnalogueGain"]),
                          "ColourGains": tuple(metadata["ColourGains"])})
        if self.autofocus and not cam.autofocus_cycle():
            log.warning("autofocus did not lock before the still")

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
