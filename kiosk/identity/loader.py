"""The roster a booth opens at start, and the one-off re-keying of captures
stored before photo_wire's scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from kiosk.identity.roster import CsvRoster, RosterError
from kiosk.identity.server_roster import SERVER_ROSTER_CACHE, ServerRoster
from photo_wire.files import MAX_CACHE_BYTES, load_json, read_bounded
from photo_wire.ids import student_ref, uid_ref

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.capture.store import CaptureStore

log = logging.getLogger(__name__)

# A booth's HMAC key before photo_wire's scheme: only rekey_legacy_captures reads it.
LEGACY_SECRET_FILE = "roster.key"


def open_roster(config: "Config", data_dir: Path,
                has_capture: Callable[[str], bool]) -> CsvRoster | ServerRoster:
    """The roster a booth uses: the server's (cached) one when sync is on and a
    copy has been fetched, else the CSV/XLSX file."""
    if config.sync.server_url:
        cache = Path(data_dir) / SERVER_ROSTER_CACHE
        if cache.exists():
            try:
                return ServerRoster.from_cache(
                    cache, config.kiosk.centre, config.kiosk.session,
                    makeup_mode=config.roster.makeup_mode,
                    allow_recapture=config.roster.allow_recapture, has_capture=has_capture)
            except RosterError as err:
                log.error("%s; using %s", err, config.roster.path)
    return CsvRoster(
        config.roster.path,
        centre=config.kiosk.centre,
        session=config.kiosk.session,
        makeup_mode=config.roster.makeup_mode,
        allow_recapture=config.roster.allow_recapture,
        has_capture=has_capture,
    )


def rekey_legacy_captures(config: "Config", data_dir: Path, store: "CaptureStore") -> None:
    """Captures stored before photo_wire's scheme carry an HMAC ref whose key
    (roster.key, or the server's in an old server-roster.json) sits on the SD
    card next to them: an oracle for ID numbers. Find each captured student
    in the roster file (it has the ID numbers), give the row its new ref, and
    delete the old keys. Call at start, before the first lookup."""
    data_dir = Path(data_dir)
    key_file = data_dir / LEGACY_SECRET_FILE
    cache = data_dir / SERVER_ROSTER_CACHE
    keys = [k for k in (_read_bytes(key_file), _legacy_server_key(cache)) if k]
    wanted = store.legacy_refs()
    if wanted:
        refs: dict[str, str] = {}
        if keys:
            def see(id_number: str, uid: str) -> None:
                for kind, value, new_ref in (("id", id_number, student_ref), ("uid", uid, uid_ref)):
                    for key in keys if value else ():
                        old = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
                        if old in wanted and old not in refs:
                            refs[old] = new_ref(value)

            try:
                CsvRoster(config.roster.path, config.kiosk.centre, config.kiosk.session, on_row=see)
            except RosterError as err:
                log.error("%s: captures from before the upgrade stay unconverted", err)
                return
        done, rest = store.rekey(refs)
        log.warning("captures from before the upgrade: %d re-keyed, %d students not on the "
                    "roster (no longer recognised as captured)", done, rest)
    key_file.unlink(missing_ok=True)
    if _legacy_server_key(cache):
        cache.unlink(missing_ok=True)  # fetched again, in the new scheme


def _read_bytes(path: Path) -> bytes | None:
    try:
        return read_bounded(path, 4096) or None
    except (OSError, ValueError):
        return None


def _legacy_server_key(cache: Path) -> bytes | None:
    """The HMAC key in a server-roster.json cached before photo_wire's scheme."""
    try:
        scheme = load_json(read_bounded(cache, MAX_CACHE_BYTES))["roster"]["student_ref_scheme"]
        if scheme.get("algorithm", "hmac-sha256") == "hmac-sha256":
            return base64.b64decode(scheme["key"], validate=True) or None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None
