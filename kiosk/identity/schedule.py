"""The centre's capture sessions, from the school server (GET /api/v1/schedule).

The sync agent fetches the schedule with the roster and caches it in
data_dir/server-schedule.json, so a booth restarted offline still knows it.
Plain Python (no Kivy): the flow asks it

- which sessions' windows cover now (captures are recorded under it, and a
  roster row of that session is a regular student: ``slot``);
- which sessions are over (a student of one is a makeup shoot);
- what to show: the session now or next today (attract), the day's and the
  coming sessions (staff mode).

Times arrive as ISO 8601 with an offset; windows are half-open
[starts_at, ends_at). "Today" is the booth's calendar day in
``[kiosk] timezone``. An empty schedule (none imported on the server for
this centre) counts as no schedule: the booth keeps ``[kiosk] session``.
Nothing personal in here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from photo_wire.files import MAX_CACHE_BYTES, load_json, read_bounded
from photo_wire.ids import name_key
from photo_wire.models import ScheduleOut

log = logging.getLogger(__name__)

SERVER_SCHEDULE_CACHE = "server-schedule.json"


class ScheduleError(Exception):
    """Not a usable schedule; the message says where from (never personal data)."""


@dataclass(frozen=True)
class SessionWindow:
    """One session of the centre: its name as the school wrote it, and when."""

    name: str
    starts_at: datetime  # aware, in the booth's time zone
    ends_at: datetime

    def covers(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def when(self, now: datetime) -> str:
        """'past', 'now' or 'later' (staff mode marks each row so)."""
        if now >= self.ends_at:
            return "past"
        return "now" if now >= self.starts_at else "later"


@dataclass(frozen=True)
class SessionSlot:
    """What the roster needs of the schedule at one moment.

    current: the sessions whose window covers now, earliest first (usually
    one; none between sessions); ended: the sessions already over.
    """

    current: tuple[str, ...] = ()
    ended: frozenset[str] = frozenset()


class Schedule:
    """The sessions of this booth's centre, by start time."""

    def __init__(self, sessions: Iterable[SessionWindow], tz: tzinfo | None = None,
                 source: str = "schedule") -> None:
        self.tz = tz or timezone.utc
        self.source = source
        self.sessions: tuple[SessionWindow, ...] = tuple(sorted(
            (SessionWindow(s.name, s.starts_at.astimezone(self.tz), s.ends_at.astimezone(self.tz))
             for s in sessions),
            key=lambda s: (s.starts_at, s.ends_at, s.name)))

    def __len__(self) -> int:
        return len(self.sessions)

    def __repr__(self) -> str:
        return f"Schedule({self.source!r}, {len(self)} sessions)"

    # ------------------------------------------------------------ reading

    @classmethod
    def from_document(cls, document: Any, tz: tzinfo | None = None,
                      source: str = "server schedule") -> "Schedule":
        """From the server's ScheduleOut: {"centre", "sessions": [{session, centre,
        starts_at, ends_at}]}."""
        try:
            out = ScheduleOut.model_validate(document)  # the wire contract's model
        except ValidationError:
            raise ScheduleError(f"{source}: not a schedule from the school server") from None
        sessions = [SessionWindow(name_key(row.session), _utc(row.starts_at), _utc(row.ends_at))
                    for row in out.sessions]
        for s in sessions:
            if not s.name or s.ends_at <= s.starts_at:
                raise ScheduleError(f"{source}: a session without a name or with an empty window")
        return cls(sessions, tz, source)

    @classmethod
    def from_cache(cls, path: Path, tz: tzinfo | None = None) -> "Schedule":
        """The sync agent's cache file ({"fetched_at", "schedule": {...}})."""
        try:
            cached = load_json(read_bounded(path, MAX_CACHE_BYTES, "schedule cache"))
            document = cached["schedule"]
        except FileNotFoundError:
            raise ScheduleError(f"{path}: no cached schedule yet") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise ScheduleError(f"{path}: the cached schedule is unreadable") from None
        return cls.from_document(document, tz, source=str(path))

    # ------------------------------------------------------------ asking

    def current(self, now: datetime) -> SessionWindow | None:
        """The session whose window covers now (the earliest, if windows overlap)."""
        return next((s for s in self.sessions if s.covers(now)), None)

    def slot(self, now: datetime) -> SessionSlot:
        return SessionSlot(
            current=tuple(s.name for s in self.sessions if s.covers(now)),
            ended=frozenset(s.name for s in self.sessions if now >= s.ends_at))

    def today(self, now: datetime) -> tuple[SessionWindow, ...]:
        """Sessions starting on now's calendar day (booth time zone)."""
        day = now.astimezone(self.tz).date()
        return tuple(s for s in self.sessions if s.starts_at.date() == day)

    def next_today(self, now: datetime) -> SessionWindow | None:
        """The next session still to start today."""
        return next((s for s in self.today(now) if s.starts_at > now), None)

    def named(self, session: str) -> SessionWindow | None:
        """The window of the session of that name (the earliest; names are name_key'd)."""
        return next((s for s in self.sessions if s.name == session), None)

    def from_today(self, now: datetime, limit: int) -> tuple[SessionWindow, ...]:
        """Today's sessions (over ones too) and the coming ones, at most limit,
        dropping today's oldest first when there are more (staff mode)."""
        local = now.astimezone(self.tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=self.tz)
        rows = [s for s in self.sessions if s.ends_at > midnight]
        while len(rows) > limit and rows[0].ends_at <= now:
            rows.pop(0)
        return tuple(rows[:limit])


def load_cached_schedule(data_dir: Path, tz: tzinfo | None = None) -> Schedule | None:
    """The last schedule the sync agent fetched, or None (never fetched, unreadable)."""
    path = Path(data_dir) / SERVER_SCHEDULE_CACHE
    if not path.exists():
        return None
    try:
        schedule = Schedule.from_cache(path, tz)
    except ScheduleError as err:
        log.error("%s; captures are recorded under [kiosk] session", err)
        return None
    log.info("%s: %d sessions", path, len(schedule))
    return schedule


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:  # the server sends UTC; be lenient with a naive one
        at = at.replace(tzinfo=timezone.utc)
    return at

