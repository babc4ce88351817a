"""The office's hand-over zip: time and the server's memory (just prints figures).

A real `photo-server serve` on 127.0.0.1 (SQLite); --n captures, each a
sealed document with a --spec-kb spec photo and an --original-mb original
(as the booth sends); all approved; an admin downloads the zip through
/office/export. Prints the time, the zip size, the sealed bytes opened, and
the server's peak RSS (VmHWM) before and after: photos are opened one at a
time and the zip is streamed, so the peak grows by about one document, not
by the zip or the sum of the documents.

    .venv/bin/python benchmarks/bench_office_handover.py [--n 100] [--original-mb 3]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password"


def _hwm_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    import httpx

    from photo_wire.idnumber import check_character
    from school_server import db as dbm, reviews
    from school_server.keys import load_private_key
    from school_server.settings import load_settings
    from school_server.storage import open_store
    from server.harness import Deployment, new_capture_id, run_cli

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--spec-kb", type=int, default=40)
    parser.add_argument("--original-mb", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        dep = Deployment(data)
        try:
            sys.stdin = io.StringIO(PASSWORD + "\n")
            assert run_cli(data, "add-user", "bench", "--role", "admin").code == 0
            dep.server.start()
            kiosk = dep.enrol("Bench")
            sealed_total = 0
            for i in range(args.n):
                first17 = f"110105{1990 + i % 30}0101{i % 1000:03d}"
                doc = {"spec_jpeg": base64.b64encode(os.urandom(args.spec_kb * 1024)).decode(),
                       "original_jpeg": base64.b64encode(
                           os.urandom(int(args.original_mb * 1024 * 1024))).decode(),
                       "id_number": first17 + check_character(first17), "name": f"学生{i}",
                       "student_ref": f"{i:064x}", "code_payload": "CHSI" + "7" * 20}
                sealed = kiosk.seal(doc)
                sealed_total += len(sealed)
                assert kiosk.put(new_capture_id(), kiosk.upload_body(sealed)).status_code == 201
            settings = load_settings(data)
            engine = dbm.make_engine(settings.db_url)
            with dbm.make_sessions(engine)() as db:
                reviews.identify_new(db, open_store(settings),
                                     load_private_key(settings.private_key_file))
                for cap, _ in reviews.captures_by_decision(db, "pending", args.n):
                    reviews.decide(db, cap.capture_id, "approved", None, "bench")
            engine.dispose()
            dep.server.restart()  # a fresh peak: the uploads' own memory is not counted
            pid = dep.server.proc.pid  # type: ignore[union-attr]
            client = httpx.Client(base_url=dep.server.url, timeout=600)
            try:
                token = re.search(r'name="csrf" value="([^"]+)"',  # type: ignore[union-attr]
                                  client.get("/office/login").text).group(1)
                client.post("/office/login", data={"username": "bench", "password": PASSWORD,
                                                   "csrf": token})
                csrf = re.search(r'name="csrf" value="([^"]+)"',  # type: ignore[union-attr]
                                 client.get("/office/export").text).group(1)
                before, rss = _hwm_mb(pid), _hwm_mb(pid, "VmRSS")
                out = Path(tmp) / "handover.zip"
                t0 = time.perf_counter()
                with client.stream("POST", "/office/export", data={"csrf": csrf,
                                                                   "centre": "bench"}) as reply:
                    assert reply.status_code == 200
                    with out.open("wb") as f:
                        for chunk in reply.iter_bytes():
                            f.write(chunk)
                took = time.perf_counter() - t0
                after = _hwm_mb(pid)
            finally:
                client.close()
            with zipfile.ZipFile(out) as zf:
                photos = len([n for n in zf.namelist() if n.endswith(".jpg")])
            print(f"hand-over zip of {photos} approved photos: {took:.1f} s, "
                  f"{out.stat().st_size / 1e6:.1f} MB zip, {sealed_total / 1e6:.0f} MB of sealed "
                  f"documents opened")
            print(f"server RSS {rss:.0f} MB before; peak RSS (VmHWM) {before:.0f} MB before, "
                  f"{after:.0f} MB after "
                  f"(one document is {sealed_total / args.n / 1e6:.1f} MB sealed)")
        finally:
            dep.close()


if __name__ == "__main__":
    main()
