"""What the runtime does for each effect the flow asks for: one handler a kind.

Slow handlers hand their job to the worker thread; the rest are quick and
run on the UI thread.
"""

from __future__ import annotations

import logging
from typing import Callable

from kiosk.codes import Device
from kiosk.session import Check, Effect, EffectKind, SessionFlow
from kiosk.hardware.lights import Lights, LightsError
from kiosk.runtime.capture import CapturePath
from kiosk.runtime.staff import StaffJobs
from kiosk.runtime.upkeep import Upkeep, parse_time

log = logging.getLogger(__name__)

Handler = Callable[[Effect], None]
FlowEvent = Callable[[SessionFlow], None]


def effect_table(flow: SessionFlow, lights: Lights, capture: CapturePath, staff: StaffJobs,
                 upkeep: Upkeep, submit: Callable[..., None], post: Callable[[FlowEvent], None],
                 prompt: Callable[[str], None],
                 calibrate: Callable[[Callable], None]) -> dict[EffectKind, Handler]:
    def switch_lights(turn: Callable[[], None]) -> None:
        try:
            turn()
        except LightsError as err:
            log.error("lights failed: %s", err)
            flow.device_failed(Device.LIGHTS)

    def run_check(check: Check) -> None:
        """The flow's slow look-up (worker thread: the scrypt hash must not
        freeze the window); an error goes to the safety net through submit."""
        answer = check.run()
        post(lambda f: f.checked(check, answer))

    return {
        EffectKind.LIGHTS_ON: lambda effect: switch_lights(lights.on),
        EffectKind.LIGHTS_OFF: lambda effect: switch_lights(lights.off),
        EffectKind.TAKE_STILL: lambda effect: submit(capture.take_still),
        EffectKind.SAVE_CAPTURE: lambda effect: submit(capture.save, effect.arg),
        EffectKind.PROMPT: lambda effect: prompt(effect.arg),
        EffectKind.RETRY_REJECTED: lambda effect: upkeep.retry_rejected(),
        EffectKind.CALIBRATE_BACKDROP: lambda effect: calibrate(
            lambda result: flow.backdrop_calibrated(result, parse_time(capture.backdrop.calibrated_at))),
        EffectKind.USB_EXCHANGE: lambda effect: submit(staff.usb_exchange),
        EffectKind.RUN_DOCTOR: lambda effect: submit(staff.run_doctor),
        EffectKind.CHECK: lambda effect: submit(run_check, effect.arg),
    }
