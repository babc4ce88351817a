"""Staff mode: the PIN, its pages and what staff start from them."""

from __future__ import annotations

from datetime import datetime, timezone

from kiosk.codes import BackdropResult, Button, Device, KioskStatus, Problem, State, UsbResult
from kiosk.session import EffectKind, SessionFlow

from session_harness import Clock, DictRoster, kinds, to_state, unlocked_staff


# -------------------------------------------------------------------- staff


def test_staff_pin(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    assert flow.state == State.STAFF and not flow.view().staff_unlocked
    assert flow.status == KioskStatus.STAFF
    flow.enter_pin("0000")
    assert flow.view().problem == Problem.PIN_WRONG and not flow.staff_unlocked
    flow.enter_pin("2468")
    assert flow.staff_unlocked and flow.problem is None
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.ATTRACT and not flow.staff_unlocked


def test_three_wrong_pins_leave_staff_mode(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    for _ in range(3):
        flow.enter_pin("1111")
    assert flow.state == State.ATTRACT


def test_staff_mode_from_call_staff_and_exit_while_broken(flow: SessionFlow) -> None:
    flow.device_failed(Device.ID_READER)
    flow.press(Button.STAFF)
    assert flow.state == State.STAFF
    flow.device_failed(Device.CAMERA)  # staff stay in staff mode
    assert flow.state == State.STAFF and flow.status == KioskStatus.ERROR
    flow.enter_pin("2468")
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.CALL_STAFF
    flow.device_ok(Device.ID_READER)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT


def test_staff_button_not_available_mid_session(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    flow.press(Button.STAFF)
    assert flow.state == State.CONSENT


# ----------------------------------------------------------- staff mode pages


def test_staff_pages_open_only_after_the_pin_and_reset_on_leaving(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.press(Button.STAFF_SYNC)
    assert flow.view().staff_page == "status"  # locked: the PIN pad, no pages
    flow.enter_pin("2468")
    for button, page in ((Button.STAFF_SYNC, "sync"), (Button.STAFF_REJECTED, "rejected"),
                         (Button.STAFF_SCHEDULE, "schedule"), (Button.STAFF_STATUS, "status"),
                         (Button.STAFF_REJECTED, "rejected")):
        flow.press(button)
        assert flow.view().staff_page == page
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.ATTRACT and flow.view().staff_page == "status"
    flow.press(Button.STAFF_SYNC)  # not in staff mode: nothing
    unlocked_staff(flow)
    assert flow.view().staff_page == "status"  # staff mode opens on its first page


def test_retry_rejected_is_asked_of_the_runtime_only_when_unlocked(flow: SessionFlow) -> None:
    flow.press(Button.RETRY_REJECTED)
    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.RETRY_REJECTED)
    assert kinds(flow) == []
    flow.enter_pin("2468")
    flow.press(Button.RETRY_REJECTED)
    assert kinds(flow) == [EffectKind.RETRY_REJECTED]
    assert flow.state == State.STAFF


def test_backdrop_calibration_one_at_a_time_and_its_result_shown_in_staff_mode(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.CALIBRATE_BACKDROP)  # locked: nothing
    assert kinds(flow) == [] and flow.view().backdrop_result is None
    flow.enter_pin("2468")
    flow.press(Button.STAFF_SYNC)
    flow.press(Button.CALIBRATE_BACKDROP)
    flow.press(Button.CALIBRATE_BACKDROP)  # a second touch while measuring: nothing more
    assert kinds(flow) == [EffectKind.CALIBRATE_BACKDROP]
    view = flow.view()
    assert (view.backdrop_result, view.staff_page) == (BackdropResult.MEASURING, "status")
    at = datetime(2026, 11, 22, 1, 5, tzinfo=timezone.utc)
    flow.backdrop_calibrated(BackdropResult.NOT_EMPTY, None)
    assert flow.view().backdrop_result == BackdropResult.NOT_EMPTY and flow.view().backdrop_at is None
    flow.press(Button.CALIBRATE_BACKDROP)  # try again
    flow.backdrop_calibrated(BackdropResult.OK, at)
    assert (flow.view().backdrop_result, flow.view().backdrop_at) == (BackdropResult.OK, at)
    flow.press(Button.STAFF_EXIT)
    assert flow.view().backdrop_result is None and flow.view().backdrop_at == at
    unlocked_staff(flow)
    assert flow.view().backdrop_result is None  # last visit's result is not news


def test_usb_exchange_one_at_a_time_and_its_outcome_shown_on_the_sync_page(flow: SessionFlow) -> None:
    from kiosk.session import UsbOutcome

    flow.press(Button.STAFF)
    flow.drain_effects()
    flow.press(Button.USB_EXCHANGE)  # locked: nothing
    assert kinds(flow) == [] and flow.view().usb is None
    flow.enter_pin("2468")
    flow.press(Button.USB_EXCHANGE)
    flow.press(Button.USB_EXCHANGE)  # a second touch while working: nothing more
    assert kinds(flow) == [EffectKind.USB_EXCHANGE]
    view = flow.view()
    assert (view.usb, view.staff_page) == (UsbOutcome(UsbResult.WORKING), "sync")
    flow.usb_exchanged(UsbOutcome(UsbResult.NO_STICK))
    assert flow.view().usb == UsbOutcome(UsbResult.NO_STICK)
    flow.press(Button.USB_EXCHANGE)  # stick plugged in: try again
    assert kinds(flow) == [EffectKind.USB_EXCHANGE]
    done = UsbOutcome(UsbResult.DONE, acknowledged=3, exported=2)
    flow.usb_exchanged(done)
    assert flow.view().usb == done
    flow.press(Button.STAFF_EXIT)
    assert flow.view().usb is None
    unlocked_staff(flow)
    assert flow.view().usb is None  # last visit's outcome is not news


# ------------------------------------------------- makeup mode (issue 22, item 4)


def test_staff_switch_makeup_mode_and_it_outlives_a_new_roster(flow: SessionFlow, caplog) -> None:
    flow.roster.makeup_mode = False
    flow.press(Button.STAFF)
    flow.press(Button.MAKEUP_MODE)  # the PIN first
    assert not flow.view().makeup_mode
    flow.enter_pin("2468")
    with caplog.at_level("WARNING"):
        flow.press(Button.MAKEUP_MODE)
    assert flow.view().makeup_mode and flow.roster.makeup_mode
    assert "staff switched makeup mode on" in caplog.text  # recorded
    fresh = DictRoster({})
    fresh.makeup_mode = False  # a pulled roster comes with the config's setting
    flow.use_roster(fresh)
    assert flow.roster is fresh and fresh.makeup_mode
    flow.press(Button.MAKEUP_MODE)
    assert not flow.view().makeup_mode and not fresh.makeup_mode
