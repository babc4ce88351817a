"""`photo-server import-roster` and `import-schedule`: the office page's
import job (import_jobs.py) run in the terminal. Every row is checked first;
each problem is one line (row, column, what is wrong; never the value), and
nothing is imported unless the file is clean or --skip-bad-rows says to
import the clean rows."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from photo_wire.files import ReadRefused, check_regular_file
from school_server.import_jobs import ImportJob, Kind, State
from school_server.import_problems import MAX_KEPT
from school_server.private_files import private_dir
from school_server.settings import Settings
from school_server.table_file import MAX_TABLE_BYTES

SHOWN_PROBLEMS = 50  # problems printed (the office page lists them all)
PROGRESS_EVERY = 500  # rows hashed between two progress lines


def import_file(db: Session, settings: Settings, path: Path, kind: Kind,
                workers: int | None, skip_bad_rows: bool, sessions_only: bool = False) -> int:
    """Exit code: 0 imported, 1 refused (the file or its rows), 130 Ctrl-C."""
    name = f"photo-server import-{kind}"
    try:
        check_regular_file(path, MAX_TABLE_BYTES, f"{kind} file")
    except FileNotFoundError:
        raise ValueError(f"{path}: not found; nothing imported") from None
    except ReadRefused as err:
        raise ValueError(f"{err}; nothing imported") from None
    # The job removes its file when it ends: it works on a private copy.
    work_dir = settings.spool_dir / "imports"
    private_dir(work_dir)
    copy = work_dir / f"cli-{os.getpid()}.upload"
    shutil.copyfile(path, copy)
    job = ImportJob(kind, copy, str(path), "cli", work_dir, settings.timezone, sessions_only)
    try:
        job.check(db)
        if job.state is State.FAILED:
            raise ValueError(f"{job.error.replace(str(copy), str(path))}; nothing imported")
        for problem in job.problems.by_line()[:SHOWN_PROBLEMS]:
            print(f"{name}: {path}: {problem.english()}", file=sys.stderr)
        if job.problems.count > SHOWN_PROBLEMS:
            more = " or more" if job.problems.count > MAX_KEPT else ""
            print(f"{name}: ... {job.problems.count - SHOWN_PROBLEMS}{more} further problems",
                  file=sys.stderr)
        if not job.clean:
            print(f"{name}: {path}: no row to import; nothing imported", file=sys.stderr)
            return 1
        if job.problems.count and not skip_bad_rows:
            print(f"{name}: {path}: {job.rows - job.clean} of {job.rows} rows have a problem; "
                  f"nothing imported (fix them, or --skip-bad-rows imports the {job.clean} "
                  "others)", file=sys.stderr)
            return 1
        job.run(db, workers, _progress_line)
    except KeyboardInterrupt:
        # Ctrl-C during minutes of hashing: nothing was committed yet.
        print(f"{name}: interrupted; nothing imported", file=sys.stderr)
        return 130
    finally:
        job.close()
    what = "roster rows" if kind == "roster" else "sessions"
    for centre, count in sorted(job.per_centre.items()):
        print(f"{centre}: {count} {what}")
    return 0


def _progress_line(done: int, total: int) -> None:
    # A small file is done before anyone waits; a big one says so every PROGRESS_EVERY rows.
    if total >= PROGRESS_EVERY and (done // PROGRESS_EVERY > (done - 1) // PROGRESS_EVERY
                                    or done == total):
        print(f"student refs: {done}/{total}", file=sys.stderr, flush=True)
