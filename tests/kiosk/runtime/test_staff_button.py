"""The staff push button and the booth's pins over whole sessions, on gpiozero's MockFactory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.codes import Button, KioskStatus, State
from kiosk.config import parse_config
from kiosk.session import View
from kiosk.hardware.staff_button import StaffButton, StaffButtonError
from kiosk.runtime import KioskRuntime
from kiosk.script import ScriptRunner

ROOT = Path(__file__).resolve().parents[3]
BUTTON = 5
RED, GREEN, BLUE = 17, 27, 22
LAMPS = (12, 13)
HOLD = 0.3


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory(pin_class=MockPWMPin)


def press(pin, seconds: float = 0.08) -> None:
    pin.drive_low()  # the button shorts the pin to ground
    time.sleep(seconds)
    pin.drive_high()


def test_short_and_long_press(factory: MockFactory) -> None:
    presses: list[bool] = []
    button = StaffButton(BUTTON, HOLD, factory, presses.append)
    pin = factory.pin(BUTTON)
    press(pin)
    time.sleep(0.1)
    assert presses == [False]
    press(pin, HOLD + 0.3)  # held: one long press, reported while still held, none on release
    time.sleep(0.1)
    assert presses == [False, True]
    button.close()


def test_button_pin_in_use(factory: MockFactory) -> None:
    first = StaffButton(BUTTON, HOLD, factory, lambda long: None)
    with pytest.raises(StaffButtonError, match="pin 5"):
        StaffButton(BUTTON, HOLD, factory, lambda long: None)
    first.close()


# ------------------------------------------------------------ whole sessions

@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[KioskRuntime]:
    config = parse_config({
        "kiosk": {"data_dir": str(tmp_path / "data"), "min_free_mb": 1},
        "audio": {"muted": True},
        "flow": {"countdown_seconds": 1},
        "roster": {"path": str(ROOT / "examples" / "roster-demo.csv")},
        "gpio": {"staff_button_pin": BUTTON, "staff_button_hold_seconds": HOLD},
    })
    rt = KioskRuntime(config)
    rt.start()
    yield rt
    rt.stop()


def pins() -> MockFactory:
    factory = Device.pin_factory
    assert isinstance(factory, MockFactory)  # the runtime's (use_pin_factory("mock"))
    return factory


def poll_until(rt: KioskRuntime, done: Callable[[View], bool], what: str, timeout: float = 30) -> View:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = rt.poll()
        if done(view):
            return view
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what} (state {rt.poll().state.value})")


def led() -> tuple[float, float, float]:
    return tuple(pins().pin(p).state for p in (RED, GREEN, BLUE))  # type: ignore[return-value]


def mark() -> dict[int, int]:
    """How many states each pin went through so far (to look at what comes next)."""
    return {p: len(pins().pin(p).states) for p in (RED, GREEN, BLUE, *LAMPS)}


def since(start: dict[int, int], pin: int) -> list[float]:
    return [s.state for s in pins().pin(pin).states[start[pin]:]]


def run_script(rt: KioskRuntime, text: str, timeout: float = 120) -> None:
    runner = ScriptRunner(rt, text)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = runner.step(rt.poll())
        if result is not None:
            assert result.ok, result.reason
            return
        time.sleep(0.01)
    raise AssertionError("script timed out")


def test_pins_over_a_whole_session_a_failure_and_a_recovery(runtime: KioskRuntime) -> None:
    rt = runtime
    poll_until(rt, lambda v: rt.devices_up and v.status == KioskStatus.READY, "ready")
    assert led() == (0, 1, 0)  # solid green
    assert all(pins().pin(p).state == 0 for p in LAMPS)

    # A student's session: blue while in use, lamps on for the photo, off after, green again.
    start = mark()
    run_script(rt, (ROOT / "tests" / "scripts" / "happy_path.txt").read_text(encoding="utf-8"))
    poll_until(rt, lambda v: v.state == State.ATTRACT and led() == (0, 1, 0), "green after the session")
    blue = since(start, BLUE)
    assert 1 in blue and blue[-1] == 0
    for lamp in LAMPS:
        seen = since(start, lamp)
        assert 1 in seen and seen[-1] == 0, seen  # on for posing and the still, then off
    green = since(start, GREEN)
    assert green[0] == 0 and green[-1] == 1  # green went off for the session and came back

    # The camera fails: fast red blink; it comes back: green, by itself.
    start = mark()
    rt.camera.update_scene(unplugged=True)
    poll_until(rt, lambda v: v.status == KioskStatus.ERROR, "the failure")
    time.sleep(0.9)
    red = since(start, RED)
    assert red.count(1) >= 2 and 0 in red  # blinking, not solid
    assert all(s == 0 for s in since(start, GREEN)[1:])
    rt.camera.update_scene(unplugged=False)
    poll_until(rt, lambda v: v.status == KioskStatus.READY and led() == (0, 1, 0), "recovery", timeout=15)


def test_staff_button_opens_staff_mode_and_a_long_press_the_check(runtime: KioskRuntime) -> None:
    rt = runtime
    poll_until(rt, lambda v: rt.devices_up and v.status == KioskStatus.READY, "ready")
    button = pins().pin(BUTTON)

    press(button)
    view = poll_until(rt, lambda v: v.state == State.STAFF, "staff mode")
    assert not view.staff_unlocked  # the PIN still guards it
    assert poll_until(rt, lambda v: led() == (1, 1, 1), "white LED")
    rt.enter_pin(rt.config.kiosk.staff_pin)
    assert rt.poll().staff_page == "status"
    rt.press(Button.STAFF_EXIT)
    poll_until(rt, lambda v: v.state == State.ATTRACT and led() == (0, 1, 0), "back to ready")

    press(button, HOLD + 0.3)
    poll_until(rt, lambda v: v.state == State.STAFF, "staff mode from a long press")
    rt.enter_pin(rt.config.kiosk.staff_pin)
    view = rt.poll()
    assert view.staff_page == "doctor" and view.doctor_running
    view = poll_until(rt, lambda v: bool(v.doctor), "the booth check")
    assert {f.check.value for f in view.doctor} >= {"camera", "lights", "status_led", "id_reader"}
    assert led() == (1, 1, 1)  # the check left the LED saying "staff mode"
