"""Lights and status LED on gpiozero's own MockFactory with PWM pins."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.codes import KioskStatus
from kiosk.hardware.gpio import GpioError, make_pin_factory, use_pin_factory
from kiosk.hardware.lights import Lights, LightsError
from kiosk.hardware.status_led import PATTERNS, StatusLed, StatusLedError

LIGHT_PINS = [12, 13]
LED_PINS = (17, 27, 22)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = use_pin_factory("mock")
    assert isinstance(f, MockFactory)
    yield f


@pytest.fixture
def lights(factory: MockFactory) -> Iterator[Lights]:
    dev = Lights(LIGHT_PINS, 0.6, factory)
    yield dev
    dev.close()


@pytest.fixture
def led(factory: MockFactory) -> Iterator[StatusLed]:
    dev = StatusLed(LED_PINS, factory)
    yield dev
    dev.close()


def wait_until(predicate, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def rgb(factory: MockFactory) -> tuple[float, float, float]:
    r, g, b = (factory.pin(p).state for p in LED_PINS)
    return (r, g, b)


# ------------------------------------------------------------ pin factory


def test_mock_factory_has_pwm_pins() -> None:
    f = make_pin_factory("mock")
    assert isinstance(f, MockFactory)
    assert f.pin_class is MockPWMPin


def test_use_pin_factory_sets_device_default(factory: MockFactory) -> None:
    assert Device.pin_factory is factory


def test_use_pin_factory_twice_releases_previous_pins() -> None:
    first = use_pin_factory("mock")
    old = Lights(LIGHT_PINS, 1.0, first)
    old.on()
    old_pin = first.pin(LIGHT_PINS[0])
    assert old_pin.state == 1.0

    second = use_pin_factory("mock")
    assert second is not first
    assert Device.pin_factory is second
    # The previous factory's pins were closed and forgotten.
    assert old_pin.frequency is None and old_pin.state == 0.0
    assert first.pins == {}
    # The same pin numbers can be claimed again through the default factory.
    new = Lights(LIGHT_PINS, 1.0, None)
    new.on()
    assert second.pin(LIGHT_PINS[0]).state == 1.0
    new.close()


def test_same_pins_reused_by_another_test(factory: MockFactory) -> None:
    # Runs after tests that used these pins; a leftover reservation would
    # raise GPIOPinInUse here.
    dev = Lights(LIGHT_PINS, 0.5, factory)
    dev.on()
    assert factory.pin(12).state == 0.5
    dev.close()


def test_unknown_factory_name() -> None:
    with pytest.raises(GpioError, match="unknown gpio.pin_factory 'gpio9'"):
        make_pin_factory("gpio9")


def test_real_factory_unavailable_here_gives_clear_error(factory: MockFactory) -> None:
    # No Pi here: either the lgpio module is missing or it finds no gpiochip.
    with pytest.raises(GpioError, match="lgpio") as info:
        use_pin_factory("lgpio")
    assert "python3-lgpio" in str(info.value)
    # A failed switch leaves the working factory in place.
    assert Device.pin_factory is factory


# ------------------------------------------------------------------ lights


def test_lights_on_off_levels(lights: Lights, factory: MockFactory) -> None:
    pins = [factory.pin(p) for p in LIGHT_PINS]
    assert [p.state for p in pins] == [0.0, 0.0]
    assert not lights.is_on
    lights.on()
    assert [p.state for p in pins] == [0.6, 0.6]
    assert lights.is_on
    lights.off()
    assert [p.state for p in pins] == [0.0, 0.0]
    assert not lights.is_on


def test_lights_level_change_is_instant(lights: Lights, factory: MockFactory) -> None:
    pin = factory.pin(LIGHT_PINS[1])
    pin.clear_states()
    lights.level = 0.25
    lights.on()
    lights.level = 0.9
    lights.on()
    lights.off()
    assert [s.state for s in pin.states] == [0.0, 0.25, 0.9, 0.0]


def test_lights_soft_ramp_reaches_level(factory: MockFactory) -> None:
    dev = Lights(LIGHT_PINS, 0.8, factory, ramp_seconds=0.15)
    pin = factory.pin(LIGHT_PINS[0])
    pin.clear_states()
    try:
        dev.on()
        assert wait_until(lambda: pin.state == pytest.approx(0.8))
        values = [s.state for s in pin.states]
        assert len(values) > 3  # faded, not switched
        assert values == sorted(values)
    finally:
        dev.close()


def test_lights_off_stops_a_ramp(factory: MockFactory) -> None:
    dev = Lights(LIGHT_PINS, 1.0, factory, ramp_seconds=1.0)
    try:
        dev.on()
        time.sleep(0.1)
        dev.off()
        time.sleep(0.1)
        assert factory.pin(LIGHT_PINS[0]).state == 0.0
        assert not dev.is_on
    finally:
        dev.close()


def test_lights_pin_conflict_raises_lights_error(lights: Lights, factory: MockFactory) -> None:
    with pytest.raises(LightsError, match="12"):
        Lights([12], 1.0, factory)


def test_lights_bad_pin_raises_lights_error(factory: MockFactory) -> None:
    with pytest.raises(LightsError):
        Lights([5, 99], 1.0, factory)
    # The good pin opened before the failure was released again.
    Lights([5], 1.0, factory).close()


def test_lights_close_releases_pins(factory: MockFactory) -> None:
    Lights(LIGHT_PINS, 1.0, factory).close()
    Lights(LIGHT_PINS, 1.0, factory).close()


# -------------------------------------------------------------- status LED

SOLID = {
    KioskStatus.READY: (0.0, 1.0, 0.0),
    KioskStatus.BUSY: (0.0, 0.0, 1.0),
    KioskStatus.STAFF: (1.0, 1.0, 1.0),
}


def test_patterns_cover_every_status() -> None:
    assert set(PATTERNS) == set(KioskStatus)


@pytest.mark.parametrize("status", list(SOLID))
def test_status_led_solid_colours(status: KioskStatus, led: StatusLed, factory: MockFactory) -> None:
    led.show(status)
    assert rgb(factory) == SOLID[status]
    time.sleep(0.3)  # solid: nothing changes afterwards
    assert rgb(factory) == SOLID[status]
    assert led.status == status


def _on_then_off(factory: MockFactory, timeout: float) -> tuple[tuple[float, ...], bool]:
    assert wait_until(lambda: any(rgb(factory)), 1.0)
    on = rgb(factory)
    went_off = wait_until(lambda: rgb(factory) == (0.0, 0.0, 0.0), timeout)
    return on, went_off


def test_status_led_error_is_fast_red_blink(led: StatusLed, factory: MockFactory) -> None:
    red = factory.pin(LED_PINS[0])
    red.clear_states()
    led.show(KioskStatus.ERROR)
    time.sleep(0.9)
    ons = [s for s in red.states if s.state == 1.0]
    offs = [s for s in red.states[1:] if s.state == 0.0]
    assert len(ons) >= 2 and len(offs) >= 2  # fast: two full cycles in under a second
    assert factory.pin(LED_PINS[1]).state == 0.0
    assert factory.pin(LED_PINS[2]).state == 0.0


def test_status_led_offline_is_slow_amber_blink(led: StatusLed, factory: MockFactory) -> None:
    led.show(KioskStatus.OFFLINE)
    on, went_off = _on_then_off(factory, 0.5)
    r, g, b = on
    assert r == 1.0 and 0 < g < r and b == 0.0  # amber
    assert not went_off  # slow: still on after half a second
    assert wait_until(lambda: rgb(factory) == (0.0, 0.0, 0.0), 1.5)


def test_status_led_queue_is_slow_green_blink(led: StatusLed, factory: MockFactory) -> None:
    led.show(KioskStatus.QUEUE)
    on, went_off = _on_then_off(factory, 0.5)
    assert on == (0.0, 1.0, 0.0)
    assert not went_off
    assert wait_until(lambda: rgb(factory) == (0.0, 0.0, 0.0), 1.5)


def test_status_led_show_is_idempotent(led: StatusLed, factory: MockFactory) -> None:
    red = factory.pin(LED_PINS[0])
    led.show(KioskStatus.ERROR)
    red.clear_states()
    # A UI tick calls show() far more often than the 0.2 s blink period; if
    # each call restarted the blink the LED would never get to its off phase.
    end = time.monotonic() + 0.8
    while time.monotonic() < end:
        led.show(KioskStatus.ERROR)
        time.sleep(0.02)
    assert any(s.state == 0.0 for s in red.states[1:])


def test_status_led_change_stops_blink(led: StatusLed, factory: MockFactory) -> None:
    led.show(KioskStatus.ERROR)
    led.show(KioskStatus.READY)
    time.sleep(0.5)
    assert rgb(factory) == (0.0, 1.0, 0.0)


def test_status_led_close_turns_off(factory: MockFactory) -> None:
    dev = StatusLed(LED_PINS, factory)
    dev.show(KioskStatus.STAFF)
    dev.close()
    assert rgb(factory) == (0.0, 0.0, 0.0)
    dev.show(KioskStatus.ERROR)  # after close: ignored, no exception
    assert rgb(factory) == (0.0, 0.0, 0.0)


def test_status_led_pin_conflict(lights: Lights, factory: MockFactory) -> None:
    with pytest.raises(StatusLedError):
        StatusLed((12, 27, 22), factory)
