"""The office's roster import (school_server/roster_import.py) on a big roster:
how fast each step goes and how much memory the process takes (just prints
figures).

Each measurement runs in a fresh child process on a fresh SQLite database, so
its peak RSS (ru_maxrss) is its own:
  check  every row of --rows (default 50,000) generated rows read and checked
         (CSV and XLSX), and --big rows (default 500,000) to show the memory
         does not grow with the file;
  import the whole pipeline (check, hash on --workers threads, replace) on
         --hash-rows rows (default 400: scrypt is ~0.15 s a row per core, so
         50,000 rows take about an hour on two cores), in rows/s and rows/s per
         core busy, and what that means for 50,000 rows.

    .venv/bin/python benchmarks/bench_office_import.py [--rows 50000] [--big 500000]
        [--hash-rows 400] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from photo_wire.idnumber import check_character


def write_roster(path: Path, rows: int) -> None:
    """rows distinct valid ID numbers over 20 centres and 24 sessions, streamed."""
    first = date(1960, 1, 1)
    with path.open("w", encoding="utf-8") as f:
        f.write("姓名,身份证号,学习中心,场次,专业,学号,手机号\n")
        for i in range(rows):
            born = first + timedelta(days=i % 18000)
            first17 = f"110105{born:%Y%m%d}{i // 18000:03d}"
            f.write(f"学生{i},{first17}{check_character(first17)},教学点{i % 20},"
                    f"12月{7 + i % 4}日 {'上午' if i % 2 else '下午'}{i % 3},法学,"
                    f"2026{i:06d},138{i:08d}\n")


def write_xlsx(csv_path: Path, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    with csv_path.open(encoding="utf-8") as f:
        for line in f:
            sheet.append(line.rstrip("\n").split(","))
    book.save(path)


def child(phase: str, path: Path, workers: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    from school_server import db
    from school_server.roster_import import RosterImport

    work = path.parent / f"work-{os.getpid()}"
    engine = db.make_engine(f"sqlite:///{path.parent / f'bench-{os.getpid()}.db'}")
    db.upgrade(engine)
    start, cpu = time.perf_counter(), time.process_time()
    job = RosterImport(path, work, {})
    try:
        result = job.check()
        checked = time.perf_counter() - start
        if phase == "import":
            job.hash(workers)
            with db.make_sessions(engine)() as session:
                job.replace(session)
    finally:
        job.close()
        engine.dispose()
    elapsed = time.perf_counter() - start
    print(json.dumps({"rows": result.rows, "clean": result.clean, "check_s": checked,
                      "elapsed_s": elapsed, "cores": (time.process_time() - cpu) / elapsed,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(phase: str, path: Path, workers: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", phase, str(path),
                          "--workers", str(workers)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--big", type=int, default=500_000)
    ap.add_argument("--hash-rows", type=int, default=400)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--child", nargs=2, metavar=("PHASE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.workers)
        return
    print(f"cores: {os.cpu_count()}; load average now: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = []
        for rows in (args.rows, args.big):
            files.append((tmp / f"roster-{rows}.csv", rows))
            write_roster(*files[-1])
        files.insert(1, (tmp / f"roster-{args.rows}.xlsx", args.rows))
        write_xlsx(files[0][0], files[1][0])
        for path, rows in files:
            r = measure("check", path, args.workers)
            print(f"check {rows:,} rows ({path.suffix[1:].upper()}, "
                  f"{path.stat().st_size / 2**20:.1f} MB): {r['check_s']:.1f} s, "
                  f"{rows / r['check_s']:,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB")
        small = tmp / "roster-hash.csv"
        write_roster(small, args.hash_rows)
        r = measure("import", small, args.workers)
        rate = args.hash_rows / r["elapsed_s"]
        per_core = rate / r["cores"]
        print(f"import {args.hash_rows} rows on {args.workers} threads: {rate:.1f} rows/s, "
              f"{r['cores']:.2f} cores busy, {per_core:.1f} rows/s per core; "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"50,000 rows: ~{50_000 / rate / 60:.0f} min here; ~{50_000 / per_core / 60:.0f} "
              f"core-minutes, ~{50_000 / (per_core * 8) / 60:.0f} min on 8 idle cores")


if __name__ == "__main__":
    main()
