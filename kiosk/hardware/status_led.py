"""The status LED: one RGB LED telling staff the kiosk's state from across the room.

| status  | colour | pattern                    | meaning                                  |
|---------|--------|----------------------------|------------------------------------------|
| READY   | green  | solid                      | idle, devices fine, everything synced    |
| BUSY    | blue   | solid                      | a student is using the kiosk             |
| QUEUE   | green  | slow blink (1 s on, 1 s off) | idle, photos still waiting to upload  |
| OFFLINE | amber  | slow blink (1 s on, 1 s off) | the school server cannot be reached   |
| STAFF   | white  | solid                      | staff mode is open                       |
| ERROR   | red    | fast blink (0.2 s on/off)  | needs help: a device failed or disk full |

Blue for BUSY (not dim green) so that "in use" can never be mistaken for
"ready" in a bright hall. The table lives in PATTERNS below; this docstring
is what staff read in the README, so change both together.
"""

from __future__ import annotations

import logging
import threading

from gpiozero import RGBLED
from gpiozero.pins import Factory

from kiosk.codes import KioskStatus

log = logging.getLogger(__name__)

Colour = tuple[float, float, float]

OFF: Colour = (0.0, 0.0, 0.0)
GREEN: Colour = (0.0, 1.0, 0.0)
BLUE: Colour = (0.0, 0.0, 1.0)
# Red plus a little green; LED green is brighter to the eye than red.
AMBER: Colour = (1.0, 0.4, 0.0)
WHITE: Colour = (1.0, 1.0, 1.0)
RED: Colour = (1.0, 0.0, 0.0)

# status -> (colour, on_time, off_time) in seconds; off_time 0 means solid.
PATTERNS: dict[KioskStatus, tuple[Colour, float, float]] = {
    KioskStatus.READY: (GREEN, 1.0, 0.0),
    KioskStatus.BUSY: (BLUE, 1.0, 0.0),
    KioskStatus.QUEUE: (GREEN, 1.0, 1.0),
    KioskStatus.OFFLINE: (AMBER, 1.0, 1.0),
    KioskStatus.STAFF: (WHITE, 1.0, 0.0),
    KioskStatus.ERROR: (RED, 0.2, 0.2),
}


class StatusLedError(Exception):
    """The LED's pins failed; the flow treats it as Device.STATUS_LED failing."""


class StatusLed:
    def __init__(self, pins: tuple[int, int, int], pin_factory: Factory | None) -> None:
        self._lock = threading.Lock()
        self._status: KioskStatus | None = None
        red, green, blue = pins
        try:
            self._led: RGBLED | None = RGBLED(red, green, blue, pin_factory=pin_factory)
        except Exception as err:  # backends raise their own types (lgpio.error...)
            raise StatusLedError(f"cannot open status LED pins {pins}: {err}") from err

    @property
    def status(self) -> KioskStatus | None:
        """The status shown now (None before the first show())."""
        return self._status

    def show(self, status: KioskStatus) -> None:
        """Show ``status``; a repeat of the current one leaves the LED alone
        (restarting a blink on every UI tick would make it stutter)."""
        with self._lock:
            if status == self._status or self._led is None:
                return
            colour, on_time, off_time = PATTERNS[status]
            try:
                if off_time <= 0:
                    self._led.color = colour  # also stops a running blink
                else:
                    self._led.blink(
                        on_time=on_time, off_time=off_time, on_color=colour, off_color=OFF
                    )
            except Exception as err:
                raise StatusLedError(f"cannot show {status.value} on the status LED: {err}") from err
            self._status = status

    def close(self) -> None:
        with self._lock:
            if self._led is not None:
                try:
                    self._led.close()
                except Exception:  # closing at shutdown must not raise
                    log.warning("closing the status LED failed", exc_info=True)
                self._led = None
            self._status = None
