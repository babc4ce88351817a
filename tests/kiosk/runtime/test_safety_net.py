"""The kiosk's safety net (issue 12 items 6 and 13): an unexpected error goes
to CALL_STAFF instead of ending the process, a saved student always gets the
receipt, and a bad roster file puts the booth out of service with the reason
instead of a crash loop. Real runtime, simulated devices, real files; the
failures are real exceptions (sqlite3's own) raised by the store's methods."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.codes import Device, Problem, State
from kiosk.runtime import ROSTER_RETRY_PERIOD
from kiosk.script import ScriptRunner, run_headless
from kiosk.capture.store import CaptureStore
from headless_harness import HAPPY, ROOT, TO_GUIDE
from runtime_harness import ROSTER, malformed, poll_until, runtime_for, write_config

TO_REVIEW = TO_GUIDE + "expect review 40\n"


def test_a_store_error_after_the_commit_still_shows_the_receipt(tmp_path: Path) -> None:
    """pending_count() fails after save() committed: the student still gets the receipt."""
    runtime = runtime_for(write_config(tmp_path))
    real_save = runtime.store.save

    def save_then_break(*args, **kw):
        capture_id = real_save(*args, **kw)
        runtime.store.pending_count = malformed  # type: ignore[method-assign]
        return capture_id

    runtime.store.save = save_then_break  # type: ignore[method-assign]
    result = run_headless(runtime, ScriptRunner(runtime, HAPPY.replace("expect receipt 20", "expect receipt 5")))
    assert result.ok, result.reason
    con = sqlite3.connect(tmp_path / "data" / "captures.db")
    assert con.execute("select count(*) from captures").fetchone()[0] == 1


def test_a_save_failing_with_a_raw_sqlite_error_calls_staff_at_once(tmp_path: Path) -> None:
    """Not a StoreError: before, the worker swallowed it and the student waited 30 s on 'saving'."""
    runtime = runtime_for(write_config(tmp_path))
    runtime.store.save = malformed  # type: ignore[method-assign]
    script = TO_REVIEW + "press accept_photo\nexpect call_staff 3\nexpect_problem store_failed 1\n"
    result = run_headless(runtime, ScriptRunner(runtime, script))
    assert result.reason == "the script ended without a stored capture", result.reason


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_database_in_poll_calls_staff_and_recovers(tmp_path: Path) -> None:
    """The disk check's queries raise (a corrupted database): before, poll() raised
    and the kiosk process ended; now the booth waits for staff and comes back."""
    clock = FakeClock()
    runtime = runtime_for(write_config(tmp_path), clock)
    try:
        assert runtime.poll().state == State.ATTRACT
        working = runtime.store.pending_count
        runtime.store.pending_count = malformed  # type: ignore[method-assign]
        clock.now += 60  # the next disk check is due
        view = runtime.poll()
        assert (view.state, view.problem, view.failed_devices) == (
            State.CALL_STAFF, Problem.STORE_FAILED, (Device.STORE,))
        runtime.store.pending_count = working  # type: ignore[method-assign]
        clock.now += 60
        assert runtime.poll().state == State.ATTRACT
    finally:
        runtime.stop()


def test_an_error_in_an_event_calls_staff_and_the_kiosk_goes_on(tmp_path: Path, monkeypatch) -> None:
    """The roster asks the store whether the student was captured, and the store
    raises (on the worker, where the lookup runs: the error still reaches the flow)."""
    monkeypatch.setattr(CaptureStore, "has_capture", malformed)
    runtime = runtime_for(write_config(tmp_path))
    script = "expect attract\ncard zhangsan\nexpect call_staff 3\nexpect_problem internal_error 1\n"
    result = run_headless(runtime, ScriptRunner(runtime, script))
    assert result.reason == "the script ended without a stored capture", result.reason


def test_a_crashed_device_thread_calls_staff_and_is_restarted(tmp_path: Path) -> None:
    """The card reader's thread dies on an unexpected error: before, silently (no
    card was ever read again); now staff are called and the thread starts again."""
    cfg = write_config(tmp_path, extra="[flow.timeouts]\ncall_staff = 1")
    runtime = runtime_for(cfg)
    real_poll = runtime.reader.poll
    calls = {"n": 0}

    def poll_once_broken(timeout: float):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("driver bug")
        return real_poll(timeout)

    runtime.reader.poll = poll_once_broken  # type: ignore[method-assign]
    script = ("expect call_staff 5\nexpect_problem internal_error 1\nexpect attract 5\n"
              + HAPPY.replace("expect attract\n", "", 1))
    result = run_headless(runtime, ScriptRunner(runtime, script))
    assert result.ok, result.reason
    assert calls["n"] > 3


def test_an_error_a_worker_job_lets_out_reaches_the_flow(tmp_path: Path) -> None:
    runtime = runtime_for(write_config(tmp_path))
    try:
        runtime._submit(lambda: 1 / 0)  # any job on the worker
        view = poll_until(runtime, lambda v: v.state == State.CALL_STAFF)
        assert (view.state, view.problem) == (State.CALL_STAFF, Problem.INTERNAL_ERROR)
    finally:
        runtime.stop()


# ------------------------------------------------------------- bad roster files (item 13)


def bad_rosters(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = ROSTER.read_text(encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(good.encode("gb18030"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    missing = tmp_path / "missing-column.csv"
    missing.write_text(good.replace("programme,", "", 1), encoding="utf-8")
    xlsx = tmp_path / "corrupt.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    return {
        "gbk": (gbk, "not UTF-8 text"),
        "empty": (empty, "the roster file is empty"),
        "missing column": (missing, "missing column 'programme'"),
        "corrupt xlsx": (xlsx, "not a readable XLSX file"),
    }


@pytest.mark.parametrize("name", ["gbk", "empty", "missing column", "corrupt xlsx"])
def test_a_bad_roster_waits_for_staff_with_the_reason_then_recovers(tmp_path: Path, name: str) -> None:
    path, reason = bad_rosters(tmp_path)[name]
    clock = FakeClock()
    runtime = runtime_for(write_config(tmp_path, roster=path), clock)
    try:
        view = runtime.poll()
        assert (view.state, view.problem, view.failed_devices) == (
            State.CALL_STAFF, Problem.ROSTER_UNUSABLE, (Device.ROSTER,))
        assert view.problem_detail.startswith(f"{path}: ") and reason in view.problem_detail
        # Staff fix the file (same path): the booth reads it again by itself.
        good = ROSTER.read_bytes()
        if path.suffix == ".xlsx":
            path.unlink()
            path = path.with_suffix(".csv")
            runtime.config = runtime.config.model_copy(update={"roster": runtime.config.roster.model_copy(
                update={"path": path})})
        path.write_bytes(good)
        clock.now += ROSTER_RETRY_PERIOD
        view = poll_until(runtime, lambda v: v.state == State.ATTRACT)
        assert view.state == State.ATTRACT and view.failed_devices == () and view.problem_detail == ""
    finally:
        runtime.stop()


def test_kiosk_run_with_a_bad_roster_does_not_crash(tmp_path: Path) -> None:
    path, reason = bad_rosters(tmp_path)["gbk"]
    script = tmp_path / "script.txt"
    script.write_text("expect call_staff 5\nexpect_problem roster_unusable 1\nexpect attract 1\n")
    res = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(write_config(tmp_path, path)),
                          "run", "--demo", "--headless", "--script", str(script)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in res.stderr
    assert f"roster unusable: {path}: {reason}" in res.stderr
    # The booth stayed up in CALL_STAFF: the script's last line timed out there.
    assert res.returncode == 1
    assert "line 3 (expect attract 1) timed out in state call_staff, problem roster_unusable" in res.stdout


def test_kiosk_run_with_a_corrupted_database_says_so_and_exits_3(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "captures.db").write_bytes(bytes(range(256)) * 32)
    script = tmp_path / "script.txt"
    script.write_text("expect attract\n")
    res = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(write_config(tmp_path)),
                          "run", "--demo", "--headless", "--script", str(script)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 3
    assert res.stderr.strip().splitlines()[-1] == (
        f"run: cannot start: cannot open the capture store in {data}: file is not a database")
    assert "Traceback" not in res.stderr
