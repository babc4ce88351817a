"""The office's review grid, one decision and the search at season size
(just prints figures).

A real `photo-server serve` process on 127.0.0.1 over a database filled
directly: --captures opened captures (capture_reviews with the grid's
fields: 2 % failed by the booth, 5 % borderline; half still pending) of as
many roster students, 20 centres. A logged-in reviewer then times, as the
client sees them (median, p95):
  - /office/review (a grid page of 48, the HTML; the thumbnails are separate
    requests), target <= 500 ms;
  - one decision (POST, answered by a redirect, not followed), target <= 150 ms;
  - approving the rest of a page (48 at once);
  - /office/search by part of a name, a full ID number (one scrypt), the last
    4 digits, a 采集编号 prefix, a whole student number (学号) and the
    beginning of one, target <= 200 ms.
Beside each, the server process's CPU time per request (from /proc: what
the request costs whatever else the machine is doing; on a loaded machine
the time the client sees is longer). On SQLite, and on PostgreSQL when it is installed (started as the server tests do).

    .venv/bin/python benchmarks/bench_office_review.py [--captures 50000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_office_progress import PASSWORD, log_in  # noqa: E402

CENTRES = 20


def _id(i: int) -> str:
    from photo_wire.idnumber import check_character

    first17 = f"32010219900101{i % 1000:03d}"
    return first17 + check_character(first17)


def _capture_id(i: int) -> str:
    """Like a booth's (uuid4 hex): a 10-character prefix names one capture."""
    return hashlib.md5(str(i).encode()).hexdigest()


def _student_no(i: int) -> str:
    return f"2026{i:07d}"


def _cpu_ms(pid: int) -> float:
    """The process's user + system CPU time so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def fill(db_url: str, captures: int) -> None:
    from sqlalchemy import insert, text

    from photo_wire.idnumber import mask_id
    from photo_wire.ids import student_ref
    from school_server import db as dbm
    from school_server.models import Capture, CaptureReview, Centre, Kiosk, RosterRow

    engine = dbm.make_engine(db_url)
    now = datetime.now(timezone.utc)
    searched = student_ref(_id(12))
    with engine.begin() as conn:
        conn.execute(insert(Centre), [{"centre": f"centre-{c:02d}", "created_at": now}
                                      for c in range(CENTRES)])
        conn.execute(insert(Kiosk), [{"kiosk_id": f"booth-{c:02d}", "centre": f"centre-{c:02d}",
                                      "token_hash": f"{c:064x}", "enrolled_at": now}
                                     for c in range(CENTRES)])
        for start in range(0, captures, 5000):
            roster, caps, reviews = [], [], []
            for i in range(start, min(captures, start + 5000)):
                ref = searched if i == 12 else f"{i:064x}"
                centre, cid = f"centre-{i % CENTRES:02d}", _capture_id(i)
                at = now - timedelta(seconds=captures - i)
                roster.append({"centre": centre, "session": "s1", "student_ref": ref,
                               "uid_hash": None, "name": f"学生{i}", "programme": "Law",
                               "id_masked": mask_id(_id(i)), "student_no": _student_no(i)})
                caps.append({"capture_id": cid, "kiosk_id": f"booth-{i % CENTRES:02d}",
                             "centre": centre, "session": "s1", "digest": "0" * 64, "size": 1,
                             "object_key": f"captures/{cid}/x.sealed", "created_at": at,
                             "received_at": at, "status": "received"})
                pending = i % 2 == 0
                reviews.append({
                    "capture_id": cid, "centre": centre, "session": "s1", "student_ref": ref,
                    "decision": "pending" if pending else "approved",
                    "reviewer": None if pending else "someone",
                    "decided_at": None if pending else at, "received_at": at,
                    "name": f"学生{i}", "id_masked": mask_id(_id(i)), "makeup": False,
                    "passed": i % 50 != 0, "problems": "FACE_TOO_SMALL" if i % 50 == 0 else "",
                    "measures": "FACE_TOO_SMALL 0.42 0.5 0.7" if i % 50 == 0 else "",
                    "triage": 0 if i % 50 == 0 else 1 if i % 20 == 1 else 2})
            conn.execute(insert(RosterRow), roster)
            conn.execute(insert(Capture), caps)
            conn.execute(insert(CaptureReview), reviews)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


SERVER_PID = 0  # set once the server runs: _timed reads its CPU time


def _timed(repeat: int, call: Callable[[int], None]) -> tuple[list[float], float]:
    """(wall times in ms, sorted; the server's CPU ms per call)."""
    out = []
    cpu = _cpu_ms(SERVER_PID)
    for n in range(repeat):
        t = time.perf_counter()
        call(n)
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out), (_cpu_ms(SERVER_PID) - cpu) / repeat


def _line(what: str, timed: tuple[list[float], float], target: str) -> str:
    times, cpu = timed
    return (f"  {what:<34} median {statistics.median(times):4.0f} ms, "
            f"p95 {times[int(0.95 * (len(times) - 1))]:4.0f} ms, max {times[-1]:4.0f} ms, "
            f"server CPU {cpu:4.0f} ms/request  ({len(times)} requests; target {target})")


def run(name: str, data_dir: Path, args: argparse.Namespace, postgres: str | None) -> None:
    from school_server.settings import load_settings
    from server.harness import Deployment, run_cli

    dep = Deployment(data_dir, postgres=postgres)
    try:
        assert run_cli(data_dir, "migrate").code == 0
        stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
        try:
            assert run_cli(data_dir, "add-user", "bench", "--role", "reviewer").code == 0
        finally:
            sys.stdin = stdin
        t0 = time.perf_counter()
        fill(load_settings(data_dir).db_url, args.captures)
        filled = time.perf_counter() - t0
        dep.server.start()
        global SERVER_PID
        SERVER_PID = dep.server.proc.pid  # type: ignore[union-attr]
        client = log_in(dep.server.url)
        try:
            grid = client.get("/office/review").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', grid).group(1)  # type: ignore[union-attr]

            def page(_: int) -> None:
                assert client.get("/office/review").status_code == 200
            pages = _timed(args.repeat, page)
            pending = [_capture_id(i) for i in range(0, args.captures, 2)]

            def decide(n: int) -> None:
                reply = client.post(f"/office/review/{pending[-1 - n]}",
                                    data={"csrf": csrf, "decision": "approved",
                                          "back": "/office/review?decision=pending"})
                assert reply.status_code == 303 and "error" not in reply.headers["location"]
            decisions = _timed(args.repeat, decide)

            def approve_rest(n: int) -> None:
                ids = pending[len(pending) // 2 + 48 * n:len(pending) // 2 + 48 * (n + 1)]
                reply = client.post("/office/review/approve-rest",
                                    data={"csrf": csrf, "capture_id": ids})
                assert reply.status_code == 303
            rests = _timed(max(3, args.repeat // 5), approve_rest)
            full_id = _id(12)  # the student searched for by full ID number
            queries = [f"学生{args.captures // 3}", full_id, full_id[-4:], _capture_id(42)[:10],
                       _student_no(77), _student_no(args.captures // 10)[:-1]]

            def find(n: int) -> None:
                reply = client.get("/office/search", params={"q": queries[n % len(queries)]})
                assert reply.status_code == 200 and 'data-ref="' in reply.text, queries[n]
            searches = {q: _timed(max(3, args.repeat // 3), lambda _, k=k: find(k))
                        for k, q in enumerate(queries)}
        finally:
            client.close()
        print(f"{name}: {args.captures} captures opened, {args.captures // 2} pending, "
              f"as many roster students (filled in {filled:.1f} s)")
        print(_line("review grid page (48)", pages, "<= 500 ms"))
        print(_line("one decision", decisions, "<= 150 ms"))
        print(_line("approve the rest of a page (48)", rests, "-"))
        for label, times in zip(("name part", "full ID number", "last 4 digits",
                                 "采集编号 prefix", "student number", "student number, first 10"),
                                searches.values()):
            print(_line(f"search: {label}", times, "<= 200 ms"))
    finally:
        dep.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    from server.services import ServiceMissing, Services

    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", Path(tmp) / "sqlite", args, None)
        pool = None if args.sqlite_only else Services()
        try:
            admin = pool.postgres_url() if pool else None
        except ServiceMissing as err:
            admin = None
            print(f"PostgreSQL: skipped ({err})")
        try:
            if admin:
                run("PostgreSQL", Path(tmp) / "postgres", args, admin)
        finally:
            if pool:
                pool.stop_all()

if __name__ == "__main__":
    main()
