"""Scripted sessions: drive the kiosk without a person (demo, tests, benchmarks).

A script is a text file, one command a line, ``#`` starts a comment:

    expect attract                 wait until the flow is in that state (default 20 s)
    expect guide 5                 ... with a time limit in seconds
    card zhangsan                  the simulated reader reads the card with that label
    lift                           lift the card off the reader
    press agree                    touch a button (kiosk.codes.Button values)
    pin 2468                       type the staff PIN (staff mode, manual entry)
    idnumber 310104200011022468    staff confirm a typed ID number (manual entry)
    qr SOME-PAYLOAD                the student holds up a phone with that 采集码
    qr off                         ... and puts it away
    scene dx=0.2 scale=0.7         move the simulated student (camera_sim.SceneControl fields)
    expect_hint MOVE_LEFT          wait until the guide shows that hint first
    expect_problem card_expired    wait until the flow reports that problem
    unplug camera|reader           simulate a device going away ...
    plug camera|reader             ... and coming back
    wait 0.5                       let time pass
    screenshot NAME                ask the front end for a screenshot (windowed runs; waits until saved)
    expect_stored                  wait until a capture is stored (the script's goal)

The run succeeds when a capture was stored and every line passed; it fails
at the first expectation that times out, with the reason.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from kiosk.codes import Button, Hint, Problem, State
from kiosk.session import View
from photo_wire.files import ReadRefused, read_bounded

if TYPE_CHECKING:
    from kiosk.runtime import KioskRuntime

DEFAULT_LIMIT = 20.0
MAX_SCRIPT_BYTES = 1024 * 1024  # a script is a few dozen lines


class ScriptError(Exception):
    """A script line that cannot be understood (named by its line number)."""


def read_script(path: Path) -> str:
    """The script's text; ScriptError (one line) for a file that is not one."""
    try:
        data = read_bounded(path, MAX_SCRIPT_BYTES, "kiosk script")
    except FileNotFoundError:
        raise ScriptError(f"{path}: no such file") from None
    except ReadRefused as err:
        raise ScriptError(str(err)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScriptError(f"{path}: not UTF-8 text") from None


@dataclass(frozen=True)
class ScriptResult:
    ok: bool
    reason: str
    capture_id: str = ""


@dataclass(frozen=True)
class _Line:
    number: int
    words: tuple[str, ...]


def parse_script(text: str) -> list[_Line]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = tuple(shlex.split(raw, comments=True))
        if words:
            _check(number, words)
            lines.append(_Line(number, words))
    return lines


_ARGS = {
    "expect": (1, 2), "card": (1, 1), "lift": (0, 0), "press": (1, 1), "pin": (1, 1), "idnumber": (1, 1),
    "qr": (1, 1), "scene": (1, 9), "expect_hint": (1, 2), "expect_problem": (1, 2),
    "unplug": (1, 1), "plug": (1, 1), "wait": (1, 1), "screenshot": (1, 1),
    "expect_stored": (0, 1),
}  # fmt: skip


def _check(number: int, words: tuple[str, ...]) -> None:
    cmd, args = words[0], words[1:]
    if cmd not in _ARGS:
        raise ScriptError(f"line {number}: unknown command {cmd!r}")
    low, high = _ARGS[cmd]
    if not low <= len(args) <= high:
        raise ScriptError(f"line {number}: {cmd} takes {low}-{high} arguments")
    enums = {"expect": State, "press": Button, "expect_hint": Hint, "expect_problem": Problem}
    if cmd in enums:
        try:
            enums[cmd](args[0])
        except ValueError:
            allowed = ", ".join(m.value for m in enums[cmd])
            raise ScriptError(f"line {number}: {args[0]!r} is not one of: {allowed}") from None
    if cmd in ("unplug", "plug") and args[0] not in ("camera", "reader"):
        raise ScriptError(f"line {number}: {cmd} takes 'camera' or 'reader'")


class ScriptRunner:
    """Runs a script one step per call, so a UI loop can interleave it."""

    def __init__(
        self,
        runtime: KioskRuntime,
        text: str,
        screenshot: Callable[[str], bool | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.lines = parse_script(text)
        self._screenshot = screenshot
        self._clock = clock
        self._index = 0
        self._started: float | None = None
        self._capture_id = ""

    @classmethod
    def from_file(cls, runtime: KioskRuntime, path: Path, **kw) -> ScriptRunner:
        return cls(runtime, read_script(path), **kw)

    def step(self, view: View) -> ScriptResult | None:
        """Advance as far as possible; a result once the script has ended."""
        if view.capture_id:
            self._capture_id = view.capture_id
        while self._index < len(self.lines):
            line = self.lines[self._index]
            now = self._clock()
            if self._started is None:
                self._started = now
            done, limit = self._do(line.words, view, now - self._started)
            if done:
                self._index += 1
                self._started = None
                continue
            if now - self._started > limit:
                return ScriptResult(False, self._timeout_reason(line, view))
            return None
        if not self._capture_id:
            return ScriptResult(False, "the script ended without a stored capture")
        return ScriptResult(True, "capture stored", self._capture_id)

    def _timeout_reason(self, line: _Line, view: View) -> str:
        text = " ".join(line.words)
        extra = f", problem {view.problem.value}" if view.problem else ""
        hints = f", hints {[h.value for h in view.hints]}" if view.hints else ""
        return f"line {line.number} ({text}) timed out in state {view.state.value}{extra}{hints}"

    def _do(self, words: tuple[str, ...], view: View, elapsed: float) -> tuple[bool, float]:
        cmd, args = words[0], words[1:]
        limit = float(args[1]) if len(args) > 1 and cmd.startswith("expect") else DEFAULT_LIMIT
        rt = self.runtime
        if cmd == "expect":
            return view.state == State(args[0]), limit
        if cmd == "expect_hint":
            return bool(view.hints) and view.hints[0] == Hint(args[0]), limit
        if cmd == "expect_problem":
            return view.problem == Problem(args[0]), limit
        if cmd == "expect_stored":
            limit = float(args[0]) if args else DEFAULT_LIMIT
            return bool(self._capture_id), limit
        if cmd == "wait":
            return elapsed >= float(args[0]), float(args[0]) + 1
        if cmd == "card":
            self._sim_reader().present(args[0])
        elif cmd == "lift":
            self._sim_reader().lift()
        elif cmd == "press":
            rt.press(Button(args[0]))
        elif cmd == "pin":
            rt.enter_pin(args[0])
        elif cmd == "idnumber":
            rt.enter_id_number(args[0])
        elif cmd == "qr":
            self._sim_camera().update_scene(qr_payload=None if args[0] == "off" else args[0])
        elif cmd == "scene":
            self._sim_camera().update_scene(**_scene_changes(args))
        elif cmd in ("unplug", "plug"):
            device = self._sim_camera() if args[0] == "camera" else self._sim_reader()
            if args[0] == "camera":
                device.update_scene(unplugged=cmd == "unplug")
            elif cmd == "unplug":
                device.unplug()
            else:
                device.plug()
        elif cmd == "screenshot":
            # A hook that returns False is not done yet (the window has not drawn
            # the screen): the line is retried on the next step.
            if self._screenshot and self._screenshot(args[0]) is False:
                return False, limit
        return True, limit

    def _sim_reader(self):
        from kiosk.hardware.id_reader_sim import SimulatedCardReader

        if not isinstance(self.runtime.reader, SimulatedCardReader):
            raise ScriptError("card commands need the simulated reader (run with --demo)")
        return self.runtime.reader

    def _sim_camera(self):
        from kiosk.hardware.camera_sim import SimulatedCamera

        if not isinstance(self.runtime.camera, SimulatedCamera):
            raise ScriptError("scene commands need the simulated camera (run with --demo)")
        return self.runtime.camera


def _scene_changes(args: tuple[str, ...]) -> dict[str, object]:
    changes: dict[str, object] = {}
    for arg in args:
        key, _, value = arg.partition("=")
        if not value:
            raise ScriptError(f"scene takes key=value pairs, not {arg!r}")
        flag = {"true": True, "false": False}.get(value.lower())
        try:
            changes[key] = (flag if flag is not None
                            else int(value) if key in ("faces", "person") else float(value))
        except ValueError:
            raise ScriptError(f"scene {key}: not a number or true/false: {value!r}") from None
    return changes


def run_headless(runtime: KioskRuntime, runner: ScriptRunner, rate_hz: float = 100.0) -> ScriptResult:
    """The loop a window would run, without a window."""
    runtime.start()
    try:
        while True:
            view = runtime.poll()
            result = runner.step(view)
            if result is not None:
                return result
            time.sleep(1.0 / rate_hz)
    finally:
        runtime.stop()
