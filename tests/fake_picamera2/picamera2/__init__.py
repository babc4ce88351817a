"""A fake picamera2 that behaves like the real one where the kiosk relies on it.

Modelled on the picamera2 manual (Raspberry Pi, 2024) for Bookworm's
python3-picamera2 0.3.x:
- Picamera2(camera_num) raises IndexError with no camera attached and
  RuntimeError("Failed to acquire camera ...") when another process has it;
  Picamera2.global_camera_info() lists the attached cameras;
- create_preview_configuration / create_still_configuration return dicts
  with "main" {"size", "format"} streams; configure(), start(), stop(), close();
- capture_array("main") gives (height, width, 3) uint8 in B,G,R order for
  format "RGB888" (libcamera's naming); switch_mode_and_capture_array(cfg)
  captures in cfg's mode and switches back to the running one;
- capture_metadata() has ExposureTime (µs), AnalogueGain, ColourGains, Lux
  and AeLocked (the AE algorithm has converged); set_controls() with
  AeEnable/AwbEnable False and fixed ExposureTime/AnalogueGain/ColourGains
  freezes them;
- camera_controls has "AfMode" only on an autofocus camera (Camera Module 3);
  autofocus_cycle() runs one AF scan and returns True once in focus.

The scene: FakeScene.light (1.0 = the booth's lights on) changes what the
sensor sees; AE needs a few frames to converge after a change, like libcamera.
Tests reach the state through the class attributes below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

HQ_SENSOR = {"Model": "imx477", "Location": 2, "Rotation": 0, "Id": "/base/soc/i2c0mux/i2c@1/imx477@1a", "Num": 0}
MODULE3_SENSOR = {"Model": "imx708", "Location": 2, "Rotation": 0, "Id": "/base/soc/i2c0mux/i2c@1/imx708@1a", "Num": 0}

AE_FRAMES = 4  # frames AE takes to converge after the light changes
TARGET_LEVEL = 110.0  # mean grey AE aims for


@dataclass
class FakeScene:
    light: float = 0.3  # the hall's light; the booth's lamps make it 1.0
    colour_cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # R, G, B of the light


@dataclass
class Rig:
    """What is plugged in, shared by every Picamera2 object (like the hardware)."""

    cameras: list[dict] = field(default_factory=lambda: [dict(HQ_SENSOR)])
    busy: bool = False
    fail_next_capture: str = ""  # a libcamera error for the next capture
    scene: FakeScene = field(default_factory=FakeScene)
    log: list[tuple] = field(default_factory=list)  # every call the kiosk made
    autofocus_ok: bool = True


RIG = Rig()


def reset() -> Rig:
    global RIG
    RIG = Rig()
    return RIG


class Picamera2:
    def __init__(self, camera_num: int = 0) -> None:
        cams = RIG.cameras
        if camera_num >= len(cams):
            raise IndexError("list index out of range")  # what picamera2 raises with no camera
        if RIG.busy:
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        self.camera_properties = {"Model": cams[camera_num]["Model"], "PixelArraySize": (4056, 3040)}
        self.camera_controls: dict[str, tuple] = {
            "AeEnable": (False, True, True), "AwbEnable": (False, True, True),
            "ExposureTime": (110, 694434, None), "AnalogueGain": (1.0, 22.26, None),
            "ColourGains": (0.0, 32.0, None),
        }
        if cams[camera_num]["Model"] == "imx708":
            self.camera_controls["AfMode"] = (0, 2, 0)
            self.camera_controls["LensPosition"] = (0.0, 15.0, 1.0)
        self.started = False
        self.closed = False
        self.config: dict | None = None
        self.controls: dict[str, Any] = {"AeEnable": True, "AwbEnable": True}
        self._exposure = 10000.0  # µs
        self._gain = 1.0
        self._colour_gains = (1.0, 1.0)
        self._seen_light = RIG.scene.light
        self._frames_since_change = AE_FRAMES
        self._in_focus = cams[camera_num]["Model"] != "imx708"
        RIG.log.append(("open", camera_num))

    @staticmethod
    def global_camera_info() -> list[dict]:
        return [dict(c) for c in RIG.cameras]

    # -- configuration
    def create_preview_configuration(self, main: dict | None = None, **kw: Any) -> dict:
        return {"use_case": "preview", "main": {"format": "XBGR8888", "size": (640, 480), **(main or {})},
                "buffer_count": 4, **kw}

    def create_still_configuration(self, main: dict | None = None, **kw: Any) -> dict:
        return {"use_case": "still", "main": {"format": "BGR888", "size": (4056, 3040), **(main or {})},
                "buffer_count": 1, **kw}

    def configure(self, config: dict) -> None:
        self._check_open()
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        self.config = config
        RIG.log.append(("configure", config["use_case"], tuple(config["main"]["size"])))

    def start(self) -> None:
        self._check_open()
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True
        RIG.log.append(("start",))

    def stop(self) -> None:
        self.started = False
        RIG.log.append(("stop",))

    def close(self) -> None:
        self.started = False
        self.closed = True
        RIG.log.append(("close",))

    # -- controls
    def set_controls(self, controls: dict[str, Any]) -> None:
        self._check_open()
        for name in controls:
            if name not in self.camera_controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")
        self.controls.update(controls)
        if "ExposureTime" in controls:
            self._exposure = float(controls["ExposureTime"])
        if "AnalogueGain" in controls:
            self._gain = float(controls["AnalogueGain"])
        if "ColourGains" in controls:
            self._colour_gains = tuple(controls["ColourGains"])
        RIG.log.append(("set_controls", dict(controls)))

    def autofocus_cycle(self) -> bool:
        if "AfMode" not in self.camera_controls:
            raise RuntimeError("Control AfMode is not advertised by libcamera")
        RIG.log.append(("autofocus_cycle",))
        self._in_focus = RIG.autofocus_ok
        return RIG.autofocus_ok

    # -- capture
    def capture_metadata(self) -> dict[str, Any]:
        self._check_running()
        self._advance_ae()
        return {"ExposureTime": int(self._exposure), "AnalogueGain": self._gain,
                "ColourGains": self._colour_gains, "Lux": 400.0 * RIG.scene.light,
                "AeLocked": self._frames_since_change >= AE_FRAMES or not self.controls["AeEnable"],
                "FocusFoM": 900 if self._in_focus else 150}

    def capture_array(self, name: str = "main") -> np.ndarray:
        self._check_running()
        self._advance_ae()
        return self._frame(self.config["main"]["size"])  # type: ignore[index]

    def switch_mode_and_capture_array(self, camera_config: dict, name: str = "main") -> np.ndarray:
        self._check_running()
        RIG.log.append(("switch_mode_and_capture_array", camera_config["use_case"],
                        tuple(camera_config["main"]["size"]), dict(self.controls)))
        return self._frame(camera_config["main"]["size"])

    # -- the simulated sensor
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("Camera is closed")

    def _check_running(self) -> None:
        self._check_open()
        if not self.started:
            raise RuntimeError("Camera is not running")
        if RIG.fail_next_capture:
            message, RIG.fail_next_capture = RIG.fail_next_capture, ""
            raise RuntimeError(message)

    def _advance_ae(self) -> None:
        light = RIG.scene.light
        if light != self._seen_light:
            self._seen_light, self._frames_since_change = light, 0
        if self.controls["AeEnable"] and self._frames_since_change < AE_FRAMES:
            self._frames_since_change += 1
            # Each frame closes part of the gap to the exposure that gives TARGET_LEVEL.
            target = TARGET_LEVEL / (light * 0.011 * self._gain)
            self._exposure += (target - self._exposure) * (self._frames_since_change / AE_FRAMES)
        if self.controls["AwbEnable"]:
            r, g, b = RIG.scene.colour_cast
            self._colour_gains = (g / r, g / b)

    def level(self) -> float:
        """Mean grey the sensor gives now (before the colour gains)."""
        return min(255.0, RIG.scene.light * 0.011 * self._gain * self._exposure)

    def _frame(self, size: tuple[int, int]) -> np.ndarray:
        width, height = size
        level = self.level()
        r, g, b = RIG.scene.colour_cast
        rg, bg = self._colour_gains
        rgb = np.array([level * r * rg, level * g, level * b * bg]).clip(0, 255)
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = rgb[::-1].astype(np.uint8)  # B,G,R in memory, as libcamera's RGB888
        frame[: height // 8, : width // 8] = (0, 0, 255)  # a red patch (B,G,R) top left
        return frame
