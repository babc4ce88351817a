"""What a flood of office logins costs the booths (just prints figures).

A real `photo-server serve` process on 127.0.0.1 (tests/server/harness.py).
`--logins` office logins with right passwords (4 per account, so no account
limit gets in the way; the address limit raised) are released at once while
a booth sends a heartbeat every 0.1 s. Printed: the server's idle and peak
resident memory (sampled every 10 ms), how long the flood took, the answers
(303 logged in, 503 told to retry), and the heartbeats' latencies.

    .venv/bin/python benchmarks/bench_office_logins.py [--logins 48]
    .venv/bin/python benchmarks/bench_office_logins.py --server-src DIR   # another version

--server-src puts DIR (a checkout's root, e.g. from `git archive`) first on
the server's PYTHONPATH, to measure the code before a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_server_bodies import RssSampler, _rss_mb  # noqa: E402

PASSWORD = "correct horse battery"
HEARTBEAT = {"status": "idle", "queue_depth": 0, "free_mb": 1000, "version": "bench"}


def _cli(dep, stdin: str, *argv: str):  # type: ignore[no-untyped-def]
    """photo-server in a subprocess, with the server's environment (its version)."""
    from server.harness import CliResult

    run = subprocess.run([sys.executable, "-m", "school_server", argv[0], "--data",
                          str(dep.data_dir), *argv[1:]], input=stdin, capture_output=True,
                         text=True, env=dep.server.env, timeout=120)
    return CliResult(run.returncode, run.stdout, run.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logins", type=int, default=48)
    ap.add_argument("--server-src", type=Path, help="run the server from this source tree")
    args = ap.parse_args()

    from server.harness import Deployment
    from server.office_http import at_once

    with tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(Path(tmp) / "server", "office_login_failures_per_address = 100000\n")
        if args.server_src:
            dep.server.env["PYTHONPATH"] = str(args.server_src.resolve())
            os.chdir(tmp)  # `python -m` puts the working directory first on sys.path
            # Its own CLI too: the schema and the accounts are that version's.
            dep.cli_stdin = lambda stdin, *argv: _cli(dep, stdin, *argv)  # type: ignore[method-assign]
            dep.cli = lambda *argv: _cli(dep, "", *argv)  # type: ignore[method-assign]
        dep.server.start()
        try:
            assert dep.server.proc is not None
            users = [f"bench{i}" for i in range((args.logins + 3) // 4)]
            for user in users:
                assert dep.cli_stdin(PASSWORD + "\n", "add-user", user, "--role",
                                     "viewer").code == 0
            kiosk = dep.enrol("bench-centre")
            time.sleep(1)
            idle = _rss_mb(dep.server.proc.pid)
            latencies: list[float] = []
            done = threading.Event()

            def beat() -> None:
                with kiosk.client() as client:
                    while not done.is_set():
                        start = time.perf_counter()
                        client.post("/api/v1/heartbeat", json=HEARTBEAT)
                        latencies.append(time.perf_counter() - start)
                        time.sleep(0.1)
            beater = threading.Thread(target=beat)
            beater.start()
            start = time.perf_counter()
            try:
                with RssSampler(dep.server.proc.pid) as rss:
                    replies = at_once(dep.server.url, [(u, PASSWORD) for u in users * 4][:args.logins])
            finally:
                took = time.perf_counter() - start
                done.set()
                beater.join()
            codes = [r.status_code for r in replies]
            print(f"{args.logins} logins at once: {took:.1f} s; server {idle:.0f} MiB RSS idle, "
                  f"peak {rss.peak:.0f} MiB (+{rss.peak - idle:.0f}); "
                  f"{codes.count(303)} x 303, {codes.count(503)} x 503 + Retry-After")
            print(f"heartbeats during the flood: {len(latencies)}, median "
                  f"{statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
        finally:
            dep.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
