"""Power cuts: unsynced writes dropped, every acknowledged capture still there.

The store runs on tests/powercut_fs.py, a FUSE filesystem that keeps file
data until the file is fsynced and directory entries until the directory is
fsynced, and on a "cut" throws the rest away (see its docstring for the
exact model). A writer process opens the real store, sealed as in
production, and saves captures in a loop, reporting each capture id on a
pipe once save() returned (when the student is told "saved"). At a random
moment the power goes (the filesystem drops what is not durable and the
writer is SIGKILLed with it): half the rounds at a random time, half just
before a randomly chosen state-changing filesystem operation (which reaches
the short windows between one fsync and the next). The durable state is mounted
again, the store opened and recover() run as the kiosk does at start, and:
the database passes integrity_check; every acknowledged capture is there
once, its sealed file whole and decrypting to the photos it was given; no
row lacks its file and no file lacks its row.

Rounds come in "booth lifetimes": a lifetime starts from an empty disk (so
the store's first start, which creates the data directory, gets cut too)
and carries its data across its rounds' cuts.

The controls show the filesystem can fail these checks: plain files written
without fsync, or renamed without a directory fsync, are gone after a cut;
the same store with SQLite synchronous=NORMAL loses acknowledged captures.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nacl.public import PrivateKey, SealedBox

import powercut_fs
from services_required import service_missing
from kiosk.capture.store import SEALED_DIR, SEALED_SUFFIX, CaptureStore

MISSING = powercut_fs.missing()


@pytest.fixture(autouse=True)
def _fuse() -> None:
    # FUSE is installed by provisioning/setup.sh --test: CI must run these.
    if MISSING is not None:
        service_missing(MISSING, "the power-cut tests")

LIFETIMES = 7
ROUNDS_PER_LIFETIME = 8
SEED = 20261122
KIOSK = "kiosk-cut"
DATA = "kiosk-data"  # under the mount root, created by the writer like runtime.py does


def photos(marker: str) -> tuple[bytes, bytes | None]:
    """The photos for one capture, derived from its marker (so the parent can
    check every byte). Spec 15-45 KB; original none or 50-250 KB: sealed files
    of 20-400 KB, several FUSE writes each, so a cut can land inside one."""
    n = int(hashlib.sha256(marker.encode()).hexdigest()[:8], 16)
    spec = b"\xff\xd8spec-" + marker.encode() + b"\x00" + hashlib.shake_256(
        b"s" + marker.encode()).digest(15000 + n % 30000)
    if n % 4 == 0:
        return spec, None
    original = b"\xff\xd8orig-" + hashlib.shake_256(b"o" + marker.encode()).digest(
        50000 + (n >> 8) % 200000)
    return spec, original


WRITER = "import hashlib\n" + inspect.getsource(photos) + r'''
import os, sys, time
from dataclasses import dataclass, field
from pathlib import Path
from kiosk.capture.store import CaptureStore
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student

@dataclass
class Photo:
    spec_jpeg: bytes
    original_jpeg: bytes | None
    compliant: bool = True
    problems: list = field(default_factory=list)
    measures: dict = field(default_factory=dict)

data_dir, public_key, tag = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
synchronous, count, checkpoint = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
print("start", flush=True)
data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # as kiosk/runtime.py does
store = CaptureStore(data_dir, "kiosk-cut", public_key=public_key)
if synchronous != "full":  # the control: what synchronous=FULL is there for
    store._conn.execute(f"PRAGMA synchronous={synchronous}")
# SQLite's default is a checkpoint every 1000 WAL pages (~200 saves); some
# rounds checkpoint every few saves so that cuts land in checkpoints too.
store._conn.execute(f"PRAGMA wal_autocheckpoint={checkpoint}")
store.recover()
# The flow looks the 采集码 up when it is scanned: a save finds its (slow,
# memory-hard) digest done, so the cuts land in the saves.
code = f"CODE-{tag}-0123456789"
store.student_for_code(code)
n = 0
while not count or n < count:
    n += 1
    marker = f"{tag}-{n}"
    spec, original = photos(marker)
    student = Student(card=IdCard(id_number="110101200103151236", name="张三"),
                      match=RosterMatch(RosterOutcome.EXPECTED, "会计学", f"ref-{marker}"),
                      consent_version="v1", code_payload=code)
    capture_id = store.save(CaptureRequest(student, Photo(spec, original)), "s1", {"ok": True})
    print("ack", capture_id, marker, flush=True)  # the student is told "saved"
print("done", flush=True)
time.sleep(3600)  # wait for the power cut
'''


class Writer:
    """The writer process on the mount; collects the acknowledged (capture_id, marker)s."""

    def __init__(self, data_dir: Path, key: PrivateKey, tag: str, *, synchronous: str = "full",
                 count: int = 0, checkpoint: int = 1000, log: Path) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WRITER, str(data_dir), bytes(key.public_key).hex(), tag,
                 synchronous, str(count), str(checkpoint)],
                stdout=subprocess.PIPE, stderr=err)
        assert self.proc.stdout is not None
        self.reader = powercut_fs.LineReader(self.proc.stdout.fileno())
        self.acked: dict[str, str] = {}

    def expect(self, word: str, timeout: float = 30) -> None:
        while True:
            line = self.reader.readline(timeout)
            if line is None:
                raise AssertionError(f"writer never said {word!r}: {self.log.read_text()[-2000:]}")
            self._note(line)
            if line == word:
                return

    def _note(self, line: str) -> None:
        words = line.split()
        if len(words) == 3 and words[0] == "ack":
            self.acked[words[1]] = words[2]

    def assert_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"writer died before the cut: {self.log.read_text()[-2000:]}")

    def killed(self) -> dict[str, str]:
        """SIGKILL (if still alive), then what it had said (whole lines only)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        while (line := self.reader.readline(5)) is not None:
            self._note(line)
        return self.acked

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def power_cut(mount: powercut_fs.Mount, writer: Writer) -> dict[str, str]:
    """Now: the disk and the CPU lose power together; returns what the writer acknowledged."""
    writer.assert_alive()
    mount.request_cut()
    os.kill(writer.proc.pid, signal.SIGKILL)
    assert mount.wait_cut(), "no cut"
    return writer.killed()


def power_cut_armed(mount: powercut_fs.Mount, writer: Writer) -> dict[str, str]:
    """After mount.cut_at(n): wait for the cut, then kill the writer (which by
    then only gets EIO); returns what it acknowledged."""
    deadline = time.monotonic() + 60
    while not mount.wait_cut(0.05):
        if writer.proc.poll() is not None and not mount.wait_cut(1):
            raise AssertionError(f"writer died before the cut: {writer.log.read_text()[-2000:]}")
        assert time.monotonic() < deadline, "the armed cut never came"
    return writer.killed()


def open_document(sealed: bytes, key: PrivateKey) -> dict:
    return json.loads(SealedBox(key).decrypt(sealed))


def check_store(data_dir: Path, key: PrivateKey, acked: dict[str, str], where: str) -> tuple[set[str], int]:
    """Open the store as the kiosk does at start and check everything; returns
    the capture ids stored and how many orphan files recover() removed."""
    store = CaptureStore(data_dir, KIOSK, public_key=bytes(key.public_key))
    try:
        recovery = store.recover()
        con = sqlite3.connect(data_dir / "captures.db")
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
            rows = con.execute("SELECT capture_id, digest, status FROM captures").fetchall()
        finally:
            con.close()
    finally:
        store.close()
    assert not recovery.missing_files, f"{where}: rows whose files are gone: {recovery.missing_files}"
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), where
    lost = sorted(set(acked) - set(ids))
    assert not lost, f"{where}: {len(lost)} of {len(acked)} acknowledged captures lost: {lost[:5]}"

    sealed_dir = data_dir / SEALED_DIR
    names = sorted(p.name for p in sealed_dir.iterdir())
    assert not [n for n in names if not n.endswith(SEALED_SUFFIX)], f"{where}: leftovers {names}"
    files = {n.removesuffix(SEALED_SUFFIX) for n in names}
    assert files == set(ids), (f"{where}: rows without files {sorted(set(ids) - files)[:5]}, "
                               f"files without rows {sorted(files - set(ids))[:5]}")
    markers: set[str] = set()
    for capture_id, digest, status in rows:
        assert status == "captured", where
        sealed = (sealed_dir / f"{capture_id}{SEALED_SUFFIX}").read_bytes()
        assert hashlib.sha256(sealed).hexdigest() == digest, f"{where}: {capture_id} damaged"
        doc = open_document(sealed, key)
        assert doc["capture_id"] == capture_id, where
        spec = base64.b64decode(doc["spec_jpeg"])
        marker = spec[len(b"\xff\xd8spec-"):].split(b"\x00", 1)[0].decode()
        assert marker not in markers, f"{where}: two rows for capture {marker}"
        markers.add(marker)
        want_spec, want_original = photos(marker)
        assert spec == want_spec, f"{where}: {capture_id} spec photo differs"
        original = base64.b64decode(doc["original_jpeg"]) if "original_jpeg" in doc else None
        assert original == want_original, f"{where}: {capture_id} original photo differs"
        if capture_id in acked:
            assert acked[capture_id] == marker, where
    return set(ids), len(recovery.removed_orphans)


@pytest.fixture
def disk(tmp_path: Path):
    """(backing dir, mountpoint); nothing left mounted afterwards."""
    backing, mnt = tmp_path / "backing", tmp_path / "mnt"
    yield backing, mnt
    assert not powercut_fs.is_mounted(mnt)


@pytest.mark.timeout(300)
def test_power_cut_never_loses_an_acknowledged_capture(disk, tmp_path: Path) -> None:
    backing, mnt = disk
    key = PrivateKey.generate()
    data_dir = mnt / DATA
    started = time.monotonic()
    stats = {"cuts": 0, "armed": 0, "acked": 0, "told_late": 0, "orphans": 0}
    where = "the first round"
    try:
        for life in range(LIFETIMES):
            shutil.rmtree(backing, ignore_errors=True)  # a new booth: empty disk
            acked: dict[str, str] = {}  # capture_id -> marker, over the lifetime
            stored: set[str] = set()
            for round_no in range(ROUNDS_PER_LIFETIME + 1):
                with powercut_fs.Mount(backing, mnt) as mount:
                    if round_no:  # what survived the previous round's cut
                        ids, orphans = check_store(data_dir, key, acked, f"after the cut of {where}")
                        stats["told_late"] += len(ids - stored - set(acked))
                        stats["orphans"] += orphans
                        stored |= ids
                    if round_no == ROUNDS_PER_LIFETIME:
                        break  # the lifetime's last check, no more cuts
                    seed = SEED + life * 1000 + round_no
                    rng = random.Random(seed)
                    where = f"lifetime {life} round {round_no} (random.Random({seed}))"
                    armed = rng.random() < 0.5
                    if armed:  # just before the n-th state-changing operation
                        mount.cut_at(rng.randint(1, 600))
                    writer = Writer(data_dir, key, f"{life}.{round_no}", log=tmp_path / "writer.err",
                                    checkpoint=rng.choice([1000, 8]))
                    try:
                        if armed:
                            acked.update(power_cut_armed(mount, writer))
                        else:  # at a random time: often early (store open, recover), else in the saves
                            writer.expect("start")
                            time.sleep(rng.uniform(0, 0.03) if rng.random() < 0.3 else rng.uniform(0, 0.25))
                            acked.update(power_cut(mount, writer))
                    finally:
                        writer.stop()
                    stats["cuts"] += 1
                    stats["armed"] += armed
            stats["acked"] += len(acked)
    except BaseException:
        # The seed fixes where the cut falls (an operation number; or a delay,
        # which timing blurs) and the checkpoint interval.
        print(f"failed in or after {where}; so far {stats}")
        raise
    print(f"{stats['cuts']} power cuts ({stats['armed']} before a chosen operation) in "
          f"{time.monotonic() - started:.0f} s: {stats['acked']} acknowledged captures all kept; "
          f"{stats['told_late']} saved but cut before the student was told; "
          f"{stats['orphans']} sealed files whose row never committed removed by recover()")
    assert stats["acked"] > stats["cuts"], "the writers hardly saved anything"


# ------------------------------------------------------------------ controls


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes, *, fsync: bool) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        if fsync:
            os.fsync(f.fileno())


def test_filesystem_keeps_only_what_was_synced(disk) -> None:
    backing, mnt = disk
    with powercut_fs.Mount(backing, mnt) as mount:
        os.mkdir(mnt / "d")
        _fsync(mnt)
        _write(mnt / "d" / "old", b"old", fsync=True)
        _fsync(mnt / "d")
        # The classic: new contents written to a temp file and renamed over the old one.
        _write(mnt / "d" / "a.tmp", b"A" * 70000, fsync=False)  # no fsync
        os.replace(mnt / "d" / "a.tmp", mnt / "d" / "a")
        _write(mnt / "d" / "b.tmp", b"B" * 70000, fsync=True)  # fsync, no directory fsync yet
        os.replace(mnt / "d" / "b.tmp", mnt / "d" / "b")
        _write(mnt / "d" / "c.tmp", b"C" * 70000, fsync=True)  # the full recipe
        os.replace(mnt / "d" / "c.tmp", mnt / "d" / "c")
        _fsync(mnt / "d")  # makes a, b and c's names durable
        _write(mnt / "d" / "e", b"E", fsync=True)  # fsynced, but its name never is
        _write(mnt / "d" / "old", b"new", fsync=False)  # overwritten in the cache only
        with open(mnt / "d" / "c", "ab") as f:
            f.write(b"tail")  # appended, never synced
        # Until the cut, reads see the page cache.
        assert (mnt / "d" / "old").read_bytes() == b"new"
        assert (mnt / "d" / "c").stat().st_size == 70004
        assert sorted(os.listdir(mnt / "d")) == ["a", "b", "c", "e", "old"]
        mount.cut()
    # The backing directory now holds exactly the durable state.
    d = backing / "d"
    assert sorted(p.name for p in d.iterdir()) == ["a", "b", "c", "old"]
    assert (d / "a").read_bytes() == b""  # renamed without fsync: the name survived, the data not
    assert (d / "b").read_bytes() == b"B" * 70000
    assert (d / "c").read_bytes() == b"C" * 70000
    assert (d / "old").read_bytes() == b"old"
    # And a mount of it shows the same.
    with powercut_fs.Mount(backing, mnt):
        assert sorted(os.listdir(mnt / "d")) == ["a", "b", "c", "old"]
        assert (mnt / "d" / "c").read_bytes() == b"C" * 70000
        (mnt / "d" / "f").write_bytes(b"F")  # a clean unmount keeps everything
    assert (backing / "d" / "f").read_bytes() == b"F"


@pytest.mark.parametrize("synchronous, loses", [("full", False), ("normal", True)])
def test_control_synchronous_normal_loses_acknowledged_captures(
        disk, tmp_path: Path, synchronous: str, loses: bool) -> None:
    """The same writer, cut after 5 acknowledged saves: with FULL all five are
    there; with NORMAL (WAL commits not fsynced) the checks above fail."""
    backing, mnt = disk
    key = PrivateKey.generate()
    data_dir = mnt / DATA
    with powercut_fs.Mount(backing, mnt) as mount:
        writer = Writer(data_dir, key, synchronous, synchronous=synchronous, count=5,
                        log=tmp_path / "writer.err")
        try:
            writer.expect("done")
            acked = power_cut(mount, writer)
        finally:
            writer.stop()
    assert len(acked) == 5
    with powercut_fs.Mount(backing, mnt):
        if not loses:
            check_store(data_dir, key, acked, f"synchronous={synchronous}")
            return
        with pytest.raises(AssertionError, match="acknowledged captures lost"):
            check_store(data_dir, key, acked, f"synchronous={synchronous}")
