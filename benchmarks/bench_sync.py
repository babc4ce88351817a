"""Sync of a backlog to a local school server (just prints figures).

A real `photo-server serve` process on 127.0.0.1 (tests/server/harness.py);
the kiosk side runs in a child process so its peak RSS is its own:

- save(): time from the call to the capture being durable (sealed file
  fsynced and renamed, directory fsynced, SQLite commit), median and p95;
- sync: captures per second for the whole backlog, one PUT each;
- peak RSS of the kiosk process and of the server process.

    .venv/bin/python benchmarks/bench_sync.py [--n 6000] [--spec-kb 30] [--original-kb 0]

--original-kb adds an "original" JPEG of about that size to each capture
(the booth's full still is megabytes; mind the server's max_body_bytes).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _jpegs(count: int, kb: int, size: tuple[int, int], seed: int) -> list[bytes]:
    """Distinct JPEGs of roughly kb KiB: a gradient with noise, quality searched."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    w, h = size
    for _ in range(count):
        base = np.linspace(0, 255, w * h * 3, dtype=np.float32).reshape(h, w, 3)
        noise = rng.normal(0, 18, (h, w, 3)).astype(np.float32)
        img = np.clip(base + noise, 0, 255).astype("uint8")
        pic = Image.fromarray(img, "RGB")
        lo, hi, best = 5, 95, b""
        while lo <= hi:  # the highest quality that stays under kb
            q = (lo + hi) // 2
            buf = io.BytesIO()
            pic.save(buf, "JPEG", quality=q)
            if buf.tell() <= kb * 1024:
                best, lo = buf.getvalue(), q + 1
            else:
                hi = q - 1
        out.append(best or buf.getvalue())
    return out


@dataclass
class Photo:
    spec_jpeg: bytes
    original_jpeg: bytes | None = None
    compliant: bool = True
    problems: list[str] = field(default_factory=list)
    measures: dict = field(default_factory=dict)


def kiosk_child(args: argparse.Namespace) -> None:
    """Runs in its own process: fill the store, then sync it; prints JSON."""
    from kiosk.config import parse_config
    from kiosk.capture.store import CaptureStore
    from kiosk.capture.sync import SyncAgent
    from kiosk.domain import CaptureRequest, IdCard, RosterMatch, RosterOutcome, Student

    config = parse_config(json.loads(args.config_json))
    data_dir = Path(config.kiosk.data_dir)
    store = CaptureStore(data_dir, config.kiosk.id, public_key=config.sync.public_key_bytes())
    # Made by the parent: numpy and PIL would inflate this process's peak RSS.
    jpeg_dir = Path(args.jpeg_dir)
    specs = [p.read_bytes() for p in sorted(jpeg_dir.glob("spec-*.jpg"))]
    originals: list[bytes | None] = [p.read_bytes() for p in sorted(jpeg_dir.glob("original-*.jpg"))]
    originals = originals or [None]
    saves: list[float] = []
    for n in range(args.n):
        student = Student(card=IdCard(id_number="110101200103151236", name="张三"),
                          match=RosterMatch(RosterOutcome.EXPECTED, "法学", f"ref-{n}"),
                          consent_version="v1", consent_time=datetime.now(timezone.utc),
                          code_payload=f"CHSI-BENCH-{n:08d}")
        req = CaptureRequest(student=student, photo=Photo(specs[n % len(specs)],  # type: ignore[arg-type]
                                                          originals[n % len(originals)]))
        t0 = time.perf_counter()
        store.save(req, "bench", {"compliant": True})
        saves.append((time.perf_counter() - t0) * 1000)
    sealed_bytes = sum(p.stat().st_size for p in (data_dir / "sealed").iterdir())
    rss_after_saves = _peak_rss_mb(os.getpid())

    done = []
    agent = SyncAgent(store, config, idle_poll_seconds=0.2,
                      on_status=lambda s: done.append(s) if s.queue_depth == 0 else None)
    t0 = time.perf_counter()
    agent.start()
    while store.pending_count() and time.perf_counter() - t0 < args.max_seconds:
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    left = store.pending_count()
    agent.stop()
    store.close()
    print(json.dumps({
        "save_median_ms": statistics.median(saves), "save_p95_ms": _pct(saves, 0.95),
        "save_max_ms": max(saves), "sync_seconds": elapsed, "left": left,
        "sealed_mb": sealed_bytes / 2**20,
        "kiosk_peak_rss_mb": _peak_rss_mb(os.getpid()),
        "kiosk_peak_rss_saving_mb": rss_after_saves,
    }))


def _peak_rss_mb(pid: int) -> float:
    # VmHWM, not getrusage: ru_maxrss survives fork+exec, so a child would
    # report the parent's peak (the JPEG generation) as its own.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=6000, help="captures in the backlog (default 6000)")
    p.add_argument("--spec-kb", type=int, default=30, help="spec JPEG size (default 30 KiB)")
    p.add_argument("--original-kb", type=int, default=0, help="original JPEG size (default none)")
    p.add_argument("--max-seconds", type=float, default=1800, help="give up the sync after this")
    p.add_argument("--kiosk-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config-json", help=argparse.SUPPRESS)
    p.add_argument("--jpeg-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.kiosk_child:
        kiosk_child(args)
        return 0

    from server.harness import Deployment

    from kiosk.capture.enrolment import enrol

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        dep = Deployment(Path(tmp) / "server")
        if args.original_kb:
            (dep.data_dir / "server.toml").write_text("max_body_bytes = 67108864\n")
        dep.server.start()
        try:
            kiosk_dir = Path(tmp) / "kiosk"
            jpeg_dir = Path(tmp) / "jpegs"
            jpeg_dir.mkdir()
            for i, data in enumerate(_jpegs(16, args.spec_kb, (480, 640), 1)):
                (jpeg_dir / f"spec-{i:02d}.jpg").write_bytes(data)
            if args.original_kb:
                for i, data in enumerate(_jpegs(4, args.original_kb, (4056, 3040), 2)):
                    (jpeg_dir / f"original-{i:02d}.jpg").write_bytes(data)
            enrol(dep.server.url, dep.enrol_code("bench-centre"), "bench-kiosk", kiosk_dir)
            config = {"kiosk": {"id": "bench-kiosk", "centre": "bench-centre", "session": "bench",
                                "data_dir": str(kiosk_dir)},
                      "sync": {"server_url": dep.server.url, "roster_refresh_seconds": 0,
                               "server_public_key": base64.b64encode(dep.public_key).decode(),
                               "backoff_initial_seconds": 0.1, "backoff_max_seconds": 2}}
            child = subprocess.run(
                [sys.executable, __file__, "--kiosk-child", "--n", str(args.n),
                 "--spec-kb", str(args.spec_kb), "--original-kb", str(args.original_kb),
                 "--max-seconds", str(args.max_seconds), "--config-json", json.dumps(config),
                 "--jpeg-dir", str(jpeg_dir)],
                capture_output=True, text=True, cwd=ROOT)
            if child.returncode != 0:
                print(child.stderr[-3000:], file=sys.stderr)
                return 1
            r = json.loads(child.stdout.strip().splitlines()[-1])
            assert dep.server.proc is not None
            server_rss = _peak_rss_mb(dep.server.proc.pid)
        finally:
            dep.close()
    synced = args.n - r["left"]
    print(f"backlog: {args.n} captures, spec ~{args.spec_kb} KiB"
          + (f", original ~{args.original_kb} KiB" if args.original_kb else "")
          + f"; {r['sealed_mb']:.1f} MiB sealed on disk")
    print(f"save() to durable:  median {r['save_median_ms']:.2f} ms   p95 {r['save_p95_ms']:.2f} ms"
          f"   max {r['save_max_ms']:.1f} ms")
    print(f"sync: {synced} captures in {r['sync_seconds']:.1f} s = "
          f"{synced / r['sync_seconds']:.0f} captures/s" + (f"  ({r['left']} LEFT)" if r["left"] else ""))
    print(f"peak RSS: kiosk {r['kiosk_peak_rss_mb']:.0f} MB ({r['kiosk_peak_rss_saving_mb']:.0f} MB "
          f"while saving), server {server_rss:.0f} MB")
    return 0 if not r["left"] else 1


if __name__ == "__main__":
    sys.exit(main())
