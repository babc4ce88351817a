"""Capture sessions per centre: import from CSV (centre, session, starts_at,
ends_at), serve to kiosks. Times without an offset are in settings.timezone."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from school_server.auth import ensure_centre
from school_server.models import CENTRE_CHARS, SESSION_CHARS, ScheduleEntry, name_key
from school_server.roster import CsvImportError, ImportResult, check_fields, read_csv
from school_server.schemas import ScheduleOut, SessionOut

REQUIRED = ("centre", "session", "starts_at", "ends_at")
SCHEDULE_LIMITS = {"centre": (CENTRE_CHARS, True), "session": (SESSION_CHARS, True)}


def import_schedule(db: Session, path: Path, tz: str) -> ImportResult:
    """Replace the schedule of every centre named in the file."""
    _, rows = read_csv(path, REQUIRED)
    zone = ZoneInfo(tz)
    entries: dict[tuple[str, str], ScheduleEntry] = {}
    for line, row in rows:
        times = []
        for column in ("starts_at", "ends_at"):
            try:
                times.append(_parse_time(row[column], zone))
            except ValueError:
                raise CsvImportError(f"{path}: line {line}: {column} must be an ISO 8601 "
                                     "time, e.g. 2026-06-20T09:00") from None
            except OverflowError:
                raise CsvImportError(f"{path}: line {line}: {column} is out of range "
                                     "(years 1 to 9999 in UTC)") from None
        starts, ends = times
        if ends <= starts:
            raise CsvImportError(f"{path}: line {line}: ends_at is not after starts_at")
        centre, session = name_key(row["centre"]), name_key(row["session"])
        if not centre or not session:
            raise CsvImportError(f"{path}: line {line}: empty centre or session")
        check_fields(path, line, row, SCHEDULE_LIMITS)
        entries[(centre, session)] = ScheduleEntry(centre=centre, session=session,
                                                   starts_at=starts, ends_at=ends)
    result = ImportResult()
    for centre in sorted({c for c, _ in entries}):
        ensure_centre(db, centre)
        db.execute(delete(ScheduleEntry).where(ScheduleEntry.centre == centre))
    db.flush()
    db.add_all(entries.values())
    db.commit()
    for centre, _ in entries:
        result.per_centre[centre] = result.per_centre.get(centre, 0) + 1
    return result


def schedule_for(db: Session, centre: str) -> ScheduleOut:
    rows = db.scalars(select(ScheduleEntry).where(ScheduleEntry.centre == centre)
                      .order_by(ScheduleEntry.starts_at)).all()
    return ScheduleOut(centre=centre, sessions=[
        SessionOut(session=r.session, centre=r.centre, starts_at=r.starts_at, ends_at=r.ends_at)
        for r in rows])


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    """Aware UTC (as stored); OverflowError when UTC has no such time (year 0 or 10000)."""
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(timezone.utc)
