"""An import of a roster or schedule file as a job: check, then (when the
file is clean or the admin confirms its clean rows) hash and replace.

The CLI runs a job's steps in its own thread; the office's upload page runs
them on a background thread of the server and polls the job's state (the
job table lives in the server process's memory: an import interrupted by a
restart changed nothing and is simply started again)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from school_server import audit
from school_server.import_problems import Problems
from school_server.roster_import import Cancelled, RosterImport, known_sessions
from school_server.schedule import ScheduleImport
from school_server.table_file import TableFileError

log = logging.getLogger(__name__)

Kind = Literal["roster", "schedule"]
KINDS: tuple[Kind, ...] = ("roster", "schedule")
KEEP_JOBS = 20  # finished jobs the page still lists
# Staging files and uploads untouched this long are a crashed import's (they
# hold ID numbers): removed when the server's job table starts. A running
# import writes its staging file every batch.
STALE_SECONDS = 6 * 3600


class State(StrEnum):
    CHECKING = "checking"
    CHECKED = "checked"  # problems found: waits for a fixed file or the admin's confirmation
    HASHING = "hashing"
    SAVING = "saving"
    DONE = "done"
    FAILED = "failed"  # the file cannot be read at all
    CANCELLED = "cancelled"


RUNNING = (State.CHECKING, State.HASHING, State.SAVING)


@dataclass
class ImportJob:
    kind: Kind
    path: Path  # the uploaded file (private spool); removed when the job ends
    filename: str
    owner: str
    work_dir: Path
    tz: str = "Asia/Shanghai"
    sessions_only: bool = False  # a roster replaces only its sessions (a makeup roster)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: State = State.CHECKING
    rows: int = 0
    clean: int = 0
    problems: Problems = field(default_factory=Problems)
    done: int = 0
    total: int = 0
    per_centre: dict[str, int] = field(default_factory=dict)
    error: str = ""  # why the file could not be read (English; error_code for the page)
    error_code: str = ""
    started: float = field(default_factory=time.monotonic)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _work: RosterImport | ScheduleImport | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def check(self, db: Session) -> None:
        """Step 1: read and check every row; CHECKED when a row has a problem."""
        try:
            if self.kind == "roster":
                work = RosterImport(self.path, self.work_dir, known_sessions(db))
                self._work = work
                result = work.check()
                self.rows, self.clean, self.problems = result.rows, result.clean, result.problems
            else:
                schedule = ScheduleImport(self.path, self.tz)
                self._work = schedule
                schedule.check()
                self.rows, self.clean, self.problems = (schedule.rows, schedule.clean,
                                                        schedule.problems)
        except TableFileError as err:
            self.state, self.error, self.error_code = State.FAILED, str(err), err.code
            self.close()
            return
        self.state = State.CHECKED

    def run(self, db: Session, workers: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> None:
        """Steps 2 and 3 on the clean rows: hash (a roster), replace, audit."""
        work = self._work
        assert work is not None, "run() after check()"
        try:
            if isinstance(work, RosterImport):
                self.state, self.total = State.HASHING, self.clean

                def step(done: int, total: int) -> None:
                    self.done, self.total = done, total
                    if progress:
                        progress(done, total)
                work.hash(workers, step, self.cancel_event.is_set)
            if self.cancel_event.is_set():
                raise Cancelled()
            self.state = State.SAVING
            self.per_centre = (work.replace(db, self.sessions_only)
                               if isinstance(work, RosterImport) else work.replace(db))
            audit.record(db, self.owner, audit.Action.IMPORT, self.kind,
                         f"{self.filename}: {self.clean} of {self.rows} rows, "
                         f"{self.problems.count} problems; centres "
                         + ", ".join(sorted(self.per_centre)))
            outcome = State.DONE
        except Cancelled:
            outcome = State.CANCELLED
        finally:
            self.close()
        self.state = outcome  # after close: a finished job has left no file behind

    def cancel(self) -> None:
        self.cancel_event.set()
        if self.state is State.CHECKED:
            self.close()
            self.state = State.CANCELLED

    def close(self) -> None:
        if isinstance(self._work, RosterImport):
            self._work.close()
        self._work = None
        self.path.unlink(missing_ok=True)


class ImportJobs:
    """The server's import jobs, each on its own thread; one hashing at a time
    (it takes every core)."""

    def __init__(self, sessions: Callable[[], Session], work_dir: Path,
                 workers: int | None = None) -> None:
        self.sessions, self.workers = sessions, workers
        self.jobs: dict[str, ImportJob] = {}
        self.lock = threading.Lock()
        if work_dir.is_dir():
            for left in work_dir.iterdir():
                if time.time() - left.stat().st_mtime > STALE_SECONDS:
                    left.unlink(missing_ok=True)

    def get(self, job_id: str) -> ImportJob | None:
        return self.jobs.get(job_id)

    def recent(self) -> list[ImportJob]:
        return sorted(self.jobs.values(), key=lambda j: j.started, reverse=True)

    def busy(self) -> bool:
        return any(j.state in (State.HASHING, State.SAVING) for j in self.jobs.values())

    def start(self, job: ImportJob) -> None:
        """Check the file in the background; a clean file goes on to import."""
        with self.lock:
            self.jobs[job.id] = job
            for old in self.recent()[KEEP_JOBS:]:
                if not old.running and old.state is not State.CHECKED:
                    del self.jobs[old.id]
        threading.Thread(target=self._check_then_run, args=(job,), daemon=True,
                         name=f"import-{job.id[:8]}").start()

    def confirm(self, job: ImportJob) -> bool:
        """Import the clean rows of a checked file with problems (False: not now)."""
        with self.lock:
            if job.state is not State.CHECKED or not job.clean or self.busy():
                return False
            job.state = State.HASHING  # claimed: a second click does nothing
        threading.Thread(target=self._run, args=(job,), daemon=True,
                         name=f"import-{job.id[:8]}").start()
        return True

    def _check_then_run(self, job: ImportJob) -> None:
        try:
            with self.sessions() as db:
                job.check(db)
            if job.state is State.CHECKED and not job.problems.count and job.clean:
                with self.lock:
                    if self.busy():
                        return  # waits for the admin to confirm once the other is done
                    job.state = State.HASHING
                self._run(job)
        except Exception:  # a bug or the database: the job says failed, the log why
            log.exception("import %s failed", job.id)
            job.state, job.error_code = State.FAILED, "internal"
            job.close()

    def _run(self, job: ImportJob) -> None:
        try:
            with self.sessions() as db:
                job.run(db, self.workers)
        except Exception:
            log.exception("import %s failed", job.id)
            job.state, job.error_code = State.FAILED, "internal"
            job.close()
