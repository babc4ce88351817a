"""kill -9 the saving process at random moments: every confirmed capture survives, whole.

A child process saves sealed captures in a loop and prints each capture id
only after save() returned (the moment the student would be told). The
parent kills it with SIGKILL at a random time, 200 rounds, then opens the
store as the kiosk does at start (recover()) and checks: every confirmed
capture has exactly one row and a sealed file that decrypts to the JPEG it
was given; no row lacks its file and no file lacks its row.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nacl.public import PrivateKey, SealedBox

from kiosk.capture.store import SEALED_DIR, SEALED_SUFFIX, CaptureStore

ROUNDS = 200

CHILD = r"""
import sys
from dataclasses import dataclass, field
from pathlib import Path
from kiosk.capture.store import CaptureStore
from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student

@dataclass
class Photo:
    spec_jpeg: bytes
    original_jpeg: bytes
    compliant: bool = True
    problems: list = field(default_factory=list)

data_dir, public_key, round_no = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
store = CaptureStore(data_dir, "kiosk-crash", public_key=public_key)
store.recover()
# The flow looks the 采集码 up when it is scanned, so a save finds its (slow,
# memory-hard) digest done: as on the booth, the kills land in the save.
code = f"CODE-{round_no}-0123456789"
store.student_for_code(code)
print("ready", flush=True)
n = 0
while True:
    n += 1
    marker = f"{round_no}-{n}".encode()
    photo = Photo(spec_jpeg=b"\xff\xd8spec-" + marker + b"\x00" * 30000,
                  original_jpeg=b"\xff\xd8orig-" + marker + b"\x01" * 60000)
    student = Student(card=IdCard(id_number="110101200103151236", name="张三"),
                      match=RosterMatch(RosterOutcome.EXPECTED, "会计学", f"ref-{round_no}-{n}"),
                      consent_version="v1", code_payload=code)
    capture_id = store.save(CaptureRequest(student, photo), "s1", {"ok": True})
    print(capture_id, marker.decode(), flush=True)
"""


@pytest.mark.timeout(900)
def test_kill_9_while_saving_never_loses_or_corrupts_a_confirmed_capture(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    data_dir = tmp_path / "data"
    confirmed: dict[str, str] = {}  # capture_id -> marker
    rng = random.Random(20261122)
    for round_no in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir), bytes(key.public_key).hex(), str(round_no)],
            stdout=subprocess.PIPE, text=True,
        )
        assert child.stdout.readline().strip() == "ready"
        # One save told first (however loaded the machine), then a few more,
        # killed anywhere inside one.
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.06))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        # Only whole lines count: a line cut by the kill was never "told".
        for line in (first + out).splitlines(keepends=True):
            words = line.split()
            if line.endswith("\n") and len(words) == 2:
                confirmed[words[0]] = words[1]

    store = CaptureStore(data_dir, "kiosk-crash", public_key=bytes(key.public_key))
    recovery = store.recover()
    store.close()
    assert not recovery.missing_files

    con = sqlite3.connect(data_dir / "captures.db")
    rows = {r[0]: r[1] for r in con.execute("select capture_id, digest from captures")}
    con.close()
    files = {p.name.removesuffix(SEALED_SUFFIX) for p in (data_dir / SEALED_DIR).iterdir()}
    assert set(rows) == files, "a row without its file or a file without its row"
    assert len(confirmed) >= ROUNDS  # every round saved at least once
    missing = set(confirmed) - set(rows)
    assert not missing, f"{len(missing)} confirmed captures lost"

    box = SealedBox(key)
    markers_seen: set[str] = set()
    for capture_id, digest in rows.items():
        sealed = (data_dir / SEALED_DIR / f"{capture_id}{SEALED_SUFFIX}").read_bytes()
        assert hashlib.sha256(sealed).hexdigest() == digest
        document = json.loads(box.decrypt(sealed))
        spec = base64.b64decode(document["spec_jpeg"])
        marker = spec[len(b"\xff\xd8spec-"):].split(b"\x00", 1)[0].decode()
        assert marker not in markers_seen, "two rows for one capture"
        markers_seen.add(marker)
        if capture_id in confirmed:
            assert confirmed[capture_id] == marker
