"""The hand-over export by ID number: streamed a photo at a time, file names
only from valid ID numbers, one photo per student (the newest approved)."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from photo_wire.idnumber import check_character
from school_server import db as dbm, reviews
from school_server.handover import HandoverResult, Photo, zip_chunks
from school_server.keys import load_private_key
from school_server.settings import load_settings
from school_server.storage import open_store

from server.harness import Deployment, new_capture_id

ID_A = "11010519900307123" + check_character("11010519900307123")


def test_the_zip_is_streamed_a_photo_at_a_time() -> None:
    pulled: list[int] = []

    def photos() -> Iterator[Photo]:
        for i in range(3):
            pulled.append(i)
            yield Photo(f"{i:017d}X", bytes([i]) * 50_000)
    chunks = zip_chunks(photos(), HandoverResult())
    first = next(chunks)
    assert pulled == [0] and first.startswith(b"PK") and len(first) > 50_000
    rest = b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(first + rest)) as zf:
        assert zf.namelist() == [f"{i:017d}X.jpg" for i in range(3)] + ["manifest.csv"]


def _approve_all(dep: Deployment) -> None:
    settings = load_settings(dep.data_dir)
    engine = dbm.make_engine(settings.db_url)
    try:
        with dbm.make_sessions(engine)() as db:
            reviews.identify_new(db, open_store(settings), load_private_key(settings.private_key_file))
            for cap, _ in reviews.captures_by_decision(db, "pending", 100):
                reviews.decide(db, cap.capture_id, "approved", None, "tester")
    finally:
        engine.dispose()


def test_bad_id_numbers_and_older_duplicates_are_named_not_written(deployment: Deployment,
                                                                   tmp_path: Path) -> None:
    kiosk = deployment.enrol("Handover")
    jpeg = base64.b64encode(b"\xff\xd8fake").decode()
    ids = {}
    for label, id_number, created in (("old", ID_A, "2026-06-20T09:00:00+08:00"),
                                      ("new", ID_A, "2026-06-20T10:00:00+08:00"),
                                      ("escape", "../../etc/passwd", "2026-06-20T09:00:00+08:00")):
        cid = new_capture_id()
        doc = {"spec_jpeg": jpeg, "id_number": id_number, "name": "=cmd", "student_ref": label}
        body = kiosk.upload_body(kiosk.seal(doc), created_at=created)
        assert kiosk.put(cid, body).status_code == 201
        ids[label] = cid
    _approve_all(deployment)
    out = tmp_path / "out"
    result = deployment.cli("export", "--by-id", "--out", str(out), "--centre", "Handover")
    assert result.code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{ID_A}.jpg", "manifest.csv",
                                                            "problems.csv"])
    assert ids["escape"] in result.err and "no usable ID number" in result.err
    assert ids["old"] in result.err and "older capture" in result.err
    assert "passwd" not in result.err
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["capture_id"], r["name"]) for r in rows] == [(ids["new"], "'=cmd")]
    assert not (tmp_path / "etc").exists()
