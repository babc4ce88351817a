"""How fast `photo-server import-roster` hashes a roster (just prints figures).

First whether the scrypt call (photo_wire.ids) releases the GIL: a Python loop's rate in the
main thread while another thread hashes, against its rate alone (near 0 %
if scrypt held the GIL; ~100 % with a free core). Then roster_import (check,
hash, replace) on a
fresh SQLite file (migrated as `photo-server migrate` does) with --rows
generated rows: 1 thread, then --workers threads (default os.cpu_count()),
in rows/s, and what that means for a 50,000-student roster on a 2-core and
an 8-core server (the 8-core figure assumes each core hashes as fast as one
here: scrypt's 32 MiB per thread fits any server's memory).

    .venv/bin/python benchmarks/bench_roster_import.py [--rows 200] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from photo_wire.idnumber import check_character
from photo_wire.ids import opaque_ref
from school_server import db
from school_server.roster_import import RosterImport


def gil_share(seconds: float = 2.0) -> float:
    """The main thread's loop rate while scrypt runs in another thread, as a
    share of its rate alone."""
    def spin(until: float) -> float:
        n, start = 0, time.perf_counter()
        while time.perf_counter() < until:
            n += 1
        return n / (time.perf_counter() - start)

    alone = spin(time.perf_counter() + seconds)
    stop = threading.Event()

    def hash_until_stopped() -> None:
        i = 0
        while not stop.is_set():
            opaque_ref("id", str(i))
            i += 1

    worker = threading.Thread(target=hash_until_stopped)
    worker.start()
    beside = spin(time.perf_counter() + seconds)
    stop.set()
    worker.join()
    return beside / alone


def write_roster(path: Path, rows: int) -> None:
    lines = ["id_number,name,programme,centre,session"]
    for i in range(rows):
        first17 = f"110101{2000 + i % 5}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        lines.append(f"{first17}{check_character(first17)},学生{i},Law,Bench{i % 3},s{i % 2}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def rows_per_second(tmp: Path, roster: Path, rows: int, workers: int) -> tuple[float, float]:
    """rows/s, and the process's CPU seconds per wall second (the cores it
    got: near 1 with one thread, near the thread count on idle cores)."""
    engine = db.make_engine(f"sqlite:///{tmp / f'bench-{workers}.db'}")
    try:
        db.upgrade(engine)
        with db.make_sessions(engine)() as session:
            start, cpu = time.perf_counter(), time.process_time()
            job = RosterImport(roster, tmp / f"work-{workers}", {})
            try:
                assert job.check().clean == rows
                job.hash(workers)
                per_centre = job.replace(session)
            finally:
                job.close()
            elapsed = time.perf_counter() - start
            cores = (time.process_time() - cpu) / elapsed
        assert sum(per_centre.values()) == rows, per_centre
    finally:
        engine.dispose()
    return rows / elapsed, cores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    # Other processes on the cores (a CI run) leave the pool fewer of them.
    print(f"cores: {os.cpu_count()}; load average now: {os.getloadavg()[0]:.1f}")
    print(f"GIL: a Python loop keeps {gil_share():.0%} of its speed while scrypt runs "
          "in another thread (~0 % would mean scrypt holds the GIL)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        roster = tmp / "roster.csv"
        write_roster(roster, args.rows)
        one, one_cores = rows_per_second(tmp, roster, args.rows, 1)
        pool, pool_cores = rows_per_second(tmp, roster, args.rows, args.workers)
    print(f"import of {args.rows} rows, 1 thread: {one:.1f} rows/s "
          f"({one_cores:.2f} cores busy)")
    print(f"import of {args.rows} rows, {args.workers} threads: {pool:.1f} rows/s "
          f"({pool_cores:.2f} cores busy; {pool / one:.2f}x)")
    print(f"50,000 rows: {50_000 / one / 60:.0f} min on 1 thread; "
          f"{50_000 / pool / 60:.0f} min on {args.workers} threads here; "
          f"~{50_000 / (one * 8) / 60:.0f} min on 8 cores at this speed per core")


if __name__ == "__main__":
    main()
