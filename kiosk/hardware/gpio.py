"""Choosing gpiozero's pin factory from the config's ``gpio.pin_factory``.

'mock' is gpiozero's MockFactory with PWM-capable pins (laptop demo, tests);
the others are the real factories, imported only when asked for because
their libraries exist only on a Pi (lgpio, RPi.GPIO and pigpio come from
apt there: python3-lgpio, python3-rpi-lgpio, python3-pigpio).

``use_pin_factory`` is the one place that sets ``gpiozero.Device.pin_factory``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from gpiozero import Device
from gpiozero.pins import Factory
from gpiozero.pins.mock import MockFactory, MockPWMPin

log = logging.getLogger(__name__)

# name -> (module, class, how to get it on the Pi)
_REAL_FACTORIES: dict[str, tuple[str, str, str]] = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory", "apt install python3-lgpio"),
    "rpigpio": (
        "gpiozero.pins.rpigpio",
        "RPiGPIOFactory",
        "apt install python3-rpi-lgpio (Pi 5) or python3-rpi.gpio (older Pis)",
    ),
    "pigpio": (
        "gpiozero.pins.pigpio",
        "PiGPIOFactory",
        "apt install python3-pigpio pigpiod, and start the pigpiod daemon",
    ),
    "native": ("gpiozero.pins.native", "NativeFactory", "needs a Raspberry Pi's /dev/gpiomem"),
}
FACTORY_NAMES: tuple[str, ...] = ("mock", *_REAL_FACTORIES)

_lock = threading.Lock()


class GpioError(Exception):
    """The requested pin factory cannot be used here; the message says why."""


def make_pin_factory(name: str) -> Factory:
    """A new pin factory for ``name`` (see FACTORY_NAMES); raises GpioError."""
    if name == "mock":
        # The default MockPin has no PWM: PWMLED and RGBLED need MockPWMPin.
        return MockFactory(pin_class=MockPWMPin)
    try:
        module_name, class_name, hint = _REAL_FACTORIES[name]
    except KeyError:
        raise GpioError(
            f"unknown gpio.pin_factory {name!r}; use one of {', '.join(FACTORY_NAMES)}"
        ) from None
    try:
        with _in_writable_dir():
            factory_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError as err:
        raise GpioError(
            f"gpio.pin_factory {name!r} is not available: {err} ({hint}; "
            "on a laptop use 'mock' or run with --demo)"
        ) from err
    except Exception as err:  # a backend failing while it loads (lgpio: its notify pipe)
        raise GpioError(f"gpio.pin_factory {name!r} could not load: {err} ({hint})") from err
    try:
        return factory_class()
    except Exception as err:  # each backend library raises its own types
        raise GpioError(
            f"gpio.pin_factory {name!r} could not start: {err} ({hint})"
        ) from err


@contextlib.contextmanager
def _in_writable_dir() -> Iterator[None]:
    """Import a backend with a writable working directory.

    lgpio creates its notify pipe (.lgd-nfyN) in $LG_WD, else the working
    directory, when it is imported, and then opens it relative to the working
    directory: under systemd that is /opt/photo-kiosk, which the kiosk user
    cannot write, and the import fails (gpiozero issue 1106). So the import
    runs in $LG_WD (the unit sets it to its runtime directory) or a private
    temporary one, and the process's own directory is restored after.
    """
    work = os.environ.get("LG_WD") or tempfile.mkdtemp(prefix="photo-kiosk-gpio-")
    os.environ.setdefault("LG_WD", work)
    before = os.getcwd()
    os.chdir(Path(work))
    try:
        yield
    finally:
        os.chdir(before)


def use_pin_factory(name: str) -> Factory:
    """Make ``name`` gpiozero's default factory and return it.

    Safe to call again in one process (tests, a restart of the runtime): the
    previous factory's pins are closed and its reservations cleared first, so
    the same pin numbers can be claimed again.
    """
    with _lock:
        factory = make_pin_factory(name)
        previous = Device.pin_factory
        if previous is not None:
            _release(previous)
        Device.pin_factory = factory
        log.info("gpio pin factory: %s", name)
        return factory


def _release(factory: Factory) -> None:
    try:
        factory.close()
    except Exception:  # a half-broken old factory must not stop the new one
        log.warning("closing the previous pin factory failed", exc_info=True)
    if isinstance(factory, MockFactory):
        # close() leaves the reservations behind; reset() drops them.
        factory.reset()
