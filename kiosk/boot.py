"""Builds the booth from its config and runs it: `kiosk run --headless
--script FILE` (no window) and `kiosk run` (the Kivy window) start here.

config -> KioskRuntime (store, roster, flow, devices, sync agent) -> a
script runner if asked for -> the headless loop or the window. A capture
store that cannot be opened gives the window's out-of-service screen
(staff see why) or, for headless and scripted runs, StoreError to the
caller (exit 3).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.config import Config
from kiosk.runtime import KioskRuntime
from kiosk.script import ScriptError, ScriptRunner, read_script, run_headless


def run_booth(config: Config, headless: bool, script: Path | None, screenshots: str | None) -> int:
    """`kiosk run`: the exit code. Raises StoreError, sqlite3.Error or OSError
    when the capture store cannot be opened (headless or scripted)."""
    if headless:
        assert script is not None
        return run_without_window(config, script)
    return run_window(config, script=script, screenshots=screenshots)


def run_without_window(config: Config, script: Path) -> int:
    try:
        text = read_script(script)
    except ScriptError as err:
        print(f"script: {err}", file=sys.stderr)
        return 2
    runtime = KioskRuntime(config)
    try:
        runner = ScriptRunner(runtime, text)
    except ScriptError as err:
        runtime.stop()
        print(f"script: {err}", file=sys.stderr)
        return 2
    try:
        result = run_headless(runtime, runner)  # stops the runtime
    except ScriptError as err:
        print(f"script: {err}", file=sys.stderr)
        return 2
    print(("ok: " if result.ok else "failed: ") + result.reason + (f" ({result.capture_id})" if result.capture_id else ""))
    return 0 if result.ok else 1


def run_window(config: Config, script: Path | None = None, screenshots: str | None = None) -> int:
    """Run the kiosk window until it is closed (or the script ends); the exit code."""
    from kiosk.screens.window import configure_kivy
    from kiosk.capture.store import StoreError

    configure_kivy(config)
    try:
        runtime = KioskRuntime(config)
    except StoreError as err:
        if script is not None:
            raise  # a scripted run (tests, CI) keeps its exit code 3
        from kiosk.screens.out_of_service import run_out_of_service

        return run_out_of_service(config, str(err), Path(screenshots) if screenshots else None)
    from kivy.base import ExceptionManager
    from kivy.core.window import Window  # noqa: F401  (opens the window)

    from kiosk.hardware.display import FAULT_HOLD, headless_refusal, refuse_to_start, sdl_video_driver
    from kiosk.screens.app import KioskApp, ToCallStaff

    refusal = headless_refusal(sdl_video_driver(), config)
    if refusal is not None:
        return refuse_to_start(runtime, refusal, FAULT_HOLD)
    demo = config.camera.backend == "simulated" and config.id_reader.backend == "simulated"
    app = KioskApp(runtime, config, screenshots=Path(screenshots) if screenshots else None, demo=demo)
    if script is not None:
        try:
            app.runner = ScriptRunner.from_file(runtime, script, screenshot=app.screenshot_hook)
        except ScriptError as err:
            print(f"script: {err}", file=sys.stderr, flush=True)
            runtime.stop()
            return 2
    safety_net = ToCallStaff(runtime)
    ExceptionManager.add_handler(safety_net)
    try:
        app.run()
    except BaseException:
        runtime.stop()  # release camera and reader before the process dies (on_stop did not run)
        raise
    finally:
        ExceptionManager.remove_handler(safety_net)
    return app.exit_code
