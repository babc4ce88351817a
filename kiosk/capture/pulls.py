"""The sync agent's pulls: the centre's roster (with its ETag) into
data_dir/server-roster.json and a fresh ServerRoster for the runtime; the
centre's session schedule into data_dir/server-schedule.json (rewritten only
when it changed) and a Schedule for the runtime when it differs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import httpx
from pydantic import ValidationError

from kiosk.capture.http import API, UNAUTHORISED, AgentBase, AuthStop, Transient
from kiosk.codes import SyncProblem
from kiosk.identity.roster import RosterError
from kiosk.identity.schedule import Schedule, ScheduleError
from kiosk.identity.server_roster import ServerRoster
from photo_wire.files import MAX_CACHE_BYTES, load_json, read_bounded, write_private_file
from photo_wire.ids import name_key
from photo_wire.models import RosterOut

log = logging.getLogger(__name__)


class Pulls(AgentBase):
    """Roster and schedule (SyncAgent's pull half)."""

    roster_cache: Path
    schedule_cache: Path
    _etag: str | None
    _schedule_doc: Any
    _schedule_etag: str | None
    _on_roster: Callable[[ServerRoster], None]
    _on_schedule: Callable[[Schedule], None]

    def _pull_roster(self) -> bool:
        """Fetch the roster if it changed; False when the server could not be reached."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            reply = self._request("GET", f"{API}/roster", headers=headers)
        except Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            return False
        if reply.status_code == 401:
            raise AuthStop(UNAUTHORISED)
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
        if not any(name_key(r.centre) == name_key(self.config.kiosk.centre) for r in document.rows):
            # No roster imported on the server for this centre (yet): one without
            # it would turn every student away, so the local roster stays.
            log.warning("the server has no roster rows for this centre; keeping the current roster")
            self._contact_ok()
            return True
        # RosterRowOut has no names (the card has the name): an older server's
        # are dropped by the model and never reach the SD card.
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
        except Transient as err:
            self._online = False
            self._report(error=str(err), problem=err.problem)
            return
        if reply.status_code == 401:
            raise AuthStop(UNAUTHORISED)
        if reply.status_code == 304:
            self._contact_ok()
            return
        if reply.status_code != 200:
            log.warning("schedule: server answered %d", reply.status_code)
            return
        try:
            document = reply_json(reply)
            schedule = Schedule.from_document(document, self.config.kiosk.tz())
        except Transient as err:
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

    def _cached_schedule(self) -> Any:
        try:
            return load_json(read_bounded(self.schedule_cache, MAX_CACHE_BYTES)).get("schedule")
        except (OSError, ValueError, AttributeError):
            return None

    @staticmethod
    def _cached_etag(cache: Path) -> str | None:
        try:
            return load_json(read_bounded(cache, MAX_CACHE_BYTES)).get("etag") or None
        except (OSError, ValueError, AttributeError):
            return None


def reply_json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        raise Transient(f"unreadable answer from the school server ({reply.status_code})",
                        SyncProblem.BAD_ANSWER) from None
