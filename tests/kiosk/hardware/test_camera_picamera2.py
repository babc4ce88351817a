"""kiosk/hardware/camera_picamera2.py against the fake picamera2 in tests/fake_picamera2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from kiosk.config import CameraConfig
from kiosk.hardware.backends import make_camera
from kiosk.hardware.camera import CameraError
from kiosk.hardware.camera_picamera2 import Picamera2Camera

FAKE = Path(__file__).resolve().parents[2] / "fake_picamera2"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(FAKE))
    for name in ("picamera2", "libcamera"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import picamera2

    picamera2.reset()
    yield picamera2
    for name in ("picamera2", "libcamera"):
        sys.modules.pop(name, None)


def camera(still: tuple[int, int] = (1352, 1014)) -> Picamera2Camera:
    cam = make_camera(CameraConfig(backend="picamera2", preview_size=(640, 480), still_size=still))
    assert isinstance(cam, Picamera2Camera)
    return cam


def test_preview_and_still_streams(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    frame = cam.preview_frame()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    # libcamera's RGB888 is B,G,R in memory: the red patch must come out red.
    assert tuple(frame[5, 5]) == (255, 0, 0)
    still = cam.capture_still()
    assert still.shape == (1014, 1352, 3) and tuple(still[5, 5]) == (255, 0, 0)
    log = fake.RIG.log
    assert ("configure", "preview", (640, 480)) in log
    assert ("switch_mode_and_capture_array", "still", (1352, 1014)) == log[-2][:3]
    assert cam.preview_frame().shape == (480, 640, 3)  # back in preview mode
    cam.close()
    assert log[-1] == ("close",)


def test_exposure_settles_under_the_lights_and_is_locked_for_the_still(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    dim = cam.preview_frame().mean()
    fake.RIG.scene.light = 1.0  # the booth's lamps come on for posing
    fake.RIG.scene.colour_cast = (1.1, 1.0, 0.8)  # warm lamps
    cam.capture_still()
    switch = next(e for e in fake.RIG.log if e[0] == "switch_mode_and_capture_array")
    controls = switch[3]
    assert controls["AeEnable"] is False and controls["AwbEnable"] is False
    # Locked at the converged values: the level AE aims for, under the lamps.
    level = 1.0 * 0.011 * controls["AnalogueGain"] * controls["ExposureTime"]
    assert abs(level - fake.TARGET_LEVEL) < 2, level
    assert controls["ColourGains"] == pytest.approx((1 / 1.1, 1 / 0.8))
    # And let go afterwards, for the next student's preview.
    assert fake.RIG.log[-1] == ("set_controls", {"AeEnable": True, "AwbEnable": True})
    assert dim != pytest.approx(cam.preview_frame().mean())


def test_still_is_exposed_like_the_settled_preview(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    fake.RIG.scene.light = 1.0
    still = cam.capture_still()
    grey = still[200:, 200:].mean()  # away from the red patch
    assert abs(grey - fake.TARGET_LEVEL) < 3, grey


def test_camera_module_3_focuses_before_the_still(fake: ModuleType) -> None:
    fake.RIG.cameras = [dict(fake.MODULE3_SENSOR)]
    cam = camera()
    cam.start()
    assert cam.autofocus
    from libcamera import controls

    assert ("set_controls", {"AfMode": controls.AfModeEnum.Continuous}) in fake.RIG.log
    cam.capture_still()
    names = [e[0] for e in fake.RIG.log]
    assert names.index("autofocus_cycle") < names.index("switch_mode_and_capture_array")


def test_hq_camera_has_no_autofocus(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    cam.capture_still()
    assert not cam.autofocus and "autofocus_cycle" not in [e[0] for e in fake.RIG.log]


def test_no_camera_attached(fake: ModuleType) -> None:
    fake.RIG.cameras = []
    cam = camera()
    assert not cam.is_available()
    with pytest.raises(CameraError, match="no camera found"):
        cam.start()


def test_camera_busy(fake: ModuleType) -> None:
    fake.RIG.busy = True
    with pytest.raises(CameraError, match="Failed to acquire camera"):
        camera().start()


def test_failure_mid_preview_then_recovery(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    fake.RIG.fail_next_capture = "Camera frontend has timed out!"
    with pytest.raises(CameraError, match="timed out"):
        cam.preview_frame()
    assert ("close",) in fake.RIG.log  # released, so the device can be opened again
    with pytest.raises(CameraError, match="not started"):
        cam.capture_still()
    assert cam.is_available()
    cam.start()  # what the runtime's recovery does
    assert cam.preview_frame().shape == (480, 640, 3)


def test_failure_during_the_still(fake: ModuleType) -> None:
    cam = camera()
    cam.start()
    cam.preview_frame()
    fake.RIG.fail_next_capture = "Device timeout"
    with pytest.raises(CameraError, match="still capture failed"):
        cam.capture_still()


def test_without_picamera2_installed() -> None:
    # On a laptop (no python3-picamera2) the backend says so instead of crashing.
    assert "picamera2" not in sys.modules
    cam = camera()
    assert not cam.is_available()
    with pytest.raises(CameraError, match="camera start failed"):
        cam.start()
