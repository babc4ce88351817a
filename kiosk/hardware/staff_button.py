"""The staff push button: a press opens staff mode, a long press the booth check.

A plain push button between the configured GPIO pin and ground (the pin's
pull-up holds it high). gpiozero calls back on its own thread: on_press(long)
must only hand the press over (KioskRuntime.post), never touch the flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gpiozero import Button
from gpiozero.pins import Factory


class StaffButtonError(Exception):
    """The button's pin cannot be opened."""


class StaffButton:
    def __init__(self, pin: int, hold_seconds: float, pin_factory: Factory | None,
                 on_press: Callable[[bool], None]) -> None:
        self._on_press = on_press
        self._held = False
        self._lock = threading.Lock()
        try:
            self._button = Button(pin, pull_up=True, bounce_time=0.05, hold_time=hold_seconds,
                                  pin_factory=pin_factory)
        except Exception as err:  # backends raise their own types (lgpio.error...)
            raise StaffButtonError(f"cannot open staff button pin {pin}: {err}") from err
        self._button.when_pressed = self._pressed
        self._button.when_held = self._was_held
        self._button.when_released = self._released

    def _pressed(self) -> None:
        with self._lock:
            self._held = False

    def _was_held(self) -> None:
        with self._lock:
            self._held = True
        self._on_press(True)  # at once, while staff still hold it: they see it worked

    def _released(self) -> None:
        with self._lock:
            held = self._held
        if not held:
            self._on_press(False)

    def close(self) -> None:
        self._button.close()
