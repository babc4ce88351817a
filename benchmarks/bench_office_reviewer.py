"""A scripted reviewer: a real browser deciding --captures photos on the
review grid with the keyboard (just prints figures; issue 21).

A real `photo-server serve` process on 127.0.0.1 (SQLite) holding
--captures pending captures, filled as bench_office_review.py fills them,
each with a real sealed document (a 480x640 JPEG, sealed to the server's
key) so the grid's thumbnails are decrypted and served as in a season.
Debian's chromium (Playwright, as tests/server/office_browser.py launches
it), logged in as a reviewer, then on each grid page of 48:
  - decides the first --by-key tiles with the keyboard: `a` approves, and
    every --reject-every-th one is rejected with `3` (a chosen reason:
    the background), each waiting until review.js has the 204 and has moved
    the focus on (what a person waits for before the next key);
  - approves the rest of the page in one action (the form; the grid then
    loads the next page, its thumbnails included).
Printed: total time, decisions per minute, the server's time per decision
(from the browser's resource timing of each decision's POST: request sent
to first byte of the answer, on loopback; and the server process's CPU time
over the run, from /proc, divided by the decisions), and the machine's share
of the time per decision against an assumed human think time (--think
seconds a photo): the script thinks for 0 s, so its wall time per decision
is all machine (browser, server, page loads and thumbnails included), and
share = machine / (machine + think).

    nice -n 10 .venv/bin/python benchmarks/bench_office_reviewer.py [--captures 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_office_progress import PASSWORD  # noqa: E402
from bench_office_review import _capture_id, _cpu_ms, _id, fill  # noqa: E402

GRID = 48
REJECT_KEY = "3"  # the grid's third reason (REJECT_REASONS[2])


def _sealed_photo(public_key: bytes) -> bytes:
    """One sealed capture document with a real JPEG (every capture shares it)."""
    import base64

    from nacl.public import PublicKey, SealedBox
    from PIL import Image

    from photo_wire.ids import student_ref

    out = io.BytesIO()
    Image.new("RGB", (480, 640), (200, 210, 220)).save(out, "JPEG", quality=85)
    doc = {"spec_jpeg": base64.b64encode(out.getvalue()).decode(), "id_number": _id(1),
           "name": "学生1", "student_ref": student_ref(_id(1)), "session": "s1",
           "makeup": False, "check_report": {"passed": True, "problems": [], "measures": {}}}
    return SealedBox(PublicKey(public_key)).encrypt(json.dumps(doc).encode())


def prepare(data_dir: Path, db_url: str, public_key: bytes, pending: int) -> None:
    """pending captures to review (and as many decided ones), with their objects."""
    from sqlalchemy import text

    from school_server import db as dbm

    fill(db_url, 2 * pending)  # every other one is pending
    sealed = _sealed_photo(public_key)
    for i in range(0, 2 * pending, 2):
        path = data_dir / "objects" / "captures" / _capture_id(i) / "x.sealed"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(sealed)
    engine = dbm.make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE captures SET digest = :d"),
                     {"d": hashlib.sha256(sealed).hexdigest()})
    engine.dispose()


def review_all(page, url: str, by_key: int, reject_every: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Decide every pending capture; the times (ms) of each kind of step."""
    times: dict[str, list[float]] = {"key": [], "server": [], "rest": [], "load": [],
                                     "rejected": []}
    t = time.perf_counter()
    page.goto(url + "/office/review")
    times["load"].append((time.perf_counter() - t) * 1000)
    while page.locator("#grid .tile").count():
        ids = page.locator("#grid .tile").evaluate_all("ts => ts.map(t => t.dataset.id)")
        page.wait_for_function("document.activeElement.classList.contains('tile')")
        for n, capture_id in enumerate(ids[:by_key]):
            key = REJECT_KEY if n % reject_every == reject_every - 1 else "a"
            after = ids[n + 1] if n + 1 < len(ids) else None
            t = time.perf_counter()
            with page.expect_response(lambda r, c=capture_id: r.url.endswith(f"/review/{c}")
                                      and r.request.method == "POST") as answer:
                page.keyboard.press(key)
            assert answer.value.status == 204, answer.value.status
            if after:  # review.js moves the focus on once the answer is in
                page.wait_for_function(f"document.activeElement.dataset.id === '{after}'")
            times["key"].append((time.perf_counter() - t) * 1000)
            if key == REJECT_KEY:
                times["rejected"].append(1)
            timing = answer.value.request.timing
            times["server"].append(timing["responseStart"] - timing["requestStart"])
        if len(ids) > by_key:
            t = time.perf_counter()
            page.click("#approve-rest button")  # posts, then the next page loads
            page.wait_for_load_state("load")
            times["rest"].append((time.perf_counter() - t) * 1000)
        else:
            t = time.perf_counter()
            page.reload()
            times["load"].append((time.perf_counter() - t) * 1000)
    return times


def _decided(db_url: str) -> dict[str, int]:
    """What the database holds of the reviewer's decisions."""
    from sqlalchemy import text

    from school_server import db as dbm

    engine = dbm.make_engine(db_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT decision, count(*) FROM capture_reviews "
                                       "WHERE reviewer = 'bench' GROUP BY decision")).all())
    engine.dispose()
    return found


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return f"median {statistics.median(ordered):5.0f} ms, p95 {p95:5.0f} ms ({len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=1000)
    parser.add_argument("--by-key", type=int, default=24,
                        help="tiles decided with the keyboard on each page of 48")
    parser.add_argument("--reject-every", type=int, default=6)
    parser.add_argument("--think", type=float, default=2.0,
                        help="assumed human seconds to look at a photo and decide")
    args = parser.parse_args()
    from school_server.settings import load_settings
    from server.harness import Deployment
    from server.office_browser import browser

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        dep = Deployment(data_dir)
        try:
            assert dep.cli("migrate").code == 0
            assert dep.cli_stdin(PASSWORD + "\n", "add-user", "bench", "--role", "reviewer").code == 0
            prepare(data_dir, load_settings(data_dir).db_url, dep.public_key, args.captures)
            dep.server.start()
            pid = dep.server.proc.pid  # type: ignore[union-attr]
            with browser() as chrome:
                page = chrome.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(dep.server.url + "/office/login")
                page.fill("input[name=username]", "bench")
                page.fill("input[name=password]", PASSWORD)
                page.click("#login")
                cpu, start = _cpu_ms(pid), time.perf_counter()
                times = review_all(page, dep.server.url, args.by_key, args.reject_every)
                total = time.perf_counter() - start
                cpu = _cpu_ms(pid) - cpu
            decided = _decided(load_settings(data_dir).db_url)
        finally:
            dep.close()
    from photo_wire.models import REJECT_REASONS

    by_key, rejected = len(times["key"]), len(times["rejected"])
    assert decided == {"approved": args.captures - rejected, "rejected": rejected}, decided
    per_decision = total / args.captures
    share = per_decision / (per_decision + args.think)
    print(f"{args.captures} pending captures (SQLite), {len(times['rest']) + 1} grid pages: "
          f"{by_key} decided with the keyboard ({rejected} of them rejected: "
          f"{REJECT_REASONS[int(REJECT_KEY) - 1]}), {args.captures - by_key} by "
          f"'approve the rest of this page' (the database agrees: {decided})")
    print(f"  total {total:.1f} s; {args.captures / total * 60:.0f} decisions a minute; "
          f"{per_decision * 1000:.0f} ms of machine time per decision")
    print(f"  one key press to the next tile in focus     {_stats(times['key'])}")
    print(f"  its POST, request sent to first answer byte {_stats(times['server'])}")
    print(f"  approve the rest + the next page loaded     {_stats(times['rest'])}")
    print(f"  a grid page loaded (48 thumbnails)          {_stats(times['load'])}")
    print(f"  server CPU {cpu / args.captures:.1f} ms per decision "
          f"({cpu / 1000:.1f} s in all, page loads and thumbnails included)")
    print(f"  machine's share of the time per decision against {args.think:.1f} s of human "
          f"thought a photo: {share:.0%} (= {per_decision:.2f} / ({per_decision:.2f} + "
          f"{args.think:.1f}))")


if __name__ == "__main__":
    main()
