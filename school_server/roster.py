"""Roster rows per centre: import from the student system's CSV, serve to kiosks.

CSV columns (the kiosk's roster format): centre, session, name, programme and
id_number (or an already opaque student_ref), optionally card_uid. UTF-8 with
or without a BOM. The ID number is turned into student_ref at import and
never stored or printed. Normalisation and student_ref are the booth's own
(photo_wire.ids): one scheme, no key, memory-hard (~0.15 s a row per core,
so the rows are hashed on a thread pool).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from photo_wire.files import MAX_ROSTER_BYTES, ReadRefused, read_bounded
from photo_wire.ids import Kind, normalise_id, normalise_uid, refs_in_parallel
from school_server.auth import ensure_centre
from school_server.models import (CENTRE_CHARS, PERSON_NAME_CHARS, PROGRAMME_CHARS, SESSION_CHARS,
                                  STUDENT_REF_CHARS, CaptureReview, RosterRow, name_key)
from school_server.schemas import RosterOut, RosterRowOut, StudentRefScheme, text_problem

REQUIRED = ("centre", "session", "name", "programme")

# What each stored column of a roster row holds: (column size, case-folded).
# The database would refuse (PostgreSQL) or keep (SQLite) a longer value;
# the import refuses it on both, before writing anything.
ROSTER_LIMITS = {"centre": (CENTRE_CHARS, True), "session": (SESSION_CHARS, True),
                 "name": (PERSON_NAME_CHARS, False), "programme": (PROGRAMME_CHARS, False),
                 "student_ref": (STUDENT_REF_CHARS, False)}


# Rows between two progress lines: ~1 min on one core, seconds on eight.
PROGRESS_EVERY = 500


class CsvImportError(Exception):
    """The file cannot be imported; nothing was changed."""


def check_fields(path: Path, line: int, row: dict[str, str],
                 limits: dict[str, tuple[int, bool]]) -> None:
    """CsvImportError naming the file, line, column and limit when one of
    the row's values does not fit its column (the message never quotes a value)."""
    for column, (max_chars, folded) in limits.items():
        problem = text_problem(row.get(column, ""), max_chars, folded=folded)
        if problem:
            raise CsvImportError(f"{path}: line {line}: {column} {problem}")


@dataclass
class ImportResult:
    per_centre: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # by line number, never the row's data


def read_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (lower-case) and the non-empty rows with their line numbers,
    every header column in each (a short row's missing cells are "")."""
    try:
        text = read_bounded(path, MAX_ROSTER_BYTES, "CSV file").decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            cells = [(reader.line_num, row) for row in reader]
        except csv.Error as err:  # e.g. a field over csv.field_size_limit()
            raise CsvImportError(f"{path}: line {reader.line_num}: {err}") from None
    except FileNotFoundError:
        raise CsvImportError(f"{path}: not found") from None
    except ReadRefused as err:
        raise CsvImportError(str(err)) from None
    except UnicodeDecodeError:
        raise CsvImportError(f"{path}: not UTF-8 (in Excel, save as 'CSV UTF-8')") from None
    _check_no_nul(path, cells)
    header = [h.strip().lower() for h in cells[0][1]] if cells else []
    missing = [c for c in required if c not in header]
    if missing:
        raise CsvImportError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = [(line, dict(zip(header, [c.strip() for c in row] + [""] * (len(header) - len(row)))))
            for line, row in cells[1:] if any(c.strip() for c in row)]
    return header, rows


def _check_no_nul(path: Path, cells: list[tuple[int, list[str]]]) -> None:
    # PostgreSQL cannot store a NUL character and SQLite would; no name or ID
    # number holds one, so the file is damaged or not text: refused whole.
    header = [h.strip().lower() for h in cells[0][1]] if cells else []
    for n, (line, row) in enumerate(cells):
        for i, cell in enumerate(row):
            if "\x00" in cell:
                column = header[i] if n and i < len(header) and header[i] else f"column {i + 1}"
                raise CsvImportError(f"{path}: line {line}: {column} contains a NUL character, "
                                     "which the database cannot store (is it a text CSV? in "
                                     "Excel, save as 'CSV UTF-8')")


def import_roster(db: Session, path: Path, workers: int | None = None,
                  progress: Callable[[str], None] | None = None) -> ImportResult:
    """Replace the roster of every centre named in the file, in one transaction.

    Every row is checked before any is hashed (a bad line fails at once, not
    after minutes of scrypt); the refs are then made on `workers` threads
    (photo_wire.ids.refs_in_parallel: os.cpu_count() by default). progress:
    one line per PROGRESS_EVERY refs, for the office to see it working."""
    header, rows = read_csv(path, REQUIRED)
    if "id_number" not in header and "student_ref" not in header:
        raise CsvImportError(f"{path}: needs an id_number or a student_ref column")
    result = ImportResult()
    kept: list[tuple[dict[str, str], str, str]] = []  # (row, normalised id_number, normalised uid)
    for line, row in rows:
        id_number = normalise_id(row.get("id_number", ""))
        if "E+" in id_number:
            result.warnings.append(f"line {line}: id_number was saved as a number by Excel "
                                   "and lost digits (format the column as text); skipped")
            continue
        if not (id_number or row.get("student_ref", "")) or not row["centre"] or not row["session"]:
            result.warnings.append(f"line {line}: no id_number/student_ref, centre or session; skipped")
            continue
        # A ref made from an ID number is 64 hex digits and always fits; a
        # given student_ref is checked as it is.
        check_fields(path, line, {**row, "student_ref": "" if id_number else row["student_ref"]},
                     ROSTER_LIMITS)
        kept.append((row, id_number, normalise_uid(row.get("card_uid", ""))))
    id_refs = iter(_refs([id_number for _, id_number, _ in kept if id_number], "id",
                         "student refs", workers, progress))
    uid_refs = iter(_refs([uid for _, _, uid in kept if uid], "uid", "card UID refs",
                          workers, progress))
    new = [RosterRow(centre=name_key(row["centre"]), session=name_key(row["session"]),
                     student_ref=next(id_refs) if id_number else row["student_ref"],
                     uid_hash=next(uid_refs) if uid else None,
                     name=row["name"], programme=row["programme"])
           for row, id_number, uid in kept]
    centres = sorted({r.centre for r in new})
    for centre in centres:
        ensure_centre(db, centre)
        db.execute(delete(RosterRow).where(RosterRow.centre == centre))
    db.add_all(new)
    db.commit()
    for r in new:
        result.per_centre[r.centre] = result.per_centre.get(r.centre, 0) + 1
    return result


def _refs(values: list[str], kind: Kind, what: str, workers: int | None,
          progress: Callable[[str], None] | None) -> list[str]:
    def report(done: int, total: int) -> None:
        if progress and total >= PROGRESS_EVERY:  # a small file is done before anyone waits
            progress(f"{what}: {done}/{total}")

    return refs_in_parallel(values, kind, workers, report, every=PROGRESS_EVERY)


def retake_reasons(db: Session) -> dict[str, str]:
    """Students on the roster whose every capture the office rejected, with
    the reason code of the latest rejection."""
    accepted = select(CaptureReview.student_ref).where(CaptureReview.decision != "rejected")
    rejected = db.execute(
        select(CaptureReview.student_ref, CaptureReview.reason)
        .where(CaptureReview.decision == "rejected",
               CaptureReview.student_ref.in_(select(RosterRow.student_ref)),
               CaptureReview.student_ref.not_in(accepted))
        .order_by(CaptureReview.decided_at))
    return {ref: reason or "other" for ref, reason in rejected}  # the latest wins


def roster_for(db: Session, centre: str) -> RosterOut:
    """A booth's roster: every student of the school (a makeup shoot takes
    anyone; a student at the wrong centre is told theirs), as refs, centre,
    session, retake and its reason; no names or programmes (what a stolen
    booth token gets). centre: the booth's own."""
    rows = db.scalars(select(RosterRow).order_by(RosterRow.centre, RosterRow.session,
                                                 RosterRow.student_ref, RosterRow.id)).all()
    retake = retake_reasons(db)
    out = [RosterRowOut(student_ref=r.student_ref, uid_hash=r.uid_hash, centre=r.centre,
                        session=r.session, retake=r.student_ref in retake,
                        retake_reason=retake.get(r.student_ref)) for r in rows]
    scheme = StudentRefScheme()
    # The version is a hash of what is sent, so it changes exactly when the
    # roster (or the scheme) does, with no counter to keep in step.
    canonical = json.dumps([r.model_dump() for r in out] + [scheme.model_dump()],
                           sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return RosterOut(centre=centre, version=version, student_ref_scheme=scheme, rows=out)
