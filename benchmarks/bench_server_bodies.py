"""What big request bodies cost the school server (just prints figures).

A real `photo-server serve` process on 127.0.0.1 (tests/server/harness.py).
Its resident memory is sampled every 10 ms from /proc while, each round,
`--clients` threads send one body of about `--mb` MiB at once (httpx, the
whole body written before the answer is read, as the kiosk does):

- unauthenticated: a bad token (the attack of issue 12 item 8);
- authenticated: real captures (distinct ids, one sealed blob), each client
  retrying after Retry-After on 503 until its capture is stored.

    .venv/bin/python benchmarks/bench_server_bodies.py [--clients 12] [--mb 23.5]
    .venv/bin/python benchmarks/bench_server_bodies.py --server-src DIR   # another version

--server-src puts DIR (a checkout's root, e.g. from `git archive`) first on
the server's PYTHONPATH, to measure the code before a change.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class RssSampler:
    """Peak of VmRSS, sampled every 10 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _round(pid: int, clients: int, send) -> tuple[float, float, list]:  # type: ignore[no-untyped-def]
    """(peak RSS MB, seconds, results) of `clients` concurrent send(n) calls."""
    start = time.perf_counter()
    with RssSampler(pid) as rss, ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(send, range(clients)))
    return rss.peak, time.perf_counter() - start, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=12)
    ap.add_argument("--mb", type=float, default=23.5, help="request body size, MiB")
    ap.add_argument("--server-src", type=Path, help="run the server from this source tree")
    args = ap.parse_args()

    from nacl.public import PublicKey, SealedBox
    from server.harness import Deployment

    with tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(Path(tmp) / "server")
        if args.server_src:
            dep.server.env["PYTHONPATH"] = str(args.server_src.resolve())
            os.chdir(tmp)  # `python -m` puts the working directory first on sys.path
        dep.server.start()
        try:
            assert dep.server.proc is not None
            pid, url = dep.server.proc.pid, dep.server.url
            time.sleep(1)
            idle = _rss_mb(pid)
            kiosk = dep.enrol("bench-centre")
            # One sealed blob for every capture (distinct ids): the client side stays small.
            raw = int(args.mb * 1024 * 1024 * 3 / 4) - 4096
            sealed = SealedBox(PublicKey(dep.public_key)).encrypt(os.urandom(raw))
            upload = {"kiosk_id": kiosk.kiosk_id, "session": "bench",
                      "created_at": "2026-06-20T09:30:00+08:00",
                      "sealed": base64.b64encode(sealed).decode(),
                      "digest": hashlib.sha256(sealed).hexdigest()}
            body = json.dumps(upload).encode()
            del upload
            print(f"server idle: {idle:.0f} MiB RSS; {args.clients} clients at once, "
                  f"bodies of {len(body) / 2**20:.1f} MiB")

            def unauthenticated(_: int) -> int:
                try:
                    return httpx.put(f"{url}/api/v1/captures/{uuid.uuid4().hex}", content=body,
                                     headers={"Authorization": "Bearer not-a-token",
                                              "Content-Type": "application/json"},
                                     timeout=120).status_code
                except httpx.TransportError as err:
                    return type(err).__name__  # type: ignore[return-value]

            peak, secs, codes = _round(pid, args.clients, unauthenticated)
            print(f"unauthenticated: peak {peak:.0f} MiB RSS (+{peak - idle:.0f}), {secs:.1f} s, "
                  f"answers {sorted(codes, key=str)}")

            def authenticated(_: int) -> tuple[int, int]:
                """(final status, how many 503s before it)."""
                busy = 0
                capture_id = uuid.uuid4().hex
                while True:
                    reply = httpx.put(f"{url}/api/v1/captures/{capture_id}", content=body,
                                      headers={**kiosk.headers,
                                               "Content-Type": "application/json"},
                                      timeout=120)
                    if reply.status_code != 503 or busy >= 20:
                        return reply.status_code, busy
                    busy += 1
                    time.sleep(float(reply.headers.get("retry-after", "1")))

            peak, secs, results = _round(pid, args.clients, authenticated)
            print(f"authenticated: peak {peak:.0f} MiB RSS (+{peak - idle:.0f}), {secs:.1f} s "
                  f"until all stored, answers {sorted(r[0] for r in results)}, "
                  f"{sum(r[1] for r in results)} x 503 + Retry-After on the way")
        finally:
            dep.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
