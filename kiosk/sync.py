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

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from tenacity import (RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt,
                      stop_never, wait_exponential_jitter)
from tenacity.wait import wait_base

import kiosk
from kiosk.codes import RejectReason, SyncProblem
from kiosk.config import Config
from kiosk.identity.server_roster import SERVER_ROSTER_CACHE, ServerRoster
from kiosk.identity.roster import RosterError
from kiosk.identity.schedule import SERVER_SCHEDULE_CACHE, Schedule, ScheduleError
from kiosk.store import CaptureStore, Outgoing
from photo_wire.files import write_private_file
from photo_wire.models import EnrolResponse, Receipt, RosterOut

log = logging.getLogger(__name__)

TOKEN_FILE = "sync.token"
API = "/api/v1"
BATCH = 50  # outbox rows read at a time
MAX_ERROR_CHARS = 2000  # the server's heartbeat limit
MAX_RETRY_AFTER_SECONDS = 300.0  # a server's Retry-After beyond this is not waited out
MAX_DETAIL_CHARS = 300  # a server's refusal detail, as shown to staff
_KEEP = object()  # _report(): leave last_error as it is


@dataclass(frozen=True)
class SyncStatus:
    queue_depth: int = 0
    online: bool = False
    last_success: datetime | None = None  # last answer that moved things forward
    last_error: str | None = None  # for logs and the heartbeat; never personal data
    rejected: int = 0  # captures the server refused for good (staff must look)
    uploads_stopped: bool = False  # 401 / not enrolled: nothing is sent until re-enrolment
    problem: SyncProblem | None = None  # last_error's kind: what staff mode says to do


class _SyncError(Exception):
    """An error with the SyncProblem staff mode shows for it."""

    problem = SyncProblem.INTERNAL

    def __init__(self, message: str, problem: SyncProblem | None = None) -> None:
        super().__init__(message)
        if problem is not None:
            self.problem = problem


class _Transient(_SyncError):
    """Try again later; nothing was acknowledged."""

    problem = SyncProblem.UNREACHABLE

    def __init__(self, message: str, problem: SyncProblem | None = None,
                 retry_after: float = 0.0) -> None:
        super().__init__(message, problem)
        self.retry_after = retry_after  # the server asked not to be asked again sooner


class _WaitRetryAfter(wait_base):
    """The backoff, but never shorter than the last answer's Retry-After."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.backoff(retry_state)
        err = retry_state.outcome.exception() if retry_state.outcome else None
        return max(wait, getattr(err, "retry_after", 0.0))


class _Rejected(Exception):
    """The server refused this capture for good."""


class _AuthStop(_SyncError):
    """No usable token: stop uploading until one is enrolled."""

    problem = SyncProblem.TOKEN_REVOKED


class _Stopped(Exception):
    """stop() was called."""


class EnrolError(Exception):
    """Enrolment failed; the message says why (never the code or the token)."""


class SyncAgent:
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
        self.token_path = self.data_dir / TOKEN_FILE
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
            except _Stopped:
                break
            except _AuthStop as err:
                self._online = False
                self._report(error=str(err), problem=err.problem, uploads_stopped=True)
                log.error("sync stopped: %s", err)
                try:
                    self._wait_for_new_token()
                except _Stopped:
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
            retry=retry_if_exception_type(_Transient),
            wait=_WaitRetryAfter(wait_exponential_jitter(
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
        """One round: timed jobs, purge, then the whole outbox. Raises _Transient
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
        except _Transient as err:
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

    def _sleep(self, seconds: float) -> None:
        # tenacity's sleep: a stop must not wait out a long backoff.
        if self._stop.wait(seconds):
            raise _Stopped()

    def _wait_for_new_token(self) -> None:
        """After a 401 or without a token: send nothing until `kiosk enrol` writes one."""
        stamp = self._token_stamp
        while True:
            self._sleep(min(self._idle_poll, 5.0))
            if self._stamp() is not None and self._stamp() != stamp:
                log.info("a new sync token was enrolled: uploads resume")
                self._next_heartbeat = self._next_roster = 0.0
                return

    # -------------------------------------------------------------- uploads

    def _drain_outbox(self) -> None:
        while True:
            batch = self.store.outbox(BATCH)
            if not batch:
                return
            for item in batch:
                if self._stop.is_set():
                    raise _Stopped()
                self._upload(item)
            self._report()

    def _upload(self, item: Outgoing) -> None:
        try:
            sealed = self.store.sealed_bytes(item)
        except (OSError, ValueError) as err:
            reason = ("sealed file missing on the kiosk" if isinstance(err, OSError)
                      else str(err))
            self._reject(item, reason)
            return
        body = _upload_body(item, sealed)
        del sealed
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self.sync.retry_attempts),
            wait=_WaitRetryAfter(wait_exponential_jitter(
                initial=self.sync.backoff_initial_seconds,
                max=min(self.sync.backoff_max_seconds, 8 * self.sync.backoff_initial_seconds),
                jitter=self.sync.backoff_initial_seconds)),
            sleep=self._sleep,
            reraise=True,
        )
        self.store.mark_uploading([item.capture_id])
        try:
            received_at = retrying(self._put, item, body)
        except _Rejected as err:
            self._reject(item, str(err))
            return
        finally:
            self.store.mark_pending([item.capture_id])  # no-op once acknowledged or rejected
        if self.store.mark_acknowledged(item.capture_id, item.digest, received_at, at=self._now()):
            log.info("capture %s acknowledged by the server", item.capture_id)
        self._contact_ok()

    def _put(self, item: Outgoing, body: bytes) -> str:
        """One try; returns the receipt's received_at."""
        reply = self._request("PUT", f"{API}/captures/{item.capture_id}", content=body,
                              headers={"Content-Type": "application/json"})
        code = reply.status_code
        if code in (200, 201):
            try:
                receipt = Receipt.model_validate_json(reply.content)
            except ValidationError:
                raise _Transient(f"capture {item.capture_id}: unreadable receipt ({code})",
                                 SyncProblem.BAD_ANSWER) from None
            if receipt.capture_id != item.capture_id or receipt.digest != item.digest:
                raise _Rejected(f"the server's receipt ({code}) names another capture or digest")
            # As the server wrote it: what import-receipts and the row compare.
            return str(json.loads(reply.content)["received_at"])
        self._contact_ok()  # it answered: online, even if it said no
        if code == 401:
            raise _AuthStop(_UNAUTHORISED)
        if code == 403:
            if item.kiosk_id == self.kiosk_id:
                raise _AuthStop(f"403 Forbidden: the server's token is not for kiosk "
                                f"{self.kiosk_id!r}; enrol with this kiosk id",
                                SyncProblem.WRONG_KIOSK)
            raise _Rejected(f"403: saved as kiosk {item.kiosk_id!r}, enrolled as another")
        if code == 409:
            raise _Rejected("409 Conflict: the server holds a different capture under this id")
        if code == 413:
            raise _Rejected("413: capture larger than the server's max_body_bytes")
        if code == 422:
            raise _Rejected("422: the server refused the upload as malformed")
        if code in (408, 425, 429) or code >= 500:
            wait = retry_after_seconds(reply)
            later = f" (busy: it asks for {wait:.0f} s before the next try)" if wait else ""
            raise _Transient(f"capture {item.capture_id}: server answered {code}{later}",
                             SyncProblem.BUSY if wait else SyncProblem.SERVER_ERROR,
                             retry_after=wait)
        raise _Rejected(f"unexpected answer {code}")

    def _reject(self, item: Outgoing, reason: str) -> None:
        log.error("capture %s not uploaded: %s", item.capture_id, reason)
        self.store.mark_rejected(item.capture_id, reason)
        self._report(error=f"capture {item.capture_id}: {reason}", problem=SyncProblem.REFUSED)

    # ------------------------------------------------------- other requests

    def _heartbeat(self) -> None:
        counts = self.store.status_counts()
        status = self.status
        body = {"status": "rejected" if counts["rejected"] else "ok",
                "queue_depth": counts["captured"] + counts["uploading"],
                "free_mb": max(0, self.store.free_mb()),
                "version": kiosk.__version__,
                "last_error": (status.last_error or None) and status.last_error[:MAX_ERROR_CHARS]}
        try:
            reply = self._request("POST", f"{API}/heartbeat", json=body)
        except _Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            # Sooner than usual: with an empty queue this is what notices the server is back.
            self._next_heartbeat = self._monotonic() + min(self.sync.heartbeat_seconds, 15.0)
            return
        if reply.status_code == 401:
            raise _AuthStop(_UNAUTHORISED)
        if reply.status_code == 204:
            self._contact_ok()
        else:
            log.warning("heartbeat: server answered %d", reply.status_code)

    def _pull_roster(self) -> bool:
        """Fetch the roster if it changed; False when the server could not be reached."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            reply = self._request("GET", f"{API}/roster", headers=headers)
        except _Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            return False
        if reply.status_code == 401:
            raise _AuthStop(_UNAUTHORISED)
        if reply.status_code == 304:
            self._contact_ok()
            return True
        if reply.status_code != 200:
            log.warning("roster: server answered %d", reply.status_code)
            return True
        try:
            document = RosterOut.model_validate_json(reply.content)
        except ValidationError:
            self._report(error="unreadable roster from the school server",
                         problem=SyncProblem.BAD_ANSWER)
            return True
        if not document.rows:
            # No roster imported on the server for this centre (yet): an empty
            # one would turn every student away, so the local roster stays.
            log.warning("the server has no roster rows for this centre; keeping the current roster")
            self._contact_ok()
            return True
        # The booth needs no names (the card has the name): none on the SD card.
        for row in document.rows:
            row.name = ""
        document_json = document.model_dump(mode="json")
        try:
            roster = ServerRoster(
                document_json, self.config.kiosk.centre, self.config.kiosk.session,
                makeup_mode=self.config.roster.makeup_mode,
                allow_recapture=self.config.roster.allow_recapture,
                has_capture=self.store.has_capture, source="server roster")
        except RosterError as err:
            log.error("%s", err)
            return True
        etag = reply.headers.get("etag", "")
        cache = {"etag": etag, "fetched_at": self._now().isoformat(), "roster": document_json}
        write_private_file(self.roster_cache,
                           json.dumps(cache, ensure_ascii=False).encode("utf-8"))
        self._etag = etag or None
        self._contact_ok()
        self._on_roster(roster)
        return True

    def _pull_schedule(self) -> None:
        """The centre's sessions: cached on disk (rewritten only when they changed)
        and handed to the runtime when they differ from what it has."""
        headers = {"If-None-Match": self._schedule_etag} if self._schedule_etag else {}
        try:
            reply = self._request("GET", f"{API}/schedule", headers=headers)
        except _Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            return
        if reply.status_code == 401:
            raise _AuthStop(_UNAUTHORISED)
        if reply.status_code == 304:
            self._contact_ok()
            return
        if reply.status_code != 200:
            log.warning("schedule: server answered %d", reply.status_code)
            return
        try:
            document = _json(reply)
            schedule = Schedule.from_document(document, self.config.kiosk.tz())
        except _Transient as err:
            self._report(error=str(err), problem=err.problem)
            return
        except ScheduleError as err:
            log.error("%s", err)
            return
        self._contact_ok()
        etag = reply.headers.get("etag", "") or None
        if (document, etag) == (self._schedule_doc, self._schedule_etag):
            return
        cache = {"etag": etag, "fetched_at": self._now().isoformat(), "schedule": document}
        write_private_file(self.schedule_cache,
                           json.dumps(cache, ensure_ascii=False).encode("utf-8"))
        # Only the version may be new (a cache written before versions were kept).
        changed = document != self._schedule_doc
        self._schedule_doc, self._schedule_etag = document, etag
        if not changed:
            return
        log.info("new schedule from the school server: %d sessions", len(schedule))
        self._on_schedule(schedule)

    def purge(self) -> list[str]:
        """Delete files of captures acknowledged more than retention_days ago."""
        cutoff = self._now() - timedelta(days=self.sync.retention_days)
        return self.store.purge_acknowledged(cutoff)

    # -------------------------------------------------------------- plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self._token:
            raise _AuthStop(_NOT_ENROLLED.format(path=self.token_path), SyncProblem.NOT_ENROLLED)
        quiet = self._quiet_until - self._monotonic()
        if quiet > 0:  # not sent: the server asked for quiet (one place for every request)
            raise _Transient(f"school server busy: it asks for {quiet:.0f} s before the next "
                             f"request", SyncProblem.BUSY, retry_after=quiet)
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        try:
            reply = self._client.request(method, path, headers=headers, **kwargs)
            reply.read()
        except httpx.TimeoutException as err:
            raise _Transient(f"school server: timed out ({type(err).__name__})",
                             SyncProblem.TIMEOUT) from None
        except httpx.TransportError as err:
            raise _Transient(f"school server unreachable ({type(err).__name__})",
                             SyncProblem.UNREACHABLE) from None
        wait = retry_after_seconds(reply)
        if wait:
            self._quiet_until = max(self._quiet_until, self._monotonic() + wait)
        return reply

    def _load_token(self) -> None:
        stamp = self._stamp()
        if stamp is None:
            self._token, self._token_stamp = None, None
            raise _AuthStop(_NOT_ENROLLED.format(path=self.token_path), SyncProblem.NOT_ENROLLED)
        if stamp != self._token_stamp:
            self._token = self.token_path.read_text(encoding="ascii").strip() or None
            self._token_stamp = stamp

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.token_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _contact_ok(self) -> None:
        self._online = True
        with self._lock:
            self._status = replace(self._status, last_success=self._now())

    def _report(self, *, error: object = _KEEP, problem: SyncProblem | None = None,
                uploads_stopped: bool = False) -> None:
        """Publish the status; error: a new last_error (None clears it) or _KEEP;
        problem: the new error's kind (INTERNAL when not given)."""
        counts = self.store.status_counts()
        with self._lock:
            if error is _KEEP:
                last_error, kind = self._status.last_error, self._status.problem
            else:
                last_error = error  # type: ignore[assignment]
                kind = None if error is None else (problem or SyncProblem.INTERNAL)
            status = SyncStatus(
                queue_depth=counts["captured"] + counts["uploading"],
                online=self._online,
                last_success=self._status.last_success,
                last_error=last_error,  # type: ignore[arg-type]
                rejected=counts["rejected"],
                uploads_stopped=uploads_stopped,
                problem=kind,
            )
            changed = status != self._status
            self._status = status
        if changed:
            try:
                self._on_status(status)
            except Exception:  # the UI's trouble must not stop the uploads
                log.exception("sync status callback failed")

    def _cached_schedule(self) -> Any:
        try:
            return json.loads(self.schedule_cache.read_text(encoding="utf-8")).get("schedule")
        except (OSError, ValueError, AttributeError):
            return None

    @staticmethod
    def _cached_etag(cache: Path) -> str | None:
        try:
            return json.loads(cache.read_text(encoding="utf-8")).get("etag") or None
        except (OSError, ValueError, AttributeError):
            return None

    def _warn_plain_http(self) -> None:
        url = urlsplit(self.sync.server_url)
        if url.scheme == "http" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
            log.warning("sync.server_url is plain http: the token travels in the clear "
                        "(captures are sealed either way); use https")


_UNAUTHORISED = ("401 Unauthorized: the server refuses this kiosk's token (revoked?); "
                 "uploads stopped until `kiosk enrol` stores a new one")
_NOT_ENROLLED = "not enrolled: no token in {path}; run `kiosk enrol --server URL --code CODE`"


def _upload_body(item: Outgoing, sealed: bytes) -> bytes:
    """The PUT body (CaptureUpload) as bytes, built around the base64 without
    copying it through str and json.dumps: captures with an original still
    are megabytes, and every copy counts on a Pi."""
    head = json.dumps({"kiosk_id": item.kiosk_id, "session": item.session,
                       "created_at": item.created_at, "digest": item.digest},
                      ensure_ascii=True)
    return b"".join((head[:-1].encode("ascii"), b', "sealed": "',
                     base64.b64encode(sealed), b'"}'))


def retry_after_seconds(reply: httpx.Response, now: datetime | None = None) -> float:
    """A 429/503's Retry-After (seconds or an HTTP date) in seconds, capped at
    MAX_RETRY_AFTER_SECONDS; 0 when absent, unreadable or for another status."""
    value = reply.headers.get("retry-after", "").strip()
    if reply.status_code not in (429, 503) or not value:
        return 0.0
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value)
                       - (now or datetime.now(timezone.utc))).total_seconds()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def refusal_detail(reply: httpx.Response, *secrets: str) -> str:
    """The server's JSON `detail` as one safe line for staff: printable characters
    only, secrets (the code) blanked, at most MAX_DETAIL_CHARS; "" when none."""
    try:
        detail = reply.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(detail, str):
        return ""
    line = " ".join("".join(c if c.isprintable() else " " for c in detail).split())
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    if len(line) > MAX_DETAIL_CHARS:
        line = line[:MAX_DETAIL_CHARS - 1] + "…"
    return line


def _json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        raise _Transient(f"unreadable answer from the school server ({reply.status_code})",
                         SyncProblem.BAD_ANSWER) from None


# How the reasons _put/_upload record on a refused row begin, by kind (older
# rows hold the same texts: classifying by prefix needs no new column).
_REASON_PREFIXES = (
    ("409", RejectReason.CONFLICT),
    ("413", RejectReason.TOO_LARGE),
    ("422", RejectReason.MALFORMED),
    ("403", RejectReason.OTHER_KIOSK),
    ("sealed file missing", RejectReason.FILE_MISSING),
    ("sealed file does not match", RejectReason.FILE_DAMAGED),
    ("the server's receipt", RejectReason.BAD_RECEIPT),
)


def rejection_reason(reason: str | None) -> RejectReason:
    """The kind of a refused capture's upload_error, for staff mode's plain words."""
    text = (reason or "").strip()
    for prefix, kind in _REASON_PREFIXES:
        if text.startswith(prefix):
            return kind
    return RejectReason.OTHER


def enrol(server_url: str, code: str, kiosk_id: str, data_dir: Path,
          timeout: float = 30.0) -> Path:
    """Spend a one-time enrolment code; store the token in data_dir/sync.token (0600)."""
    url = server_url.rstrip("/") + f"{API}/enrol"
    try:
        reply = httpx.post(url, json={"enrolment_code": code.strip(), "kiosk_id": kiosk_id},
                           timeout=timeout)
    except httpx.HTTPError as err:
        raise EnrolError(f"cannot reach {server_url}: {type(err).__name__}") from None
    if reply.status_code == 403:
        # The server says why (unknown/used/expired code, a code for another
        # kiosk id, the kiosk id in use and what to run): staff need its words.
        detail = refusal_detail(reply, code, code.strip())
        raise EnrolError(f"the server refused the enrolment: "
                         f"{detail or 'unknown, already used or expired code'}")
    if reply.status_code in (429, 503):
        wait = retry_after_seconds(reply)
        raise EnrolError(f"the server is busy ({reply.status_code}): try again "
                         + (f"in {wait:.0f} s" if wait else "in a minute"))
    if reply.status_code == 422:
        raise EnrolError(f"the server refused the request: is kiosk id {kiosk_id!r} valid "
                         "(letters, digits, . _ -; up to 64)?")
    if reply.status_code != 200:
        raise EnrolError(f"unexpected answer {reply.status_code} from {server_url}")
    try:
        token = EnrolResponse.model_validate_json(reply.content).token
    except ValidationError:
        raise EnrolError("unreadable answer from the server") from None
    if not token or not token.isascii():
        raise EnrolError("unreadable answer from the server")
    path = Path(data_dir) / TOKEN_FILE
    write_private_file(path, token.encode("ascii") + b"\n")
    return path
