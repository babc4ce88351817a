"""The sync agent against a real school server process on 127.0.0.1.

One server for the module (tests/server/harness.py: keygen, enrol codes and
revocation through its CLI); each test enrols its own kiosk through
`kiosk enrol`'s code path. A fault-injecting proxy (tests/fault_proxy.py)
stands in for the network where a test needs one.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import os
import random
import sqlite3
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from nacl.public import PrivateKey, PublicKey, SealedBox
from PIL import Image

from fault_proxy import Fault, FaultProxy
from kiosk.cli import main as kiosk_main
from kiosk.codes import RejectReason, SyncProblem
from kiosk.config import Config, parse_config
from kiosk.capture.answers import (MAX_DETAIL_CHARS, MAX_RETRY_AFTER_SECONDS, refusal_detail,
                                   retry_after_seconds)
from kiosk.capture.enrolment import enrol
from kiosk.capture.store import CaptureStore
from kiosk.capture.sync import SyncAgent, SyncStatus
from kiosk.capture.uploads import rejection_reason
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student
from kiosk.identity.loader import open_roster
from kiosk.identity.roster import CsvRoster
from kiosk.identity.schedule import SERVER_SCHEDULE_CACHE, Schedule, load_cached_schedule
from kiosk.identity.server_roster import SERVER_ROSTER_CACHE, ServerRoster
from photo_wire.ids import student_ref
from photo_wire.models import SCHEME
from server.harness import Deployment

CENTRE = "centre-sync"
ID_NUMBER = "110101200103151236"
NAME = "张三"
PAYLOAD = "CHSI-SYNC-PAYLOAD-0123456789abcdef"


@dataclass
class Photo:
    spec_jpeg: bytes
    original_jpeg: bytes | None = None
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    measures: dict[str, object] = field(default_factory=dict)  # kiosk.domain.ProcessedPhoto's


def jpeg(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def request(n: int, payload: str = PAYLOAD) -> CaptureRequest:
    student = Student(
        card=IdCard(id_number=ID_NUMBER, name=NAME),
        match=RosterMatch(RosterOutcome.EXPECTED, "计算机科学与技术", f"ref-{n}"),
        consent_version="2026-11-v1",
        consent_time=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc),
        code_payload=f"{payload}-{n}",
    )
    return CaptureRequest(student=student, photo=Photo(jpeg(n), jpeg(n + 10_000, (96, 128))))  # type: ignore[arg-type]


class Clock:
    """The agent's wall clock, moved by the test (retention)."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Booth:
    """One kiosk: config, store, and agents started on it."""

    deployment: Deployment
    config: Config
    store: CaptureStore
    statuses: list[SyncStatus] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)
    agents: list[SyncAgent] = field(default_factory=list)
    rosters: list[ServerRoster] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)

    @property
    def kiosk_id(self) -> str:
        return self.config.kiosk.id

    @property
    def data_dir(self) -> Path:
        return Path(self.config.kiosk.data_dir)

    def agent(self, **kwargs: Any) -> SyncAgent:
        a = SyncAgent(self.store, self.config, on_status=self.statuses.append,
                      on_roster=self.rosters.append, on_schedule=self.schedules.append,
                      now=self.clock, idle_poll_seconds=0.05, **kwargs)
        self.agents.append(a)
        a.start()
        return a

    def save(self, n: int, **kwargs: Any) -> str:
        return self.store.save(request(n), "morning", {"compliant": True, "n": n}, **kwargs)

    def rows(self) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.data_dir / "captures.db")
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute("SELECT * FROM captures ORDER BY created_at").fetchall()
        finally:
            conn.close()

    def statuses_by_id(self) -> dict[str, str]:
        return {r["capture_id"]: r["status"] for r in self.rows()}

    def server_rows(self) -> dict[str, tuple[str, str]]:
        """capture_id -> (digest, received_at) as the server stored them for this kiosk."""
        conn = sqlite3.connect(self.deployment.data_dir / "server.db")
        try:
            return {cid: (digest, received) for cid, digest, received in conn.execute(
                "SELECT capture_id, digest, received_at FROM captures WHERE kiosk_id = ?",
                (self.kiosk_id,))}
        finally:
            conn.close()

    def close(self) -> None:
        for a in self.agents:
            a.stop()
        self.store.close()


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def make_booth(tmp_path: Path, deployment: Deployment) -> Iterator[Callable[..., Booth]]:
    booths: list[Booth] = []

    def make(url: str | None = None, enrolled: bool = True, **sync: Any) -> Booth:
        kiosk_id = f"kiosk-{uuid.uuid4().hex[:8]}"
        data_dir = tmp_path / kiosk_id
        settings = {"server_url": url or deployment.server.url,
                    "server_public_key": base64.b64encode(deployment.public_key).decode(),
                    "heartbeat_seconds": 30, "upload_timeout_seconds": 2,
                    "roster_refresh_seconds": 0, "retry_attempts": 2,
                    "backoff_initial_seconds": 0.02, "backoff_max_seconds": 0.2, **sync}
        config = parse_config({"kiosk": {"id": kiosk_id, "centre": CENTRE, "session": "morning",
                                         "data_dir": str(data_dir)},
                               "sync": settings})
        if enrolled:
            enrol(deployment.server.url, deployment.enrol_code(CENTRE), kiosk_id, data_dir)
        store = CaptureStore(data_dir, kiosk_id, public_key=deployment.public_key)
        booth = Booth(deployment, config, store)
        booths.append(booth)
        return booth

    yield make
    for b in booths:
        b.close()


@pytest.fixture
def proxy(deployment: Deployment) -> Iterator[FaultProxy]:
    p = FaultProxy(deployment.server.port).start()
    yield p
    p.close()


def all_acknowledged(booth: Booth, ids: list[str]) -> Callable[[], bool]:
    return lambda: all(booth.statuses_by_id().get(i) in ("acknowledged", "purged") for i in ids)


# ----------------------------------------------------------------- happy path


def test_captures_reach_the_server_once_and_export_decrypts_them(
        make_booth: Callable[..., Booth], deployment: Deployment, tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    agent = booth.agent()
    wait_until(all_acknowledged(booth, ids), what="3 captures acknowledged")

    server = booth.server_rows()
    assert sorted(server) == sorted(ids)
    for row in booth.rows():
        digest = hashlib.sha256(
            (booth.data_dir / "sealed" / f"{row['capture_id']}.sealed").read_bytes()).hexdigest()
        assert row["digest"] == digest == server[row["capture_id"]][0]
        assert row["received_at"] and row["acked_at"] and row["attempts"] == 1
        assert row["upload_error"] is None
        # exactly one object per capture on the server
        objects = list((deployment.data_dir / "objects" / "captures" / row["capture_id"]).iterdir())
        assert [o.name for o in objects] == [f"{digest}.sealed"]
    wait_until(lambda: agent.status.queue_depth == 0 and agent.status.online, what="status")
    assert booth.statuses[-1].online and booth.statuses[-1].queue_depth == 0
    assert agent.status.last_error is None and agent.status.last_success is not None

    out = tmp_path / "export"
    result = deployment.cli("export", "--out", str(out))
    assert result.code == 0, result.err
    for n, capture_id in enumerate(ids):
        assert (out / f"{capture_id}.jpg").read_bytes() == jpeg(n)
        assert (out / f"{capture_id}.original.jpg").read_bytes() == jpeg(n + 10_000, (96, 128))
    with (out / "manifest.csv").open(encoding="utf-8-sig") as f:
        manifest = {r["capture_id"]: r for r in csv.DictReader(f)}
    first = manifest[ids[0]]
    assert first["id_number"] == ID_NUMBER and first["name"] == NAME
    assert first["code_payload"] == f"{PAYLOAD}-0" and first["student_ref"] == "ref-0"
    assert first["consent_version"] == "2026-11-v1" and first["programme"] == "计算机科学与技术"
    assert first["kiosk_id"] == booth.kiosk_id and first["session"] == "morning"


def test_heartbeat_reaches_the_server(make_booth: Callable[..., Booth], deployment: Deployment) -> None:
    booth = make_booth()
    booth.save(1)
    agent = booth.agent()
    wait_until(lambda: agent.status.queue_depth == 0, what="upload")

    def beat() -> tuple | None:
        conn = sqlite3.connect(deployment.data_dir / "server.db")
        try:
            return conn.execute("SELECT status, queue_depth, free_mb, version FROM heartbeats"
                                " WHERE kiosk_id = ?", (booth.kiosk_id,)).fetchone()
        finally:
            conn.close()

    wait_until(lambda: beat() is not None, what="heartbeat row")
    status, queue_depth, free_mb, version = beat()  # type: ignore[misc]
    assert status == "ok" and version == "0.1.0" and free_mb > 0 and queue_depth >= 0


# ------------------------------------------------------------------- restarts


def test_a_restarted_agent_resumes(make_booth: Callable[..., Booth], deployment: Deployment) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(4)]
    # The previous agent died after the server stored the first capture but
    # before the kiosk recorded the receipt: the row is still 'uploading'.
    first = booth.store.outbox(1)[0]
    sealed = booth.store.sealed_bytes(first)
    token = (booth.data_dir / "sync.token").read_text().strip()
    reply = httpx.put(f"{deployment.server.url}/api/v1/captures/{first.capture_id}",
                      headers={"Authorization": f"Bearer {token}"},
                      json={"kiosk_id": booth.kiosk_id, "session": first.session,
                            "created_at": first.created_at, "digest": first.digest,
                            "sealed": base64.b64encode(sealed).decode()})
    assert reply.status_code == 201
    received_at = reply.json()["received_at"]
    booth.store.mark_uploading([first.capture_id])
    assert booth.statuses_by_id()[first.capture_id] == "uploading"

    booth.agent()
    wait_until(all_acknowledged(booth, ids), what="resume")
    server = booth.server_rows()
    assert sorted(server) == sorted(ids)
    row = next(r for r in booth.rows() if r["capture_id"] == first.capture_id)
    # the repeat got the first upload's receipt
    assert datetime.fromisoformat(row["received_at"]) == datetime.fromisoformat(received_at)


def test_agent_stopped_midway_then_restarted(make_booth: Callable[..., Booth],
                                             proxy: FaultProxy) -> None:
    booth = make_booth(proxy.url)
    proxy.delay = 0.3
    proxy.choose = lambda method, path: Fault.DELAY if method == "PUT" else Fault.PASS
    ids = [booth.save(n) for n in range(6)]
    first = booth.agent()
    wait_until(lambda: sum(s == "acknowledged" for s in booth.statuses_by_id().values()) >= 1,
               what="first upload")
    first.stop()
    done = sum(s == "acknowledged" for s in booth.statuses_by_id().values())
    assert done < len(ids)
    proxy.choose = lambda method, path: Fault.PASS
    booth.agent()
    wait_until(all_acknowledged(booth, ids), what="the rest")
    assert sorted(booth.server_rows()) == sorted(ids)


# ---------------------------------------------------------------- server down


def test_server_down_queue_grows_then_syncs(make_booth: Callable[..., Booth],
                                            proxy: FaultProxy) -> None:
    booth = make_booth(proxy.url)
    proxy.refuse(True)
    agent = booth.agent()
    ids = [booth.save(n) for n in range(3)]
    agent.wake()
    wait_until(lambda: not agent.status.online and agent.status.queue_depth == 3
               and agent.status.last_error is not None, what="offline status")
    assert "unreachable" in (agent.status.last_error or "")
    assert agent.status.problem == SyncProblem.UNREACHABLE  # staff mode's plain words
    time.sleep(0.3)  # a few backoff rounds
    ids.append(booth.save(3))
    wait_until(lambda: agent.status.queue_depth == 4, what="queue grows")
    assert set(booth.statuses_by_id().values()) <= {"captured", "uploading"}
    assert all(r["received_at"] is None for r in booth.rows())
    assert booth.server_rows() == {}
    assert any(not s.online for s in booth.statuses)

    proxy.refuse(False)
    wait_until(all_acknowledged(booth, ids), what="sync after the server is back")
    wait_until(lambda: agent.status.online and agent.status.queue_depth == 0, what="online")
    assert sorted(booth.server_rows()) == sorted(ids)
    wait_until(lambda: agent.status.problem is None, what="the problem cleared")
    assert agent.status.last_error is None


def test_real_server_restart(make_booth: Callable[..., Booth], deployment: Deployment,
                             proxy: FaultProxy) -> None:
    booth = make_booth(proxy.url)
    agent = booth.agent()
    ids = [booth.save(0)]
    agent.wake()
    wait_until(all_acknowledged(booth, ids), what="first")
    deployment.server.stop()  # the process is gone: the proxy cannot reach it
    try:
        ids.append(booth.save(1))
        agent.wake()
        wait_until(lambda: not agent.status.online, what="offline")
        assert booth.statuses_by_id()[ids[1]] in ("captured", "uploading")
    finally:
        deployment.server.start()  # a new port
        proxy.upstream_port = deployment.server.port
    wait_until(all_acknowledged(booth, ids), what="sync after restart")


# ----------------------------------------------------------- refusals for good


def test_revoked_token_stops_uploads(make_booth: Callable[..., Booth], deployment: Deployment,
                                     proxy: FaultProxy) -> None:
    booth = make_booth(proxy.url)
    agent = booth.agent()
    ids = [booth.save(0)]
    agent.wake()
    wait_until(all_acknowledged(booth, ids), what="first upload")
    assert deployment.cli("revoke", booth.kiosk_id).code == 0

    later = booth.save(1)
    agent.wake()
    wait_until(lambda: agent.status.uploads_stopped, what="uploads stopped")
    assert "401" in (agent.status.last_error or "") and "revoked" in agent.status.last_error
    assert agent.status.problem == SyncProblem.TOKEN_REVOKED
    assert not agent.status.online and agent.status.queue_depth == 1
    puts = proxy.count("PUT", "/api/v1/captures/")
    time.sleep(0.5)
    assert proxy.count("PUT", "/api/v1/captures/") == puts  # not hammering the server
    assert booth.statuses_by_id()[later] == "captured"

    # Staff enrol the booth again: uploads resume by themselves.
    time.sleep(0.01)  # a new mtime for the token file
    enrol(deployment.server.url, deployment.enrol_code(CENTRE), booth.kiosk_id, booth.data_dir)
    wait_until(all_acknowledged(booth, [later]), what="resume after re-enrolment")
    assert not agent.status.uploads_stopped


def test_not_enrolled_is_reported(make_booth: Callable[..., Booth]) -> None:
    booth = make_booth(enrolled=False)
    booth.save(0)
    agent = booth.agent()
    wait_until(lambda: agent.status.uploads_stopped, what="not enrolled")
    assert "not enrolled" in (agent.status.last_error or "")
    assert agent.status.problem == SyncProblem.NOT_ENROLLED
    assert agent.status.queue_depth == 1


def test_conflict_is_reported_and_not_acknowledged(make_booth: Callable[..., Booth],
                                                    deployment: Deployment) -> None:
    booth = make_booth()
    clash = uuid.uuid4().hex
    # Another capture already holds this id on the server (same kiosk, other bytes).
    other = SealedBox(PublicKey(deployment.public_key)).encrypt(b'{"spec_jpeg": ""}')
    token = (booth.data_dir / "sync.token").read_text().strip()
    reply = httpx.put(f"{deployment.server.url}/api/v1/captures/{clash}",
                      headers={"Authorization": f"Bearer {token}"},
                      json={"kiosk_id": booth.kiosk_id, "session": "morning",
                            "created_at": "2026-06-20T09:30:00+08:00",
                            "digest": hashlib.sha256(other).hexdigest(),
                            "sealed": base64.b64encode(other).decode()})
    assert reply.status_code == 201
    booth.save(0, capture_id=clash)
    fine = booth.save(1)
    agent = booth.agent()
    wait_until(all_acknowledged(booth, [fine]), what="the other capture")
    wait_until(lambda: agent.status.rejected == 1, what="rejection reported")
    row = next(r for r in booth.rows() if r["capture_id"] == clash)
    assert row["status"] == "captured" and row["received_at"] is None
    assert "409" in row["upload_error"]
    assert "409" in (agent.status.last_error or "") or "refused" in (agent.status.last_error or "")
    assert agent.status.queue_depth == 1  # still counts: staff must act
    assert booth.store.rejected() == [(clash, row["upload_error"])]
    assert agent.status.problem == SyncProblem.REFUSED
    refused = booth.store.rejected_captures()
    assert [r.capture_id for r in refused] == [clash]
    assert rejection_reason(refused[0].reason) == RejectReason.CONFLICT
    assert booth.server_rows()[clash][0] == hashlib.sha256(other).hexdigest()
    attempts = row["attempts"]
    time.sleep(0.3)
    row = next(r for r in booth.rows() if r["capture_id"] == clash)
    assert row["attempts"] == attempts  # not retried forever


# -------------------------------------------------------------------- purge


def test_purge_after_retention(make_booth: Callable[..., Booth]) -> None:
    booth = make_booth(retention_days=7)
    ids = [booth.save(n) for n in range(2)]
    agent = booth.agent()
    wait_until(all_acknowledged(booth, ids), what="upload")
    agent.stop()
    booth.agents.remove(agent)
    pending = booth.save(5)  # never acknowledged: the agent is stopped first

    assert agent.purge() == []  # acknowledged just now: kept
    booth.clock.now += timedelta(days=6, hours=23)
    assert agent.purge() == []
    booth.clock.now += timedelta(hours=1, seconds=1)
    assert sorted(agent.purge()) == sorted(ids)

    statuses = booth.statuses_by_id()
    assert [statuses[i] for i in ids] == ["purged", "purged"]
    assert statuses[pending] == "captured"
    assert sorted(p.name for p in (booth.data_dir / "sealed").iterdir()) == [f"{pending}.sealed"]
    assert booth.store.has_capture("ref-0")  # the row stays: no second capture
    assert booth.store.student_for_code(f"{PAYLOAD}-0") == "ref-0"
    booth.clock.now += timedelta(days=30)
    assert agent.purge() == []  # never a capture the server has not acknowledged


# -------------------------------------------------------------------- roster


def test_roster_is_pulled_with_etag_and_matches_server_refs(
        make_booth: Callable[..., Booth], deployment: Deployment, proxy: FaultProxy,
        tmp_path: Path) -> None:
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(
        "id_number,name,programme,centre,session,card_uid\n"
        f"{ID_NUMBER},{NAME},计算机科学与技术,{CENTRE},morning,04:A2:C3:D4\n"
        f"310104200011022468,李四,会计学,{CENTRE},afternoon,\n"
        "510107200004053588,赵六,工商管理,other-centre,morning,\n", encoding="utf-8")
    assert deployment.cli("import-roster", str(roster_csv)).code == 0
    booth = make_booth(proxy.url, roster_refresh_seconds=0.1)
    booth.agent()
    wait_until(lambda: len(booth.rosters) == 1, what="roster")
    wait_until(lambda: proxy.count("GET", "/api/v1/roster") >= 3, what="refreshes")
    assert len(booth.rosters) == 1  # later answers were 304
    cache = booth.data_dir / SERVER_ROSTER_CACHE
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600

    server_ref = student_ref(ID_NUMBER)  # the booth's own scheme: no key handed out
    for roster in (booth.rosters[0], ServerRoster.from_cache(cache, CENTRE, "morning")):
        match = roster.lookup(IdCard(id_number=ID_NUMBER, name=NAME))
        assert match.outcome == RosterOutcome.EXPECTED and match.student_ref == server_ref
        by_uid = roster.lookup(IdCard(id_number="", name="", uid="04 a2 c3 d4"))
        assert by_uid.outcome == RosterOutcome.EXPECTED and by_uid.student_ref == server_ref
        assert roster.lookup(IdCard(id_number="310104200011022468", name="")).outcome \
            == RosterOutcome.OTHER_CENTRE
        assert roster.lookup(IdCard(id_number="44010619990721135X", name="")).outcome \
            == RosterOutcome.NOT_EXPECTED
    assert ID_NUMBER not in cache.read_text(encoding="utf-8")
    assert NAME not in cache.read_text(encoding="utf-8")  # the booth keeps no names


# ------------------------------------------- one key scheme (issue 12, item 4)
# A booth captures a student with its roster file, then its sync agent
# fetches the school's roster: the student must still be "already captured",
# and their own 采集码 still theirs, then and after a restart. Before
# photo_wire the booth keyed refs with its own roster.key and switched to the
# server's key with the roster, so neither held.

ONE_SCHEME_ROSTER = (f"id_number,name,programme,centre,session,card_uid\n"
                     f"{ID_NUMBER},{NAME},计算机科学与技术,{CENTRE},morning,\n"
                     f"310104200011022468,李四,会计学,{CENTRE},morning,\n")
OWN_CODE = "CHSI-OWN-CODE"


def test_a_captured_student_stays_captured_when_the_server_roster_arrives(
        deployment: Deployment, tmp_path: Path) -> None:
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(ONE_SCHEME_ROSTER, encoding="utf-8")
    assert deployment.cli("import-roster", str(roster_csv)).code == 0
    data_dir = tmp_path / "booth"
    config = parse_config({
        "kiosk": {"id": "kiosk-one", "centre": CENTRE, "session": "morning",
                  "data_dir": str(data_dir)},
        "roster": {"path": str(roster_csv), "allow_recapture": False},
        "sync": {"server_url": deployment.server.url, "roster_refresh_seconds": 0.1,
                 "server_public_key": base64.b64encode(deployment.public_key).decode()}})
    enrol(deployment.server.url, deployment.enrol_code(CENTRE), "kiosk-one", data_dir)
    store = CaptureStore(data_dir, "kiosk-one", public_key=deployment.public_key)
    card = IdCard(id_number=ID_NUMBER, name=NAME)

    # Before any contact with the server: the roster file.
    before = open_roster(config, data_dir, store.has_capture)
    assert isinstance(before, CsvRoster)
    match = before.lookup(card)
    assert match.outcome == RosterOutcome.EXPECTED
    student = Student(card=card, match=match, consent_version="v1",
                      consent_time=datetime.now(timezone.utc), code_payload=OWN_CODE)
    store.save(CaptureRequest(student=student, photo=Photo(jpeg(1))), "morning", {})  # type: ignore[arg-type]
    assert before.lookup(card).outcome == RosterOutcome.ALREADY_CAPTURED

    # The sync agent brings the school's roster.
    rosters: list[ServerRoster] = []
    agent = SyncAgent(store, config, on_roster=rosters.append, idle_poll_seconds=0.05)
    agent.start()
    try:
        wait_until(lambda: bool(rosters), what="the server's roster")
    finally:
        agent.stop()
    after = rosters[0]
    again = after.lookup(card)
    assert again.outcome == RosterOutcome.ALREADY_CAPTURED
    # Their own 采集码 is still theirs, not "used by another".
    assert store.student_for_code(OWN_CODE) == again.student_ref

    # After a restart the booth opens the cached server roster: the same.
    restarted = open_roster(config, data_dir, store.has_capture)
    assert isinstance(restarted, ServerRoster)
    assert restarted.lookup(card).outcome == RosterOutcome.ALREADY_CAPTURED
    other = restarted.lookup(IdCard(id_number="310104200011022468", name="李四"))
    assert other.outcome == RosterOutcome.EXPECTED
    store.close()


# ------------------------------------------------------------------ schedule


def schedule_csv(tmp_path: Path, centre: str, sessions: list[tuple[str, datetime, datetime]],
                 name: str = "schedule.csv") -> Path:
    path = tmp_path / name
    path.write_text("centre,session,starts_at,ends_at\n" + "".join(
        f"{centre},{session},{start.isoformat()},{end.isoformat()}\n"
        for session, start, end in sessions), encoding="utf-8")
    return path


def test_schedule_is_pulled_cached_and_known_after_an_offline_restart(
        make_booth: Callable[..., Booth], deployment: Deployment, proxy: FaultProxy,
        tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    hour = timedelta(hours=1)
    first = schedule_csv(tmp_path, CENTRE, [("Sched-Now", now - hour, now + hour),
                                            ("sched-later", now + 3 * hour, now + 5 * hour),
                                            ("sched-past", now - 5 * hour, now - 3 * hour)])
    assert deployment.cli("import-schedule", str(first)).code == 0
    booth = make_booth(proxy.url, roster_refresh_seconds=0.1)
    agent = booth.agent()
    wait_until(lambda: len(booth.schedules) == 1, what="schedule")
    cache = booth.data_dir / SERVER_SCHEDULE_CACHE
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    written = cache.stat().st_mtime_ns

    def answered() -> list[int | None]:
        # The proxy logs a request when it arrives and its answer later: count answered ones.
        return [e.upstream_status for e in list(proxy.log)
                if e.path.startswith("/api/v1/schedule") and e.upstream_status is not None]

    wait_until(lambda: len(answered()) >= 3, what="refreshes")
    assert len(booth.schedules) == 1  # unchanged: no news for the runtime...
    assert cache.stat().st_mtime_ns == written  # ...and no rewrite of the SD card
    # ...and no body on the wire: the kiosk names the version it has.
    answers = answered()
    assert answers[0] == 200 and set(answers[1:3]) == {304}, answers

    schedule = booth.schedules[0]
    assert [s.name for s in schedule.sessions] == ["sched-past", "sched-now", "sched-later"]
    assert schedule.current(now).name == "sched-now"
    slot = schedule.slot(now)
    assert slot.current == ("sched-now",) and slot.ended == {"sched-past"}
    assert schedule.sessions[1].starts_at.utcoffset() == timedelta(hours=8)  # Asia/Shanghai

    # The school changes it: the booth follows.
    second = schedule_csv(tmp_path, CENTRE, [("sched-now", now - hour, now + 2 * hour)], "b.csv")
    assert deployment.cli("import-schedule", str(second)).code == 0
    wait_until(lambda: len(booth.schedules) == 2, what="the new schedule")
    assert [s.name for s in booth.schedules[1].sessions] == ["sched-now"]

    # Offline restart: the cache is all there is.
    agent.stop()
    proxy.refuse(True)
    again = load_cached_schedule(booth.data_dir, booth.config.kiosk.tz())
    assert again is not None and again.current(now).name == "sched-now"
    assert again.current(now).ends_at == booth.schedules[1].sessions[0].ends_at


def test_a_schedule_the_kiosk_cannot_use_is_ignored(tmp_path: Path) -> None:
    answers = iter([{"centre": CENTRE, "sessions": [{"session": "x", "centre": CENTRE,
                                                      "starts_at": "not a time", "ends_at": ""}]},
                    {"centre": CENTRE, "sessions": []}])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/schedule"):
            return httpx.Response(200, json=next(answers, {"centre": CENTRE, "sessions": []}))
        if request.url.path.endswith("/roster"):
            return httpx.Response(304)
        return httpx.Response(204)

    booth, agent = mock_booth(tmp_path, handler, roster_refresh_seconds=0.05)
    try:
        agent.start()
        wait_until(lambda: len(booth.schedules) == 1, what="the empty schedule")
        assert len(booth.schedules[0]) == 0  # the runtime treats it as no schedule
        assert json.loads((booth.data_dir / SERVER_SCHEDULE_CACHE).read_text())["schedule"] == {
            "centre": CENTRE, "sessions": []}
    finally:
        booth.close()


# ------------------------------------------------------------ fault injection


def test_faults_everything_synced_exactly_once_nothing_purged_early(
        make_booth: Callable[..., Booth], deployment: Deployment, proxy: FaultProxy,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(20261122)
    faults = [Fault.PASS] * 5 + [Fault.DROP, Fault.DELAY, Fault.ERROR_500, Fault.GARBAGE,
                                 Fault.RESET_AFTER, Fault.RESET_AFTER, Fault.GARBAGE]
    proxy.delay = 0.7  # past the agent's 0.5 s timeout: the server commits, the kiosk gives up
    # Each fault at least once on an upload, in a known order, then at random
    # (heartbeats get random ones too).
    # (BUSY_503 only here: each one holds the queue for its Retry-After, 1 s.)
    put_script = [Fault.RESET_AFTER, Fault.GARBAGE, Fault.DELAY, Fault.DROP, Fault.ERROR_500,
                  Fault.BUSY_503]

    def choose(method: str, path: str) -> Fault:
        if method == "PUT" and put_script:
            return put_script.pop(0)
        return rng.choice(faults)

    proxy.choose = choose
    # retention 0: each capture is purged as soon as it is acknowledged, so an
    # early purge would show as a purged capture the server does not have.
    booth = make_booth(proxy.url, retention_days=0, upload_timeout_seconds=0.5,
                       heartbeat_seconds=0.2, retry_attempts=3)
    purged_unacknowledged: list[str] = []
    original_purge = booth.store.purge_acknowledged

    def checked_purge(before: datetime) -> list[str]:
        ids = original_purge(before)
        on_server = booth.server_rows()
        purged_unacknowledged.extend(i for i in ids if i not in on_server)
        return ids

    booth.store.purge_acknowledged = checked_purge  # type: ignore[method-assign]
    agent = booth.agent()
    ids: list[str] = []
    for n in range(20):
        ids.append(booth.save(n))
        agent.wake()
        if n % 5 == 4:
            time.sleep(0.1)
    wait_until(all_acknowledged(booth, ids), timeout=40, what="everything synced")
    wait_until(lambda: set(booth.statuses_by_id().values()) == {"purged"}
               and not any((booth.data_dir / "sealed").iterdir()), what="purged")

    assert purged_unacknowledged == []
    server = booth.server_rows()
    assert sorted(server) == sorted(ids)  # every capture, once (the primary key)
    for row in booth.rows():
        assert server[row["capture_id"]][0] == row["digest"]
        objects = list((deployment.data_dir / "objects" / "captures" / row["capture_id"]).iterdir())
        assert len(objects) == 1
    assert len(booth.rows()) == 20
    puts = [e for e in proxy.log if e.method == "PUT"]
    assert {e.fault for e in puts} >= set(Fault)
    # The server stored these, and the kiosk never read the receipt...
    lost = [e for e in puts if e.upstream_status == 201
            and e.fault in (Fault.RESET_AFTER, Fault.GARBAGE, Fault.DELAY)]
    assert len(lost) >= 3
    # ...so it sent them again and got the first receipt back (200), never a second row.
    for e in lost:
        assert any(r.path == e.path and r.upstream_status == 200 for r in puts)
    assert ID_NUMBER not in caplog.text and PAYLOAD not in caplog.text and NAME not in caplog.text


def test_a_503_with_retry_after_delays_the_next_try(make_booth: Callable[..., Booth],
                                                    proxy: FaultProxy) -> None:
    # Two busy answers: the capture's own second try, then the queue's next
    # round, each wait at least Retry-After (the backoff alone is 0.02-0.2 s).
    proxy.retry_after = 1
    busy = [Fault.BUSY_503, Fault.BUSY_503]
    proxy.choose = lambda method, path: busy.pop(0) if method == "PUT" and busy else Fault.PASS
    booth = make_booth(proxy.url)
    cid = booth.save(0)
    booth.agent()
    wait_until(all_acknowledged(booth, [cid]), what="upload after the busy answers")
    puts = [e for e in proxy.log if e.method == "PUT"]
    assert [e.fault for e in puts] == [Fault.BUSY_503, Fault.BUSY_503, Fault.PASS]
    assert puts[1].at - puts[0].at >= 1.0 and puts[2].at - puts[1].at >= 1.0
    waiting = [s for s in booth.statuses if s.problem == SyncProblem.BUSY]
    assert waiting and "503 (busy: it asks for 1 s" in (waiting[0].last_error or "")
    assert booth.statuses[-1].last_error is None  # cleared once it went through


def test_a_busy_heartbeat_quiets_every_request_for_its_retry_after(
        make_booth: Callable[..., Booth], proxy: FaultProxy) -> None:
    # The first heartbeat is answered 503 with Retry-After: 2. Heartbeats every
    # 0.1 s, roster pulls every 0.1 s and a queued capture would all go out at
    # once; none may reach the server for those 2 s, then they carry on.
    proxy.retry_after = 2
    busy = [Fault.BUSY_503]
    proxy.choose = lambda method, path: (busy.pop(0) if method == "POST" and busy
                                         else Fault.PASS)
    booth = make_booth(proxy.url, heartbeat_seconds=0.1, roster_refresh_seconds=0.1)
    cid = booth.save(0)
    booth.agent()
    wait_until(all_acknowledged(booth, [cid]), what="upload after the busy heartbeat")
    wait_until(lambda: any(e.method == "GET" for e in proxy.log), what="a roster pull")
    first, *rest = list(proxy.log)
    assert (first.method, first.fault) == ("POST", Fault.BUSY_503)
    assert rest and min(e.at for e in rest) - first.at >= 2.0
    assert {e.method for e in rest} >= {"POST", "GET", "PUT"}  # everything resumed
    assert any(s.problem == SyncProblem.BUSY for s in booth.statuses)


@pytest.mark.parametrize("status, value, seconds", [
    (503, "2", 2.0), (429, "7", 7.0), (503, str(10**9), MAX_RETRY_AFTER_SECONDS),
    (503, "Fri, 04 Dec 2026 12:00:10 GMT", 10.0), (503, "Fri, 04 Dec 2026 11:00:00 GMT", 0.0),
    (503, "soon", 0.0), (503, "-5", 0.0), (500, "3", 0.0),
])
def test_retry_after_is_read_and_capped(status: int, value: str, seconds: float) -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=timezone.utc)
    reply = httpx.Response(status, headers={"Retry-After": value})
    assert retry_after_seconds(reply, now) == seconds


# ------------------------------------------------------------------- enrol CLI


def test_enrol_command_stores_a_private_token(tmp_path: Path, deployment: Deployment,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "booth"
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nid = "booth-cli-1"\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    code = deployment.enrol_code(CENTRE)
    assert kiosk_main(["--config", str(cfg), "enrol", "--server", deployment.server.url,
                       "--code", code]) == 0
    token_file = data_dir / "sync.token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = token_file.read_text().strip()
    out = capsys.readouterr()
    assert "booth-cli-1 enrolled" in out.out and token not in out.out + out.err
    assert "server_url" in out.err  # the config does not point at the server yet
    reply = httpx.get(f"{deployment.server.url}/api/v1/schedule",
                      headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    # the code was spent
    assert kiosk_main(["--config", str(cfg), "enrol", "--server", deployment.server.url,
                       "--code", code]) == 1
    err = capsys.readouterr().err
    assert "refused the enrolment: enrolment code already used" in err and code not in err


def test_enrol_tells_staff_the_kiosk_id_is_in_use(tmp_path: Path, deployment: Deployment,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    taken = deployment.enrol(CENTRE, "booth-taken").kiosk_id  # another booth holds the id
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nid = "{taken}"\ndata_dir = "{tmp_path / "booth"}"\n',
                   encoding="utf-8")
    code = deployment.enrol_code(CENTRE)
    assert kiosk_main(["--config", str(cfg), "enrol", "--server", deployment.server.url,
                       "--code", code]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and code not in err  # one line, the code not echoed
    assert f"photo-server revoke {taken}" in err and f"enrol-code --kiosk {taken}" in err
    assert not (tmp_path / "booth" / "sync.token").exists()


def test_enrol_on_a_busy_server_says_when_to_try_again(
        tmp_path: Path, deployment: Deployment, proxy: FaultProxy,
        capsys: pytest.CaptureFixture[str]) -> None:
    proxy.retry_after = 2
    proxy.script = [Fault.BUSY_503]
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nid = "booth-busy"\ndata_dir = "{tmp_path / "booth"}"\n',
                   encoding="utf-8")
    code = deployment.enrol_code(CENTRE)
    args = ["--config", str(cfg), "enrol", "--server", proxy.url, "--code", code]
    assert kiosk_main(args) == 1
    assert "enrol: the server is busy (503): try again in 2 s\n" == capsys.readouterr().err
    assert kiosk_main(args) == 0  # the code was not spent by the refused try


def test_refusal_detail_is_one_safe_line() -> None:
    detail = "code ABCD-1234 refused\n\x1b[31mforged line\t" + "x" * 1000
    line = refusal_detail(httpx.Response(403, json={"detail": detail}), "ABCD-1234")
    assert line.startswith("code *** refused [31mforged line x") and len(line) == MAX_DETAIL_CHARS
    assert line.isprintable() and "ABCD-1234" not in line
    assert refusal_detail(httpx.Response(403, content=b"<html>")) == ""
    assert refusal_detail(httpx.Response(403, json={"detail": [{"msg": "x"}]})) == ""


# ----------------------------------------------------------- runtime, config


def test_runtime_runs_the_agent_and_feeds_the_flow(tmp_path: Path, deployment: Deployment) -> None:
    from kiosk.runtime import KioskRuntime

    root = Path(__file__).resolve().parents[3]
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("id_number,name,programme,centre,session\n"
                          f"{ID_NUMBER},{NAME},法学,centre-rt,morning\n", encoding="utf-8")
    assert deployment.cli("import-roster", str(roster_csv)).code == 0
    data_dir = tmp_path / "rt"
    enrol(deployment.server.url, deployment.enrol_code("centre-rt"), "kiosk-rt", data_dir)
    config = parse_config({
        "kiosk": {"id": "kiosk-rt", "centre": "centre-rt", "session": "morning",
                  "data_dir": str(data_dir)},
        "audio": {"muted": True},
        "roster": {"path": str(root / "examples" / "roster-demo.csv")},
        "sync": {"server_url": deployment.server.url,
                 "server_public_key": base64.b64encode(deployment.public_key).decode(),
                 "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.5},
    }).as_demo()
    runtime = KioskRuntime(config)
    assert runtime.store.sealing and runtime.sync_agent is not None
    csv_roster = runtime.flow.roster
    runtime.start()
    try:
        runtime.store.save(request(0), "morning", {})
        runtime.sync_agent.wake()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            view = runtime.poll()
            if view.online and view.queue_depth == 0 and runtime.flow.roster is not csv_roster:
                break
            time.sleep(0.02)
        assert view.online and view.queue_depth == 0
        assert isinstance(runtime.flow.roster, ServerRoster)
        match = runtime.flow.roster.lookup(IdCard(id_number=ID_NUMBER, name=NAME))
        # The server's roster gives no programme (nor name): the card has the name.
        assert match.outcome == RosterOutcome.EXPECTED and match.programme == ""
    finally:
        runtime.stop()
    assert not list((data_dir / "photos").iterdir())  # sealed mode: no plain photos
    # Next start: the cached server roster is used from the beginning.
    again = KioskRuntime(config)
    try:
        assert isinstance(again.roster, ServerRoster)
    finally:
        again.stop()


def test_runtime_records_the_schedules_session_makeups_and_lets_staff_retry_refusals(
        tmp_path: Path, deployment: Deployment) -> None:
    from kiosk.codes import Button, State
    from kiosk.runtime import KioskRuntime

    centre, past_id = "centre-sched", "310104200011022468"
    now, hour = datetime.now(timezone.utc), timedelta(hours=1)
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("id_number,name,programme,centre,session\n"
                          f"{ID_NUMBER},{NAME},法学,{centre},sched-now\n"
                          f"{past_id},李四,会计学,{centre},sched-past\n", encoding="utf-8")
    assert deployment.cli("import-roster", str(roster_csv)).code == 0
    sessions = [("sched-now", now - hour, now + hour), ("sched-past", now - 4 * hour, now - 2 * hour)]
    assert deployment.cli("import-schedule", str(schedule_csv(tmp_path, centre, sessions))).code == 0
    data_dir = tmp_path / "sched"
    enrol(deployment.server.url, deployment.enrol_code(centre), "kiosk-sched", data_dir)
    root = Path(__file__).resolve().parents[3]
    config = parse_config({
        "kiosk": {"id": "kiosk-sched", "centre": centre, "session": "config-session",
                  "data_dir": str(data_dir)},
        "audio": {"muted": True},
        "flow": {"countdown_seconds": 0},
        "roster": {"path": str(root / "examples" / "roster-demo.csv"), "makeup_mode": True},
        "sync": {"server_url": deployment.server.url, "roster_refresh_seconds": 0.5,
                 "server_public_key": base64.b64encode(deployment.public_key).decode(),
                 "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.5},
    }).as_demo()
    runtime = KioskRuntime(config)
    flow = runtime.flow
    assert flow.schedule is None and flow.view().session == "config-session"

    def poll_until(check: Callable[[], bool], what: str) -> None:
        wait_until(lambda: (runtime.poll(), check())[1], what=what)

    def capture(card: IdCard, n: int) -> str:
        """One student through the flow; the still comes from the test, not the camera."""
        flow.card_presented(card)
        poll_until(lambda: flow.state != State.CHECKING, "the roster lookup (on the worker)")
        assert flow.state == State.CONFIRM, flow.view().problem
        for button in (Button.CONFIRM_IDENTITY, Button.AGREE):
            flow.press(button)
        flow.code_scanned(f"{PAYLOAD}-{n}")
        poll_until(lambda: flow.state == State.GUIDE, "the code check (on the worker)")
        flow.press(Button.TAKE_PHOTO)
        flow.tick()
        flow.photo_ready(Photo(jpeg(n)))
        flow.drain_effects()  # lights, still, prompts: no devices here
        flow.press(Button.ACCEPT_PHOTO)
        for effect in flow.drain_effects():
            runtime._carry_out(effect)  # SAVE_CAPTURE: the runtime's own save
        poll_until(lambda: flow.state == State.RECEIPT, "saved")
        capture_id = flow.view().capture_id
        flow.press(Button.DONE)
        return capture_id

    runtime.start()
    try:
        poll_until(lambda: flow.schedule is not None and isinstance(flow.roster, ServerRoster),
                   "schedule and roster from the server")
        view = runtime.poll()
        assert view.schedule_known and view.session == "sched-now"
        assert view.session_now is not None and view.session_now.name == "sched-now"
        regular = capture(IdCard(id_number=ID_NUMBER, name=NAME), 0)
        makeup = capture(IdCard(id_number=past_id, name="李四"), 1)
        poll_until(lambda: runtime.store.status_counts()["acknowledged"] == 2, "uploads")
        out = tmp_path / "export"
        assert deployment.cli("export", "--out", str(out), "--centre", centre).code == 0
        with (out / "manifest.csv").open(encoding="utf-8-sig") as f:
            manifest = {r["capture_id"]: r for r in csv.DictReader(f)}
        assert manifest[regular]["session"] == "sched-now"
        assert (manifest[regular]["makeup"], manifest[regular]["roster_session"]) == ("false", "sched-now")
        assert manifest[makeup]["session"] == "sched-now"  # taken during this session...
        assert (manifest[makeup]["makeup"], manifest[makeup]["roster_session"]) == ("true", "sched-past")

        # A capture the server refuses for good: staff see it, fix the cause, retry.
        clash = uuid.uuid4().hex
        other = SealedBox(PublicKey(deployment.public_key)).encrypt(b'{"spec_jpeg": ""}')
        token = (data_dir / "sync.token").read_text().strip()
        assert httpx.put(f"{deployment.server.url}/api/v1/captures/{clash}",
                         headers={"Authorization": f"Bearer {token}"},
                         json={"kiosk_id": "kiosk-sched", "session": "sched-now",
                               "created_at": "2026-06-20T09:30:00+08:00",
                               "digest": hashlib.sha256(other).hexdigest(),
                               "sealed": base64.b64encode(other).decode()}).status_code == 201
        runtime.store.save(request(9), "sched-now", {}, capture_id=clash)
        assert runtime.sync_agent is not None
        runtime.sync_agent.wake()
        poll_until(lambda: len(flow.view().sync.rejected) == 1, "the refusal in staff detail")
        view = runtime.poll()
        refused = view.sync.rejected[0]
        assert (refused.short_id, refused.reason) == (clash[:8], RejectReason.CONFLICT)
        assert view.sync.rejected_total == 1 and view.sync.problem == SyncProblem.REFUSED
        assert ID_NUMBER not in repr(view) and NAME not in repr(view)

        runtime.press(Button.STAFF)
        runtime.enter_pin("2468")
        runtime.press(Button.STAFF_REJECTED)
        view = runtime.poll()
        assert view.staff_page == "rejected" and view.free_mb > 0 and view.sync.last_success

        def attempts() -> int:
            return next(r["attempts"] for r in Booth(deployment, config, runtime.store).rows()
                        if r["capture_id"] == clash)

        before = attempts()
        runtime.press(Button.RETRY_REJECTED)
        runtime.poll()
        poll_until(lambda: attempts() > before and len(flow.view().sync.rejected) == 1,
                   "sent again, refused again")
    finally:
        runtime.stop()
    # Offline restart: the cached schedule decides the session from the start.
    again = KioskRuntime(config)
    try:
        assert again.flow.schedule is not None
        assert again.flow.view().session == "sched-now"
    finally:
        again.stop()


@pytest.mark.parametrize("sync, message", [
    ({"server_url": "https://school.example"}, "server_public_key is required"),
    ({"server_url": "ftp://school.example", "server_public_key": base64.b64encode(b"k" * 32).decode()},
     "server_url must start with"),
    ({"server_public_key": "not base64!"}, "not base64"),
    ({"server_public_key": base64.b64encode(b"short").decode()}, "32 bytes"),
])
def test_sync_config_is_checked(sync: dict, message: str) -> None:
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_config({"sync": sync})


def test_no_key_means_plain_files_and_a_warning(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    import kiosk.capture.db

    caplog.set_level(logging.WARNING)
    kiosk.capture.db._warned_plain = False
    first = CaptureStore(tmp_path / "a", "k1")
    second = CaptureStore(tmp_path / "b", "k1")
    try:
        assert not first.sealing
        assert caplog.text.count("PLAIN photo files") == 1  # once per process
    finally:
        first.close()
        second.close()


# ------------------------------------------- answers a real server rarely gives


def mock_booth(tmp_path: Path, handler: Callable[[httpx.Request], httpx.Response],
               **sync: Any) -> tuple[Booth, SyncAgent]:
    """A booth whose agent talks to an httpx.MockTransport instead of a server."""
    key = PrivateKey.generate()
    data_dir = tmp_path / "mock"
    config = parse_config({
        "kiosk": {"id": "kiosk-mock", "centre": CENTRE, "session": "morning",
                  "data_dir": str(data_dir)},
        "sync": {"server_url": "http://127.0.0.1:9", "roster_refresh_seconds": 0,
                 "server_public_key": base64.b64encode(bytes(key.public_key)).decode(),
                 "retry_attempts": 2, "backoff_initial_seconds": 0.01,
                 "backoff_max_seconds": 0.05, **sync}})
    store = CaptureStore(data_dir, "kiosk-mock", public_key=bytes(key.public_key))
    (data_dir / "sync.token").write_text("token\n")
    booth = Booth(None, config, store)  # type: ignore[arg-type]
    agent = SyncAgent(store, config, on_status=booth.statuses.append, now=booth.clock,
                      on_roster=booth.rosters.append, on_schedule=booth.schedules.append,
                      idle_poll_seconds=0.05, transport=httpx.MockTransport(handler))
    booth.agents.append(agent)
    return booth, agent


def receipt_for(request: httpx.Request, digest: str | None = None) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(201, json={"capture_id": request.url.path.rsplit("/", 1)[1],
                                     "digest": digest or body["digest"],
                                     "received_at": "2026-11-22T12:00:00"})


@pytest.mark.parametrize("answer, reason, kind", [
    (lambda r: httpx.Response(413, json={"detail": "big"}), "413", RejectReason.TOO_LARGE),
    (lambda r: httpx.Response(422, json={"detail": []}), "422", RejectReason.MALFORMED),
    (lambda r: receipt_for(r, digest="0" * 64), "another capture or digest", RejectReason.BAD_RECEIPT),
    (lambda r: httpx.Response(418), "unexpected answer 418", RejectReason.OTHER),
])
def test_refusals_set_the_capture_aside(tmp_path: Path, answer: Callable, reason: str,
                                        kind: RejectReason) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/heartbeat"):
            return httpx.Response(204)
        return answer(request)

    booth, agent = mock_booth(tmp_path, handler)
    try:
        capture_id = booth.save(0)
        agent.start()
        wait_until(lambda: agent.status.rejected == 1, what="rejection")
        assert booth.store.rejected()[0][0] == capture_id
        assert reason in booth.store.rejected()[0][1]
        assert rejection_reason(booth.store.rejected()[0][1]) == kind
        assert booth.statuses_by_id()[capture_id] == "captured"
        assert agent.status.problem == SyncProblem.REFUSED
    finally:
        booth.close()


def test_a_sealed_file_gone_or_damaged_on_the_card_is_set_aside(tmp_path: Path) -> None:
    booth, agent = mock_booth(tmp_path, lambda r: httpx.Response(204) if r.url.path.endswith(
        "/heartbeat") else receipt_for(r))
    try:
        gone, damaged, fine = booth.save(0), booth.save(1), booth.save(2)
        (booth.data_dir / "sealed" / f"{gone}.sealed").unlink()
        path = booth.data_dir / "sealed" / f"{damaged}.sealed"
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
        agent.start()
        wait_until(all_acknowledged(booth, [fine]), what="the good one")
        wait_until(lambda: agent.status.rejected == 2, what="two set aside")
        reasons = {r.capture_id: rejection_reason(r.reason) for r in booth.store.rejected_captures()}
        assert reasons == {gone: RejectReason.FILE_MISSING, damaged: RejectReason.FILE_DAMAGED}
    finally:
        booth.close()


@pytest.mark.parametrize("answer, problem", [
    (lambda r: httpx.Response(503, json={"detail": "storage down"}), SyncProblem.SERVER_ERROR),
    (lambda r: httpx.Response(201, content=b"<html>proxy error</html>"), SyncProblem.BAD_ANSWER),
    (lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)), SyncProblem.TIMEOUT),
    (lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)), SyncProblem.UNREACHABLE),
])
def test_transient_trouble_is_named_for_staff(tmp_path: Path, answer: Callable,
                                              problem: SyncProblem) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/heartbeat"):
            return httpx.Response(204)
        return answer(request)

    booth, agent = mock_booth(tmp_path, handler)
    try:
        booth.save(0)
        agent.start()
        wait_until(lambda: agent.status.problem == problem, what=f"problem {problem.value}")
        assert agent.status.queue_depth == 1 and booth.store.rejected() == []  # only waiting
    finally:
        booth.close()


def test_forbidden_kiosk_id_stops_uploads(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/heartbeat"):
            return httpx.Response(204)
        return httpx.Response(403, json={"detail": "kiosk_id is not this token's kiosk"})

    booth, agent = mock_booth(tmp_path, handler)
    try:
        booth.save(0)
        booth.save(1)
        agent.start()
        wait_until(lambda: agent.status.uploads_stopped, what="stop")
        assert "403" in (agent.status.last_error or "")
        assert agent.status.problem == SyncProblem.WRONG_KIOSK
        time.sleep(0.2)
        assert sum("/captures/" in c for c in calls) == 1
    finally:
        booth.close()


def test_an_empty_server_roster_does_not_replace_the_local_one(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/roster"):
            return httpx.Response(200, json={
                "centre": CENTRE, "version": "v1", "rows": [],
                "student_ref_scheme": SCHEME.model_dump()},
                headers={"ETag": '"v1"'})
        return httpx.Response(204)

    booth, agent = mock_booth(tmp_path, handler, roster_refresh_seconds=60)
    try:
        agent.start()
        wait_until(lambda: agent.status.online, what="contact")
        time.sleep(0.1)
        assert booth.rosters == []
        assert not (booth.data_dir / SERVER_ROSTER_CACHE).exists()
    finally:
        booth.close()


# --------------------------------------------------------- kill -9 while syncing

SYNC_CHILD = r"""
import sys, time
from pathlib import Path
from kiosk.config import Config
from kiosk.capture.store import CaptureStore
from kiosk.capture.sync import SyncAgent
config = Config.model_validate_json(Path(sys.argv[1]).read_text())
store = CaptureStore(Path(config.kiosk.data_dir), config.kiosk.id,
                     public_key=config.sync.public_key_bytes())
store.recover()
agent = SyncAgent(store, config, on_status=lambda s: None, on_roster=lambda r: None,
                  idle_poll_seconds=0.01)
agent.start()
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.timeout(900)
def test_kill_9_while_syncing_still_syncs_everything_exactly_once(
        make_booth: Callable[..., Booth], tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    booth = make_booth()
    ids = [booth.save(n) for n in range(60)]
    config_file = tmp_path / "booth-config.json"
    config_file.write_text(booth.config.model_dump_json())
    rng = random.Random(7)
    rounds = 200
    for _ in range(rounds):
        child = subprocess.Popen([sys.executable, "-c", SYNC_CHILD, str(config_file)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.03))  # mid-request, mid-commit, mid-receipt
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
        if rng.random() < 0.1:
            ids.append(booth.save(1000 + len(ids)))  # students keep coming meanwhile
    booth.store.recover()
    booth.agent()
    wait_until(all_acknowledged(booth, ids), timeout=60, what="every capture acknowledged")
    server = booth.server_rows()
    assert sorted(server) == sorted(ids)  # each once: capture_id is the server's key
    for row in booth.rows():
        assert row["status"] == "acknowledged"  # retention not over: nothing purged
        assert row["digest"] == server[row["capture_id"]][0]
        assert (booth.data_dir / "sealed" / f"{row['capture_id']}.sealed").is_file()
    # The test server keeps objects in local files: exactly one per capture.
    objects = list((booth.deployment.data_dir / "objects" / "captures").glob("*/*.sealed"))
    mine = [p for p in objects if p.parent.name in server]
    assert len(mine) == len(ids)
