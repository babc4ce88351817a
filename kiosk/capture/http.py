"""The sync agent's link to the school server: one place every request goes
through (token, Retry-After quiet time, transport errors), the errors the
agent's rounds raise, and the status it publishes (SyncStatus).

AgentBase is what the upload (uploads.py) and pull (pulls.py) halves of the
agent share; SyncAgent (sync.py) builds it and runs the thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx
from tenacity import RetryCallState
from tenacity.wait import wait_base

from kiosk.capture.answers import (API, MAX_DETAIL_CHARS, MAX_RETRY_AFTER_SECONDS,  # noqa: F401
                                   refusal_detail, retry_after_seconds)
from kiosk.capture.enrolment import read_token
from kiosk.capture.store import CaptureStore
from kiosk.codes import SyncProblem
from kiosk.config import Config, SyncConfig

log = logging.getLogger(__name__)

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


class SyncError(Exception):
    """An error with the SyncProblem staff mode shows for it."""

    problem = SyncProblem.INTERNAL

    def __init__(self, message: str, problem: SyncProblem | None = None) -> None:
        super().__init__(message)
        if problem is not None:
            self.problem = problem


class Transient(SyncError):
    """Try again later; nothing was acknowledged."""

    problem = SyncProblem.UNREACHABLE

    def __init__(self, message: str, problem: SyncProblem | None = None,
                 retry_after: float = 0.0) -> None:
        super().__init__(message, problem)
        self.retry_after = retry_after  # the server asked not to be asked again sooner


class WaitRetryAfter(wait_base):
    """The backoff, but never shorter than the last answer's Retry-After."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.backoff(retry_state)
        err = retry_state.outcome.exception() if retry_state.outcome else None
        return max(wait, getattr(err, "retry_after", 0.0))


class Rejected(Exception):
    """The server refused this capture for good."""


class AuthStop(SyncError):
    """No usable token: stop uploading until one is enrolled."""

    problem = SyncProblem.TOKEN_REVOKED


class Stopped(Exception):
    """stop() was called."""


UNAUTHORISED = ("401 Unauthorized: the server refuses this kiosk's token (revoked?); "
                 "uploads stopped until `kiosk enrol` stores a new one")
NOT_ENROLLED = "not enrolled: no token in {path}; run `kiosk enrol --server URL --code CODE`"


class AgentBase:
    """The agent's state and plumbing (SyncAgent.__init__ sets the attributes)."""

    store: CaptureStore
    config: Config
    sync: SyncConfig
    kiosk_id: str
    token_path: Path
    _client: httpx.Client
    _token: str | None
    _token_stamp: tuple[int, int] | None
    _quiet_until: float
    _online: bool
    _lock: threading.Lock
    _status: SyncStatus
    _now: Callable[[], datetime]
    _monotonic: Callable[[], float]
    _on_status: Callable[[SyncStatus], None]
    _stop: threading.Event

    def _sleep(self, seconds: float) -> None:
        # tenacity's sleep: a stop must not wait out a long backoff.
        if self._stop.wait(seconds):
            raise Stopped()

    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self._token:
            raise AuthStop(NOT_ENROLLED.format(path=self.token_path), SyncProblem.NOT_ENROLLED)
        quiet = self._quiet_until - self._monotonic()
        if quiet > 0:  # not sent: the server asked for quiet (one place for every request)
            raise Transient(f"school server busy: it asks for {quiet:.0f} s before the next "
                             f"request", SyncProblem.BUSY, retry_after=quiet)
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        try:
            reply = self._client.request(method, path, headers=headers, **kwargs)
            reply.read()
        except httpx.TimeoutException as err:
            raise Transient(f"school server: timed out ({type(err).__name__})",
                             SyncProblem.TIMEOUT) from None
        except httpx.TransportError as err:
            raise Transient(f"school server unreachable ({type(err).__name__})",
                             SyncProblem.UNREACHABLE) from None
        wait = retry_after_seconds(reply)
        if wait:
            self._quiet_until = max(self._quiet_until, self._monotonic() + wait)
        return reply

    def _load_token(self) -> None:
        stamp = self._stamp()
        if stamp is None:
            self._token, self._token_stamp = None, None
            raise AuthStop(NOT_ENROLLED.format(path=self.token_path), SyncProblem.NOT_ENROLLED)
        if stamp != self._token_stamp:
            self._token = read_token(self.token_path.parent)
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

    def _warn_plain_http(self) -> None:
        url = urlsplit(self.sync.server_url)
        if url.scheme == "http" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
            log.warning("sync.server_url is plain http: the token travels in the clear "
                        "(captures are sealed either way); use https")
