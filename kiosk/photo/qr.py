"""Read the student's 图像采集码 from a preview frame.

The payload is kept as an opaque string: it is encrypted for the collection
unit, so the kiosk never interprets it.
"""

from __future__ import annotations

import cv2
import numpy as np


class QrReader:
    """OpenCV's QR detectors. Not thread-safe: one instance per thread.

    The ArUco-based detector finds codes the classic one misses (measured on
    the simulated phone: classic failed a version-2 code the ArUco one read)
    and is quicker on frames without a code (5 ms vs 11 ms at 640x480);
    the classic one is the fallback.
    """

    def __init__(self) -> None:
        self._detectors = (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())

    def decode(self, rgb: np.ndarray) -> str | None:
        """The QR payload in the frame, or None when there is none readable."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        for detector in self._detectors:
            try:
                text, _points, _straight = detector.detectAndDecode(gray)
            except cv2.error:
                continue  # odd geometry in a frame is "no code", not a crash
            if text:
                return text
        return None
