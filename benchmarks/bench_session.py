"""Kiosk start-up and whole-session cost, with the simulated devices.

Prints:
- seconds from process start to the attract state ready (headless: runtime
  built, devices opened, first poll done), median of N runs;
- machine time (user+sys CPU) and wall time for one scripted session with
  the countdown and waits set to zero;
- peak RSS of the session process.

Run: .venv/bin/python benchmarks/bench_session.py [--runs N] [--still WxH]

--still 4056x3040 shoots the Pi HQ camera's 12 MP stills (the simulated
camera's default is 2028x1520, to keep the demo quick).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIOSK = [sys.executable, "-m", "kiosk.cli"]

PROBE = r"""
import os, time
def since_start():
    ticks = os.sysconf("SC_CLK_TCK")
    start = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]) / ticks
    uptime = float(open("/proc/uptime").read().split()[0])
    return uptime - start
from kiosk.config import load_config
from kiosk.runtime import KioskRuntime
from kiosk.codes import State, Device
import sys
rt = KioskRuntime(load_config(sys.argv[1]).as_demo())
rt.start()
while True:
    view = rt.poll()
    if view.state == State.ATTRACT and rt.devices.latest_frame is None and rt.reader.is_available():
        break
    time.sleep(0.005)
print(f"{since_start():.3f}")
rt.stop()
"""

SESSION = """
expect attract
card {card}
expect confirm
press confirm_identity
expect consent
press agree
expect scan_code
qr CHSI-BENCH-4f9a8b7c6d5e4f3a2b1c
expect guide
expect review 30
press accept_photo
expect_stored 30
"""


def write_config(tmp: Path, still: str) -> Path:
    cfg = tmp / "bench.toml"
    w, h = (int(v) for v in still.split("x"))
    cfg.write_text(
        f"""
[camera.simulated]
still_size = [{w}, {h}]
[kiosk]
data_dir = "{tmp / 'data'}"
[audio]
muted = true
[flow]
countdown_seconds = 0
ready_hold_seconds = 0.0
[roster]
path = "{ROOT / 'examples' / 'roster-demo.csv'}"
""",
        encoding="utf-8",
    )
    return cfg


def startup_seconds(cfg: Path, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        res = subprocess.run(
            [sys.executable, "-c", PROBE, str(cfg)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def session(cfg: Path, card: str) -> tuple[float, float, float]:
    script = cfg.parent / "session.txt"
    script.write_text(SESSION.format(card=card), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(
        [*KIOSK, "--config", str(cfg), "run", "--demo", "--headless", "--script", str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"session failed: {res.stdout}{res.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--still", default="2028x1520", help="simulated still size, WxH")
    args = ap.parse_args()
    card = "zhangsan"  # an expected student of the built-in demo cards
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), args.still)
        if args.runs:  # --runs 0: the session alone
            starts = startup_seconds(cfg, args.runs)
            print(f"start-up to attract ready: median {statistics.median(starts):.2f} s "
                  f"(min {min(starts):.2f}, max {max(starts):.2f}, {args.runs} runs)")
        wall, cpu, rss = session(cfg, card)
        print(f"one scripted session (countdown 0): wall {wall:.2f} s, machine time {cpu:.2f} s CPU")
        print(f"peak RSS of a session process ({args.still} stills): {rss:.0f} MB "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    main()
