"""The capture store on real SQLite files and real directories."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.flow import CaptureRequest, RosterMatch, RosterOutcome, Student
from kiosk.hardware.id_reader import IdCard
from kiosk.store import CaptureStore, StoreError

ID_NUMBER = "110101200103151236"
PAYLOAD = "CHSI-OPAQUE-PAYLOAD-0123456789abcdef"
SPEC = b"\xff\xd8spec-jpeg\xff\xd9"
ORIGINAL = b"\xff\xd8original-jpeg\xff\xd9" * 100


@dataclass
class Photo:
    spec_jpeg: bytes = SPEC
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    original_jpeg: bytes | None = ORIGINAL


@dataclass
class SpecOnlyPhoto:
    spec_jpeg: bytes = SPEC
    compliant: bool = True
    problems: list[str] = field(default_factory=list)


class BrokenOriginal:
    """The spec photo is fine; reading the original fails halfway through a save."""

    spec_jpeg = SPEC
    compliant = True
    problems: list[str] = []

    @property
    def original_jpeg(self) -> bytes:
        raise RuntimeError("camera buffer gone")


def request(photo: object | None = None, ref: str = "ref-zhang") -> CaptureRequest:
    student = Student(
        card=IdCard(id_number=ID_NUMBER, name="张三"),
        match=RosterMatch(RosterOutcome.EXPECTED, "计算机科学与技术", ref),
        consent_version="2026-11-v1",
        consent_time=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc),
        code_payload=PAYLOAD,
    )
    return CaptureRequest(student=student, photo=photo if photo is not None else Photo())  # type: ignore[arg-type]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "kiosk-data"


@pytest.fixture
def store(data_dir: Path):
    s = CaptureStore(data_dir, "kiosk-07")
    yield s
    s.close()


def rows(data_dir: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM captures ORDER BY created_at").fetchall()
    finally:
        conn.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def photo_folders(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "photos").iterdir())


# ------------------------------------------------------------------- save


def test_save_writes_files_then_row(store: CaptureStore, data_dir: Path) -> None:
    capture_id = store.save(request(), "morning", {"checks": {"sharpness": 0.9}, "ok": True})
    assert len(capture_id) == 32 and uuid.UUID(hex=capture_id).version == 4

    folder = data_dir / "photos" / capture_id
    assert (folder / "spec.jpg").read_bytes() == SPEC
    assert (folder / "original.jpg").read_bytes() == ORIGINAL
    assert mode(folder / "spec.jpg") == 0o600
    assert mode(folder / "original.jpg") == 0o600
    for d in (data_dir, data_dir / "photos", folder):
        assert mode(d) == 0o700
    assert mode(data_dir / "captures.db") == 0o600
    assert list(folder.glob("*.tmp")) == []

    (row,) = rows(data_dir)
    assert row["capture_id"] == capture_id
    assert row["status"] == "captured"
    assert row["student_ref"] == "ref-zhang"
    assert row["id_masked"] == "110101********1236"
    assert row["code_payload"] == PAYLOAD
    assert row["consent_version"] == "2026-11-v1"
    assert row["consent_time"].startswith("2026-11-22T09:30")
    assert row["kiosk_id"] == "kiosk-07"
    assert row["session"] == "morning"
    assert row["spec_path"] == f"photos/{capture_id}/spec.jpg"
    assert row["original_path"] == f"photos/{capture_id}/original.jpg"
    assert json.loads(row["report_json"]) == {"checks": {"sharpness": 0.9}, "ok": True}
    assert row["created_at"] and row["created_at"] == row["updated_at"]
    assert ID_NUMBER not in repr(tuple(row))


def test_save_without_original(store: CaptureStore, data_dir: Path) -> None:
    capture_id = store.save(request(SpecOnlyPhoto()), "morning", {})
    assert (data_dir / "photos" / capture_id / "spec.jpg").exists()
    assert not (data_dir / "photos" / capture_id / "original.jpg").exists()
    assert rows(data_dir)[0]["original_path"] is None


def test_status_is_checked_by_the_table(store: CaptureStore, data_dir: Path) -> None:
    store.save(request(), "morning", {})
    conn = sqlite3.connect(data_dir / "captures.db")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE captures SET status = 'lost'")
    conn.close()


def test_counts_and_has_capture(store: CaptureStore, data_dir: Path) -> None:
    assert store.pending_count() == 0
    assert not store.has_capture("ref-zhang")
    first = store.save(request(ref="ref-zhang"), "morning", {})
    store.save(request(ref="ref-li"), "morning", {})
    assert store.pending_count() == 2
    assert store.has_capture("ref-zhang") and store.has_capture("ref-li")
    assert not store.has_capture("ref-wang") and not store.has_capture("")

    conn = sqlite3.connect(data_dir / "captures.db")
    with conn:
        conn.execute("UPDATE captures SET status = 'acknowledged' WHERE capture_id = ?", (first,))
    conn.close()
    assert store.pending_count() == 1
    assert store.has_capture("ref-zhang")  # uploaded still counts as captured


def test_rows_survive_reopening(data_dir: Path) -> None:
    s = CaptureStore(data_dir, "kiosk-07")
    s.save(request(), "morning", {})
    s.close()
    again = CaptureStore(data_dir, "kiosk-07")
    try:
        assert again.has_capture("ref-zhang")
        assert again.pending_count() == 1
    finally:
        again.close()


def test_payload_is_never_logged(store: CaptureStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store.save(request(), "morning", {})
    with pytest.raises(StoreError) as info:
        store.save(request(BrokenOriginal()), "morning", {})
    assert caplog.records  # something was logged, and none of it is personal
    assert PAYLOAD not in caplog.text and PAYLOAD not in str(info.value)
    assert ID_NUMBER not in caplog.text


# ---------------------------------------------------------------- pragmas


def test_wal_and_synchronous_full(store: CaptureStore, data_dir: Path) -> None:
    assert store.settings() == {"journal_mode": "wal", "synchronous": "full"}
    # WAL is a property of the file: a fresh connection sees it too.
    conn = sqlite3.connect(data_dir / "captures.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# --------------------------------------------------------------- failures


def test_failure_midway_leaves_no_files_and_no_row(store: CaptureStore, data_dir: Path) -> None:
    with pytest.raises(StoreError) as info:
        store.save(request(BrokenOriginal()), "morning", {})
    assert info.value.disk_full is False
    assert photo_folders(data_dir) == []
    assert rows(data_dir) == []
    assert not store.has_capture("ref-zhang")


def test_empty_photo_is_refused(store: CaptureStore, data_dir: Path) -> None:
    with pytest.raises(StoreError, match="spec_jpeg"):
        store.save(request(SpecOnlyPhoto(spec_jpeg=b"")), "morning", {})
    assert photo_folders(data_dir) == []


def test_database_failure_removes_written_files(store: CaptureStore, data_dir: Path) -> None:
    # Another connection breaks the table: the files are written, the insert fails.
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.execute("DROP TABLE captures")
    conn.close()
    with pytest.raises(StoreError, match="OperationalError"):
        store.save(request(), "morning", {})
    assert photo_folders(data_dir) == []


@pytest.fixture
def tiny_fs(tmp_path: Path):
    """A 1 MiB tmpfs, so the disk really fills (needs root to mount)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_is_flagged_and_cleaned_up(tiny_fs: Path) -> None:
    data_dir = tiny_fs / "data"
    s = CaptureStore(data_dir, "kiosk-07")
    try:
        assert 0 <= s.free_mb() <= 1
        big = Photo(original_jpeg=b"\xff" * (2 * 1024 * 1024))
        with pytest.raises(StoreError) as info:
            s.save(request(big), "morning", {})
        assert info.value.disk_full is True
        assert photo_folders(data_dir) == []
        assert s.pending_count() == 0
        # Space is back: the next save works.
        s.save(request(), "morning", {})
        assert s.pending_count() == 1
    finally:
        s.close()


def test_free_mb_reports_the_data_filesystem(store: CaptureStore, data_dir: Path) -> None:
    import shutil

    expected = shutil.disk_usage(data_dir).free // (1024 * 1024)
    assert abs(store.free_mb() - expected) <= 1


# ---------------------------------------------------------------- recover


def test_recover_removes_orphan_folders(store: CaptureStore, data_dir: Path) -> None:
    kept = store.save(request(), "morning", {})
    # A crash after the files, before the row.
    orphan = data_dir / "photos" / uuid.uuid4().hex
    orphan.mkdir()
    (orphan / "spec.jpg").write_bytes(SPEC)
    # A rewrite cut short inside a good folder.
    (data_dir / "photos" / kept / "spec.jpg.tmp").write_bytes(b"half")

    result = store.recover()
    assert result.removed_orphans == [orphan.name]
    assert result.missing_files == []
    assert photo_folders(data_dir) == [kept]
    assert sorted(p.name for p in (data_dir / "photos" / kept).iterdir()) == [
        "original.jpg",
        "spec.jpg",
    ]


def test_recover_notes_rows_whose_files_are_gone(store: CaptureStore, data_dir: Path) -> None:
    lost = store.save(request(), "morning", {})
    fine = store.save(request(ref="ref-li"), "morning", {})
    (data_dir / "photos" / lost / "original.jpg").unlink()
    result = store.recover()
    assert result.missing_files == [lost]
    assert fine not in result.missing_files
    assert result.removed_orphans == []


# ---------------------------------------------------------------- threads


def test_concurrent_saves_get_distinct_ids(store: CaptureStore, data_dir: Path) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(5):
            try:
                cid = store.save(request(ref=f"ref-{n}-{i}"), "morning", {"n": n, "i": i})
            except BaseException as err:  # handed back to the test thread
                errors.append(err)
                return
            with lock:
                ids.append(cid)
            store.has_capture(f"ref-{n}-{i}")
            store.pending_count()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(ids) == 40 and len(set(ids)) == 40
    assert len(rows(data_dir)) == 40
    assert photo_folders(data_dir) == sorted(ids)
    assert store.pending_count() == 40


def test_student_for_code_finds_the_earlier_capture(store: CaptureStore) -> None:
    store.save(request(), "s1", {})
    assert store.student_for_code(PAYLOAD) == "ref-zhang"
    assert store.student_for_code("CHSI-OTHER-CODE-0000000") is None
