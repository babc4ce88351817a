"""The school's list of expected graduates, read from a CSV or XLSX file.

Columns: id_number,name,programme,centre,session, and optionally card_uid
(a campus card's UID, for PC/SC readers that cannot read the ID text).
CSV: UTF-8 with or without a BOM (Excel's "CSV UTF-8" writes one).
XLSX: the first sheet, header in the first row (as the student system exports).

No plain ID number stays in memory: rows are keyed by an HMAC-SHA256 of the
normalised number under a per-kiosk secret, and that hex digest is the
student_ref the rest of the kiosk (store, has_capture) uses.

Who is expected where and when: a row of this centre and of the session
taken now is a regular student. The session taken now is the config's
``[kiosk] session``, or, once the school's schedule is known, each lookup's
SessionSlot (the sessions whose window covers now). Anyone else on the
roster is turned away (OTHER_CENTRE; MISSED_SESSION when their session at
this centre is already over) unless makeup_mode is on: then they are taken
as a makeup shoot (RosterMatch.makeup), which the capture records.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from kiosk.flow import RosterMatch, RosterOutcome
from kiosk.hardware.id_reader import IdCard
from kiosk.idnumber import is_valid, normalise
from kiosk.schedule import SessionSlot
from kiosk.store import write_private_file

if TYPE_CHECKING:
    from kiosk.config import Config

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id_number", "name", "programme", "centre", "session")
UID_COLUMN = "card_uid"
SECRET_FILE = "roster.key"
# The sync agent's copy of GET /api/v1/roster (see ServerRoster).
SERVER_ROSTER_CACHE = "server-roster.json"


class RosterError(Exception):
    """The roster file cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class _Entry:
    """What lookup needs about one roster row (no name, no ID number)."""

    student_ref: str
    programme: str
    centre: str
    session: str
    retake: bool = False  # the office rejected the student's photo (server roster)


def kiosk_secret(data_dir: Path) -> bytes:
    """This kiosk's roster key: read from data_dir/roster.key, made on first use.

    It must stay the same across restarts, or student_refs change and
    has_capture() stops recognising earlier captures: so it is written whole
    and durably, and when two processes make it at once the first one wins.
    """
    path = Path(data_dir) / SECRET_FILE
    while True:
        try:
            key: bytes | None = path.read_bytes()
        except FileNotFoundError:
            key = None
        if key:
            return key
        if key == b"":  # left by a power cut while an older version made it
            log.warning("the roster key file was empty: making a new one")
            path.unlink(missing_ok=True)
        try:
            write_private_file(path, secrets.token_bytes(32), exclusive=True)
        except FileExistsError:
            pass  # another process made it first: read theirs


class _KeyedRoster:
    """Lookup over rows keyed by HMAC(secret, "id:" + ID number) / ("uid:" + card UID)."""

    def __init__(
        self,
        centre: str,
        session: str,
        makeup_mode: bool,
        allow_recapture: bool,
        secret: bytes,
        has_capture: Callable[[str], bool],
    ) -> None:
        if not secret:
            raise ValueError("the roster needs a non-empty secret")
        self.centre = _norm_text(centre)
        self.session = _norm_text(session)
        self.makeup_mode = makeup_mode
        self.allow_recapture = allow_recapture
        self._secret = secret
        self._has_capture = has_capture
        self._by_id: dict[str, list[_Entry]] = {}
        self._by_uid: dict[str, list[_Entry]] = {}
        # Row-numbered notes for staff (never the ID number itself).
        self.warnings: list[str] = []

    def __len__(self) -> int:
        """Distinct students on the roster (all centres and sessions)."""
        every = (*self._by_id.values(), *self._by_uid.values())
        return len({e.student_ref for rows in every for e in rows})

    def student_ref(self, id_number: str) -> str:
        """The key a student's rows and captures are stored under."""
        return self._digest("id", normalise(id_number))

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        """slot: the sessions taken now and those over, from the school's
        schedule; None: the config's session is the one taken now."""
        entries: list[_Entry] = []
        if card.id_number:
            entries = self._by_id.get(self.student_ref(card.id_number), [])
        if not entries and card.uid:
            entries = self._by_uid.get(self._digest("uid", _norm_uid(card.uid)), [])
        if not entries:
            return RosterMatch(RosterOutcome.NOT_EXPECTED)
        if slot is None:
            now, ended = {self.session}, set()
        else:
            now = {_norm_text(s) for s in slot.current}
            ended = {_norm_text(s) for s in slot.ended}
        ours = [e for e in entries if e.centre == self.centre]
        here = [e for e in ours if e.session in now]
        missed = [e for e in ours if e.session in ended]
        makeup = not here
        entry = (here or missed or entries)[0]
        if makeup and not self.makeup_mode:
            outcome = RosterOutcome.MISSED_SESSION if missed else RosterOutcome.OTHER_CENTRE
            return RosterMatch(outcome, entry.programme, entry.student_ref, entry.session)
        outcome = RosterOutcome.EXPECTED
        if not self.allow_recapture and not entry.retake and self._has_capture(entry.student_ref):
            outcome = RosterOutcome.ALREADY_CAPTURED
        return RosterMatch(outcome, entry.programme, entry.student_ref, entry.session, makeup)

    def _digest(self, kind: str, value: str) -> str:
        # kind keeps an ID number and a UID that happen to be equal apart.
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


class CsvRoster(_KeyedRoster):
    """Implements flow.Roster from a CSV file loaded once at start."""

    def __init__(
        self,
        path: Path | str,
        centre: str,
        session: str,
        makeup_mode: bool = False,
        allow_recapture: bool = False,
        *,
        secret: bytes,
        has_capture: Callable[[str], bool] = lambda student_ref: False,
    ) -> None:
        if not secret:
            raise ValueError("the roster needs a non-empty per-kiosk secret")
        super().__init__(centre, session, makeup_mode, allow_recapture, secret, has_capture)
        self.path = Path(path)
        self._load()

    def __repr__(self) -> str:
        return f"CsvRoster({str(self.path)!r}, {self.centre!r}, {self.session!r}, {len(self)} students)"

    # ------------------------------------------------------------ loading

    def _load(self) -> None:
        try:
            rows = _xlsx_rows(self.path) if self.path.suffix.lower() == ".xlsx" else _csv_rows(self.path)
            header = next(rows, None)
            if header is None:
                raise RosterError(f"{self.path}: the roster file is empty")
            columns = [h.strip().lower() for h in header[1]]
            for name in REQUIRED_COLUMNS:
                if name not in columns:
                    raise RosterError(
                        f"{self.path}: missing column {name!r} "
                        f"(need {','.join(REQUIRED_COLUMNS)}; found {','.join(columns)})"
                    )
            index = {name: columns.index(name) for name in (*REQUIRED_COLUMNS, UID_COLUMN)
                     if name in columns}
            for line, row in rows:
                self._add_row(line, row, index)
        except FileNotFoundError:
            raise RosterError(f"{self.path}: roster file not found") from None
        except UnicodeDecodeError:
            raise RosterError(
                f"{self.path}: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
            ) from None
        except csv.Error as err:
            raise RosterError(f"{self.path}: not a readable CSV file: {err}") from None
        except OSError as err:
            raise RosterError(f"{self.path}: cannot read the roster: {err.strerror}") from None
        for note in self.warnings:
            log.warning("roster %s: %s", self.path, note)
        log.info("roster %s: %d students", self.path, len(self))

    def _add_row(self, line: int, row: list[str], index: dict[str, int]) -> None:
        def cell(name: str) -> str:
            i = index.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        if not any(c.strip() for c in row):
            return  # blank line
        id_number = normalise(cell("id_number").lstrip("'"))  # Excel's text marker
        uid = _norm_uid(cell(UID_COLUMN))
        if not id_number and not uid:
            self.warnings.append(f"line {line}: no id_number or card_uid, skipped")
            return
        if id_number and "E+" in id_number:
            self.warnings.append(
                f"line {line}: id_number was saved as a number by Excel and lost digits "
                "(format the column as text)"
            )
        elif id_number and not is_valid(id_number):
            self.warnings.append(f"line {line}: id_number fails the GB 11643 check")
        ref = self.student_ref(id_number) if id_number else self._digest("uid", uid)
        entry = _Entry(ref, cell("programme"), _norm_text(cell("centre")),
                       _norm_text(cell("session")))
        if id_number:
            self._by_id.setdefault(ref, []).append(entry)
        if uid:
            self._by_uid.setdefault(self._digest("uid", uid), []).append(entry)


class ServerRoster(_KeyedRoster):
    """Implements flow.Roster from the school server's roster (GET /api/v1/roster),
    as cached by the sync agent in data_dir/server-roster.json.

    Rows carry student_ref = HMAC(server key, "id:" + ID number), computed at
    the server's import; card reads are keyed with the same key (handed out
    in student_ref_scheme), so every kiosk of the school agrees on a student's
    ref. The cache holds names: it is written 0600 like everything in data_dir.
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
            scheme = document["student_ref_scheme"]
            if scheme.get("algorithm", "hmac-sha256") != "hmac-sha256":
                raise RosterError(f"{source}: unknown student_ref algorithm {scheme.get('algorithm')!r}")
            key = base64.b64decode(scheme["key"], validate=True)
            rows = document["rows"]
            self.version = str(document.get("version", ""))
        except (KeyError, TypeError, AttributeError, ValueError, binascii.Error):
            raise RosterError(f"{source}: not a roster document from the school server") from None
        super().__init__(centre, session, makeup_mode, allow_recapture, key, has_capture)
        self.source = source
        for n, row in enumerate(rows, start=1):
            try:
                entry = _Entry(str(row["student_ref"]), str(row.get("programme", "")),
                               _norm_text(str(row["centre"])), _norm_text(str(row["session"])),
                               row.get("retake") is True)
            except (KeyError, TypeError, AttributeError):
                self.warnings.append(f"row {n}: incomplete, skipped")
                continue
            self._by_id.setdefault(entry.student_ref, []).append(entry)
            if row.get("uid_hash"):
                self._by_uid.setdefault(str(row["uid_hash"]).lower(), []).append(entry)
        for note in self.warnings:
            log.warning("%s: %s", source, note)
        log.info("%s %s: %d students", source, self.version, len(self))

    @classmethod
    def from_cache(cls, path: Path, centre: str, session: str, makeup_mode: bool = False,
                   allow_recapture: bool = False, *,
                   has_capture: Callable[[str], bool] = lambda student_ref: False) -> "ServerRoster":
        """Load the agent's cache file ({"etag", "fetched_at", "roster": {...}})."""
        try:
            cached = json.loads(Path(path).read_text(encoding="utf-8"))
            document = cached["roster"]
        except FileNotFoundError:
            raise RosterError(f"{path}: no cached server roster yet") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise RosterError(f"{path}: the cached server roster is unreadable") from None
        return cls(document, centre, session, makeup_mode, allow_recapture,
                   has_capture=has_capture, source=str(path))

    def __repr__(self) -> str:
        return f"ServerRoster({self.source!r}, {self.centre!r}, {self.session!r}, {len(self)} students)"


def open_roster(config: "Config", data_dir: Path,
                has_capture: Callable[[str], bool]) -> CsvRoster | ServerRoster:
    """The roster a booth uses: the server's (cached) one when sync is on and a
    copy has been fetched, else the CSV/XLSX file keyed by this kiosk's secret."""
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
        secret=kiosk_secret(Path(data_dir)),
        makeup_mode=config.roster.makeup_mode,
        allow_recapture=config.roster.allow_recapture,
        has_capture=has_capture,
    )


def _norm_text(value: str) -> str:
    return value.strip().casefold()


def _norm_uid(uid: str) -> str:
    # Readers and spreadsheets write UIDs as "04:A2:c3..." or "04 a2 c3...".
    return "".join(ch for ch in uid.upper() if ch not in " :-")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # utf-8-sig drops Excel's BOM and reads plain UTF-8 unchanged.
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        for row in reader:
            yield reader.line_num, row


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile

    if not path.exists():
        raise FileNotFoundError(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError) as err:
        raise RosterError(f"{path}: not a readable XLSX file ({type(err).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # A number-formatted ID column: 1.10101200103152e+17 has lost digits.
        return f"{value:.6E}" if value >= 1e15 else f"{value:g}"
    return str(value)
