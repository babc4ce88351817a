"""The booth's enrolment with the school server: spending a one-time code
(`kiosk enrol`) and the bearer token it gives, data_dir/sync.token (0600).

The one module that reads or writes the token: the sync agent sends it, the
USB receipts are keyed with it, the doctor checks it is there. A token from
the server is checked before it is stored (photo_wire.models.EnrolResponse):
a hostile or broken server cannot plant megabytes or a path in the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
from pydantic import ValidationError

from kiosk.capture.answers import API, refusal_detail, retry_after_seconds
from photo_wire.files import ReadRefused, read_bounded, write_private_file
from photo_wire.models import MAX_ENROL_ANSWER_BYTES, EnrolResponse
from photo_wire.requests import EnrolRequest

TOKEN_FILE = "sync.token"
log = logging.getLogger(__name__)


class EnrolError(Exception):
    """Enrolment failed; the message says why (never the code or the token)."""


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def read_token(data_dir: Path) -> str | None:
    """The booth's enrolment token (keys the receipts' mac), or None."""
    path = token_path(data_dir)
    try:
        raw = read_bounded(path, MAX_ENROL_ANSWER_BYTES, "token file")
    except FileNotFoundError:
        return None
    except ReadRefused as err:  # not a token we wrote: as if not enrolled (doctor says so)
        log.error("%s", err)
        return None
    return raw.decode("ascii", errors="replace").strip() or None


def enrol(server_url: str, code: str, kiosk_id: str, data_dir: Path,
          timeout: float = 30.0) -> Path:
    """Spend a one-time enrolment code; store the token in data_dir/sync.token (0600)."""
    url = server_url.rstrip("/") + f"{API}/enrol"
    try:
        body = EnrolRequest(enrolment_code=code.strip(), kiosk_id=kiosk_id)
    except ValidationError:
        raise EnrolError(f"kiosk id {kiosk_id!r} (letters, digits, . _ -; up to 64) or the code "
                         "(1-64 characters) is not valid") from None
    try:
        reply = httpx.post(url, json=body.model_dump(), timeout=timeout)
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
    if len(reply.content) > MAX_ENROL_ANSWER_BYTES:
        raise EnrolError(f"refused the server's answer: {len(reply.content)} bytes is not an "
                         "enrolment token (nothing stored)")
    try:
        token = EnrolResponse.model_validate_json(reply.content).token
    except ValidationError:
        raise EnrolError("refused the server's answer: not an enrolment token "
                         "(nothing stored)") from None
    path = token_path(data_dir)
    write_private_file(path, token.encode("ascii") + b"\n")
    return path
