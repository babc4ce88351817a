"""A booth refuses a window nobody can see (SDL's silent offscreen fallback)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.config import Config, parse_config
from kiosk.hardware.display import EXIT_NO_SCREEN, headless_refusal, is_booth, refuse_to_start
from kiosk.hardware.status_led import StatusLed
from window_harness import base_env, kiosk_command, write_config

ROOT = Path(__file__).resolve().parents[3]
BOOTH = parse_config({"id_reader": {"backend": "sam", "port": "/dev/ttyNOPE"}})


def test_booth_is_any_real_device() -> None:
    assert not is_booth(Config())
    assert is_booth(BOOTH)
    assert is_booth(parse_config({"gpio": {"pin_factory": "lgpio"}}))
    assert not is_booth(BOOTH.as_demo())


@pytest.mark.parametrize("driver", ["offscreen", "dummy"])
def test_booth_refuses_headless_drivers(driver: str) -> None:
    reason = headless_refusal(driver, BOOTH)
    assert reason is not None and driver in reason and "kmsdrm" in reason
    assert headless_refusal(driver, Config()) is None  # the demo and the tests run offscreen


@pytest.mark.parametrize("driver", ["kmsdrm", "x11", "wayland", None])
def test_booth_accepts_real_screens(driver: str | None) -> None:
    assert headless_refusal(driver, BOOTH) is None


def test_sdl_driver_is_read_from_the_loaded_library(tmp_path: Path) -> None:
    env = base_env(tmp_path)  # SDL_VIDEODRIVER=offscreen
    probe = ("from kivy.core.window import Window\n"
             "from kiosk.hardware.display import sdl_video_driver\n"
             "print('driver=' + str(sdl_video_driver()))\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert "driver=offscreen" in out.stdout, out.stderr[-800:]


def test_refusal_blinks_the_fault_pattern_and_releases_devices(caplog: pytest.LogCaptureFixture) -> None:
    factory = MockFactory(pin_class=MockPWMPin)
    stopped: list[bool] = []

    class Runtime:
        status_led = StatusLed((17, 27, 22), factory)

        def stop(self) -> None:
            stopped.append(True)
            self.status_led.close()

    red = factory.pin(17)
    with caplog.at_level(logging.ERROR):
        code = refuse_to_start(Runtime(), "no screen: test", hold=0.7)
    assert code == EXIT_NO_SCREEN and stopped == [True]
    assert "refusing to start: no screen: test" in caplog.text
    # fast red blink (0.2 s on/off): red went on and off more than once while held
    levels = [s.state for s in red.states]
    ons = sum(1 for a, b in zip(levels, levels[1:]) if a == 0 and b > 0)
    assert ons >= 2, levels
    assert all(s.state == 0 for s in factory.pin(27).states)  # never green


def test_kiosk_run_on_a_booth_without_a_screen_exits_with_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text() + '\n[id_reader]\nbackend = "sam"\nport = "/dev/ttyNOPE"\n')
    env = base_env(tmp_path)
    out = subprocess.run([*kiosk_command(), "--config", str(cfg), "run"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == EXIT_NO_SCREEN, out.stderr[-1500:]
    assert "refusing to start: no screen: SDL opened the 'offscreen' video driver" in out.stderr
    assert "Traceback" not in out.stderr
    assert os.path.isdir(tmp_path / "data")  # the store was opened and closed cleanly
