"""The school's list of expected graduates, read from a CSV or XLSX file.

Columns: id_number,name,programme,centre,session, and optionally card_uid
(a campus card's UID, for PC/SC readers that cannot read the ID text).
CSV: UTF-8 with or without a BOM (Excel's "CSV UTF-8" writes one).
XLSX: the first sheet, header in the first row (as the student system exports).

No plain ID number stays in memory: rows are keyed by an HMAC-SHA256 of the
normalised number under a per-kiosk secret, and that hex digest is the
student_ref the rest of the kiosk (store, has_capture) uses.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from kiosk.flow import RosterMatch, RosterOutcome
from kiosk.hardware.id_reader import IdCard
from kiosk.idnumber import is_valid, normalise

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id_number", "name", "programme", "centre", "session")
UID_COLUMN = "card_uid"
SECRET_FILE = "roster.key"


class RosterError(Exception):
    """The roster file cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class _Entry:
    """What lookup needs about one roster row (no name, no ID number)."""

    student_ref: str
    programme: str
    centre: str
    session: str


def kiosk_secret(data_dir: Path) -> bytes:
    """This kiosk's roster key: read from data_dir/roster.key, made on first use.

    It must stay the same across restarts, or student_refs change and
    has_capture() stops recognising earlier captures.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


class CsvRoster:
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
        self.path = Path(path)
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
        self._load()

    def __len__(self) -> int:
        """Distinct students on the roster (all centres and sessions)."""
        every = (*self._by_id.values(), *self._by_uid.values())
        return len({e.student_ref for rows in every for e in rows})

    def __repr__(self) -> str:
        return f"CsvRoster({str(self.path)!r}, {self.centre!r}, {self.session!r}, {len(self)} students)"

    def student_ref(self, id_number: str) -> str:
        """The key a student's rows and captures are stored under."""
        return self._digest("id", normalise(id_number))

    def lookup(self, card: IdCard) -> RosterMatch:
        entries: list[_Entry] = []
        if card.id_number:
            entries = self._by_id.get(self.student_ref(card.id_number), [])
        if not entries and card.uid:
            entries = self._by_uid.get(self._digest("uid", _norm_uid(card.uid)), [])
        if not entries:
            return RosterMatch(RosterOutcome.NOT_EXPECTED)
        here = [e for e in entries if (e.centre, e.session) == (self.centre, self.session)]
        if here:
            entry = here[0]
        elif self.makeup_mode:
            entry = entries[0]
        else:
            entry = entries[0]
            return RosterMatch(RosterOutcome.OTHER_CENTRE, entry.programme, entry.student_ref)
        if not self.allow_recapture and self._has_capture(entry.student_ref):
            return RosterMatch(RosterOutcome.ALREADY_CAPTURED, entry.programme, entry.student_ref)
        return RosterMatch(RosterOutcome.EXPECTED, entry.programme, entry.student_ref)

    # ------------------------------------------------------------ loading

    def _digest(self, kind: str, value: str) -> str:
        # kind keeps an ID number and a UID that happen to be equal apart.
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

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
