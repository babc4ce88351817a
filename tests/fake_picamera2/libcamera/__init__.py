"""Stand-in for libcamera's Python bindings: the control enums the kiosk uses.

Tests put tests/fake_picamera2 first on sys.path (see tests/kiosk/hardware/test_camera_picamera2.py).
"""

from enum import IntEnum


class _AfModeEnum(IntEnum):
    Manual = 0
    Auto = 1
    Continuous = 2


class controls:  # noqa: N801  (libcamera's spelling)
    AfModeEnum = _AfModeEnum
