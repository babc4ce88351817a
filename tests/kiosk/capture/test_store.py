"""The capture store on real SQLite files and real directories."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import sqlite3
import stat
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from kiosk.capture.store import CaptureStore, StoreError
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student
from photo_wire.ids import code_digest

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
    original_jpeg: bytes | None = None  # the full still not kept


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
    capture_id = store.save(request(), "morning", {"compliant": True, "problems": [],
                                                    "measures": {"sharpness": 0.9}})
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
    assert "id_masked" not in row.keys()  # nothing that narrows the ID number
    assert row["code_payload"] == PAYLOAD
    assert row["consent_version"] == "2026-11-v1"
    assert row["consent_time"].startswith("2026-11-22T09:30")
    assert row["kiosk_id"] == "kiosk-07"
    assert row["session"] == "morning"
    assert row["spec_path"] == f"photos/{capture_id}/spec.jpg"
    assert row["original_path"] == f"photos/{capture_id}/original.jpg"
    assert json.loads(row["report_json"]) == {"passed": True, "problems": [],
                                              "measures": {"sharpness": 0.9}}
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


# ---------------------------------------------------------------- sealing

SERVER_KEY = PrivateKey.generate()  # stands in for the school server's server.key


@pytest.fixture
def sealed_store(data_dir: Path):
    s = CaptureStore(data_dir, "kiosk-07", public_key=bytes(SERVER_KEY.public_key))
    yield s
    s.close()


def open_sealed(path: Path, key: PrivateKey = SERVER_KEY) -> dict:
    return json.loads(SealedBox(key).decrypt(path.read_bytes()))


def everything_on_disk(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_sealed_save_writes_one_sealed_file_and_no_plain_data(
        sealed_store: CaptureStore, data_dir: Path) -> None:
    assert sealed_store.sealing
    report = {"passed": False, "problems": ["BLURRY"], "measures": {"sharpness": 0.9}}
    capture_id = sealed_store.save(request(), "morning", report)

    path = data_dir / "sealed" / f"{capture_id}.sealed"
    assert sorted(p.name for p in (data_dir / "sealed").iterdir()) == [path.name]
    assert photo_folders(data_dir) == []  # no plain photo files at all
    assert mode(path) == 0o600 and mode(data_dir / "sealed") == 0o700

    (row,) = rows(data_dir)
    assert row["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["status"] == "captured" and row["student_ref"] == "ref-zhang"
    assert "id_masked" not in row.keys()
    assert row["code_digest"] == code_digest(PAYLOAD)  # photo_wire's scrypt, no key
    assert row["consent_version"] == "2026-11-v1" and row["kiosk_id"] == "kiosk-07"
    assert row["session"] == "morning" and row["created_at"] == row["updated_at"]
    for personal in ("code_payload", "consent_time", "spec_path", "original_path", "report_json"):
        assert row[personal] is None, personal

    # Nothing personal anywhere on the card: database, WAL, sealed file.
    disk = everything_on_disk(data_dir)
    for secret in (ID_NUMBER.encode(), PAYLOAD.encode(), "张三".encode(), SPEC, ORIGINAL[:40],
                   base64.b64encode(SPEC)):
        assert secret not in disk

    doc = open_sealed(path)
    assert base64.b64decode(doc["spec_jpeg"]) == SPEC
    assert base64.b64decode(doc["original_jpeg"]) == ORIGINAL
    assert doc["id_number"] == ID_NUMBER and doc["name"] == "张三"
    assert doc["id_masked"] == "110101********1236"
    assert doc["code_payload"] == PAYLOAD and doc["student_ref"] == "ref-zhang"
    assert doc["programme"] == "计算机科学与技术"
    assert doc["consent_version"] == "2026-11-v1"
    assert doc["consent_time"].startswith("2026-11-22T09:30")
    assert doc["check_report"] == report
    assert doc["kiosk_id"] == "kiosk-07" and doc["session"] == "morning"
    assert doc["capture_id"] == capture_id and doc["created_at"] == row["created_at"]
    assert doc["format"] == "photo-kiosk-capture/2"  # photo_wire.capture.CAPTURE_FORMAT
    assert doc["name_disputed"] is False


def test_a_disputed_name_is_sealed_for_the_office(sealed_store: CaptureStore,
                                                  data_dir: Path) -> None:
    disputed = request()
    disputed.student.name_disputed = True  # 信息有误 on the confirm screen
    capture_id = sealed_store.save(disputed, "morning", {"passed": True})
    doc = open_sealed(data_dir / "sealed" / f"{capture_id}.sealed")
    assert doc["name_disputed"] is True and doc["name"] == "张三"


def test_the_kiosk_cannot_open_its_own_backlog(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = sealed_store.save(request(), "morning", {})
    sealed = (data_dir / "sealed" / f"{capture_id}.sealed").read_bytes()
    # All the kiosk holds is the public key: a SealedBox on it cannot decrypt.
    with pytest.raises(TypeError):
        SealedBox(SERVER_KEY.public_key).decrypt(sealed)
    with pytest.raises(CryptoError):
        SealedBox(PrivateKey.generate()).decrypt(sealed)
    assert bytes(SERVER_KEY) not in everything_on_disk(data_dir)
    assert base64.b64encode(bytes(SERVER_KEY)) not in everything_on_disk(data_dir)


def test_sealed_lookups_work_on_digests(sealed_store: CaptureStore) -> None:
    sealed_store.save(request(), "s1", {})
    assert sealed_store.student_for_code(PAYLOAD) == "ref-zhang"
    assert sealed_store.student_for_code("CHSI-OTHER-CODE-0000000") is None
    assert sealed_store.has_capture("ref-zhang") and sealed_store.pending_count() == 1


def test_sealed_save_spec_only_and_failures(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = sealed_store.save(request(SpecOnlyPhoto()), "morning", {})
    assert "original_jpeg" not in open_sealed(data_dir / "sealed" / f"{capture_id}.sealed")
    with pytest.raises(StoreError):
        sealed_store.save(request(BrokenOriginal(), ref="ref-li"), "morning", {})
    with pytest.raises(StoreError, match="spec_jpeg"):
        sealed_store.save(request(SpecOnlyPhoto(spec_jpeg=b""), ref="ref-li"), "morning", {})
    assert [p.name for p in (data_dir / "sealed").iterdir()] == [f"{capture_id}.sealed"]
    assert len(rows(data_dir)) == 1 and not sealed_store.has_capture("ref-li")


def test_one_capture_id_is_never_two_rows(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = uuid.uuid4().hex
    assert sealed_store.save(request(), "morning", {}, capture_id=capture_id) == capture_id
    first = (data_dir / "sealed" / f"{capture_id}.sealed").read_bytes()
    assert sealed_store.save(request(), "morning", {}, capture_id=capture_id) == capture_id
    assert len(rows(data_dir)) == 1
    assert (data_dir / "sealed" / f"{capture_id}.sealed").read_bytes() == first


def test_sealed_database_failure_removes_the_sealed_file(sealed_store: CaptureStore,
                                                          data_dir: Path) -> None:
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.execute("DROP TABLE captures")
    conn.close()
    with pytest.raises(StoreError, match="OperationalError"):
        sealed_store.save(request(), "morning", {})
    assert list((data_dir / "sealed").iterdir()) == []


def test_recover_tidies_sealed_files(sealed_store: CaptureStore, data_dir: Path) -> None:
    kept = sealed_store.save(request(), "morning", {})
    lost = sealed_store.save(request(ref="ref-li"), "morning", {})
    sealed = data_dir / "sealed"
    orphan = uuid.uuid4().hex
    (sealed / f"{orphan}.sealed").write_bytes(b"a row never committed")  # crash before the row
    (sealed / f"{uuid.uuid4().hex}.sealed.tmp").write_bytes(b"half")  # crash mid-write
    (sealed / f"{lost}.sealed").unlink()

    result = sealed_store.recover()
    assert result.removed_orphans == [orphan]
    assert result.missing_files == [lost]
    assert sorted(p.name for p in sealed.iterdir()) == [f"{kept}.sealed"]


# ------------------------------------------------------------ outbox, purge

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_acknowledgement_needs_the_capture_digest(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = sealed_store.save(request(), "morning", {})
    (item,) = sealed_store.outbox()
    assert item.capture_id == capture_id and item.kiosk_id == "kiosk-07"
    assert sealed_store.sealed_bytes(item) == (data_dir / "sealed" / f"{capture_id}.sealed").read_bytes()
    assert not sealed_store.mark_acknowledged(capture_id, "0" * 64, "2026-11-22T12:00:00")
    assert rows(data_dir)[0]["status"] == "captured"
    sealed_store.mark_uploading([capture_id])
    assert rows(data_dir)[0]["status"] == "uploading" and sealed_store.pending_count() == 1
    assert sealed_store.requeue_uploading() == 1
    assert sealed_store.mark_acknowledged(capture_id, item.digest, "2026-11-22T12:00:00", at=NOW)
    row = rows(data_dir)[0]
    assert row["status"] == "acknowledged" and row["received_at"] == "2026-11-22T12:00:00"
    assert sealed_store.pending_count() == 0 and sealed_store.outbox() == []


def test_rejected_captures_wait_for_staff(sealed_store: CaptureStore) -> None:
    capture_id = sealed_store.save(request(), "morning", {})
    sealed_store.mark_rejected(capture_id, "409 Conflict")
    assert sealed_store.outbox() == [] and sealed_store.pending_count() == 1
    assert sealed_store.rejected() == [(capture_id, "409 Conflict")]
    assert sealed_store.status_counts()["rejected"] == 1
    assert sealed_store.retry_rejected() == 1
    assert [i.capture_id for i in sealed_store.outbox()] == [capture_id]


def test_damaged_sealed_file_is_detected(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = sealed_store.save(request(), "morning", {})
    path = data_dir / "sealed" / f"{capture_id}.sealed"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # always a different byte
    with pytest.raises(ValueError, match="digest"):
        sealed_store.sealed_bytes(sealed_store.outbox()[0])


def test_purge_only_acknowledged_captures_after_retention(sealed_store: CaptureStore,
                                                          data_dir: Path) -> None:
    acked = sealed_store.save(request(), "morning", {})
    waiting = sealed_store.save(request(ref="ref-li"), "morning", {})
    (item,) = [i for i in sealed_store.outbox() if i.capture_id == acked]
    sealed_store.mark_acknowledged(acked, item.digest, "2026-11-22T12:00:00", at=NOW)

    assert sealed_store.purge_acknowledged(NOW - timedelta(seconds=1)) == []
    assert sealed_store.purge_acknowledged(NOW) == [acked]
    by_id = {r["capture_id"]: r for r in rows(data_dir)}
    assert by_id[acked]["status"] == "purged" and by_id[acked]["purged_at"]
    assert by_id[waiting]["status"] == "captured"
    assert sorted(p.name for p in (data_dir / "sealed").iterdir()) == [f"{waiting}.sealed"]
    assert sealed_store.has_capture("ref-zhang")  # the row stays
    assert sealed_store.student_for_code(PAYLOAD) == "ref-zhang"
    assert sealed_store.purge_acknowledged(NOW + timedelta(days=365)) == []
    assert sealed_store.recover().missing_files == []  # a purged row needs no file


def test_recover_finishes_an_interrupted_purge(sealed_store: CaptureStore, data_dir: Path) -> None:
    capture_id = sealed_store.save(request(), "morning", {})
    content = (data_dir / "sealed" / f"{capture_id}.sealed").read_bytes()
    item = sealed_store.outbox()[0]
    sealed_store.mark_acknowledged(capture_id, item.digest, "2026-11-22T12:00:00", at=NOW)
    sealed_store.purge_acknowledged(NOW)
    # A crash after marking the row, before the delete:
    (data_dir / "sealed" / f"{capture_id}.sealed").write_bytes(content)
    sealed_store.recover()
    assert list((data_dir / "sealed").iterdir()) == []


# -------------------------------------------------------------- migration

V0_SCHEMA = """
CREATE TABLE captures (
    capture_id TEXT PRIMARY KEY, student_ref TEXT NOT NULL, id_masked TEXT NOT NULL,
    code_payload TEXT NOT NULL, consent_version TEXT NOT NULL, consent_time TEXT,
    kiosk_id TEXT NOT NULL, session TEXT NOT NULL, spec_path TEXT NOT NULL,
    original_path TEXT, report_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'captured'
        CHECK (status IN ('captured', 'uploading', 'acknowledged', 'purged')),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX captures_student_ref ON captures (student_ref);
CREATE INDEX captures_status ON captures (status);
"""


def make_v0_store(data_dir: Path) -> str:
    """A data dir as the first store version left it: one plain capture."""
    capture_id = uuid.uuid4().hex
    folder = data_dir / "photos" / capture_id
    folder.mkdir(parents=True)
    (folder / "spec.jpg").write_bytes(SPEC)
    conn = sqlite3.connect(data_dir / "captures.db")
    conn.executescript(V0_SCHEMA)
    with conn:
        conn.execute(
            "INSERT INTO captures VALUES (?, 'ref-zhang', '110101********1236', ?, '2026-11-v1',"
            " NULL, 'kiosk-07', 'morning', ?, NULL, '{}', 'captured', '2026-11-20T09:00:00+00:00',"
            " '2026-11-20T09:00:00+00:00')", (capture_id, PAYLOAD, f"photos/{capture_id}/spec.jpg"))
    conn.close()
    return capture_id


def test_first_schema_is_migrated(data_dir: Path) -> None:
    capture_id = make_v0_store(data_dir)
    s = CaptureStore(data_dir, "kiosk-07")
    try:
        # The old ref waits, marked, for the roster's re-keying (test_privacy.py).
        assert s.student_for_code(PAYLOAD) == "legacy:ref-zhang"
        assert s.legacy_refs() == {"ref-zhang"}
        assert s.pending_count() == 1 and s.recover().missing_files == []
        (row,) = rows(data_dir)
        assert row["capture_id"] == capture_id and row["code_payload"] == PAYLOAD
        assert "id_masked" not in row.keys()
        conn = sqlite3.connect(data_dir / "captures.db")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        conn.close()
    finally:
        s.close()


def test_plain_backlog_is_sealed_once_a_key_is_configured(data_dir: Path) -> None:
    plain = CaptureStore(data_dir, "kiosk-07")
    capture_id = plain.save(request(), "morning", {"compliant": True})
    plain.close()
    s = CaptureStore(data_dir, "kiosk-07", public_key=bytes(SERVER_KEY.public_key))
    try:
        result = s.recover()
        assert result.sealed_legacy == [capture_id]
        assert photo_folders(data_dir) == []
        (row,) = rows(data_dir)
        assert row["code_payload"] is None and row["spec_path"] is None and row["digest"]
        doc = open_sealed(data_dir / "sealed" / f"{capture_id}.sealed")
        assert base64.b64decode(doc["spec_jpeg"]) == SPEC
        assert base64.b64decode(doc["original_jpeg"]) == ORIGINAL
        assert doc["code_payload"] == PAYLOAD and doc["check_report"]["passed"] is True
        assert s.student_for_code(PAYLOAD) == "ref-zhang"
        assert [i.capture_id for i in s.outbox()] == [capture_id]
        assert s.recover().sealed_legacy == []  # once
    finally:
        s.close()
