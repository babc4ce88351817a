"""What the screens are shown: status, sync detail and the day's sessions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.codes import KioskStatus, RejectReason, State, SyncProblem
from kiosk.session import RejectedCapture, SessionFlow, SyncInfo

from session_harness import DAY, GOOD_ID, TZ, Clock, WallClock, session_flow, to_state, unlocked_staff


# ------------------------------------------------------------------- status


def test_status_reflects_sync_queue_and_offline(flow: SessionFlow, clock: Clock) -> None:
    assert flow.status == KioskStatus.READY
    flow.sync = SyncInfo(configured=True)
    flow.set_sync(queue_depth=3, online=True)
    assert flow.status == KioskStatus.QUEUE
    flow.set_sync(queue_depth=3, online=False)
    assert flow.status == KioskStatus.OFFLINE
    to_state(flow, clock, State.CONSENT)
    assert flow.status == KioskStatus.BUSY


def test_without_a_server_a_backlog_is_not_shown_as_waiting(flow: SessionFlow) -> None:
    flow.set_sync(queue_depth=3, online=False)
    assert flow.status == KioskStatus.READY
    assert flow.view().queue_depth == 3 and not flow.view().sync_configured


def test_sync_detail_reaches_the_view_and_survives_queue_updates(flow: SessionFlow) -> None:
    at = datetime(2026, 11, 22, 2, 30, tzinfo=timezone.utc)
    refused = (RejectedCapture("a1b2c3d4", RejectReason.CONFLICT),)
    flow.sync = SyncInfo(configured=True)
    flow.set_sync(2, False, last_success=at, problem=SyncProblem.TOKEN_REVOKED,
                  uploads_stopped=True, rejected=refused, rejected_total=1)
    flow.set_sync(3, False)  # the runtime's periodic queue count keeps the rest
    flow.set_free_disk(4096)
    v = unlocked_staff(flow).view()
    assert v.sync.queue_depth == v.queue_depth == 3 and not v.online and v.sync_configured
    assert v.sync.last_success == at and v.sync.problem == SyncProblem.TOKEN_REVOKED
    assert v.sync.uploads_stopped and v.sync.rejected == refused and v.free_mb == 4096
    assert GOOD_ID not in repr(v)


def test_view_shows_todays_session_window_and_staff_the_schedule(clock: Clock,
                                                                 roster_csv: Path) -> None:
    wall = WallClock(DAY + timedelta(hours=10))
    flow = session_flow(clock, wall, roster_csv)
    v = flow.view()
    assert v.schedule_known and v.session == "morning" and v.sessions_today == 3
    assert v.session_now is not None and v.session_now.name == "morning"
    assert v.session_now.starts_at.hour == 9 and v.session_now.starts_at.tzinfo == TZ
    assert v.session_next is not None and v.session_next.name == "afternoon"
    assert v.schedule == ()  # only staff mode lists it
    wall.now = DAY + timedelta(hours=12, minutes=30)
    v = flow.view()
    assert v.session_now is None and v.session == "" and v.session_next.name == "afternoon"
    wall.now = DAY + timedelta(hours=22)
    v = flow.view()
    assert v.session_now is None and v.session_next is None and v.sessions_today == 3
    rows = unlocked_staff(flow).view().schedule
    assert [s.name for s in rows] == ["morning", "afternoon", "evening", "monday"]
    assert [s.when(wall.now) for s in rows] == ["past", "past", "past", "later"]
    assert flow.view().makeup_mode is False
