"""Device failures, internal errors and recoveries, and a saved student always told."""

from __future__ import annotations

import pytest

from kiosk.codes import Button, Device, KioskStatus, Problem, State
from kiosk.session import EffectKind, SessionFlow

from session_harness import TIMED, Clock, card, kinds, make_flow, to_state


# ------------------------------------------------------------------ failsafe


@pytest.mark.parametrize("state", [State.ATTRACT, *(s for s in TIMED if s != State.SAVING)])
def test_device_failure_anywhere_calls_staff_and_recovers(flow: SessionFlow, clock: Clock, state: State) -> None:
    to_state(flow, clock, state)
    flow.drain_effects()
    flow.device_failed(Device.CAMERA)
    assert flow.state == State.CALL_STAFF
    assert flow.status == KioskStatus.ERROR
    assert flow.view().problem == Problem.CAMERA_FAILED
    assert flow.view().failed_devices == (Device.CAMERA,)
    assert EffectKind.LIGHTS_OFF in kinds(flow)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT
    assert flow.status == KioskStatus.READY
    assert flow.student is None


def test_recovery_waits_for_every_device(flow: SessionFlow) -> None:
    flow.device_failed(Device.CAMERA)
    flow.device_failed(Device.ID_READER)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.CALL_STAFF and flow.status == KioskStatus.ERROR
    flow.device_ok(Device.ID_READER)
    assert flow.state == State.ATTRACT


def test_call_staff_timeout_wipes_but_stays_out_of_service(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    flow.device_failed(Device.CAMERA)
    assert flow.student is not None
    clock.advance(flow.config.timeouts.call_staff)
    flow.tick()
    assert flow.state == State.CALL_STAFF
    assert flow.student is None and flow.view().name == ""
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.ATTRACT


def test_save_failure_calls_staff_with_disk_full(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.save_failed(Problem.DISK_FULL)
    assert flow.state == State.CALL_STAFF
    assert flow.view().problem == Problem.DISK_FULL
    flow.device_ok(Device.STORE)
    assert flow.state == State.ATTRACT


def test_device_ok_for_a_healthy_device_changes_nothing(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    flow.device_ok(Device.CAMERA)
    assert flow.state == State.CONSENT


def test_student_call_staff_is_not_ended_by_device_recovery(clock: Clock) -> None:
    flow = make_flow(clock, max_card_errors=1)
    flow.press(Button.START)
    flow.card_failed()
    assert flow.state == State.CALL_STAFF
    flow.device_failed(Device.LIGHTS)
    flow.device_ok(Device.LIGHTS)
    assert flow.state == State.ATTRACT  # the device problem replaced the card one


# ------------------------------------- a saved student is always told (issue 12 item 6)


@pytest.mark.parametrize("failure", ["camera unplugged", "disk crossed min_free_mb", "internal error"])
def test_a_failure_while_saving_waits_until_the_student_has_the_receipt(
        flow: SessionFlow, clock: Clock, failure: str) -> None:
    to_state(flow, clock, State.SAVING)
    fail = {
        "camera unplugged": lambda: flow.device_failed(Device.CAMERA),
        "disk crossed min_free_mb": lambda: flow.device_failed(Device.STORE, Problem.DISK_FULL),
        "internal error": flow.internal_error,
    }[failure]
    fail()
    assert flow.state == State.SAVING  # the save goes on; the student waits for its outcome
    flow.saved("cap-1")
    assert flow.state == State.RECEIPT and flow.view().capture_id == "cap-1"
    fail()  # and again while the receipt is shown
    assert flow.state == State.RECEIPT
    flow.press(Button.DONE)
    expected = {"camera unplugged": Problem.CAMERA_FAILED, "disk crossed min_free_mb": Problem.DISK_FULL,
                "internal error": Problem.INTERNAL_ERROR}[failure]
    assert flow.state == State.CALL_STAFF and flow.problem == expected
    assert flow.student is None


def test_save_failure_still_calls_staff_at_once(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SAVING)
    flow.save_failed(Problem.DISK_FULL)
    assert flow.state == State.CALL_STAFF and flow.problem == Problem.DISK_FULL
    assert flow.view().failed_devices == (Device.STORE,)


@pytest.mark.parametrize("state", [State.ATTRACT, State.GUIDE, State.REVIEW])
def test_internal_error_calls_staff_then_times_out_back(flow: SessionFlow, clock: Clock, state: State) -> None:
    to_state(flow, clock, state)
    flow.drain_effects()
    flow.internal_error()
    assert flow.state == State.CALL_STAFF and flow.problem == Problem.INTERNAL_ERROR
    assert flow.status == KioskStatus.ERROR
    assert EffectKind.LIGHTS_OFF in kinds(flow)
    clock.advance(flow.config.timeouts.call_staff)
    flow.tick()  # not a device: the kiosk is back in service after the timeout
    assert flow.state == State.ATTRACT and flow.student is None and flow.problem is None


def test_internal_error_leaves_staff_mode_alone(flow: SessionFlow) -> None:
    flow.press(Button.STAFF)
    flow.internal_error()
    assert flow.state == State.STAFF


def test_a_failed_roster_keeps_the_booth_out_of_service_with_the_reason(flow: SessionFlow) -> None:
    reason = "/etc/roster.csv: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
    flow.device_failed(Device.ROSTER, detail=reason)
    view = flow.view()
    assert (view.state, view.problem, view.problem_detail) == (State.CALL_STAFF, Problem.ROSTER_UNUSABLE, reason)
    assert view.failed_devices == (Device.ROSTER,)
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    flow.press(Button.STAFF_EXIT)
    assert flow.state == State.CALL_STAFF and flow.view().problem_detail == reason
    flow.device_ok(Device.ROSTER)
    assert flow.state == State.ATTRACT and flow.view().problem_detail == ""
