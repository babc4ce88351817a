"""Offline booths: `kiosk export` -> `photo-server import-bundle` -> `kiosk import-receipts`.

Real SQLite capture stores in temporary data dirs, sealed to the key of a real
school server deployment (tests/server/harness.py: its CLI in-process on its
data dir, and a running `photo-server serve` for enrolment and for comparing
with the HTTP PUT); `kiosk` runs as a real subprocess where it matters. The
stick's failures (read-only, full) are real tmpfs mounts in a user namespace.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from nacl.public import PublicKey, SealedBox
from PIL import Image

from kiosk.cli import main as kiosk_main
from kiosk.config import Config, load_config
from kiosk.capture.enrolment import TOKEN_FILE, enrol
from kiosk.capture.receipts import receipts_mac
from kiosk.capture.status_links import ensure_status_key, status_hash
from kiosk.capture.store import CaptureStore
from kiosk.capture.uploads import upload_body as _upload_body
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student
from photo_wire.status_link import status_token
from bounded_run import run_bounded
from server.harness import Deployment, Kiosk

CENTRE = "centre-bundle"
ID_NUMBER = "110101200103151236"
NAME = "张三"
PAYLOAD = "CHSI-BUNDLE-PAYLOAD-0123456789abcdef"
# The console script as installed (`kiosk`), else the module.
KIOSK_CMD = ([str(Path(sys.executable).with_name("kiosk"))]
             if Path(sys.executable).with_name("kiosk").exists()
             else [sys.executable, "-m", "kiosk.cli"])


@dataclass
class Photo:
    spec_jpeg: bytes
    original_jpeg: bytes | None = None
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    measures: dict = field(default_factory=dict)


def jpeg(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def request(n: int) -> CaptureRequest:
    student = Student(
        card=IdCard(id_number=ID_NUMBER, name=NAME),
        match=RosterMatch(RosterOutcome.EXPECTED, "计算机科学与技术", f"ref-{n}"),
        consent_version="2026-11-v1",
        consent_time=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc),
        code_payload=f"{PAYLOAD}-{n}",
    )
    return CaptureRequest(student=student, photo=Photo(jpeg(n), jpeg(n + 10_000, (96, 128))))  # type: ignore[arg-type]


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Booth:
    """An offline booth (sync.server_url empty): config file, data dir, store."""

    deployment: Deployment
    config_file: Path
    config: Config
    store: CaptureStore
    token: Kiosk | None  # its enrolment (token in data_dir/sync.token); None: never enrolled

    @property
    def kiosk_id(self) -> str:
        return self.config.kiosk.id

    @property
    def data_dir(self) -> Path:
        return Path(self.config.kiosk.data_dir)

    def save(self, n: int) -> str:
        return self.store.save(request(n), "morning", {"compliant": True, "n": n})

    def statuses(self) -> dict[str, str]:
        conn = sqlite3.connect(self.data_dir / "captures.db")
        try:
            return dict(conn.execute("SELECT capture_id, status FROM captures"))
        finally:
            conn.close()

    def sealed_file(self, capture_id: str) -> Path:
        return self.data_dir / "sealed" / f"{capture_id}.sealed"

    def kiosk(self, *args: str, config_file: Path | None = None) -> Run:
        """The real `kiosk` console script in a subprocess."""
        proc = subprocess.run(
            [*KIOSK_CMD, "--config", str(config_file or self.config_file), *args],
            capture_output=True, text=True, timeout=120)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def kiosk_here(self, capsys: pytest.CaptureFixture[str], *args: str) -> Run:
        """`kiosk` in this process (for fault injection)."""
        capsys.readouterr()
        code = kiosk_main(["--config", str(self.config_file), *args])
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    def server_rows(self) -> dict[str, tuple[str, str]]:
        """capture_id -> (digest, received_at) on the server for this kiosk."""
        conn = sqlite3.connect(self.deployment.data_dir / "server.db")
        try:
            return {cid: (digest, str(received)) for cid, digest, received in conn.execute(
                "SELECT capture_id, digest, received_at FROM captures WHERE kiosk_id = ?",
                (self.kiosk_id,))}
        finally:
            conn.close()


def write_config(path: Path, kiosk_id: str, data_dir: Path, public_key: bytes | None,
                 retention_days: float = 7) -> None:
    key = base64.b64encode(public_key).decode() if public_key else ""
    path.write_text(
        f'[kiosk]\nid = "{kiosk_id}"\ncentre = "{CENTRE}"\nsession = "morning"\n'
        f'data_dir = "{data_dir}"\n'
        f'[sync]\nserver_url = ""\nserver_public_key = "{key}"\n'
        f"retention_days = {retention_days}\n", encoding="utf-8")


@pytest.fixture
def make_booth(tmp_path: Path, deployment: Deployment) -> Iterator[Callable[..., Booth]]:
    booths: list[Booth] = []

    def make(enrolled: bool = True, sealed: bool = True) -> Booth:
        kiosk_id = f"booth-{uuid.uuid4().hex[:8]}"
        data_dir = tmp_path / kiosk_id
        config_file = tmp_path / f"{kiosk_id}.toml"
        key = deployment.public_key if sealed else None
        write_config(config_file, kiosk_id, data_dir, key)
        # Enrolled once, at provisioning where it could reach the school, as
        # `kiosk enrol` does: the booth keeps its token (receipts are keyed to it).
        token = None
        if enrolled:
            enrol(deployment.server.url, deployment.enrol_code(CENTRE), kiosk_id, data_dir)
            token = Kiosk(deployment.server, kiosk_id,
                          (data_dir / TOKEN_FILE).read_text(encoding="ascii").strip(), deployment.public_key)
        store = CaptureStore(data_dir, kiosk_id, public_key=key)
        booth = Booth(deployment, config_file, load_config(config_file), store, token)
        booths.append(booth)
        return booth

    yield make
    for b in booths:
        b.store.close()


def manifest(dest: Path) -> dict[str, Any]:
    return json.loads((dest / "manifest.json").read_text(encoding="utf-8"))


def receipts(dest: Path) -> dict[str, Any]:
    return json.loads((dest / "receipts.json").read_text(encoding="utf-8"))


def no_traceback(run: Any) -> None:
    assert "Traceback" not in run.err, run.err


# --------------------------------------------------------------- round trip

def test_a_bundle_carries_the_status_links_hash(make_booth: Callable[..., Booth],
                                                deployment: Deployment, tmp_path: Path) -> None:
    """A booth with a status key (its receipts showed QR codes) puts each
    capture's hash in the bundle, as its uploads do: the link opens the page."""
    booth = make_booth()
    key = ensure_status_key(booth.data_dir)
    capture_id = booth.save(0)
    dest = tmp_path / "stick" / booth.kiosk_id
    assert booth.kiosk("export", str(dest)).code == 0
    body = json.loads((dest / "captures" / f"{capture_id}.json").read_bytes())
    assert body["status_hash"] == status_hash(key, capture_id)
    assert deployment.cli("import-bundle", str(dest)).code == 0
    page = httpx.get(f"{deployment.server.url}/status/{status_token(key, capture_id)}", timeout=30)
    assert page.status_code == 200 and "学校已收到您的照片" in page.text


def test_round_trip_export_import_receipts_purge(make_booth: Callable[..., Booth],
                                                  deployment: Deployment, tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    dest = tmp_path / "stick" / "booth-1"

    run = booth.kiosk("export", str(dest))
    assert run.code == 0, run.err
    assert "3 captures exported" in run.out and "import-bundle" in run.out
    # Exporting marks nothing.
    assert set(booth.statuses().values()) == {"captured"}
    doc = manifest(dest)
    assert doc["format"] == "photo-kiosk-bundle/1"
    assert doc["kiosk_id"] == booth.kiosk_id and doc["centre"] == CENTRE
    assert doc["software_version"]
    assert [e["capture_id"] for e in doc["captures"]] == [i.capture_id for i in booth.store.outbox(None)]
    for entry, item in zip(doc["captures"], booth.store.outbox(None)):
        assert entry["digest"] == item.digest and entry["created_at"] == item.created_at
        body = (dest / "captures" / f"{item.capture_id}.json").read_bytes()
        # The exact bytes the sync agent would PUT.
        assert body == _upload_body(item, booth.sealed_file(item.capture_id).read_bytes())
        assert entry["file_sha256"] == hashlib.sha256(body).hexdigest()
    # Nothing personal in the clear anywhere in the bundle.
    for path in dest.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (ID_NUMBER, NAME, PAYLOAD, "ref-0", "计算机"):
                assert secret.encode() not in data, (path, secret)
    assert not list(dest.rglob("*.tmp"))

    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 0, result.err
    assert "3 stored, 0 already here" in result.out
    got = receipts(dest)
    assert got["kiosk_id"] == booth.kiosk_id and got["bundle_id"] == doc["bundle_id"]
    assert got["refused"] == {}
    rows = booth.server_rows()
    assert set(rows) == set(ids) == set(got["receipts"])
    for cid in ids:
        assert got["receipts"][cid]["digest"] == rows[cid][0] == booth.store.capture_state(cid)[1]
    # Real sealed captures: the school's export opens them.
    out = tmp_path / "school-export"
    assert deployment.cli("export", "--out", str(out)).code == 0
    assert all((out / f"{cid}.jpg").read_bytes() == jpeg(n) for n, cid in enumerate(ids))
    assert NAME in (out / "manifest.csv").read_text(encoding="utf-8-sig")

    run = booth.kiosk("import-receipts", str(dest))
    assert run.code == 0, run.err
    assert "3 applied, 0 already acknowledged" in run.out
    assert "0 acknowledged captures past retention (7 days) purged" in run.out
    assert set(booth.statuses().values()) == {"acknowledged"}
    assert all(booth.sealed_file(cid).exists() for cid in ids)  # kept for retention_days

    # Again: nothing changes; and nothing is left to export.
    run = booth.kiosk("import-receipts", str(dest))
    assert run.code == 0 and "0 applied, 3 already acknowledged" in run.out
    run = booth.kiosk("export", str(tmp_path / "stick" / "again"))
    assert run.code == 3 and "nothing to export" in run.err
    assert not (tmp_path / "stick" / "again" / "manifest.json").exists()

    # The retention purge (cutoff: now - retention_days) deletes the files
    # once retention_days have passed since the receipts were applied.
    def cutoff(days_later: float) -> datetime:
        return datetime.now(timezone.utc) + timedelta(days=days_later) - timedelta(days=7)

    assert booth.store.purge_acknowledged(cutoff(6)) == []
    assert sorted(booth.store.purge_acknowledged(cutoff(7.01))) == sorted(ids)
    assert set(booth.statuses().values()) == {"purged"}
    assert not any(booth.sealed_file(cid).exists() for cid in ids)
    assert booth.store.has_capture("ref-0")  # the rows stay


def test_import_receipts_runs_the_retention_purge(make_booth: Callable[..., Booth],
                                                  deployment: Deployment, tmp_path: Path) -> None:
    """An offline booth has no sync agent: import-receipts purges what is due."""
    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    assert deployment.cli("import-bundle", str(dest)).code == 0
    no_retention = tmp_path / "no-retention.toml"
    write_config(no_retention, booth.kiosk_id, booth.data_dir, deployment.public_key,
                 retention_days=0)
    run = booth.kiosk("import-receipts", str(dest), config_file=no_retention)
    assert run.code == 0, run.err
    assert "2 applied" in run.out and "2 acknowledged captures past retention (0 days) purged" in run.out
    assert set(booth.statuses().values()) == {"purged"}
    assert not any(booth.sealed_file(cid).exists() for cid in ids)


def test_the_running_offline_kiosk_purges_when_retention_ends(make_booth: Callable[..., Booth],
                                                              deployment: Deployment, tmp_path: Path) -> None:
    """Receipts applied before retention ended: the kiosk itself purges later."""
    from kiosk.runtime import KioskRuntime

    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    assert deployment.cli("import-bundle", str(dest)).code == 0
    assert booth.kiosk("import-receipts", str(dest)).code == 0  # 7 days: nothing purged yet
    assert set(booth.statuses().values()) == {"acknowledged"}

    def run_kiosk(retention_days: float) -> None:
        config_file = tmp_path / f"retention-{retention_days}.toml"
        write_config(config_file, booth.kiosk_id, booth.data_dir, deployment.public_key,
                     retention_days=retention_days)
        runtime = KioskRuntime(load_config(config_file).as_demo())
        runtime.poll()  # the periodic checks run on the first poll
        runtime._worker.shutdown(wait=True)  # the purge runs on the worker: let it finish
        runtime.store.close()

    run_kiosk(7)
    assert set(booth.statuses().values()) == {"acknowledged"}
    run_kiosk(0)  # as if seven days had passed
    assert set(booth.statuses().values()) == {"purged"}
    assert not any(booth.sealed_file(cid).exists() for cid in ids)


# ---------------------------------------------------------------- idempotency

def test_reimport_is_idempotent_and_matches_the_http_put(make_booth: Callable[..., Booth],
                                                         deployment: Deployment,
                                                         tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    # One of them reached the server over the network first.
    first_body = (dest / "captures" / f"{ids[0]}.json").read_bytes()
    assert booth.token is not None
    reply = booth.token.put(ids[0], json.loads(first_body))
    assert reply.status_code == 201, reply.text

    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 0, result.err
    assert "2 stored, 1 already here (same receipt), 0 refused" in result.out
    first = receipts(dest)
    assert first["receipts"][ids[0]] == {"digest": reply.json()["digest"],
                                         "received_at": reply.json()["received_at"]}
    rows = booth.server_rows()
    objects = sorted(p for p in (deployment.data_dir / "objects").rglob("*") if p.is_file())

    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 0, result.err
    assert "0 stored, 3 already here" in result.out
    assert receipts(dest)["receipts"] == first["receipts"]
    assert booth.server_rows() == rows  # no duplicates, same received_at
    assert sorted(p for p in (deployment.data_dir / "objects").rglob("*") if p.is_file()) == objects
    # And the HTTP PUT of a bundled capture gets the bundle's receipt (one code path).
    for cid in ids:
        again = booth.token.put(cid, json.loads((dest / "captures" / f"{cid}.json").read_bytes()))
        assert again.status_code == 200
        assert {"digest": again.json()["digest"],
                "received_at": again.json()["received_at"]} == first["receipts"][cid]


def test_exporting_twice_before_receipts_is_harmless(make_booth: Callable[..., Booth],
                                                     deployment: Deployment,
                                                     tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    dest, other = tmp_path / "stick-a", tmp_path / "stick-b"
    assert booth.kiosk("export", str(dest)).code == 0
    first = manifest(dest)
    files = {p.name: p.stat().st_mtime_ns for p in (dest / "captures").iterdir()}
    ids.append(booth.save(2))
    run = booth.kiosk("export", str(dest))  # same folder, one more capture
    assert run.code == 0, run.err
    assert "3 captures exported" in run.out and "1 files written now" in run.out
    second = manifest(dest)
    assert second["bundle_id"] != first["bundle_id"]
    assert second["captures"][:2] == first["captures"]
    assert {p.name: p.stat().st_mtime_ns for p in (dest / "captures").iterdir()
            if p.name in files} == files  # the same bytes were not rewritten
    assert booth.kiosk("export", str(other)).code == 0  # and another folder
    assert set(booth.statuses().values()) == {"captured"}

    assert deployment.cli("import-bundle", str(dest)).code == 0
    result = deployment.cli("import-bundle", str(other))
    assert result.code == 0 and "0 stored, 3 already here" in result.out
    assert set(booth.server_rows()) == set(ids)
    assert receipts(dest)["receipts"] == receipts(other)["receipts"]

    run = booth.kiosk("import-receipts", str(other))
    assert run.code == 0 and "3 applied" in run.out
    run = booth.kiosk("import-receipts", str(dest))
    assert run.code == 0 and "0 applied, 3 already acknowledged" in run.out
    assert set(booth.statuses().values()) == {"acknowledged"}


# -------------------------------------------------------------- refusals

def test_tampered_file_is_refused_the_rest_stored(make_booth: Callable[..., Booth],
                                                 deployment: Deployment, tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    path = dest / "captures" / f"{ids[1]}.json"
    data = bytearray(path.read_bytes())
    at = data.index(b'"sealed": "') + 40
    data[at] = ord("A") if data[at] != ord("A") else ord("B")  # still valid base64
    path.write_bytes(bytes(data))

    result = deployment.cli("import-bundle", str(dest))
    no_traceback(result)
    assert result.code == 1
    assert "2 stored, 0 already here (same receipt), 1 refused" in result.out
    assert f"capture {ids[1]} refused: tampered or damaged" in result.err
    assert set(booth.server_rows()) == {ids[0], ids[2]}
    got = receipts(dest)
    assert set(got["receipts"]) == {ids[0], ids[2]} and set(got["refused"]) == {ids[1]}

    run = booth.kiosk("import-receipts", str(dest))
    assert run.code == 0, run.err
    assert "2 applied" in run.out and f"capture {ids[1]} was refused by the school" in run.err
    assert booth.statuses()[ids[1]] == "captured"  # still owed to the school

    # The next export carries it again, intact, and only it.
    run = booth.kiosk("export", str(dest))
    assert run.code == 0 and "1 captures exported" in run.out and "2 no longer pending removed" in run.out
    assert [e["capture_id"] for e in manifest(dest)["captures"]] == [ids[1]]
    assert sorted(p.name for p in (dest / "captures").iterdir()) == [f"{ids[1]}.json"]
    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 0 and "1 stored" in result.out
    assert booth.kiosk("import-receipts", str(dest)).code == 0
    assert set(booth.statuses().values()) == {"acknowledged"}


def test_a_capture_file_that_is_a_device_is_refused_the_rest_stored(
        make_booth: Callable[..., Booth], deployment: Deployment, tmp_path: Path) -> None:
    """A capture file pointing at /dev/zero is refused in one line (it was read
    without end: killed at 23 GB), under a memory limit of the test's own."""
    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    path = dest / "captures" / f"{ids[1]}.json"
    path.unlink()
    path.symlink_to("/dev/zero")
    res = run_bounded("school_server.cli", "import-bundle", "--data", str(deployment.data_dir),
                      str(dest))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert (f"capture {ids[1]} refused: captures/{ids[1]}.json: a device or pipe, not a capture"
            in res.stderr)
    assert "1 stored, 0 already here (same receipt), 1 refused" in res.stdout
    assert set(booth.server_rows()) == {ids[0]}


def test_consistent_forgery_and_conflicts_are_refused(make_booth: Callable[..., Booth],
                                                      deployment: Deployment,
                                                      tmp_path: Path) -> None:
    """A file rewritten with its manifest entry to match: the PUT's own rules
    (digest of the sealed bytes, another digest under a stored id) refuse it."""
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    assert deployment.cli("import-bundle", str(dest)).code == 0
    doc = manifest(dest)

    def rewrite(i: int, **body_over: Any) -> None:
        path = dest / "captures" / f"{ids[i]}.json"
        body = {**json.loads(path.read_bytes()), **body_over}
        data = json.dumps(body).encode()
        path.write_bytes(data)
        entry = doc["captures"][i]
        entry.update(size=len(data), file_sha256=hashlib.sha256(data).hexdigest(),
                     digest=body["digest"])
        (dest / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")

    other = SealedBox(PublicKey(deployment.public_key)).encrypt(b'{"forged": true}')
    # 0: another capture under a stored id, consistent everywhere (the PUT's 409)
    rewrite(0, sealed=base64.b64encode(other).decode(), digest=hashlib.sha256(other).hexdigest())
    # 1: sealed bytes replaced, digest left as it was (the PUT's 422)
    rewrite(1, sealed=base64.b64encode(other).decode())
    # 2: written as another kiosk
    rewrite(2, kiosk_id="someone-else")
    result = deployment.cli("import-bundle", str(dest))
    no_traceback(result)
    assert result.code == 1 and "0 stored, 0 already here (same receipt), 3 refused" in result.out
    assert f"capture {ids[0]} refused: the server holds a different capture" in result.err
    assert f"capture {ids[1]} refused: tampered: the sealed bytes do not match" in result.err
    assert f"capture {ids[2]} refused: written as kiosk 'someone-else'" in result.err
    # The first import's rows are untouched.
    assert {cid: d for cid, (d, _) in booth.server_rows().items()} == {
        cid: booth.store.capture_state(cid)[1] for cid in ids}
    assert receipts(dest)["receipts"] == {}


def test_receipts_with_a_wrong_digest_or_unknown_id_are_not_applied(
        make_booth: Callable[..., Booth], deployment: Deployment, tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    assert deployment.cli("import-bundle", str(dest)).code == 0
    doc = receipts(dest)
    doc["receipts"][ids[1]]["digest"] = "0" * 64
    unknown = uuid.uuid4().hex
    doc["receipts"][unknown] = {"digest": "1" * 64, "received_at": "2026-06-20T01:00:00Z"}
    doc["receipts"]["../../etc"] = {"digest": 5}
    # As if the school had issued them (signed with the booth's key): each
    # receipt is still checked against the booth's own captures.
    doc["mac"] = receipts_mac(doc, booth.token.token)
    (dest / "receipts.json").write_text(json.dumps(doc), encoding="utf-8")

    run = booth.kiosk("import-receipts", str(dest))
    no_traceback(run)
    assert run.code == 1
    assert ("5 receipts in" in run.out and "2 applied, 0 already acknowledged, 1 unknown capture, "
            "1 wrong digest, 1 malformed" in run.out)
    assert f"receipt for capture {ids[1]}: digest is not the capture's own; not applied" in run.err
    assert f"receipt for capture {unknown}: no such capture on this booth" in run.err
    statuses = booth.statuses()
    assert statuses[ids[1]] == "captured" and statuses[ids[0]] == statuses[ids[2]] == "acknowledged"
    assert booth.store.pending_count() == 1


def test_forged_or_edited_receipts_apply_nothing(make_booth: Callable[..., Booth],
                                                 deployment: Deployment, tmp_path: Path) -> None:
    """Anyone holding the stick can read the digests in the manifest and
    write receipts for them; only the school's, keyed to this booth's token,
    are applied (else a forger could make the booth delete captures)."""
    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    doc = manifest(dest)
    forged = {"format": "photo-kiosk-receipts/1", "bundle_id": doc["bundle_id"],
              "kiosk_id": booth.kiosk_id, "imported_at": "2026-11-22T08:00:00+00:00", "refused": {},
              "receipts": {e["capture_id"]: {"digest": e["digest"],
                                             "received_at": "2026-11-22T08:00:00+00:00"}
                           for e in doc["captures"]}}
    for mac in (None, "0" * 64, receipts_mac(forged, "a guessed token")):
        attempt = dict(forged, **({"mac": mac} if mac else {}))
        (dest / "receipts.json").write_text(json.dumps(attempt), encoding="utf-8")
        run = booth.kiosk("import-receipts", str(dest))
        no_traceback(run)
        assert run.code == 1 and "is not signed for this booth" in run.err and "nothing applied" in run.err
    # The school's real receipts, then one byte of them changed.
    assert deployment.cli("import-bundle", str(dest)).code == 0
    real = (dest / "receipts.json").read_text(encoding="utf-8")
    edited = json.loads(real)
    edited["receipts"][ids[0]]["received_at"] = "2020-01-01T00:00:00+00:00"
    (dest / "receipts.json").write_text(json.dumps(edited), encoding="utf-8")
    assert "is not signed for this booth" in booth.kiosk("import-receipts", str(dest)).err
    assert set(booth.statuses().values()) == {"captured"}
    (dest / "receipts.json").write_text(real, encoding="utf-8")
    assert booth.kiosk("import-receipts", str(dest)).code == 0
    assert set(booth.statuses().values()) == {"acknowledged"}


def test_a_booth_without_its_token_cannot_check_receipts(make_booth: Callable[..., Booth],
                                                         deployment: Deployment, tmp_path: Path) -> None:
    booth = make_booth()
    booth.save(1)
    dest = tmp_path / "b"
    assert booth.kiosk("export", str(dest)).code == 0
    assert deployment.cli("import-bundle", str(dest)).code == 0
    (booth.data_dir / TOKEN_FILE).unlink()  # e.g. enrolled on the server only, never on the booth
    run = booth.kiosk("import-receipts", str(dest))
    no_traceback(run)
    assert run.code == 1 and "has no enrolment token" in run.err and "kiosk enrol" in run.err
    assert set(booth.statuses().values()) == {"captured"}


def test_a_bundle_from_another_kiosk(make_booth: Callable[..., Booth], deployment: Deployment,
                                     tmp_path: Path) -> None:
    a, b = make_booth(), make_booth()
    a.save(1)
    b_ids = [b.save(2)]
    dest = tmp_path / "stick"
    assert a.kiosk("export", str(dest)).code == 0
    run = b.kiosk("export", str(dest))
    no_traceback(run)
    assert run.code == 1 and f"holds a bundle from kiosk '{a.kiosk_id}'" in run.err
    assert manifest(dest)["kiosk_id"] == a.kiosk_id  # untouched

    assert deployment.cli("import-bundle", str(dest)).code == 0
    run = b.kiosk("import-receipts", str(dest))
    no_traceback(run)
    assert run.code == 1 and f"is for kiosk '{a.kiosk_id}'" in run.err and "nothing applied" in run.err
    assert b.statuses() == {b_ids[0]: "captured"}


@pytest.mark.parametrize("content, why", [
    (b"\x00\xffnot json at all", "not JSON"),
    (b"[1, 2, 3]", "format is not"),
    (b'{"format": "photo-kiosk-receipts/1", "kiosk_id": "x"}', None),
    (b"", "not JSON"),
])
def test_garbage_receipts_are_refused(make_booth: Callable[..., Booth], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str], content: bytes,
                                      why: str | None) -> None:
    booth = make_booth()
    booth.save(1)
    dest = tmp_path / "b"
    dest.mkdir()
    (dest / "receipts.json").write_bytes(
        content.replace(b'"x"', json.dumps(booth.kiosk_id).encode()))
    run = booth.kiosk_here(capsys, "import-receipts", str(dest))
    no_traceback(run)
    assert run.code == 1
    assert "is not a receipts file from `photo-server import-bundle`" in run.err
    assert (why or "no receipts object") in run.err and "nothing applied" in run.err
    assert set(booth.statuses().values()) == {"captured"}


def test_missing_receipts_and_nothing_to_export(make_booth: Callable[..., Booth], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    booth = make_booth()
    run = booth.kiosk_here(capsys, "export", str(tmp_path / "b"))
    assert run.code == 3 and "nothing to export: no captures are waiting" in run.err
    assert not (tmp_path / "b" / "manifest.json").exists()
    (tmp_path / "b").mkdir(exist_ok=True)
    run = booth.kiosk_here(capsys, "import-receipts", str(tmp_path / "b"))
    assert run.code == 1 and "no receipts.json in" in run.err and "import-bundle" in run.err
    run = booth.kiosk_here(capsys, "import-receipts", str(tmp_path / "nowhere"))
    assert run.code == 1 and "is not a folder" in run.err
    # A config that is not the booth's: said so, nothing created.
    other = tmp_path / "other.toml"
    write_config(other, "nobody", tmp_path / "no-such-data", None)
    capsys.readouterr()
    assert kiosk_main(["--config", str(other), "export", str(tmp_path / "c")]) == 1
    assert "no capture store at" in capsys.readouterr().err
    assert not (tmp_path / "no-such-data").exists()


def test_import_bundle_refuses_unknown_revoked_and_garbage(make_booth: Callable[..., Booth],
                                                           deployment: Deployment,
                                                           tmp_path: Path) -> None:
    stranger = make_booth(enrolled=False)
    stranger.save(1)
    dest = tmp_path / "stranger"
    assert stranger.kiosk("export", str(dest)).code == 0
    result = deployment.cli("import-bundle", str(dest))
    no_traceback(result)
    assert result.code == 1 and f"kiosk '{stranger.kiosk_id}' is not enrolled" in result.err
    assert not (dest / "receipts.json").exists() and stranger.server_rows() == {}

    revoked = make_booth()
    revoked.save(1)
    dest = tmp_path / "revoked"
    assert revoked.kiosk("export", str(dest)).code == 0
    assert deployment.cli("revoke", revoked.kiosk_id).code == 0
    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 1 and "is revoked" in result.err and revoked.server_rows() == {}

    empty = tmp_path / "empty"
    empty.mkdir()
    result = deployment.cli("import-bundle", str(empty))
    assert result.code == 1 and "is not a kiosk bundle: no manifest.json" in result.err
    (empty / "manifest.json").write_text('{"format": "photo-kiosk-bundle/1", "captures": 7}')
    result = deployment.cli("import-bundle", str(empty))
    no_traceback(result)
    assert result.code == 1 and "is not a valid bundle manifest" in result.err


def test_unsealed_legacy_store_is_not_exported(make_booth: Callable[..., Booth], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    booth = make_booth(sealed=False)
    booth.save(1)
    dest = tmp_path / "b"
    run = booth.kiosk_here(capsys, "export", str(dest))
    no_traceback(run)
    assert run.code == 1
    assert "stored as plain files" in run.err and "server_public_key" in run.err
    assert not dest.exists()  # nothing written, not even the folder


def test_damaged_sealed_file_is_set_aside_the_rest_exported(make_booth: Callable[..., Booth],
                                                            tmp_path: Path) -> None:
    booth = make_booth()
    ids = [booth.save(n) for n in range(2)]
    path = booth.sealed_file(ids[0])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    run = booth.kiosk("export", str(tmp_path / "b"))
    assert run.code == 1 and "1 captures exported" in run.out
    assert f"capture {ids[0]} not exported: sealed file does not match its digest" in run.err
    assert [e["capture_id"] for e in manifest(tmp_path / "b")["captures"]] == [ids[1]]
    assert booth.store.rejected() == [(ids[0], "sealed file does not match its digest "
                                                "(damaged storage?)")]


# ----------------------------------------------------------- the stick itself

def _userns_available(where: Path) -> str | None:
    if not shutil.which("unshare"):
        return "no unshare(1)"
    where.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            'mount -t tmpfs -o size=16k tmpfs "$1"', "sh", str(where)],
                           capture_output=True)
    return None if probe.returncode == 0 else "cannot mount a tmpfs in a user namespace"


def stick(booth: Booth, mount: str, dest_dir: Path, *args: str) -> Run:
    """`kiosk ARGS` with dest_dir a fresh tmpfs mounted with `mount` options
    (in a private user + mount namespace: no root needed, nothing leaks out)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    script = (f'mount -t tmpfs -o {mount} tmpfs "$1" && shift && exec "$@"')
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(dest_dir), *KIOSK_CMD, "--config", str(booth.config_file), *args],
        capture_output=True, text=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_stick_read_only_or_full(make_booth: Callable[..., Booth], tmp_path: Path) -> None:
    reason = _userns_available(tmp_path / "probe")
    if reason:
        pytest.skip(reason)
    booth = make_booth()
    for n in range(3):
        booth.save(n)
    mnt = tmp_path / "mnt"
    run = stick(booth, "ro,size=1m", mnt, "export", str(mnt / "booth-1"))
    no_traceback(run)
    assert run.code == 1, run.err
    assert "is not writable" in run.err and "no bundle was written" in run.err

    run = stick(booth, "size=16k", mnt, "export", str(mnt))
    no_traceback(run)
    assert run.code == 1, run.err
    assert f"not enough space in {mnt}" in run.err and "nothing was written" in run.err
    assert set(booth.statuses().values()) == {"captured"}


def test_stick_full_half_way_keeps_the_previous_bundle(make_booth: Callable[..., Booth],
                                                       deployment: Deployment, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC in the middle of writing (the space check passed: something else
    filled the stick): no temp file left, the earlier bundle still whole."""
    booth = make_booth()
    first = [booth.save(n) for n in range(2)]
    dest = tmp_path / "b"
    assert booth.kiosk_here(capsys, "export", str(dest)).code == 0
    before = (dest / "manifest.json").read_bytes()
    booth.save(5)
    booth.save(6)
    real_write = os.write
    calls = {"n": 0}

    def write(fd: int, data: Any) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if target.startswith(str(dest)):
            calls["n"] += 1
            if calls["n"] >= 2:  # the second new capture file
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    run = booth.kiosk_here(capsys, "export", str(dest))
    monkeypatch.undo()
    no_traceback(run)
    assert run.code == 1
    assert f"{dest} is full: the bundle already there is unchanged" in run.err
    assert (dest / "manifest.json").read_bytes() == before
    assert not list(dest.rglob("*.tmp"))
    result = deployment.cli("import-bundle", str(dest))
    assert result.code == 0 and "2 stored" in result.out
    assert set(booth.server_rows()) == set(first)


# ------------------------------------------------------- staff mode's USB stick

def usb_runtime(booth: Booth, public_key: bytes | None, media: Path, config_file: Path) -> Any:
    """The booth's kiosk (simulated devices) looking for sticks inside media."""
    from kiosk.runtime import KioskRuntime

    write_config(config_file, booth.kiosk_id, booth.data_dir, public_key)
    with config_file.open("a", encoding="utf-8") as f:
        f.write(f'usb_roots = ["{media}"]\n')
    return KioskRuntime(load_config(config_file).as_demo())


def staff_taps_usb(runtime: Any) -> Any:
    """Staff mode, PIN, "USB stick in/out"; the outcome once it is done."""
    from kiosk.codes import Button, UsbResult

    runtime.press(Button.STAFF)
    runtime.enter_pin("2468")
    runtime.press(Button.USB_EXCHANGE)
    for _ in range(3000):
        view = runtime.poll()
        if view.usb is not None and view.usb.result != UsbResult.WORKING:
            runtime.press(Button.STAFF_EXIT)
            runtime.poll()
            return view.usb
        time.sleep(0.01)
    raise AssertionError("the USB exchange did not finish")


def test_staff_exchange_with_a_usb_stick_both_ways(make_booth: Callable[..., Booth],
                                                   deployment: Deployment, tmp_path: Path) -> None:
    """The whole offline round with no terminal: staff tap "USB in/out" with a
    stick in, the school imports it, staff tap again with it back in."""
    from usb_stick import mounted_tmpfs

    from kiosk.codes import UsbResult
    from kiosk.capture.usb import bundle_dir
    from kiosk.session import UsbOutcome

    booth = make_booth()
    ids = [booth.save(n) for n in range(3)]
    media = tmp_path / "media"
    runtime = usb_runtime(booth, deployment.public_key, media, tmp_path / "usb.toml")

    def exchange() -> UsbOutcome:
        return staff_taps_usb(runtime)

    try:
        assert exchange() == UsbOutcome(UsbResult.NO_STICK)
        with mounted_tmpfs(media / "STICK"):
            assert exchange() == UsbOutcome(UsbResult.DONE, acknowledged=0, exported=3)
            dest = bundle_dir(media / "STICK", booth.kiosk_id)
            assert set(booth.statuses().values()) == {"captured"}  # the school has nothing yet
            # At the school (the stick's folder copied over, as if carried there).
            shutil.copytree(dest, tmp_path / "at-school")
        result = deployment.cli("import-bundle", str(tmp_path / "at-school"))
        assert result.code == 0, result.err
        assert set(booth.server_rows()) == set(ids)
        extra = booth.save(3)  # taken while the stick was away
        with mounted_tmpfs(media / "STICK"):
            shutil.copytree(tmp_path / "at-school", dest)  # the stick comes back with receipts
            assert exchange() == UsbOutcome(UsbResult.DONE, acknowledged=3, exported=1)
            assert [e["capture_id"] for e in manifest(dest)["captures"]] == [extra]
            # Tapping again changes nothing.
            assert exchange() == UsbOutcome(UsbResult.DONE, acknowledged=0, exported=1)
        statuses = booth.statuses()
        assert {statuses[cid] for cid in ids} == {"acknowledged"} and statuses[extra] == "captured"
        assert runtime.poll().queue_depth == 1
    finally:
        runtime.stop()
        runtime.store.close()


def test_usb_exchange_refusals_are_messages(make_booth: Callable[..., Booth],
                                            deployment: Deployment, tmp_path: Path) -> None:
    from usb_stick import mounted_tmpfs

    from kiosk.codes import UsbResult
    from kiosk.capture.usb import bundle_dir

    def outcome(booth: Booth, media: Path) -> UsbResult:
        runtime = usb_runtime(booth, deployment.public_key, media, tmp_path / f"{booth.kiosk_id}-usb.toml")
        try:
            return staff_taps_usb(runtime).result
        finally:
            runtime.stop()
            runtime.store.close()

    booth, never_enrolled = make_booth(), make_booth(enrolled=False)
    booth.save(0)
    never_enrolled.save(0)
    media = tmp_path / "media"
    with mounted_tmpfs(media / "a"), mounted_tmpfs(media / "b"):
        assert outcome(booth, media) == UsbResult.MANY_STICKS
    with mounted_tmpfs(media / "full", "size=16k"):
        assert outcome(booth, media) == UsbResult.NO_SPACE
        # Without the school's key nothing leaves the booth (checked before the stick).
        runtime = usb_runtime(booth, None, media, tmp_path / "no-key.toml")
        try:
            assert staff_taps_usb(runtime).result == UsbResult.NOT_SEALED
        finally:
            runtime.stop()
            runtime.store.close()
    with mounted_tmpfs(media / "stick"):
        assert outcome(booth, media) == UsbResult.DONE
        # Receipts on the stick, but this booth holds no token to check them with.
        fake = bundle_dir(media / "stick", never_enrolled.kiosk_id)
        fake.mkdir()
        (fake / "receipts.json").write_text(json.dumps({
            "format": "photo-kiosk-receipts/1", "kiosk_id": never_enrolled.kiosk_id,
            "receipts": {}, "refused": {}, "mac": "0" * 64}), encoding="utf-8")
        assert outcome(never_enrolled, media) == UsbResult.NOT_ENROLLED
        # Another booth's bundle where this one's should be (a renamed folder).
        shutil.rmtree(fake)
        shutil.copytree(bundle_dir(media / "stick", booth.kiosk_id), fake)
        (fake / "receipts.json").unlink(missing_ok=True)
        assert outcome(never_enrolled, media) == UsbResult.OTHER_KIOSK
    assert set(never_enrolled.statuses().values()) == {"captured"}
    assert set(booth.statuses().values()) == {"captured"}
