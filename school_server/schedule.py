"""Capture sessions per centre: import from a table file (学习中心/centre,
场次/session, 开始时间/starts_at, 结束时间/ends_at; CSV or XLSX, see
table_file.py), serve to kiosks. Times without an offset are in
settings.timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from school_server.auth import ensure_centre
from school_server.import_problems import Problem, Problems
from school_server.models import CENTRE_CHARS, SESSION_CHARS, ScheduleEntry, name_key
from school_server.progress import forget_student_counts
from school_server.schemas import ScheduleOut, SessionOut, text_problem
from school_server.table_file import table_rows

HEADERS = {"学习中心": "centre", "教学点": "centre", "centre": "centre", "center": "centre",
           "场次": "session", "采集场次": "session", "session": "session",
           "开始时间": "starts_at", "开始": "starts_at", "starts_at": "starts_at",
           "结束时间": "ends_at", "结束": "ends_at", "ends_at": "ends_at"}
REQUIRED = ("centre", "session", "starts_at", "ends_at")
SCHEDULE_LIMITS = {"centre": (CENTRE_CHARS, True), "session": (SESSION_CHARS, True)}
# Besides ISO 8601 (2026-06-20T09:00, 2026-06-20 09:00): how Chinese Excel writes a time.
OTHER_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d %H:%M")


@dataclass
class ScheduleImport:
    """One schedule file: check() every row, then replace() (nothing to hash).
    A schedule has a few hundred rows: they are kept in memory."""

    path: Path
    tz: str
    rows: int = 0
    problems: Problems = field(default_factory=Problems)
    entries: dict[tuple[str, str], ScheduleEntry] = field(default_factory=dict)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def clean(self) -> int:
        return len(self.entries)

    def check(self) -> None:
        zone = ZoneInfo(self.tz)
        for line, row in table_rows(self.path, HEADERS, REQUIRED)[1]:
            self.rows += 1
            before = self.problems.count
            for column in REQUIRED:
                if "\x00" in row[column]:
                    self._add(line, column, "nul")
                elif not row[column]:
                    self._add(line, column, "missing")
            for column, (chars, folded) in SCHEDULE_LIMITS.items():
                problem = text_problem(row[column], chars, folded=folded)
                if problem and "\x00" not in row[column]:
                    self._add(line, column, "too_long", detail=problem, max=chars)
            times = [self._time(line, column, row[column], zone)
                     for column in ("starts_at", "ends_at") if row[column]]
            starts, ends = (times + [None, None])[:2]
            if starts and ends and ends <= starts:
                self._add(line, "ends_at", "not_after")
            key = (name_key(row["centre"]), name_key(row["session"]))
            if key in self.lines and self.problems.count == before:
                self._add(line, "session", "duplicate", other=self.lines[key])
            if self.problems.count == before:
                self.lines[key] = line
                self.entries[key] = ScheduleEntry(centre=key[0], session=key[1],
                                                  starts_at=starts, ends_at=ends)

    def _add(self, line: int, column: str, code: str, **params: object) -> None:
        self.problems.add(Problem(line, column, code, params))

    def _time(self, line: int, column: str, text: str, zone: ZoneInfo) -> datetime | None:
        try:
            return _parse_time(text, zone)
        except ValueError:
            self._add(line, column, "bad_time")
        except OverflowError:
            self._add(line, column, "time_range")
        return None

    def replace(self, db: Session) -> dict[str, int]:
        """Replace the schedule of every centre with clean rows; sessions per centre."""
        per_centre: dict[str, int] = {}
        for centre, _ in self.entries:
            per_centre[centre] = per_centre.get(centre, 0) + 1
        for centre in sorted(per_centre):
            ensure_centre(db, centre)
            db.execute(delete(ScheduleEntry).where(ScheduleEntry.centre == centre))
        db.flush()
        db.add_all(self.entries.values())
        db.commit()
        forget_student_counts()
        return per_centre


def schedule_for(db: Session, centre: str) -> ScheduleOut:
    rows = db.scalars(select(ScheduleEntry).where(ScheduleEntry.centre == centre)
                      .order_by(ScheduleEntry.starts_at)).all()
    return ScheduleOut(centre=centre, sessions=[
        SessionOut(session=r.session, centre=r.centre, starts_at=r.starts_at, ends_at=r.ends_at)
        for r in rows])


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    """Aware UTC (as stored); OverflowError when UTC has no such time (year 0 or 10000)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        for form in OTHER_FORMATS:
            try:
                value = datetime.strptime(text, form)
                break
            except ValueError:
                continue
        else:
            raise
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(timezone.utc)
