"""Soak: N scripted sessions in one booth process, syncing as it goes.

The simulated camera and card reader, the real capture store (sealed to the
server's key), a real `photo-server serve` on 127.0.0.1 (tests/server/
harness.py) and the booth's own sync agent uploading while the next
students sit. Every --every sessions it samples the booth process's RSS,
open files, threads and the sync queue; at the end it waits for the queue
to drain and checks every capture is on the server exactly once.

    .venv/bin/python benchmarks/bench_soak.py [--n 1000] [--every 50]

Pass criteria (issue 24 item 11): RSS growth under 10 % after warm-up (the
first sample after --warmup sessions), no growing fd or thread count, every
capture on the server exactly once. Exit 0 when all hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CARDS = ("zhangsan", "lisi", "wangwu")


def session_script(i: int, salt: str) -> str:
    """The happy path (tests/scripts/happy_path.txt) with this session's card
    and 采集码, and room for a loaded machine."""
    from headless_harness import HAPPY

    return (HAPPY.replace("card zhangsan", f"card {CARDS[i % len(CARDS)]}")
            .replace("CHSI-DEMO-7f3a9c2e5b8d1f4a6c0e", f"CHSI-SOAK-{i:08d}-{salt}")
            .replace("expect guide\n", "expect guide 60\n").replace("expect review 40", "expect review 90")
            .replace("expect attract\n", "expect attract 30\n"))


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def sample(n: int, store, started: float) -> dict[str, float]:
    return {"sessions": n, "seconds": round(time.monotonic() - started),
            "rss_mib": round(_status("VmRSS") / 1024, 1), "fds": len(os.listdir("/proc/self/fd")),
            "threads": threading.active_count(), "queue": store.pending_count()}


def write_config(tmp: Path, server_url: str, public_key: bytes) -> Path:
    """The demo booth's config (headless_harness), syncing to the soak's server."""
    from headless_harness import write_config as booth_config

    # extra follows [roster] path = ..., so its first line is still in [roster]
    return booth_config(tmp, kiosk='id = "soak-booth"', extra=f"""allow_recapture = true
[sync]
server_url = "{server_url}"
server_public_key = "{base64.b64encode(public_key).decode()}"
heartbeat_seconds = 5
roster_refresh_seconds = 0
backoff_initial_seconds = 0.5
backoff_max_seconds = 5
""")


def run_sessions(runtime, n: int, every: int, salt: str) -> tuple[list[str], list[dict], list[str]]:
    from kiosk.script import ScriptRunner

    started = time.monotonic()
    ids: list[str] = []
    failures: list[str] = []
    samples = [sample(0, runtime.store, started)]
    for i in range(n):
        runner = ScriptRunner(runtime, session_script(i, salt))
        while True:
            result = runner.step(runtime.poll())
            if result is not None:
                break
            time.sleep(0.01)
        if result.capture_id:  # stored (the receipt's "done" may still have timed out)
            ids.append(result.capture_id)
        if not result.ok:
            failures.append(f"session {i}: {result.reason}")
            _back_to_attract(runtime)
        if (i + 1) % every == 0 or i + 1 == n:
            samples.append(sample(i + 1, runtime.store, started))
            print(samples[-1], flush=True)
    return ids, samples, failures


def _back_to_attract(runtime) -> None:
    """After a failed session (a slow machine): no QR in view, wait for the timeouts."""
    from kiosk.script import ScriptRunner

    runner = ScriptRunner(runtime, "qr off\nexpect attract 180\n")
    while runner.step(runtime.poll()) is None:
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=50, help="sessions before the RSS baseline")
    parser.add_argument("--drain-seconds", type=float, default=300)
    args = parser.parse_args()

    from kiosk.capture.enrolment import enrol
    from kiosk.config import load_config
    from kiosk.runtime import KioskRuntime
    from server import harness
    from server.harness import Deployment

    harness.STARTUP_SECONDS = 120  # a loaded machine

    with tempfile.TemporaryDirectory(prefix="soak-") as name:
        tmp = Path(name)
        deployment = Deployment(tmp / "server")
        deployment.server.start()
        try:
            config = load_config(write_config(tmp, deployment.server.url, deployment.public_key))
            enrol(deployment.server.url, deployment.enrol_code("demo-centre"), config.kiosk.id,
                  config.kiosk.data_dir)
            runtime = KioskRuntime(config.as_demo())
            runtime.start()
            try:
                ids, samples, failures = run_sessions(runtime, args.n, args.every,
                                                      os.urandom(4).hex())
                deadline = time.monotonic() + args.drain_seconds
                while runtime.store.pending_count() and time.monotonic() < deadline:
                    runtime.poll()
                    time.sleep(0.2)
                left = runtime.store.pending_count()
                end = sample(args.n, runtime.store, time.monotonic())
            finally:
                runtime.stop()
            with sqlite3.connect(config.kiosk.data_dir / "captures.db") as db:
                booth_ids = [row[0] for row in db.execute("SELECT capture_id FROM captures")]
            with sqlite3.connect(tmp / "server" / "server.db") as db:
                counts = dict(db.execute("SELECT capture_id, COUNT(*) FROM captures "
                                         "GROUP BY capture_id"))
        finally:
            deployment.close()
    base = next((s for s in samples if s["sessions"] >= args.warmup), samples[-1])
    growth = (samples[-1]["rss_mib"] - base["rss_mib"]) / base["rss_mib"] * 100
    on_server_once = (set(ids) <= set(booth_ids) and all(counts.get(i) == 1 for i in booth_ids)
                      and len(counts) == len(booth_ids))
    print(f"\n{len(booth_ids)} captures stored, {len(failures)} sessions failed; queue after the "
          f"drain: {left}; on the server: {len(counts)} captures, each exactly once: "
          f"{on_server_once}")
    print(f"RSS {base['rss_mib']} MiB after {base['sessions']} sessions -> "
          f"{samples[-1]['rss_mib']} MiB after {samples[-1]['sessions']} ({growth:+.1f} %); "
          f"fds {base['fds']} -> {samples[-1]['fds']} (after the drain {end['fds']}); "
          f"threads {base['threads']} -> {samples[-1]['threads']} (after the drain "
          f"{end['threads']})")
    for failure in failures[:10]:
        print(failure)
    ok = (not failures and not left and on_server_once and growth < 10
          and samples[-1]["fds"] <= base["fds"] + 2 and samples[-1]["threads"] <= base["threads"] + 1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
