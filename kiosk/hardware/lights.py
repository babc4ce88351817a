"""The photo lights: one or more PWM-dimmed LED panels on GPIO pins.

They switch on for posing and the still, off otherwise. With ramp_seconds
above 0, on() fades in so the light does not startle the student; the
default (0) is instant, which is what tests and the still need.
"""

from __future__ import annotations

import logging
import threading
from gpiozero import PWMLED
from gpiozero.pins import Factory

log = logging.getLogger(__name__)

_RAMP_STEP = 0.02  # seconds between fade steps (50 Hz looks smooth)


class LightsError(Exception):
    """A light pin failed; the flow treats it as Device.LIGHTS failing."""


class Lights:
    def __init__(
        self,
        pins: list[int],
        level: float,
        pin_factory: Factory | None,
        *,
        ramp_seconds: float = 0.0,
    ) -> None:
        if not 0 < level <= 1:
            raise ValueError("level must be in (0, 1]")
        self.level = level
        self.ramp_seconds = ramp_seconds
        self._lock = threading.Lock()
        self._ramp_stop = threading.Event()
        self._ramp_thread: threading.Thread | None = None
        self._leds: list[PWMLED] = []
        try:
            for pin in pins:
                self._leds.append(PWMLED(pin, pin_factory=pin_factory))
        except Exception as err:  # backends raise their own types (lgpio.error...)
            self.close()
            raise LightsError(f"cannot open light pins {pins}: {err}") from err

    @property
    def is_on(self) -> bool:
        return any(led.value > 0 for led in self._leds)

    def on(self) -> None:
        """All lights to ``level`` (fading in when ramp_seconds > 0)."""
        with self._lock:
            self._stop_ramp()
            if self.ramp_seconds <= 0:
                self._set_all(self.level)
                return
            self._ramp_stop.clear()
            self._ramp_thread = threading.Thread(
                target=self._ramp, args=(self.level,), name="lights-ramp", daemon=True
            )
            self._ramp_thread.start()

    def off(self) -> None:
        with self._lock:
            self._stop_ramp()
            self._set_all(0.0)

    def close(self) -> None:
        with self._lock:
            self._stop_ramp()
            for led in self._leds:
                try:
                    led.close()
                except Exception:  # closing must go on for the other pins
                    log.warning("closing a light pin failed", exc_info=True)
            self._leds = []

    # ------------------------------------------------------------ helpers

    def _set_all(self, value: float) -> None:
        try:
            for led in self._leds:
                led.value = value
        except Exception as err:
            raise LightsError(f"cannot set lights to {value:.2f}: {err}") from err

    def _ramp(self, target: float) -> None:
        steps = max(1, int(self.ramp_seconds / _RAMP_STEP))
        start = max((led.value for led in self._leds), default=0.0)
        try:
            for i in range(1, steps + 1):
                if self._ramp_stop.is_set():
                    return
                value = start + (target - start) * i / steps
                for led in self._leds:
                    led.value = value
                if self._ramp_stop.wait(_RAMP_STEP):
                    return
        except Exception:  # nobody to raise to in this thread; is_on tells the truth
            log.warning("lights fade-in failed", exc_info=True)

    def _stop_ramp(self) -> None:
        thread = self._ramp_thread
        if thread is not None:
            self._ramp_stop.set()
            thread.join()
            self._ramp_thread = None
