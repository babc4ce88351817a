"""Progress: captures per centre and session against the roster, each
kiosk's last heartbeat (`photo-server progress` and the office's pages).

The server cannot see whose photo a sealed capture holds until it is opened
with the private key; opened captures get a CaptureReview row (student_ref,
decision), which is what approved / rejected / missing count."""

from __future__ import annotations

from dataclasses import dataclass
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from school_server.models import (Capture, CaptureReview, Heartbeat, Kiosk, RosterRow,
                                  ScheduleEntry, utcnow)

# A kiosk beats every 60 s ([sync] heartbeat_seconds); silent for this many
# beats, it is shown red.
HEARTBEAT_SECONDS = 60
SILENT_AFTER_BEATS = 3
# How long the roster-wide student counts are reused (the page refreshes every 30 s).
STUDENT_COUNTS_SECONDS = 15
NO_TIME = datetime.min.replace(tzinfo=timezone.utc)
_counts_cache: dict[str, tuple[float, dict[tuple[str, str], int], dict[tuple[str, str], int]]] = {}


@dataclass(frozen=True)
class ProgressRow:
    centre: str
    session: str
    expected: int  # students on the roster
    received: int  # captures stored
    approved: int
    rejected: int
    missing: int  # expected students with no capture that is not rejected
    pending: int = 0  # opened captures waiting for review
    starts_at: datetime | None = None  # from the schedule (None: not in it)
    ends_at: datetime | None = None

    def over(self, now: datetime) -> bool:
        """The session has ended (by the schedule)."""
        return self.ends_at is not None and self.ends_at <= now

    @property
    def done_percent(self) -> int:
        return round(100 * (self.expected - self.missing) / self.expected) if self.expected else 0


@dataclass(frozen=True)
class FleetRow:
    kiosk_id: str
    centre: str
    revoked: bool
    last_heartbeat: datetime | None
    status: str
    queue_depth: int | None
    free_mb: int | None
    version: str
    last_error: str
    silent: bool  # no heartbeat for SILENT_AFTER_BEATS beats (or never)


def accepted_capture_exists(student_ref):  # type: ignore[no-untyped-def]
    """SQL: the student has a capture the office has not rejected."""
    return exists().where(CaptureReview.student_ref == student_ref,
                          CaptureReview.decision != "rejected")


def progress_rows(db: Session) -> list[ProgressRow]:
    # Four grouped counts, each read from one index (see the 0002 migration).
    received = dict(((c, s), n) for c, s, n in db.execute(
        select(Capture.centre, Capture.session, func.count())
        .group_by(Capture.centre, Capture.session)))
    decided: dict[tuple[str, str, str], int] = {
        (c, s, d): n for c, s, d, n in db.execute(
            select(CaptureReview.centre, CaptureReview.session, CaptureReview.decision, func.count())
            .group_by(CaptureReview.centre, CaptureReview.session, CaptureReview.decision))}
    expected, present = _student_counts(db)
    times = {(e.centre, e.session): (e.starts_at, e.ends_at)
             for e in db.scalars(select(ScheduleEntry))}
    rows = [ProgressRow(c, s, expected.get((c, s), 0), received.get((c, s), 0),
                        decided.get((c, s, "approved"), 0), decided.get((c, s, "rejected"), 0),
                        expected.get((c, s), 0) - present.get((c, s), 0),
                        decided.get((c, s, "pending"), 0), *times.get((c, s), (None, None)))
            for c, s in set(received) | set(expected) | set(times)]
    # The schedule's order (by start, then centre); sessions it lacks after, by name.
    return sorted(rows, key=lambda r: (r.starts_at is None, r.starts_at or NO_TIME,
                                       r.centre, r.session))


def totals(rows: list[ProgressRow]) -> ProgressRow:
    """The sums of every count (a student in two sessions counts in each)."""
    return ProgressRow("", "", *(sum(getattr(r, f) for r in rows) for f in
                                 ("expected", "received", "approved", "rejected", "missing",
                                  "pending")))


def _student_counts(db: Session) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Students per centre and session: on the roster, and with an accepted
    capture. The one costly part (a pass over the roster, ~0.1-0.3 s at 50,000
    students): kept STUDENT_COUNTS_SECONDS, dropped at once when this process
    identifies or decides (forget_student_counts)."""
    key = str(db.get_bind().url)
    cached = _counts_cache.get(key)
    if cached and time.monotonic() - cached[0] < STUDENT_COUNTS_SECONDS:
        return cached[1], cached[2]
    by_session = (RosterRow.centre, RosterRow.session)
    distinct_students = func.count(func.distinct(RosterRow.student_ref))
    expected = dict(((c, s), n) for c, s, n in db.execute(
        select(*by_session, distinct_students).group_by(*by_session)))
    present = dict(((c, s), n) for c, s, n in db.execute(
        select(*by_session, distinct_students)
        .where(accepted_capture_exists(RosterRow.student_ref)).group_by(*by_session)))
    _counts_cache[key] = (time.monotonic(), expected, present)
    return expected, present


def forget_student_counts() -> None:
    _counts_cache.clear()


def fleet_rows(db: Session, now: datetime | None = None) -> list[FleetRow]:
    now = now or utcnow()
    silent_before = now - timedelta(seconds=HEARTBEAT_SECONDS * SILENT_AFTER_BEATS)
    out = []
    for kiosk, beat in db.execute(select(Kiosk, Heartbeat).outerjoin(Heartbeat)
                                  .order_by(Kiosk.centre, Kiosk.kiosk_id)):
        at = beat.at if beat else None
        out.append(FleetRow(kiosk.kiosk_id, kiosk.centre, kiosk.revoked_at is not None, at,
                            beat.status if beat else "", beat.queue_depth if beat else None,
                            beat.free_mb if beat else None, beat.version if beat else "",
                            (beat.last_error or "") if beat else "",
                            silent=at is None or at < silent_before))
    return out


def progress_report(db: Session) -> str:
    lines = ["Captures by centre and session"]
    rows = [(r.centre, r.session, str(r.received), str(r.expected), str(r.approved),
             str(r.rejected), str(r.missing)) for r in progress_rows(db)]
    lines += _table(("centre", "session", "captures", "roster", "approved", "rejected",
                     "missing"), rows)
    lines += ["", "Kiosks"]
    krows = []
    for k in fleet_rows(db):
        state = "revoked" if k.revoked else "active"
        if k.last_heartbeat is None:
            krows.append((k.kiosk_id, k.centre, state, "never", "", "", "", "", ""))
        else:
            krows.append((k.kiosk_id, k.centre, state, _when(k.last_heartbeat), k.status,
                          str(k.queue_depth), str(k.free_mb), k.version, k.last_error[:60]))
    lines += _table(("kiosk", "centre", "state", "last heartbeat", "status", "queue",
                     "free_mb", "version", "last_error"), krows)
    return "\n".join(lines)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    return ["  " + "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()
            for r in (header, *rows)]
