"""What is wrong with one row of an imported file, for a clerk to fix: the
row number, the column, a code (its Chinese and English texts are in the
office catalogs as import.problem.<code>; English for the CLI here), never
the cell's content (an ID number is not repeated back)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from school_server.people_csv import csv_lines

# Problems kept to show and download; past these only counted (a wrong
# file of a million rows must not fill memory).
MAX_KEPT = 10_000

ENGLISH = {
    "missing": "is empty",
    "nul": "contains a NUL character, which the database cannot store",
    "too_long": "{detail}",
    "excel_number": "was saved as a number by Excel and lost digits (format the column as text)",
    "id_bad_number": "is not an ID number (18 characters: 17 digits and a digit or X)",
    "id_too_short": "is too short (an ID number has 18 characters)",
    "id_bad_area_code": "has no real area code (the first 6 digits)",
    "id_bad_birth_date": "has no real birth date (digits 7-14)",
    "id_bad_check_character": "has a wrong check character (the last one): a typing error?",
    "id_masked_no_ref": "is masked (*) and the row has no student_ref to match it",
    "duplicate": "is also on row {other}",
    "other_name": "is also on row {other} under another name",
    "bad_phone": "is not a phone number",
    "unknown_session": "is not a session of this centre in the schedule",
    "bad_time": "must be a date and time, e.g. 2026-06-20 09:00",
    "time_range": "is out of range (years 1 to 9999 in UTC)",
    "not_after": "is not after the start",
}


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # the field (id_number, name, ...)
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        return f"line {self.line}: {self.column} " + ENGLISH[self.code].format(**self.params)


@dataclass
class Problems:
    """The problems of a file (the first MAX_KEPT) and how many rows have one."""

    kept: list[Problem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT:
            self.kept.append(problem)

    def by_line(self) -> list[Problem]:
        return sorted(self.kept, key=lambda p: p.line)

    @property
    def truncated(self) -> bool:
        return self.count > len(self.kept)


def problem_csv(problems: Iterable[Problem], t: Callable[..., str]) -> Iterator[str]:
    """The problem list as CSV lines in the page's language (t: the translator)."""
    header = [t("import.col.line"), t("import.col.column"), t("import.col.problem")]
    rows = ({header[0]: p.line, header[1]: t(f"import.field.{p.column}"),
             header[2]: t(f"import.problem.{p.code}", **p.params)} for p in problems)
    return csv_lines(header, rows)
