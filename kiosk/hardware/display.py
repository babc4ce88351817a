"""Which SDL video driver Kivy's window got, and whether a booth may run on it.

With no desktop and no usable DRM device, SDL falls back to its 'offscreen'
(or 'dummy') driver without a word: the service looks healthy and the
screen stays black. A booth (any real device in the config) refuses that;
the demo and the tests (every device simulated) run offscreen on purpose.
Kivy does not say which driver SDL chose, so we ask the SDL library that
Kivy loaded (SDL_GetCurrentVideoDriver) through ctypes.
"""

from __future__ import annotations

import ctypes
import logging
import re
import time
from pathlib import Path
from typing import Any

from kiosk.codes import KioskStatus
from kiosk.config import Config

log = logging.getLogger(__name__)

EXIT_NO_SCREEN = 3  # `kiosk run` on a booth whose window would show nothing
FAULT_HOLD = 10.0  # seconds the LED blinks red before a refused start exits (systemd restarts it)

# Drivers that draw nowhere a student can see.
HEADLESS_DRIVERS = frozenset({"offscreen", "dummy", "evdev"})
_SDL_LIB = re.compile(r"/libSDL2(-2)?[-.][^/]*so[^/]*$")


def loaded_sdl_library(maps: Path = Path("/proc/self/maps")) -> str | None:
    """Path of the libSDL2 mapped into this process (Kivy's wheel bundles its own)."""
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        path = line.split(maxsplit=5)[-1] if len(line.split()) >= 6 else ""
        if _SDL_LIB.search(path):
            return path
    return None


def sdl_video_driver() -> str | None:
    """The video driver of the SDL that Kivy opened its window with; None if unknown."""
    path = loaded_sdl_library()
    if path is None:
        return None
    try:
        sdl = ctypes.CDLL(path)  # already loaded: the same library, not a second copy
        sdl.SDL_GetCurrentVideoDriver.restype = ctypes.c_char_p
        name = sdl.SDL_GetCurrentVideoDriver()
    except (OSError, AttributeError):
        return None
    return name.decode() if name else None


def is_booth(config: Config) -> bool:
    """A config with a real device: a student will stand in front of this screen."""
    return (config.camera.backend != "simulated" or config.id_reader.backend != "simulated"
            or config.gpio.pin_factory != "mock")


def headless_refusal(driver: str | None, config: Config) -> str | None:
    """Why a booth must not start on this window (one log line), else None."""
    if driver in HEADLESS_DRIVERS and is_booth(config):
        return (f"no screen: SDL opened the {driver!r} video driver, so nothing would show. "
                "Check the display cable and that the unit sets SDL_VIDEODRIVER=kmsdrm "
                "(the kiosk user needs the video and render groups); "
                "`kiosk run --demo` runs without a screen")
    return None


def refuse_to_start(runtime: Any, reason: str, hold: float) -> int:
    """Log why, blink the LED's fault pattern for ``hold`` seconds, release the devices.

    runtime: a KioskRuntime (its status_led and stop()); returns the exit code.
    """
    log.error("refusing to start: %s", reason)
    try:
        runtime.status_led.show(KioskStatus.ERROR)
    except Exception as err:  # the LED is the only other way to tell staff; the log has it
        log.error("status LED failed too: %s", err)
    time.sleep(hold)
    runtime.stop()
    return EXIT_NO_SCREEN
