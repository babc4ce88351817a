"""The card's roster lookup and the 采集码 check (a scrypt hash each) run on
the runtime's worker, not on the thread that polls it (Kivy's): poll()
comes back while the hash is still under way, and the outcome follows.
Real runtime, demo roster, real store; the real hash is held at a gate so
the test decides when it may finish (behaviour, not timings)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest

import kiosk.capture.db
import kiosk.identity.roster
from kiosk.codes import Button, Problem, State
from kiosk.hardware.id_reader_sim import DEMO_CARDS, to_id_card
from kiosk.runtime import KioskRuntime
from runtime_harness import malformed, poll_until, runtime_for, write_config

ZHANGSAN = to_id_card(DEMO_CARDS[0])  # on the demo roster, at this centre
CODE = "CHSI-GATE-4f9a8b7c6d5e4f3a2b1c"
GATE_LIMIT = 20.0  # a hash held longer than this goes on anyway: a failing test must not hang


class Gate:
    """Wraps the real hash: it starts, waits for open(), then runs."""

    def __init__(self, real: Callable[[str], str]) -> None:
        self.real = real
        self.started = threading.Event()
        self.opened = threading.Event()
        self.finished = threading.Event()
        self.threads: list[str] = []

    def __call__(self, value: str) -> str:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.opened.wait(GATE_LIMIT)
        try:
            return self.real(value)
        finally:
            self.finished.set()


@pytest.fixture
def runtime(tmp_path: Path):
    rt = runtime_for(write_config(tmp_path))
    yield rt
    rt.stop()


def test_poll_comes_back_while_the_card_is_hashed(runtime: KioskRuntime, monkeypatch) -> None:
    gate = Gate(kiosk.identity.roster.student_ref)
    monkeypatch.setattr(kiosk.identity.roster, "student_ref", gate)
    runtime.post(lambda f: f.card_presented(ZHANGSAN))  # as the reader thread does
    view = runtime.poll()
    assert gate.started.wait(10), "the lookup never started"
    view = runtime.poll()
    assert not gate.finished.is_set(), "poll() waited for the hash"
    assert (view.state, view.checking, view.problem) == (State.CHECKING, True, None)
    assert threading.current_thread().name not in gate.threads
    gate.opened.set()
    view = poll_until(runtime, lambda v: v.state != State.CHECKING, 30)
    assert view.state == State.CONFIRM  # the outcome is the usual one
    assert view.id_masked == "110101********1236" and view.name == "张三"
    assert not view.checking


def test_poll_comes_back_while_the_code_is_hashed(runtime: KioskRuntime, monkeypatch) -> None:
    runtime.post(lambda f: f.card_presented(ZHANGSAN))
    poll_until(runtime, lambda v: v.state == State.CONFIRM, 30)
    runtime.press(Button.CONFIRM_IDENTITY)
    runtime.press(Button.AGREE)
    gate = Gate(kiosk.capture.db.code_digest)
    monkeypatch.setattr(kiosk.capture.db, "code_digest", gate)
    runtime.post(lambda f: f.code_scanned(CODE))  # as the analysis thread does
    runtime.poll()
    assert gate.started.wait(10), "the check never started"
    view = runtime.poll()
    assert not gate.finished.is_set(), "poll() waited for the hash"
    assert (view.state, view.checking) == (State.SCAN_CODE, True)
    gate.opened.set()
    view = poll_until(runtime, lambda v: v.state != State.SCAN_CODE, 30)
    assert view.state == State.GUIDE
    assert runtime.flow.student is not None and runtime.flow.student.code_payload == CODE


def test_an_error_in_the_code_check_reaches_the_safety_net(runtime: KioskRuntime, monkeypatch) -> None:
    runtime.post(lambda f: f.card_presented(ZHANGSAN))
    poll_until(runtime, lambda v: v.state == State.CONFIRM, 30)
    runtime.press(Button.CONFIRM_IDENTITY)
    runtime.press(Button.AGREE)
    monkeypatch.setattr(kiosk.capture.db, "code_digest", malformed)  # raised inside student_for_code
    runtime.post(lambda f: f.code_scanned(CODE))
    view = poll_until(runtime, lambda v: v.state == State.CALL_STAFF, 30)
    assert (view.state, view.problem) == (State.CALL_STAFF, Problem.INTERNAL_ERROR)
