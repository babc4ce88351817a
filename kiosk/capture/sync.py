"""Sync to the school server (school_server/, wire format in its openapi.json).

SyncAgent runs in its own thread (the runtime starts and stops it) and:

- uploads each sealed capture in the store's outbox with one idempotent
  ``PUT /api/v1/captures/{capture_id}``; only a receipt (200 or 201) whose
  digest is the capture's own marks it acknowledged. Transport errors,
  timeouts, 5xx and unreadable answers are retried (tenacity: exponential
  backoff with jitter, a few tries per capture, then the whole queue backs
  off); nothing is marked meanwhile. A refusal that retrying cannot fix
  (409 another capture holds the id, 413, 422) is recorded on the row for
  staff and the queue moves on. A 429/503 with Retry-After is not tried
  again sooner than it asks (capped at MAX_RETRY_AFTER_SECONDS), and no
  other request (heartbeat, roster, schedule) goes out before then either,
  whichever request got the answer. 401 (token
  revoked or unknown) stops all uploads until a new token is enrolled;
- purges acknowledged captures' files after ``retention_days``;
- sends a heartbeat every ``heartbeat_seconds``;
- fetches the centre's roster (with its ETag) into data_dir/server-roster.json
  and hands a fresh ServerRoster to the runtime;
- fetches the centre's session schedule with it into
  data_dir/server-schedule.json (rewritten only when it changed) and hands
  a Schedule to the runtime when it differs from the cached one.

It reports SyncStatus (queue_depth, online, last_success, last_error and
its kind, a SyncProblem staff can act on) through a callback, from its own
thread: the runtime posts it to the UI thread.
Rows left 'uploading' by a crash or stop go back to the queue at start: the
server's idempotent PUT makes resending safe.

Never logged or sent in an error text: ID numbers, names, the 采集码, the
token, response bodies.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_never, wait_exponential_jitter

import kiosk
from kiosk.capture.enrolment import token_path
from kiosk.capture.http import AuthStop, Stopped, SyncStatus, Transient, WaitRetryAfter
from kiosk.capture.pulls import Pulls
from kiosk.capture.store import CaptureStore
from kiosk.capture.uploads import Uploads
from kiosk.codes import SyncProblem
from kiosk.config import Config
from kiosk.identity.schedule import SERVER_SCHEDULE_CACHE, Schedule
from kiosk.identity.server_roster import SERVER_ROSTER_CACHE, ServerRoster

log = logging.getLogger(__name__)


class SyncAgent(Uploads, Pulls):
    """The thread: uploads (uploads.Uploads), pulls (pulls.Pulls), the link
    and status (http.AgentBase)."""

    def __init__(
        self,
        store: CaptureStore,
        config: Config,
        *,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_roster: Callable[[ServerRoster], None] | None = None,
        on_schedule: Callable[[Schedule], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        monotonic: Callable[[], float] = time.monotonic,
        idle_poll_seconds: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """now: wall clock for receipts and retention (tests move it); monotonic:
        heartbeat and roster schedule."""
        self.store = store
        self.config = config
        self.sync = config.sync
        if not self.sync.server_url:
            raise ValueError("sync.server_url is empty: nothing to sync to")
        self.kiosk_id = config.kiosk.id
        self.data_dir = Path(config.kiosk.data_dir)
        self.token_path = token_path(self.data_dir)
        self.roster_cache = self.data_dir / SERVER_ROSTER_CACHE
        self.schedule_cache = self.data_dir / SERVER_SCHEDULE_CACHE
        self._on_status = on_status or (lambda status: None)
        self._on_roster = on_roster or (lambda roster: None)
        self._on_schedule = on_schedule or (lambda schedule: None)
        self._now = now
        self._monotonic = monotonic
        self._idle_poll = idle_poll_seconds
        timeout = self.sync.upload_timeout_seconds
        self._client = httpx.Client(
            base_url=self.sync.server_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": f"photo-kiosk/{kiosk.__version__}"},
            transport=transport,
        )
        self._token: str | None = None
        self._token_stamp: tuple[int, int] | None = None
        self._etag = self._cached_etag(self.roster_cache)
        self._schedule_doc = self._cached_schedule()
        self._schedule_etag = self._cached_etag(self.schedule_cache)
        self._lock = threading.Lock()
        self._status = SyncStatus(queue_depth=store.pending_count())
        self._online = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_heartbeat = 0.0
        self._quiet_until = 0.0  # monotonic: a busy server's Retry-After, for every request
        self._next_roster = 0.0
        self._warn_plain_http()
        if logging.getLogger("httpx").level == logging.NOTSET:
            # httpx logs every request at INFO: thousands of lines per backlog.
            logging.getLogger("httpx").setLevel(logging.WARNING)

    # -------------------------------------------------------------- control

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (an upload in flight is cut off; it stays in the queue)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()

    def wake(self) -> None:
        """A capture was saved: look at the queue now rather than at the next poll."""
        self._wake.set()

    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        requeued = self.store.requeue_uploading()
        if requeued:
            log.info("%d captures were being uploaded at the last stop: queued again", requeued)
        self._report()
        while not self._stop.is_set():
            try:
                self._round_with_backoff()
            except Stopped:
                break
            except AuthStop as err:
                self._online = False
                self._report(error=str(err), problem=err.problem, uploads_stopped=True)
                log.error("sync stopped: %s", err)
                try:
                    self._wait_for_new_token()
                except Stopped:
                    break
                continue
            except Exception as err:  # a bug must not kill the thread for good
                log.exception("sync round failed")
                self._report(error=f"internal error: {type(err).__name__}",
                             problem=SyncProblem.INTERNAL)
                if self._stop.wait(self.sync.backoff_max_seconds):
                    break
                continue
            self._idle()

    def _round_with_backoff(self) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(Transient),
            wait=WaitRetryAfter(wait_exponential_jitter(
                initial=self.sync.backoff_initial_seconds, max=self.sync.backoff_max_seconds,
                jitter=self.sync.backoff_initial_seconds)),
            stop=stop_never,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "%s; queue waits %.1f s",
                state.outcome.exception() if state.outcome else "school server unreachable",
                state.next_action.sleep if state.next_action else 0),
        )
        retrying(self.sync_once)

    def sync_once(self) -> None:
        """One round: timed jobs, purge, then the whole outbox. Raises Transient
        when the server could not be reached (the caller backs off)."""
        self._wake.clear()  # a save from now on wakes the next idle wait
        self._load_token()
        now = self._monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.sync.heartbeat_seconds
            self._heartbeat()
        if self.sync.roster_refresh_seconds and now >= self._next_roster:
            self._next_roster = now + self.sync.roster_refresh_seconds
            if self._pull_roster():  # not a second wait on a server that is down
                self._pull_schedule()
        self.purge()
        try:
            self._drain_outbox()
        except Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            raise
        if self._online:  # a clean round: only refusals are still worth showing
            rejected = self.store.status_counts()["rejected"]
            if rejected:
                self._report(error=f"{rejected} captures refused by the server: see staff mode",
                             problem=SyncProblem.REFUSED)
            else:
                self._report(error=None)
        else:
            self._report()

    def _idle(self) -> None:
        now = self._monotonic()
        due = [self._next_heartbeat - now, self._idle_poll]
        if self.sync.roster_refresh_seconds:
            due.append(self._next_roster - now)
        self._wake.wait(max(0.0, min(due)))

    def _wait_for_new_token(self) -> None:
        """After a 401 or without a token: send nothing until `kiosk enrol` writes one."""
        stamp = self._token_stamp
        while True:
            self._sleep(min(self._idle_poll, 5.0))
            if self._stamp() is not None and self._stamp() != stamp:
                log.info("a new sync token was enrolled: uploads resume")
                self._next_heartbeat = self._next_roster = 0.0
                return

    def purge(self) -> list[str]:
        """Delete files of captures acknowledged more than retention_days ago."""
        cutoff = self._now() - timedelta(days=self.sync.retention_days)
        return self.store.purge_acknowledged(cutoff)

