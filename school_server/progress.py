"""`photo-server progress`: captures per centre and session against the
roster, and each kiosk's last heartbeat. Counts captures, not students: the
server cannot see whose photo a sealed capture holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from school_server.models import Capture, Heartbeat, Kiosk, RosterRow


def progress_report(db: Session) -> str:
    captured = dict(((c, s), n) for c, s, n in db.execute(
        select(Capture.centre, Capture.session, func.count()).group_by(Capture.centre,
                                                                       Capture.session)))
    roster = dict(((c, s), n) for c, s, n in db.execute(
        select(RosterRow.centre, RosterRow.session, func.count(func.distinct(RosterRow.student_ref)))
        .group_by(RosterRow.centre, RosterRow.session)))
    lines = ["Captures by centre and session"]
    rows = [(c, s, str(captured.get((c, s), 0)), str(roster.get((c, s), 0)))
            for c, s in sorted(set(captured) | set(roster))]
    lines += _table(("centre", "session", "captures", "roster"), rows)
    lines += ["", "Kiosks"]
    kiosks = db.execute(select(Kiosk, Heartbeat).outerjoin(Heartbeat).order_by(Kiosk.centre,
                                                                               Kiosk.kiosk_id))
    krows = []
    for kiosk, beat in kiosks:
        state = "revoked" if kiosk.revoked_at else "active"
        if beat is None:
            krows.append((kiosk.kiosk_id, kiosk.centre, state, "never", "", "", "", "", ""))
        else:
            krows.append((kiosk.kiosk_id, kiosk.centre, state, _when(beat.at), beat.status,
                          str(beat.queue_depth), str(beat.free_mb), beat.version,
                          (beat.last_error or "")[:60]))
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
