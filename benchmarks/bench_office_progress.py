"""The office's progress page for a big school (just prints figures).

A real `photo-server serve` process on 127.0.0.1 over a database filled
directly: --students roster rows (over 20 centres, 5 sessions each), a
capture for --captured of them (all opened: 90 % approved, 5 % rejected,
5 % waiting), --booths kiosks with heartbeats. A logged-in viewer fetches
/office/progress --repeat times; the figures are the server's response time
as the client sees it (median, p95), on SQLite and on PostgreSQL (started
as the server tests do; skipped with a note when it is not installed).
Target: under 200 ms.

The roster-wide student counts are reused for progress.STUDENT_COUNTS_SECONDS
within the server; "first request" and the in-process "uncached" figures
are the cost without that (progress_rows with the cache dropped each time).

    .venv/bin/python benchmarks/bench_office_progress.py [--students 50000] [--booths 20]
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password"
CENTRES, SESSIONS = 20, 5


def fill(db_url: str, students: int, captured: int, booths: int) -> None:
    from sqlalchemy import insert, text

    from school_server import db as dbm
    from school_server.models import (Capture, CaptureReview, Centre, Heartbeat, Kiosk,
                                      RosterRow)

    engine = dbm.make_engine(db_url)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(Centre), [{"centre": f"centre-{c:02d}", "created_at": now}
                                      for c in range(CENTRES)])
        conn.execute(insert(Kiosk), [{"kiosk_id": f"booth-{k:02d}", "centre": f"centre-{k % CENTRES:02d}",
                                      "token_hash": f"{k:064x}", "enrolled_at": now,
                                      "last_heartbeat_at": now} for k in range(booths)])
        conn.execute(insert(Heartbeat), [{"kiosk_id": f"booth-{k:02d}", "status": "idle",
                                          "queue_depth": k, "free_mb": 9000, "version": "0.1.0",
                                          "last_error": None,
                                          "at": now - timedelta(minutes=k)} for k in range(booths)])
        rows = [{"centre": f"centre-{i % CENTRES:02d}", "session": f"s{(i // CENTRES) % SESSIONS}",
                 "student_ref": f"{i:064x}", "uid_hash": None, "name": f"学生{i}",
                 "programme": "Law"} for i in range(students)]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(RosterRow), rows[start:start + 5000])
        caps, reviews = [], []
        for i in range(captured):
            cid = f"cap{i:029x}"
            caps.append({"capture_id": cid, "kiosk_id": f"booth-{(i % CENTRES) % booths:02d}",
                         "centre": f"centre-{i % CENTRES:02d}",
                         "session": f"s{(i // CENTRES) % SESSIONS}", "digest": "0" * 64,
                         "size": 1, "object_key": f"captures/{cid}/x.sealed",
                         "created_at": now, "received_at": now, "status": "received"})
            decision = "approved" if i % 20 < 18 else ("rejected" if i % 20 == 18 else "pending")
            reviews.append({"capture_id": cid, "centre": caps[-1]["centre"],
                            "session": caps[-1]["session"], "student_ref": f"{i:064x}",
                            "decision": decision,
                            "reason": "other" if decision == "rejected" else None})
        for start in range(0, len(caps), 5000):
            conn.execute(insert(Capture), caps[start:start + 5000])
            conn.execute(insert(CaptureReview), reviews[start:start + 5000])
    with engine.connect() as conn:  # table statistics, as a database in use has them
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


def _uncached_ms(db_url: str, repeat: int) -> list[float]:
    from school_server import db as dbm
    from school_server.progress import forget_student_counts, progress_rows

    engine = dbm.make_engine(db_url)
    out = []
    with dbm.make_sessions(engine)() as db:
        for _ in range(repeat):
            forget_student_counts()
            t = time.perf_counter()
            progress_rows(db)
            out.append((time.perf_counter() - t) * 1000)
    engine.dispose()
    return out


def log_in(url: str):  # type: ignore[no-untyped-def]
    import httpx

    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/office/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    reply = client.post("/office/login", data={"username": "bench", "password": PASSWORD,
                                               "csrf": csrf})
    assert reply.status_code == 303 and reply.headers["location"].endswith("/progress"), reply.text
    return client


def run(name: str, data_dir: Path, args: argparse.Namespace, postgres: str | None) -> None:
    from school_server.settings import load_settings
    from server.harness import Deployment, run_cli

    dep = Deployment(data_dir, postgres=postgres)
    try:
        assert run_cli(data_dir, "migrate").code == 0
        sys_stdin = sys.stdin
        sys.stdin = io.StringIO(PASSWORD + "\n")
        try:
            assert run_cli(data_dir, "add-user", "bench", "--role", "viewer").code == 0
        finally:
            sys.stdin = sys_stdin
        t0 = time.perf_counter()
        fill(load_settings(data_dir).db_url, args.students, int(args.students * args.captured),
             args.booths)
        filled = time.perf_counter() - t0
        uncached = _uncached_ms(load_settings(data_dir).db_url, args.repeat)
        dep.server.start()
        client = log_in(dep.server.url)
        try:
            times = []
            t = time.perf_counter()
            assert client.get("/office/progress").status_code == 200
            times_first = (time.perf_counter() - t) * 1000
            for _ in range(args.repeat):
                t = time.perf_counter()
                reply = client.get("/office/progress")
                times.append((time.perf_counter() - t) * 1000)
                assert reply.status_code == 200 and "centre-19" in reply.text
            fleet = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                assert client.get("/office/fleet").status_code == 200
                fleet.append((time.perf_counter() - t) * 1000)
        finally:
            client.close()
        times.sort()
        fleet.sort()
        print(f"{name}: {args.students} students, {int(args.students * args.captured)} captures, "
              f"{args.booths} booths (filled in {filled:.1f} s)")
        print(f"  /office/progress: median {statistics.median(times):.0f} ms, "
              f"p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms, max {times[-1]:.0f} ms "
              f"({args.repeat} requests; target < 200 ms)")
        print(f"  first request {times_first:.0f} ms; progress_rows uncached (in process): "
              f"median {statistics.median(uncached):.0f} ms, max {max(uncached):.0f} ms")
        print(f"  /office/fleet:    median {statistics.median(fleet):.0f} ms, "
              f"p95 {fleet[int(0.95 * (len(fleet) - 1))]:.0f} ms")
    finally:
        dep.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--captured", type=float, default=0.8, help="share with a capture")
    parser.add_argument("--booths", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", Path(tmp) / "sqlite", args, None)
        from server.services import ServiceMissing, Services

        pool = Services()
        try:
            try:
                admin = pool.postgres_url()
            except ServiceMissing as err:
                print(f"PostgreSQL: skipped ({err})")
                return
            run("PostgreSQL", Path(tmp) / "postgres", args, admin)
        finally:
            pool.stop_all()


if __name__ == "__main__":
    main()
