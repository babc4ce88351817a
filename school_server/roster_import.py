"""The roster import, used by the office's upload page and `photo-server
import-roster` alike: check every row, then hash, then replace.

1. check(): the file is read a row at a time (table_file: CSV in UTF-8 or
   GBK, or XLSX; Chinese or English headers) and every row checked (GB 11643,
   the same ID number twice or under another name, unknown centre or session
   when a schedule exists, sizes the database can hold). Rows go to a
   staging database, a private temporary SQLite file beside the server's
   data: memory stays bounded whatever the file's size. Nothing is changed.
2. hash(): the clean rows' ID numbers become student_refs (scrypt, on a
   thread pool: the scrypt call releases the GIL), a batch at a time, with
   progress and a cancel between batches; still nothing changed.
3. replace(): one short transaction replaces the roster of every centre with
   clean rows, so booths' uploads wait for seconds, not for the hashing.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from photo_wire.idnumber import entry_problem, mask_id
from photo_wire.ids import normalise_id, normalise_uid, refs_in_parallel
from school_server.auth import ensure_centre
from school_server.import_problems import Problem, Problems
from school_server.models import (CENTRE_CHARS, PERSON_NAME_CHARS, PHONE_CHARS, PROGRAMME_CHARS,
                                  SESSION_CHARS, STUDENT_NO_CHARS, STUDENT_REF_CHARS, RosterRow,
                                  ScheduleEntry, name_key)
from school_server.schemas import text_problem
from school_server.progress import forget_student_counts
from school_server.table_file import Header, TableFileError, table_rows

# Header cell (compared without spaces, underscores or case) -> field.
HEADERS = {
    "姓名": "name", "name": "name",
    "身份证号": "id_number", "身份证号码": "id_number", "证件号码": "id_number",
    "id_number": "id_number",
    "学习中心": "centre", "教学点": "centre", "centre": "centre", "center": "centre",
    "场次": "session", "采集场次": "session", "session": "session",
    "专业": "programme", "programme": "programme", "program": "programme",
    "学号": "student_no", "student_no": "student_no",
    "手机号": "phone", "手机号码": "phone", "联系电话": "phone", "phone": "phone",
    "卡号": "card_uid", "card_uid": "card_uid",
    "学生编号": "student_ref", "student_ref": "student_ref",
}
REQUIRED = ("name", "centre", "session")
# Field: (column size, case-folded in the column).
LIMITS = {"centre": (CENTRE_CHARS, True), "session": (SESSION_CHARS, True),
          "name": (PERSON_NAME_CHARS, False), "programme": (PROGRAMME_CHARS, False),
          "student_ref": (STUDENT_REF_CHARS, False), "student_no": (STUDENT_NO_CHARS, False),
          "phone": (PHONE_CHARS, False)}
PHONE = re.compile(r"\+?[0-9][0-9 \-]{5,30}")
# Rows hashed between two looks at the cancel flag (a few seconds of work).
BATCH_PER_WORKER = 16
INSERT_BATCH = 1000
STAGED = ("line", "centre", "session", "name", "programme", "id_number", "id_masked",
          "student_ref", "card_uid", "uid_hash", "student_no", "phone")

Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The admin cancelled the import; nothing was changed."""


@dataclass
class CheckResult:
    rows: int = 0  # data rows in the file
    problems: Problems = field(default_factory=Problems)
    header: Header | None = None
    clean: int = 0  # rows without a problem


def known_sessions(db: Session) -> dict[str, set[str]]:
    """The schedule's sessions by centre (empty: no schedule, nothing to check against)."""
    out: dict[str, set[str]] = {}
    for centre, session in db.execute(select(ScheduleEntry.centre, ScheduleEntry.session)):
        out.setdefault(centre, set()).add(session)
    return out


class RosterImport:
    """One file's import; close() removes its staging database."""

    def __init__(self, path: Path, work_dir: Path, schedule: dict[str, set[str]]) -> None:
        self.path, self.schedule = path, schedule
        work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="roster-", suffix=".db", dir=work_dir)
        os.close(fd)  # mkstemp: 0600, ours alone (it holds ID numbers until close)
        self.staging_path = Path(name)
        self.staging = sqlite3.connect(name, check_same_thread=False)
        self.staging.execute("PRAGMA journal_mode=OFF")
        self.staging.execute("PRAGMA synchronous=OFF")
        self.staging.execute(f"CREATE TABLE rows ({', '.join(STAGED)}, ok INTEGER)")
        self.staging.execute("CREATE TABLE ids (id TEXT PRIMARY KEY, line INTEGER, name TEXT)")
        self.result = CheckResult()
        self._pending: list[tuple[object, ...]] = []  # rows checked, not yet written
        self._late_bad: list[tuple[int]] = []  # earlier rows a later one showed wrong

    def close(self) -> None:
        self.staging.close()
        self.staging_path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ 1. check

    def check(self, progress: Progress | None = None) -> CheckResult:
        """Read and check every row (TableFileError: the file cannot be read)."""
        header, rows = table_rows(self.path, HEADERS, REQUIRED)
        self.result.header = header
        if "id_number" not in header.fields and "student_ref" not in header.fields:
            raise TableFileError("missing_columns",
                                 f"{self.path}: needs an id_number (身份证号) or student_ref column")
        for line, row in rows:
            self.result.rows += 1
            self._check_row(line, row)
            if len(self._pending) == INSERT_BATCH:
                self._flush()
                if progress:
                    progress(self.result.rows, 0)
        self._flush()
        self.staging.executemany("UPDATE rows SET ok = 0 WHERE line = ?", self._late_bad)
        self.staging.commit()
        self.result.clean = self.clean_rows()
        return self.result

    def _flush(self) -> None:
        self.staging.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * (len(STAGED) + 1))})",
                                 self._pending)
        self._pending = []

    def _problem(self, line: int, column: str, code: str, **params: object) -> None:
        self.result.problems.add(Problem(line, column, code, params))

    def _check_row(self, line: int, row: dict[str, str]) -> None:
        before = self.result.problems.count
        nul = [column for column, value in row.items() if "\x00" in value]
        for column in nul:  # named once, then checked no further
            self._problem(line, column, "nul")
            row[column] = ""
        for column in REQUIRED:
            if not row[column] and column not in nul:
                self._problem(line, column, "missing")
        for column, (chars, folded) in LIMITS.items():
            problem = text_problem(row.get(column, ""), chars, folded=folded)
            if problem:
                self._problem(line, column, "too_long", detail=problem, max=chars)
        id_number, id_masked, ref = self._id(line, row) if not nul else ("", "", "")
        phone = row.get("phone", "")
        if phone and not PHONE.fullmatch(phone):
            self._problem(line, "phone", "bad_phone")
        centre, session = name_key(row["centre"]), name_key(row["session"])
        # A session the centre's schedule lacks (a typo, "12月7日上午" for "12月7日 上午")
        # would never be on the schedule's missing list. A centre without a
        # schedule is taken: its schedule may come later.
        if (session and centre in self.schedule and session not in self.schedule[centre]
                and self.result.problems.count == before):
            self._problem(line, "session", "unknown_session")
        ok = self.result.problems.count == before
        self._pending.append(
            (line, centre, session, row["name"], row.get("programme", ""), id_number, id_masked,
             ref, normalise_uid(row.get("card_uid", "")), None, row.get("student_no", ""),
             phone, int(ok)))

    def _id(self, line: int, row: dict[str, str]) -> tuple[str, str, str]:
        """(ID number to hash, its masked form, a given student_ref)."""
        id_number, ref = normalise_id(row.get("id_number", "")), row.get("student_ref", "")
        if not id_number:
            if not ref:
                self._problem(line, "id_number", "missing")
            return "", "", ref
        if "*" in id_number:  # the missing list's masked number, with its student_ref
            if not ref:
                self._problem(line, "id_number", "id_masked_no_ref")
            return "", id_number[:18], ref
        if "E+" in id_number:
            self._problem(line, "id_number", "excel_number")
            return "", "", ""
        problem = entry_problem(id_number)
        if problem:
            self._problem(line, "id_number", f"id_{problem}")
            return "", "", ""
        seen = self.staging.execute("SELECT line, name FROM ids WHERE id = ?",
                                    (id_number,)).fetchone()
        if seen is None:
            self.staging.execute("INSERT INTO ids VALUES (?, ?, ?)", (id_number, line, row["name"]))
        elif seen[1] == row["name"]:
            self._problem(line, "id_number", "duplicate", other=seen[0])
        else:
            self._problem(line, "id_number", "other_name", other=seen[0])
            self._problem(seen[0], "id_number", "other_name", other=line)
            self._late_bad.append((seen[0],))
        return id_number, mask_id(id_number), ""

    # ------------------------------------------------------------------ 2. hash

    def clean_rows(self) -> int:
        return self.staging.execute("SELECT count(*) FROM rows WHERE ok = 1").fetchone()[0]

    def hash(self, workers: int | None = None, progress: Progress | None = None,
             cancelled: Callable[[], bool] = lambda: False) -> None:
        """student_ref and uid_hash of every clean row (Cancelled when asked to stop)."""
        total, done = self.clean_rows(), 0
        batch = BATCH_PER_WORKER * (workers or os.cpu_count() or 1)
        last = -1
        while True:
            rows = self.staging.execute(
                "SELECT line, id_number, card_uid FROM rows WHERE ok = 1 AND line > ? "
                "ORDER BY line LIMIT ?", (last, batch)).fetchall()
            if not rows:
                break
            if cancelled():
                raise Cancelled()
            ids = [r[1] for r in rows if r[1]]
            uids = [r[2] for r in rows if r[2]]
            id_refs = iter(refs_in_parallel(ids, "id", workers) if ids else [])
            uid_refs = iter(refs_in_parallel(uids, "uid", workers) if uids else [])
            for line, id_number, uid in rows:
                self.staging.execute(
                    "UPDATE rows SET student_ref = coalesce(?, student_ref), uid_hash = ?, "
                    "id_number = '' WHERE line = ?",  # the plain number is no longer needed
                    (next(id_refs) if id_number else None, next(uid_refs) if uid else None, line))
            self.staging.commit()
            done += len(rows)
            last = rows[-1][0]
            if progress:
                progress(done, total)
        self.staging.execute("DELETE FROM ids")
        self.staging.commit()

    # ------------------------------------------------------------------ 3. replace

    def _staged(self) -> Iterator[dict[str, object]]:
        cursor = self.staging.execute(
            "SELECT centre, session, name, programme, student_ref, uid_hash, id_masked, "
            "student_no, phone FROM rows WHERE ok = 1 ORDER BY line")
        for c, s, n, p, ref, uid, masked, no, phone in cursor:
            yield {"centre": c, "session": s, "name": n, "programme": p, "student_ref": ref,
                   "uid_hash": uid, "id_masked": masked or None, "student_no": no or None,
                   "phone": phone or None}

    def replace(self, db: Session, sessions_only: bool = False) -> dict[str, int]:
        """Replace the roster of each centre with clean rows, in one transaction
        (sessions_only: only the centre's sessions in the file, as a makeup
        roster adds its session beside the others); the rows per centre."""
        per_centre = dict(self.staging.execute(
            "SELECT centre, count(*) FROM rows WHERE ok = 1 GROUP BY centre").fetchall())
        for centre in sorted(per_centre):
            ensure_centre(db, centre)
            gone = delete(RosterRow).where(RosterRow.centre == centre)
            if sessions_only:
                gone = gone.where(RosterRow.session.in_([s for (s,) in self.staging.execute(
                    "SELECT DISTINCT session FROM rows WHERE ok = 1 AND centre = ?", (centre,))]))
            db.execute(gone)
        batch: list[dict[str, object]] = []
        for row in self._staged():
            batch.append(row)
            if len(batch) == INSERT_BATCH:
                db.execute(insert(RosterRow), batch)
                batch = []
        if batch:
            db.execute(insert(RosterRow), batch)
        db.commit()
        forget_student_counts()
        return per_centre
