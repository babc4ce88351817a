"""Rows of a table file a school office sends: CSV (UTF-8 with or without a
BOM, or GBK/GB 18030 as Chinese Excel and WPS save it) or XLSX, read one row
at a time so memory stays bounded whatever the file's size.

The header names columns in Chinese or English; a header table (one per
kind of file) maps each to the column's field name. Rows come out as
(line, {field: text}); the line is the spreadsheet's row number, what a
clerk looks for.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from photo_wire.files import ReadRefused, check_regular_file

XLSX_MAGIC = b"PK\x03\x04"
BOMS = (codecs.BOM_UTF8,)
CHUNK = 1 << 16
# A cell longer than this is not a name or an ID number (the csv module's own limit).
MAX_CELL_CHARS = 128 * 1024
# A whole season's roster is tens of MB; anything bigger is not one (read as a
# stream, so the limit is about time, not memory).
MAX_TABLE_BYTES = 1024 ** 3
# XLSX: columns read per row; a roster has about ten, a sheet 16,384.
MAX_COLUMNS = 64


class TableFileError(Exception):
    """The file cannot be read at all (not the problems of single rows)."""

    def __init__(self, code: str, english: str, line: int = 0) -> None:
        super().__init__(english)
        self.code, self.line = code, line


@dataclass(frozen=True)
class Header:
    fields: list[str | None]  # the field of each column, None for a column not in the table
    unknown: list[str]  # header cells the table does not know (ignored)


def encoding_of(path: Path) -> str:
    """utf-8-sig when the whole file decodes as UTF-8 (checked a chunk at a
    time), else gb18030 (GBK's superset: what a Chinese Excel or WPS saves)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == XLSX_MAGIC


def raw_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet or the CSV, blank rows skipped."""
    try:
        check_regular_file(path, MAX_TABLE_BYTES, "roster or schedule file")
        xlsx = is_xlsx(path)
    except FileNotFoundError:
        raise TableFileError("not_found", f"{path}: not found") from None
    except ReadRefused as err:
        raise TableFileError("not_a_file", str(err)) from None
    yield from (_xlsx_rows(path) if xlsx else _csv_rows(path))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    encoding = encoding_of(path)
    with path.open(encoding=encoding, newline="") as f:
        # strict: an unterminated quote is an error, not the rest of the file in one cell.
        reader = csv.reader(f, strict=True)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                quoting = "end of data" in str(err) or "quote" in str(err)
                hint = " (a quote \" opened and never closed?)" if quoting else ""
                raise TableFileError("bad_quoting" if quoting else "bad_csv",
                                     f"{path}: line {reader.line_num}: {err}{hint}",
                                     reader.line_num) from None
            if any(cell.strip() for cell in row):
                yield reader.line_num, row


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    handle = path.open("rb")  # a file object: openpyxl checks a path's extension
    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        handle.close()
        raise TableFileError("bad_xlsx", f"{path}: not a readable XLSX file "
                             f"({type(err).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS),
                                       start=1):
            row = [_cell_text(c) for c in cells]
            if any(cell.strip() for cell in row):
                yield number, row
    finally:
        book.close()
        handle.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # A number cell: Excel keeps 15 digits, so an ID number stored as a
        # number has lost its last ones. Written as Excel shows it (E+17),
        # which the roster check names.
        return f"{value:.5E}" if value >= 1e15 else str(int(value))
    if isinstance(value, int) and value >= 10**15:
        return f"{float(value):.5E}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def read_header(cells: list[str], table: dict[str, str]) -> Header:
    """Map header cells to fields: stripped, case-folded, spaces removed
    ("身份证号", "ID Number" and "id_number" alike)."""
    keys = {_header_key(k): v for k, v in table.items()}
    fields: list[str | None] = []
    unknown = []
    for cell in cells:
        field = keys.get(_header_key(cell))
        fields.append(field)
        if field is None and cell.strip():
            unknown.append(cell.strip())
    return Header(fields, unknown)


def _header_key(text: str) -> str:
    return "".join(text.split()).replace("_", "").casefold()


def table_rows(path: Path, table: dict[str, str], required: tuple[str, ...]
               ) -> tuple[Header, Iterator[tuple[int, dict[str, str]]]]:
    """The header and an iterator over the data rows as {field: stripped text}
    (every field of the header present; a short row's missing cells are "").
    TableFileError for a file that cannot be read or lacks a required column."""
    rows = raw_rows(path)
    first = next(rows, None)
    if first is None:
        raise TableFileError("empty", f"{path}: empty file")
    for i, cell in enumerate(first[1]):
        if "\x00" in cell:
            raise TableFileError("nul", f"{path}: line {first[0]}: column {i + 1} contains a NUL "
                                 "character (is it a text CSV? in Excel, save as 'CSV UTF-8')")
    header = read_header(first[1], table)
    missing = [f for f in required if f not in header.fields]
    if missing:
        raise TableFileError("missing_columns", f"{path}: missing column(s) {', '.join(missing)}")

    def data() -> Iterator[tuple[int, dict[str, str]]]:
        for line, cells in rows:
            out: dict[str, str] = {f: "" for f in header.fields if f}
            for field, cell in zip(header.fields, cells):
                if field and not out[field]:
                    out[field] = cell.strip()
            yield line, out
    return header, data()
