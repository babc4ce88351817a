"""Upkeep on the UI thread: free disk and the queue's count, the captures
the server refused (for staff mode), the sync agent's news, and an offline
booth's retention purge."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Callable

from kiosk.codes import Device, Problem, State
from kiosk.config import Config
from kiosk.session import RejectedCapture, SessionFlow
from kiosk.capture.store import CaptureStore, StoreError
from kiosk.capture.sync import SyncAgent, SyncStatus
from kiosk.capture.uploads import rejection_reason

log = logging.getLogger(__name__)

DISK_CHECK_PERIOD = 10.0
# An offline booth's retention purge (receipts come on a USB stick; no sync agent).
PURGE_PERIOD = 3600.0
STAFF_CHECK_PERIOD = 2.0  # staff mode: free disk and refused captures refresh sooner
REJECTED_SHOWN = 20  # refused captures handed to staff mode (the count is always whole)


class Upkeep:
    def __init__(self, config: Config, store: CaptureStore, flow: SessionFlow,
                 sync_agent: SyncAgent | None, submit: Callable[..., None],
                 clock: Callable[[], float]) -> None:
        self.config = config
        self.store = store
        self.flow = flow
        self.sync_agent = sync_agent
        self._submit = submit
        self._clock = clock
        self._next_disk_check = 0.0
        self._next_purge = 0.0
        self._last_state = flow.state

    def follow(self, state: State) -> None:
        """The flow's state after its events (UI thread)."""
        if state != self._last_state:
            self._last_state = state
            if state == State.STAFF:
                self._next_disk_check = 0.0  # staff see fresh figures at once

    def apply_sync(self, status: SyncStatus) -> None:
        refused_changed = status.rejected != self.flow.sync.rejected_total
        self.flow.set_sync(status.queue_depth, status.online, last_success=status.last_success,
                           problem=status.problem, uploads_stopped=status.uploads_stopped)
        if refused_changed or self.flow.state == State.STAFF:
            self.refresh_rejected()  # not a query per upload while a backlog drains

    def refresh_rejected(self) -> None:
        """The captures the server refused, for staff mode (UI thread)."""
        try:
            rows = self.store.rejected_captures(REJECTED_SHOWN)
            total = self.store.status_counts()["rejected"]
        except Exception as err:  # staff mode's detail must not take the kiosk down
            log.error("reading the refused captures failed: %s", type(err).__name__)
            return
        self.flow.set_sync(self.flow.sync.queue_depth, self.flow.sync.online, rejected_total=total,
                           rejected=tuple(RejectedCapture(
                               r.capture_id[:8], rejection_reason(r.reason),
                               parse_time(r.created_at)) for r in rows))

    def retry_rejected(self) -> None:
        """Staff: the refused captures go back in the queue (after fixing the cause)."""
        try:
            n = self.store.retry_rejected()
        except Exception as err:
            log.error("retrying the refused captures failed: %s", type(err).__name__)
            return
        log.info("staff put %d refused captures back in the queue", n)
        if self.sync_agent is not None:
            self.sync_agent.wake()
        self.refresh_rejected()

    def check_disk(self) -> None:
        now = self._clock()
        if now < self._next_disk_check:
            return
        staff = self.flow.state == State.STAFF
        self._next_disk_check = now + (STAFF_CHECK_PERIOD if staff else DISK_CHECK_PERIOD)
        try:
            pending = self.store.pending_count()
            free_mb = self.store.free_mb()
        except (sqlite3.Error, StoreError, OSError) as err:
            # The database or the card is failing: out of service until it answers again.
            log.error("the capture store is not answering: %s: %s", type(err).__name__, err)
            self.flow.device_failed(Device.STORE, Problem.STORE_FAILED)
            return
        self.flow.set_sync(pending, self.flow.sync.online)
        if staff:
            self.refresh_rejected()
        self.flow.set_free_disk(free_mb)
        full = free_mb < self.config.kiosk.min_free_mb
        if full and not self.flow.is_failed(Device.STORE):
            log.error("disk nearly full: %d MB free", free_mb)
            self.flow.device_failed(Device.STORE, Problem.DISK_FULL)
        elif not full:
            self.flow.device_ok(Device.STORE)
        if self.sync_agent is None and now >= self._next_purge:
            self._next_purge = now + PURGE_PERIOD
            self._submit(self._purge_offline)

    def _purge_offline(self) -> None:
        """Delete the files of captures acknowledged (by receipts imported from
        a USB bundle) more than retention_days ago; online, the sync agent does."""
        cutoff = datetime.now(timezone.utc) - timedelta(days=self.config.sync.retention_days)
        try:
            self.store.purge_acknowledged(cutoff)
        except Exception as err:  # next hour again; the captures stay meanwhile
            log.error("the retention purge failed: %s", type(err).__name__)


def parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
