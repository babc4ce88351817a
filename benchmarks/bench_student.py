"""A cooperative student from card to receipt, and the share the booth adds.

Drives a real, started KioskRuntime (simulated reader and camera, the real
photo engine, roster and store in a temporary directory) the way a student
does, with human delays written into the script: reading the confirm screen,
reading the consent, getting the 采集码 up on the phone, looking at the
photo. Hands-free capture (the default): once the pose is right the booth
counts down and shoots by itself.

Prints, median of N runs, seconds:
- card to receipt, in all;
- the student's own time (the delays below, which any booth would need);
- the booth's share: the rest (roster check, 采集码 check, the photo engine
  finding the pose right, the countdown, processing and saving), per step.

Run: .venv/bin/python benchmarks/bench_student.py [--runs N] [--human-scale F]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.codes import Button, State  # noqa: E402
from kiosk.config import parse_config  # noqa: E402
from kiosk.runtime import KioskRuntime  # noqa: E402

# What a cooperative student spends on each screen, in seconds (typical, not hurried).
HUMAN = {
    "read confirm": 4.0,  # finds their name, presses 是我本人
    "read consent": 8.0,  # skims the notice, presses 同意并继续
    "show code": 5.0,  # unlocks the phone, opens the 学信网 code, holds it up
    "look at photo": 3.0,  # checks the photo, presses 确认
}


def until(rt: KioskRuntime, state: State, limit: float = 60.0) -> float:
    """Poll like the window until the flow is in state; the seconds it took."""
    start = time.perf_counter()
    while rt.poll().state != state:
        if time.perf_counter() - start > limit:
            raise SystemExit(f"no {state.value} after {limit} s (in {rt.flow.state.value})")
        time.sleep(1 / 30)  # the window's poll rate
    return time.perf_counter() - start


def pause(rt: KioskRuntime, seconds: float) -> None:
    """The student reads or fumbles: the window keeps polling meanwhile."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        rt.poll()
        time.sleep(1 / 30)


def one_student(rt: KioskRuntime, n: int, scale: float) -> dict[str, float]:
    booth: dict[str, float] = {}
    start = time.perf_counter()
    rt.reader.present("zhangsan")  # on the demo roster, this centre
    booth["roster check"] = until(rt, State.CONFIRM)
    pause(rt, HUMAN["read confirm"] * scale)
    rt.press(Button.CONFIRM_IDENTITY)
    until(rt, State.CONSENT)
    pause(rt, HUMAN["read consent"] * scale)
    rt.press(Button.AGREE)
    until(rt, State.SCAN_CODE)
    pause(rt, HUMAN["show code"] * scale)
    rt.camera.update_scene(qr_payload=f"CHSI-BENCH-{n:04d}-4f9a8b7c6d5e4f3a")
    booth["采集码 check"] = until(rt, State.GUIDE)
    rt.camera.update_scene(qr_payload=None)  # the phone goes away
    booth["pose, countdown, processing"] = until(rt, State.REVIEW)
    pause(rt, HUMAN["look at photo"] * scale)
    rt.press(Button.ACCEPT_PHOTO)
    booth["saving"] = until(rt, State.RECEIPT)
    total = time.perf_counter() - start
    rt.press(Button.DONE)
    rt.reader.lift()
    until(rt, State.ATTRACT)
    return {"total": total, **booth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--human-scale", type=float, default=1.0,
                        help="multiply the student's delays (0: a robot)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config({
            "kiosk": {"data_dir": str(Path(tmp) / "data"), "min_free_mb": 1},
            "audio": {"muted": True},
            "roster": {"path": str(ROOT / "examples" / "roster-demo.csv"),
                       "allow_recapture": True},  # the same demo student every run
        }).as_demo()
        rt = KioskRuntime(config)
        rt.start()
        try:
            until(rt, State.ATTRACT)
            runs = [one_student(rt, n, args.human_scale) for n in range(args.runs)]
        finally:
            rt.stop()
    human = sum(HUMAN.values()) * args.human_scale
    total = statistics.median(r["total"] for r in runs)
    print(f"card to receipt: median {total:.1f} s over {args.runs} runs "
          f"(student's own time {human:.1f} s)")
    for step in ("roster check", "采集码 check", "pose, countdown, processing", "saving"):
        print(f"  booth: {step}: median {statistics.median(r[step] for r in runs):.2f} s")
    print(f"the booth's share: {total - human:.1f} s = {(total - human) / total:.0%} of the time")


if __name__ == "__main__":
    main()
