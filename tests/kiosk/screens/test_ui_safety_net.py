"""The window's safety net, for real (offscreen Kivy window, screenshots):
an error in a screen's code goes to CALL_STAFF through Kivy's
ExceptionManager and the window goes on; a bad roster shows staff the reason
(issue 12 items 6 and 13)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from window_harness import (ROOT, assert_not_blank, base_env, display_prefix, kiosk_command, run_windowed,
                            write_config)

HAPPY = (ROOT / "tests" / "scripts" / "happy_path.txt").read_text(encoding="utf-8")

BROKEN_SCREEN = """
import os, sys
os.environ["KIVY_NO_ARGS"] = "1"
from pathlib import Path
from kiosk.config import load_config
from kiosk.screens import states
from kiosk.boot import run_window

real_update = states.ConsentScreen.update
broken = {"left": 1}

def update(self, view, frame):
    if broken["left"]:
        broken["left"] -= 1
        raise RuntimeError("a bug in the consent screen")
    return real_update(self, view, frame)

states.ConsentScreen.update = update

from kivy.clock import Clock

def widget_bug(_dt):
    raise ValueError("a bug in a widget's clock callback")

Clock.schedule_once(widget_bug, 1.5)  # not the app's loop: Kivy's ExceptionManager gets it
sys.exit(run_window(load_config(Path(sys.argv[1])).as_demo(), script=Path(sys.argv[2]), screenshots=sys.argv[3]))
"""


def test_an_error_in_a_screen_calls_staff_and_the_window_goes_on(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("""
expect call_staff 10
expect_problem internal_error
press staff
pin 2468
press staff_exit
expect attract
card zhangsan
expect confirm
press confirm_identity
expect call_staff 5
expect_problem internal_error
screenshot internal_error
press staff
pin 2468
press staff_exit
lift
""" + HAPPY, encoding="utf-8")
    shots = tmp_path / "shots"
    result = run_windowed([sys.executable, "-c", BROKEN_SCREEN, str(write_config(tmp_path)), str(script),
                           str(shots)], tmp_path)
    tail = (result.stdout + result.stderr)[-3000:]
    # The same window then served a whole session: the error did not end the process.
    assert result.returncode == 0, tail
    assert "ok: capture stored" in result.stdout, tail
    assert "unexpected error in the window\n" in result.stderr and "a bug in a widget's clock callback" in result.stderr
    assert "unexpected error in the window's loop" in result.stderr and "a bug in the consent screen" in result.stderr
    assert_not_blank(shots / "internal_error.png", (800, 480))


def test_a_bad_roster_shows_staff_the_reason(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes((ROOT / "examples" / "roster-demo.csv").read_text(encoding="utf-8").encode("gb18030"))
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(ROOT / "examples" / "roster-demo.csv"),
                                                           str(roster)), encoding="utf-8")
    script = tmp_path / "script.txt"
    script.write_text("expect call_staff 5\nexpect_problem roster_unusable\nscreenshot roster_unusable\n",
                      encoding="utf-8")
    shots = tmp_path / "shots"
    result = run_windowed(kiosk_command() + ["--config", str(cfg), "run", "--demo", "--script", str(script),
                                             "--screenshots", str(shots)], tmp_path)
    tail = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 1 and "the script ended without a stored capture" in result.stdout, tail
    assert "Traceback" not in result.stderr, tail
    assert_not_blank(shots / "roster_unusable.png", (800, 480))


def test_a_store_that_cannot_open_shows_out_of_service_until_it_can(tmp_path: Path) -> None:
    # A captures.db that is not a database (a damaged SD card): the booth
    # used to exit 3 in a restart loop with a black screen. Now it shows
    # staff why, keeps trying, and exits 0 (systemd starts the whole booth)
    # once the file is repaired.
    cfg = write_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "captures.db").write_bytes(b"not a database " * 100)
    shots = tmp_path / "shots"
    prefix = display_prefix()
    env = base_env(tmp_path)
    if prefix:
        env.pop("SDL_VIDEODRIVER")
    proc = subprocess.Popen([*prefix, *kiosk_command(), "--config", str(cfg), "run", "--demo",
                             "--screenshots", str(shots)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (shots / "out_of_service.png").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "no out-of-service screen"
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        time.sleep(6)  # a retry that still fails keeps it up
        assert proc.poll() is None
        (data / "captures.db").unlink()  # staff repair it
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "out of service: cannot open the capture store" in err
    assert "the capture store opens again" in err
    assert "Traceback" not in err, err[-3000:]
    pixels = assert_not_blank(shots / "out_of_service.png", (800, 480))
    top = pixels[:40].reshape(-1, 3).mean(axis=0)
    assert top[0] > 150 and top[2] < 100, f"header not red: {top}"  # C.RED: the call-staff colour
