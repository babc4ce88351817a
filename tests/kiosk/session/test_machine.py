"""The state machine as a whole: timeouts and the flow's invariants."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kiosk.session
from kiosk.codes import Button, Hint, State
from kiosk.config import TimeoutsConfig
from kiosk.session import SessionFlow

from session_harness import TIMED, Clock, make_flow, scan, to_state


# ------------------------------------------------------------------ timeouts


@pytest.mark.parametrize("state", TIMED + [State.RECEIPT])
def test_every_student_state_times_out_and_wipes(clock: Clock, state: State) -> None:
    flow = make_flow(clock, countdown_seconds=10, timeouts=TimeoutsConfig(countdown=5))
    to_state(flow, clock, state)
    limit = getattr(flow.config.timeouts, state.value)
    clock.advance(limit - 0.5)
    flow.tick()
    assert flow.state == state, "timed out too early"
    clock.advance(0.6)
    flow.tick()
    assert flow.state == State.ATTRACT
    v = flow.view()
    assert flow.student is None
    assert (v.name, v.id_masked, v.photo_jpeg, v.capture_id, v.hints) == ("", "", None, "", ())


def test_activity_restarts_the_timeout(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.SCAN_CODE)
    limit = flow.config.timeouts.scan_code
    clock.advance(limit - 1)
    scan(flow, "bad")  # the student is still there
    clock.advance(2)
    flow.tick()
    assert flow.state == State.SCAN_CODE


def test_frames_alone_do_not_keep_a_session_alive(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.GUIDE)
    for _ in range(int(flow.config.timeouts.guide) + 1):
        clock.advance(1)
        flow.guidance([Hint.NO_FACE], ready=False)
        flow.tick()
    assert flow.state == State.ATTRACT


def test_attract_never_times_out(flow: SessionFlow, clock: Clock) -> None:
    clock.advance(10**6)
    flow.tick()
    assert flow.state == State.ATTRACT


def test_staff_mode_logs_out_after_timeout(flow: SessionFlow, clock: Clock) -> None:
    flow.press(Button.STAFF)
    flow.enter_pin("2468")
    clock.advance(flow.config.timeouts.staff)
    flow.tick()
    assert flow.state == State.ATTRACT and not flow.staff_unlocked


def test_view_counts_seconds_left(flow: SessionFlow, clock: Clock) -> None:
    to_state(flow, clock, State.CONSENT)
    clock.advance(10)
    assert flow.view().seconds_left == int(flow.config.timeouts.consent) - 10


# -------------------------------------------------------------- invariants


def test_flow_module_imports_no_kivy_or_device_library() -> None:
    package = Path(kiosk.session.__file__).parent
    names = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
    assert not names & {"kivy", "gpiozero", "picamera2", "smartcard", "serial", "cv2", "mediapipe"}


def test_every_state_has_a_timeout_setting_or_is_attract() -> None:
    timeouts = TimeoutsConfig()
    for state in State:
        if state != State.ATTRACT:
            assert getattr(timeouts, state.value) > 0, state
