"""The school server's roster (GET /api/v1/roster), as the sync agent caches it.

The rows carry the refs the server made with photo_wire's scheme, so the
lookup rules are the roster file's (kiosk/identity/roster.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from pydantic import ValidationError

from kiosk.identity.roster import KeyedRoster, RosterEntry, RosterError
from photo_wire.files import MAX_CACHE_BYTES, load_json, read_bounded
from photo_wire.ids import name_key, student_ref, uid_ref
from photo_wire.models import REJECT_REASONS, SCHEME, RosterOut

log = logging.getLogger(__name__)

# The sync agent's copy of GET /api/v1/roster.
SERVER_ROSTER_CACHE = "server-roster.json"


class ServerRoster(KeyedRoster):
    """Implements kiosk.session.Roster from the school server's roster (GET /api/v1/roster),
    as cached by the sync agent in data_dir/server-roster.json.

    Rows carry student_ref and uid_hash made at the server's import with
    photo_wire's scheme, the booth's own: a card read finds its rows, and its
    earlier captures, whichever roster the booth had then. A document made
    another way (an older server's keyed HMAC) is refused: the booth keeps
    its roster file. The roster has no names or programmes (the card has the
    name); an older cache that has them still loads, and they are dropped.
    """

    def __init__(
        self,
        document: dict,
        centre: str,
        session: str,
        makeup_mode: bool = False,
        allow_recapture: bool = False,
        *,
        has_capture: Callable[[str], bool] = lambda student_ref: False,
        source: str = "server roster",
    ) -> None:
        try:
            roster = RosterOut.model_validate(document)
        except ValidationError:
            raise RosterError(f"{source}: not a roster document from the school server") from None
        if roster.student_ref_scheme != SCHEME:
            raise RosterError(f"{source}: the server keys students another way "
                              f"({roster.student_ref_scheme.algorithm}): update the school server")
        super().__init__(centre, session, makeup_mode, allow_recapture, has_capture)
        self.version = roster.version
        self.source = source
        for row in roster.rows:
            entry = RosterEntry(row.student_ref, row.student_ref, "", name_key(row.centre),
                                name_key(row.session), row.retake,
                                _reason(row.retake_reason) if row.retake else "")
            self._by_id.setdefault(entry.student_ref, []).append(entry)
            if row.uid_hash:
                self._by_uid.setdefault(row.uid_hash.lower(), []).append(entry)
        log.info("%s %s: %d students", source, self.version, len(self))

    def _id_key(self, id_number: str) -> str:
        return student_ref(id_number)

    def _uid_key(self, uid: str) -> str:
        return uid_ref(uid)

    @classmethod
    def from_cache(cls, path: Path, centre: str, session: str, makeup_mode: bool = False,
                   allow_recapture: bool = False, *,
                   has_capture: Callable[[str], bool] = lambda student_ref: False) -> "ServerRoster":
        """Load the agent's cache file ({"etag", "fetched_at", "roster": {...}})."""
        try:
            cached = load_json(read_bounded(path, MAX_CACHE_BYTES, "roster cache"))
            document = cached["roster"]
        except FileNotFoundError:
            raise RosterError(f"{path}: no cached server roster yet") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise RosterError(f"{path}: the cached server roster is unreadable") from None
        return cls(document, centre, session, makeup_mode, allow_recapture,
                   has_capture=has_capture, source=str(path))

    def __repr__(self) -> str:
        return f"ServerRoster({self.source!r}, {self.centre!r}, {self.session!r}, {len(self)} students)"


def _reason(code: str | None) -> str:
    # A newer server's reason the booth has no words for is told as "other".
    return code if code in REJECT_REASONS else "other"
