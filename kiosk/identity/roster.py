"""The school's list of expected graduates, read from a CSV or XLSX file,
and the lookup rules every roster shares.

Columns: id_number,name,programme,centre,session, and optionally card_uid
(a campus card's UID, for PC/SC readers that cannot read the ID text).
CSV: UTF-8 with or without a BOM (Excel's "CSV UTF-8" writes one).
XLSX: the first sheet, header in the first row (as the student system exports).

No plain ID number stays in memory: a student's ref is photo_wire's
student_ref (scrypt, no key: the same on every booth and the server, from
the first capture on, see photo_wire/ids.py). Loading a CSV keys its rows with
a fast HMAC under a random key held in memory only; the slow ref is computed
once per card that matches (and at load for rows with a card_uid, whose ref
must be their ID number's). A roster from the server carries the refs
(kiosk/identity/server_roster.py); which one a booth uses: loader.py.

Who is expected where and when: a row of this centre and of the session
taken now is a regular student. The session taken now is the config's
``[kiosk] session``, or, once the school's schedule is known, each lookup's
SessionSlot (the sessions whose window covers now). Anyone else on the
roster is turned away (OTHER_CENTRE; MISSED_SESSION when their session at
this centre is already over) unless makeup_mode is on: then they are taken
as a makeup shoot (RosterMatch.makeup), which the capture records.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from kiosk.domain import IdCard, RosterMatch, RosterOutcome
from kiosk.identity.schedule import SessionSlot
from photo_wire.files import MAX_ROSTER_BYTES, ReadRefused, read_bounded
from photo_wire.idnumber import is_valid
from photo_wire.ids import name_key, normalise_id, normalise_uid, refs_in_parallel, student_ref, uid_ref

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id_number", "name", "programme", "centre", "session")
UID_COLUMN = "card_uid"


class RosterError(Exception):
    """The roster file cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class RosterEntry:
    """What lookup needs about one roster row (no name, no ID number).

    key: the row's identity in this roster; student_ref: its ref, or "" when
    it is the matching card's own (computed at lookup, once)."""

    key: str
    student_ref: str
    programme: str
    centre: str
    session: str
    retake: bool = False  # the office rejected the student's photo (server roster)
    retake_reason: str = ""  # and why: its reason code (photo_wire.models.REJECT_REASONS)


class KeyedRoster:
    """Lookup over rows found by a key of the card's ID number or UID."""

    def __init__(
        self,
        centre: str,
        session: str,
        makeup_mode: bool,
        allow_recapture: bool,
        has_capture: Callable[[str], bool],
    ) -> None:
        self.centre = name_key(centre)
        self.session = name_key(session)
        self.makeup_mode = makeup_mode
        self.allow_recapture = allow_recapture
        self._has_capture = has_capture
        self._by_id: dict[str, list[RosterEntry]] = {}
        self._by_uid: dict[str, list[RosterEntry]] = {}
        # Row-numbered notes for staff (never the ID number itself).
        self.warnings: list[str] = []

    def __len__(self) -> int:
        """Distinct students on the roster (all centres and sessions)."""
        every = (*self._by_id.values(), *self._by_uid.values())
        return len({e.key for rows in every for e in rows})

    def _id_key(self, id_number: str) -> str:
        raise NotImplementedError

    def _uid_key(self, uid: str) -> str:
        raise NotImplementedError

    def lookup(self, card: IdCard, slot: SessionSlot | None = None) -> RosterMatch:
        """slot: the sessions taken now and those over, from the school's
        schedule; None: the config's session is the one taken now."""
        entries: list[RosterEntry] = []
        if card.id_number:
            entries = self._by_id.get(self._id_key(card.id_number), [])
        by_id = bool(entries)
        if not entries and card.uid:
            entries = self._by_uid.get(self._uid_key(card.uid), [])
        if not entries:
            return RosterMatch(RosterOutcome.NOT_EXPECTED)
        if slot is None:
            now, ended = {self.session}, set()
        else:
            now = {name_key(s) for s in slot.current}
            ended = {name_key(s) for s in slot.ended}
        ours = [e for e in entries if e.centre == self.centre]
        here = [e for e in ours if e.session in now]
        missed = [e for e in ours if e.session in ended]
        makeup = not here
        entry = (here or missed or entries)[0]
        # The slow hash, once per matching card.
        ref = entry.student_ref or (student_ref(card.id_number) if by_id else uid_ref(card.uid))
        if makeup and not self.makeup_mode:
            outcome = RosterOutcome.MISSED_SESSION if missed else RosterOutcome.OTHER_CENTRE
            return RosterMatch(outcome, entry.programme, ref, entry.session, centre=entry.centre)
        outcome = RosterOutcome.EXPECTED
        if not self.allow_recapture and not entry.retake and self._has_capture(ref):
            outcome = RosterOutcome.ALREADY_CAPTURED
        return RosterMatch(outcome, entry.programme, ref, entry.session, makeup, entry.centre,
                           entry.retake_reason if entry.retake else "")


class CsvRoster(KeyedRoster):
    """Implements kiosk.session.Roster from a CSV file loaded once at start."""

    def __init__(
        self,
        path: Path | str,
        centre: str,
        session: str,
        makeup_mode: bool = False,
        allow_recapture: bool = False,
        *,
        has_capture: Callable[[str], bool] = lambda student_ref: False,
        on_row: Callable[[str, str], None] = lambda id_number, uid: None,
    ) -> None:
        """on_row: called with each row's normalised ID number and UID (either
        may be ""), for rekey_legacy_captures."""
        super().__init__(centre, session, makeup_mode, allow_recapture, has_capture)
        # Keys the rows in memory only: fast to load, useless once the process ends.
        self._secret = secrets.token_bytes(32)
        self._on_row = on_row
        self.path = Path(path)
        self._load()

    def __repr__(self) -> str:
        return f"CsvRoster({str(self.path)!r}, {self.centre!r}, {self.session!r}, {len(self)} students)"

    def _id_key(self, id_number: str) -> str:
        return self._digest("id", normalise_id(id_number))

    def _uid_key(self, uid: str) -> str:
        return self._digest("uid", normalise_uid(uid))

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

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
            self._uid_rows: list[tuple[str, str, RosterEntry]] = []
            for line, row in rows:
                self._add_row(line, row, index)
            self._add_uid_rows()
        except FileNotFoundError:
            raise RosterError(f"{self.path}: roster file not found") from None
        except UnicodeDecodeError:
            raise RosterError(
                f"{self.path}: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
            ) from None
        except csv.Error as err:
            raise RosterError(f"{self.path}: not a readable CSV file: {err}") from None
        except ReadRefused as err:
            raise RosterError(str(err)) from None
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
        id_number = normalise_id(cell("id_number"))
        uid = normalise_uid(cell(UID_COLUMN))
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
        self._on_row(id_number, uid)
        # The ref is the matching card's own, computed at lookup ("").
        entry = RosterEntry(self._id_key(id_number) if id_number else self._uid_key(uid), "",
                       cell("programme"), name_key(cell("centre")), name_key(cell("session")))
        if id_number:
            self._by_id.setdefault(entry.key, []).append(entry)
        if uid:
            # A card read by UID must get the row's own ref: its ID number's
            # when it has one. Computed once all rows are read (_load).
            self._uid_rows.append((self._uid_key(uid), id_number, entry))

    def _add_uid_rows(self) -> None:
        # Rows with no ID number keep "": the card's own UID ref, at lookup.
        refs = iter(refs_in_parallel([id_number for _, id_number, _ in self._uid_rows if id_number],
                                     "id"))
        for uid_key, id_number, entry in self._uid_rows:
            ref = next(refs) if id_number else ""
            self._by_uid.setdefault(uid_key, []).append(replace(entry, student_ref=ref))
        self._uid_rows.clear()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # utf-8-sig drops Excel's BOM and reads plain UTF-8 unchanged.
    text = read_bounded(path, MAX_ROSTER_BYTES, "roster file").decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile

    data = read_bounded(path, MAX_ROSTER_BYTES, "roster file")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
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
