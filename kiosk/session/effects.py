"""What the flow asks the runtime to do: it never touches a device itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable


class EffectKind(str, Enum):
    LIGHTS_ON = "lights_on"
    LIGHTS_OFF = "lights_off"
    TAKE_STILL = "take_still"
    SAVE_CAPTURE = "save_capture"  # arg: the kiosk.domain.CaptureRequest
    PROMPT = "prompt"  # arg: catalog key of the spoken prompt
    RETRY_REJECTED = "retry_rejected"  # staff: queue the refused captures again
    CALIBRATE_BACKDROP = "calibrate_backdrop"  # staff: measure the empty backdrop
    USB_EXCHANGE = "usb_exchange"  # staff: receipts from the USB stick, pending captures onto it
    RUN_DOCTOR = "run_doctor"  # staff: the booth checks (kiosk/tools/doctor.py) on the running devices
    CHECK = "check"  # arg: a Check to run off the UI thread, answered with checked()


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    arg: Any = None


@dataclass(frozen=True, eq=False)
class Check:
    """A slow look-up (a roster lookup, the 采集码's owner: one scrypt hash
    each) for the runtime's worker; its answer goes back to checked().
    number: which check this is (a newer one supersedes it)."""

    number: int
    run: Callable[[], Any] = field(repr=False)
