"""What a failed or refused upload leaves behind: nothing but JSON.

- created_at that has no UTC time a database holds (year 1 with a positive
  offset, year 9999 with a negative one) is a 422, final for the kiosk,
  before any object is written (it was a plain-text 500, retried for ever,
  with an orphan object each time);
- any unexpected failure answers JSON and logs no SQL parameters;
- an upload that loses the insert race to another capture under the same id
  removes the object it wrote first.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from school_server import auth, db
from school_server.ingest import Refused, ingest_capture
from school_server.schemas import CaptureUpload
from school_server.storage import LocalStore, ObjectStore, S3Store, capture_key

from server.harness import Bucket, Deployment, new_capture_id
from server.services import S3_KEYS


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+08:00",
                                        "9999-12-31T23:00:00-05:00"])
def test_created_at_outside_the_utc_years_is_422_and_stores_nothing(
        deployment: Deployment, created_at: str) -> None:
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}))
    capture_id = new_capture_id()
    reply = kiosk.put(capture_id, {**body, "created_at": created_at})
    assert reply.status_code == 422, reply.text
    assert [issue["loc"] for issue in reply.json()["detail"]] == [["body", "created_at"]]
    assert deployment.stored_keys(f"captures/{capture_id}/") == []
    # The same capture with a good time is new, and the edge of the range is fine.
    assert kiosk.put(capture_id, {**body, "created_at": "0001-01-01T08:00:00+08:00"}) \
        .status_code == 201


def test_an_unexpected_failure_is_json_and_logs_no_parameters(tmp_path: Path) -> None:
    """The database refuses a heartbeat (an injected trigger): the kiosk gets
    a JSON 500, and the server log names the failure without quoting the
    statement's values."""
    dep = Deployment(tmp_path / "data")
    try:
        dep.server.start()
        kiosk = dep.enrol("Haidian")
        with sqlite3.connect(dep.data_dir / "server.db") as conn:
            conn.execute("CREATE TRIGGER refuse_beats BEFORE INSERT ON heartbeats "
                         "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
        beat = {"status": "idle", "queue_depth": 0, "free_mb": 1, "version": "v-MARKER-4242",
                "last_error": "camera MARKER-4343"}
        with kiosk.client() as client:
            reply = client.post("/api/v1/heartbeat", json=beat)
        assert reply.status_code == 500
        assert reply.headers["content-type"] == "application/json"
        assert "server log" in reply.json()["detail"]
        log = _log_once_it_holds(dep, "injected failure")
        assert "Traceback" in log
        assert "MARKER" not in log
    finally:
        dep.close()


def _log_once_it_holds(dep: Deployment, text: str, seconds: float = 10) -> str:
    """The server log, once text is in it (it is written after the answer)."""
    deadline = time.monotonic() + seconds
    while text not in (log := dep.server.log()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in log, log
    return log


# In-process: a real database and a real store; the rival upload is made to
# run exactly between the loser's object write and its insert.

class RivalFirst:
    """A real store whose next put first runs a rival upload to completion."""

    def __init__(self, inner: ObjectStore, rival: Callable[[], object]) -> None:
        self.inner, self.rival = inner, rival
        self.rival_done = False

    def put(self, key: str, data: bytes) -> None:
        if not self.rival_done:
            self.rival_done = True
            self.rival()
        self.inner.put(key, data)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


@pytest.fixture(params=["local", "s3"])
def store_and_keys(request: pytest.FixtureRequest,
                   tmp_path: Path) -> Iterator[tuple[ObjectStore, Callable[[str], list[str]]]]:
    """A real object store and a way to list its keys under a prefix."""
    if request.param == "local":
        root = tmp_path / "objects"
        yield LocalStore(root), lambda under: sorted(
            p.relative_to(root).as_posix() for p in (root / under).rglob("*") if p.is_file())
        return
    bucket = Bucket(request.getfixturevalue("s3_endpoint"))
    try:
        store = S3Store(bucket.endpoint, bucket.name, "us-east-1", S3_KEYS["aws_access_key_id"],
                        S3_KEYS["aws_secret_access_key"])
        yield store, bucket.keys
    finally:
        bucket.delete()


def _body(kiosk_id: str, sealed: bytes) -> CaptureUpload:
    import base64

    return CaptureUpload(kiosk_id=kiosk_id, session="2026-06-a",
                         created_at="2026-06-20T09:30:00+08:00",  # type: ignore[arg-type]
                         sealed=base64.b64encode(sealed).decode(),
                         digest=hashlib.sha256(sealed).hexdigest())


def test_the_loser_of_an_insert_race_removes_its_object(
        tmp_path: Path, store_and_keys: tuple[ObjectStore, Callable[[str], list[str]]]) -> None:
    store, keys = store_and_keys
    engine = db.make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    db.upgrade(engine)
    sessions = db.make_sessions(engine)
    try:
        with sessions() as session:
            code = auth.create_enrolment_code(session, "Haidian", 1)
            auth.redeem_enrolment_code(session, code, "booth-a")
            me = auth.KioskIdentity("booth-a", "haidian")
        capture_id = new_capture_id()
        mine, theirs = _body("booth-a", b"sealed mine"), _body("booth-a", b"sealed theirs")

        def race(body: CaptureUpload, rival_body: CaptureUpload) -> Refused | bool:
            """body's upload, with rival_body's run between its object write and its insert."""
            def rival() -> None:
                with sessions() as other:
                    assert ingest_capture(other, store, me, capture_id, rival_body).created

            with sessions() as session:
                try:
                    return ingest_capture(session, RivalFirst(store, rival), me, capture_id,
                                          body).created
                except Refused as refused:
                    return refused

        lost = race(mine, theirs)
        assert isinstance(lost, Refused) and lost.status == 409
        assert keys(f"captures/{capture_id}/") == [capture_key(capture_id, theirs.digest)]
        # An identical racer loses the insert too, but keeps the object: it is the winner's.
        capture_id = new_capture_id()
        assert race(theirs, theirs) is False  # the first receipt, not a new capture
        assert keys(f"captures/{capture_id}/") == [capture_key(capture_id, theirs.digest)]
        assert store.get(capture_key(capture_id, theirs.digest)) == b"sealed theirs"
    finally:
        engine.dispose()
