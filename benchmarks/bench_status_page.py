"""The students' status page with 50,000 captures on the server (issue 22,
item 2): just prints figures.

A real `photo-server serve` process on 127.0.0.1 over a SQLite database
filled directly: --captures captures with a status hash each (all opened:
90 % approved, 5 % refused, 5 % waiting), a roster row per student, every
centre's schedule. A phone's requests for --repeat random links (a third
each approved, refused, waiting, so the refused page's roster and schedule
reads count) are timed as the client sees them (median, p95), and the
lookup itself in process (web/status.capture_status). Target: under 100 ms.

    .venv/bin/python benchmarks/bench_status_page.py [--captures 50000] [--repeat 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

CENTRES, SESSIONS = 20, 8
KEY = bytes(range(32))


def capture_id(i: int) -> str:
    return f"cap{i:029x}"


def decision(i: int) -> str:
    return "approved" if i % 20 < 18 else ("rejected" if i % 20 == 18 else "pending")


def fill(db_url: str, captures: int) -> None:
    from sqlalchemy import insert, text

    from photo_wire.status_link import status_token, token_hash
    from school_server import db as dbm
    from school_server.models import (Capture, CaptureReview, Centre, Kiosk, RosterRow,
                                      ScheduleEntry)

    engine = dbm.make_engine(db_url)
    now = datetime.now(timezone.utc)
    centre = [f"学习中心{c:02d}" for c in range(CENTRES)]
    with engine.begin() as conn:
        conn.execute(insert(Centre), [{"centre": c, "created_at": now} for c in centre])
        conn.execute(insert(Kiosk), [{"kiosk_id": f"booth-{k:02d}", "centre": centre[k],
                                      "token_hash": f"{k:064x}", "enrolled_at": now}
                                     for k in range(CENTRES)])
        conn.execute(insert(ScheduleEntry), [
            {"centre": c, "session": f"第{s + 1}场", "starts_at": now + timedelta(days=s * 7 - 14),
             "ends_at": now + timedelta(days=s * 7 - 14, hours=3)}
            for c in centre for s in range(SESSIONS)])
        for start in range(0, captures, 5000):
            rows, caps, reviews = [], [], []
            for i in range(start, min(start + 5000, captures)):
                cid, where, ref = capture_id(i), centre[i % CENTRES], f"{i:064x}"
                rows.append({"centre": where, "session": f"第{i % SESSIONS + 1}场",
                             "student_ref": ref, "uid_hash": None, "name": f"学生{i}",
                             "programme": "法学"})
                caps.append({"capture_id": cid, "kiosk_id": f"booth-{i % CENTRES:02d}",
                             "centre": where, "session": rows[-1]["session"], "digest": "0" * 64,
                             "size": 1, "object_key": f"captures/{cid}/x.sealed",
                             "created_at": now, "received_at": now, "status": "received",
                             "status_hash": token_hash(status_token(KEY, cid))})
                reviews.append({"capture_id": cid, "centre": where, "session": caps[-1]["session"],
                                "student_ref": ref, "decision": decision(i), "name": f"学生{i}",
                                "reason": "photo_quality" if decision(i) == "rejected" else None,
                                "decided_at": now if decision(i) != "pending" else None})
            conn.execute(insert(RosterRow), rows)
            conn.execute(insert(Capture), caps)
            conn.execute(insert(CaptureReview), reviews)
    with engine.connect() as conn:  # table statistics, as a database in use has them
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


def sample(captures: int, repeat: int) -> list[int]:
    """Capture numbers, a third each approved, refused and waiting."""
    rng = random.Random(7)
    kinds = {k: [i for i in range(captures) if decision(i) == k][:5000]
             for k in ("approved", "rejected", "pending")}
    return [rng.choice(kinds[("approved", "rejected", "pending")[n % 3]]) for n in range(repeat)]


def in_process_ms(db_url: str, picks: list[int]) -> list[float]:
    from photo_wire.status_link import status_token
    from school_server import db as dbm
    from school_server.models import utcnow
    from school_server.web.status import capture_status

    engine = dbm.make_engine(db_url)
    out = []
    with dbm.make_sessions(engine)() as db:
        for i in picks:
            t = time.perf_counter()
            found = capture_status(db, status_token(KEY, capture_id(i)), utcnow())
            out.append((time.perf_counter() - t) * 1000)
            assert found is not None
    engine.dispose()
    return out


def pct(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[int(share * (len(ordered) - 1))]


def main() -> None:
    import httpx

    from photo_wire.status_link import status_token
    from school_server.settings import load_settings
    from server.harness import Deployment, run_cli

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "sqlite"
        dep = Deployment(data_dir, "status_page_requests_per_minute = 1000000\n")
        try:
            assert run_cli(data_dir, "migrate").code == 0
            t0 = time.perf_counter()
            fill(load_settings(data_dir).db_url, args.captures)
            filled = time.perf_counter() - t0
            picks = sample(args.captures, args.repeat)
            lookups = in_process_ms(load_settings(data_dir).db_url, picks)
            dep.server.start()
            times: dict[str, list[float]] = {"approved": [], "rejected": [], "pending": []}
            with httpx.Client(base_url=dep.server.url, timeout=60) as phone:
                assert phone.get(f"/status/{status_token(KEY, capture_id(0))}").status_code == 200
                for i in picks:
                    t = time.perf_counter()
                    reply = phone.get(f"/status/{status_token(KEY, capture_id(i))}")
                    times[decision(i)].append((time.perf_counter() - t) * 1000)
                    assert reply.status_code == 200, reply.text[:300]
                t = time.perf_counter()
                assert phone.get("/status/" + "A" * 24).status_code == 404
                unknown = (time.perf_counter() - t) * 1000
        finally:
            dep.close()
    every = [x for kind in times.values() for x in kind]
    print(f"SQLite: {args.captures} captures with status links (filled in {filled:.1f} s), "
          f"{args.repeat} page requests")
    print(f"  GET /status/<token>: median {statistics.median(every):.1f} ms, "
          f"p95 {pct(every, 0.95):.1f} ms, max {max(every):.1f} ms (target < 100 ms)")
    for kind, label in (("approved", "approved"), ("rejected", "refused (+ roster, schedule)"),
                        ("pending", "waiting")):
        print(f"    {label}: median {statistics.median(times[kind]):.1f} ms, "
              f"p95 {pct(times[kind], 0.95):.1f} ms")
    print(f"  unknown token: {unknown:.1f} ms")
    print(f"  lookup in process (capture_status): median {statistics.median(lookups):.2f} ms, "
          f"p95 {pct(lookups, 0.95):.2f} ms")


if __name__ == "__main__":
    main()
