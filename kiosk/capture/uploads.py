"""The sync agent's uploads: the outbox drained one idempotent
`PUT /api/v1/captures/{id}` at a time, receipts checked, refusals recorded
for staff; and the heartbeat that reports the queue."""

from __future__ import annotations

import base64
import json
import logging

import kiosk
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from kiosk.capture.http import (API, UNAUTHORISED, AgentBase, AuthStop, Rejected, Stopped,
                                Transient, WaitRetryAfter, retry_after_seconds)
from kiosk.capture.queue import Outgoing
from kiosk.capture.status_links import read_status_key, status_hash
from kiosk.codes import RejectReason, SyncProblem
from photo_wire.models import Receipt
from photo_wire.requests import HEARTBEAT_ERROR_CHARS, CaptureUploadHead, HeartbeatIn

log = logging.getLogger(__name__)

BATCH = 50  # outbox rows read at a time
# A row whose fields make no valid upload (the server would answer 422).
MALFORMED_ROW = "422: the capture's kiosk id, session or time do not make a valid upload"


class Uploads(AgentBase):
    """The outbox and the heartbeat (SyncAgent's upload half)."""

    _next_heartbeat: float


    def _drain_outbox(self) -> None:
        while True:
            batch = self.store.outbox(BATCH)
            if not batch:
                return
            for item in batch:
                if self._stop.is_set():
                    raise Stopped()
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
        try:
            body = upload_body(item, sealed, read_status_key(self.store.data_dir))
        except ValueError:
            self._reject(item, MALFORMED_ROW)
            return
        del sealed
        retrying = Retrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.sync.retry_attempts),
            wait=WaitRetryAfter(wait_exponential_jitter(
                initial=self.sync.backoff_initial_seconds,
                max=min(self.sync.backoff_max_seconds, 8 * self.sync.backoff_initial_seconds),
                jitter=self.sync.backoff_initial_seconds)),
            sleep=self._sleep,
            reraise=True,
        )
        self.store.mark_uploading([item.capture_id])
        try:
            received_at = retrying(self._put, item, body)
        except Rejected as err:
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
                raise Transient(f"capture {item.capture_id}: unreadable receipt ({code})",
                                 SyncProblem.BAD_ANSWER) from None
            if receipt.capture_id != item.capture_id or receipt.digest != item.digest:
                raise Rejected(f"the server's receipt ({code}) names another capture or digest")
            # As the server wrote it: what import-receipts and the row compare.
            return str(json.loads(reply.content)["received_at"])
        self._contact_ok()  # it answered: online, even if it said no
        if code == 401:
            raise AuthStop(UNAUTHORISED)
        if code == 403:
            if item.kiosk_id == self.kiosk_id:
                raise AuthStop(f"403 Forbidden: the server's token is not for kiosk "
                                f"{self.kiosk_id!r}; enrol with this kiosk id",
                                SyncProblem.WRONG_KIOSK)
            raise Rejected(f"403: saved as kiosk {item.kiosk_id!r}, enrolled as another")
        if code == 409:
            raise Rejected("409 Conflict: the server holds a different capture under this id")
        if code == 413:
            raise Rejected("413: capture larger than the server's max_body_bytes")
        if code == 422:
            raise Rejected("422: the server refused the upload as malformed")
        if code in (408, 425, 429) or code >= 500:
            wait = retry_after_seconds(reply)
            later = f" (busy: it asks for {wait:.0f} s before the next try)" if wait else ""
            raise Transient(f"capture {item.capture_id}: server answered {code}{later}",
                             SyncProblem.BUSY if wait else SyncProblem.SERVER_ERROR,
                             retry_after=wait)
        raise Rejected(f"unexpected answer {code}")

    def _reject(self, item: Outgoing, reason: str) -> None:
        log.error("capture %s not uploaded: %s", item.capture_id, reason)
        self.store.mark_rejected(item.capture_id, reason)
        self._report(error=f"capture {item.capture_id}: {reason}", problem=SyncProblem.REFUSED)

    # ------------------------------------------------------- other requests

    def _heartbeat(self) -> None:
        counts = self.store.status_counts()
        status = self.status
        body = HeartbeatIn(
            status="rejected" if counts["rejected"] else "ok",
            queue_depth=counts["captured"] + counts["uploading"],
            free_mb=max(0, self.store.free_mb()),
            version=kiosk.__version__,
            last_error=(status.last_error or None) and status.last_error[:HEARTBEAT_ERROR_CHARS],
        ).model_dump(mode="json")
        try:
            reply = self._request("POST", f"{API}/heartbeat", json=body)
        except Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            # Sooner than usual: with an empty queue this is what notices the server is back.
            self._next_heartbeat = self._monotonic() + min(self.sync.heartbeat_seconds, 15.0)
            return
        if reply.status_code == 401:
            raise AuthStop(UNAUTHORISED)
        if reply.status_code == 204:
            self._contact_ok()
        else:
            log.warning("heartbeat: server answered %d", reply.status_code)


def upload_body(item: Outgoing, sealed: bytes, status_key: bytes | None = None) -> bytes:
    """The PUT body (CaptureUpload) as bytes, built around the base64 without
    copying it through str and json.dumps: captures with an original still
    are megabytes, and every copy counts on a Pi. ValueError when the row's
    fields do not make a valid upload (the server would refuse it: 422).
    status_key: the booth's (status_links.py); the head then carries the
    hash of the capture's status link token."""
    head = {"kiosk_id": item.kiosk_id, "session": item.session,
            "created_at": item.created_at, "digest": item.digest}
    if status_key:
        head["status_hash"] = status_hash(status_key, item.capture_id)
    CaptureUploadHead.model_validate(head)  # what the server will check, checked here
    # Written as stored (the time as the row has it): the same bytes on every export.
    text = json.dumps(head, ensure_ascii=True)
    return b"".join((text[:-1].encode("ascii"), b', "sealed": "',
                     base64.b64encode(sealed), b'"}'))


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


