"""CSV files written for people (opened in Excel or WPS): one writer for all.

A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return,
which it skips before looking) as a formula: `=HYPERLINK(...)` in a 采集码
payload would arrive live. Such cells get a leading apostrophe, the
spreadsheet's own "this is text" mark (OWASP's CSV injection advice).
Values that should never hold control characters (a 采集码 payload is printable
text) are refused by `check_printable` before they are written.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of one cell, never read as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def control_characters(value: str) -> bool:
    """True when value holds a control character (C0, DEL or C1)."""
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value)


def csv_lines(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """header, then each row's cells in header order, one CSV line at a time
    (for streaming), every cell formula-safe."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for cells in chain([header], ([row.get(h, "") for h in header] for row in rows)):
        writer.writerow([safe_cell(c) for c in cells])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def write_rows(f: TextIO, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    f.writelines(csv_lines(header, rows))


def write_private_csv(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """path (0600), UTF-8 with a BOM so Excel shows Chinese names correctly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
        write_rows(f, header, rows)
