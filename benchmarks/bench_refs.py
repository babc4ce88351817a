"""What one student_ref costs, and what that means for a brute force.

One ref (scrypt, photo_wire.ids) is computed per card that matches the roster
and per 采集码 scanned; an attacker holding a booth's SD card pays it per
guessed ID number. Also times the old keyed HMAC for comparison, and the
roster load (a fast in-memory key per row) and lookup.

Run: .venv/bin/python benchmarks/bench_refs.py [--n N]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import resource
import statistics
import tempfile
import time
from pathlib import Path

from kiosk.domain import IdCard
from photo_wire.idnumber import check_character
from kiosk.identity.roster import CsvRoster
from photo_wire.ids import student_ref

ID_SPACE = 3_500 * 20 * 365 * 1000  # area codes x birth years x days x sequences


def ids(n: int) -> list[str]:
    out = []
    for i in range(n):
        first17 = f"110101{2000 + i % 5}0{1 + i % 9}1{i % 10}{i % 1000:03d}"
        out.append(first17 + check_character(first17))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    n = ap.parse_args().n
    numbers = ids(n)
    times = []
    for number in numbers:
        t0 = time.perf_counter()
        student_ref(number)
        times.append(time.perf_counter() - t0)
    ref_s = statistics.median(times)
    key = b"k" * 32
    t0 = time.perf_counter()
    for number in numbers * 1000:
        hmac.new(key, f"id:{number}".encode(), hashlib.sha256).hexdigest()
    hmac_s = (time.perf_counter() - t0) / (n * 1000)
    print(f"student_ref (scrypt n=2^15 r=8, 32 MiB): median {ref_s * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"old HMAC ref: {hmac_s * 1e6:.2f} us ({ref_s / hmac_s:,.0f}x cheaper)")
    print(f"brute force of {ID_SPACE:.1e} plausible IDs, one core: "
          f"{ID_SPACE * ref_s / 86400 / 365:,.0f} years (old HMAC: {ID_SPACE * hmac_s / 3600:,.1f} h)")
    print(f"one student, area code and birth year known (366,000 IDs): "
          f"{366_000 * ref_s / 3600:,.1f} h (old HMAC: {366_000 * hmac_s:.2f} s)")

    rows = 2000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_text("id_number,name,programme,centre,session\n" + "".join(
            f"{number},某,法学,c,s\n" for number in ids(rows)), encoding="utf-8")
        t0 = time.perf_counter()
        roster = CsvRoster(path, "c", "s")
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        roster.lookup(IdCard(id_number=ids(1)[0], name=""))
        hit = time.perf_counter() - t0
        t0 = time.perf_counter()
        # Made like the rows (synthetic, no real person's number), but not on the roster.
        roster.lookup(IdCard(id_number=ids(rows + 1)[-1], name=""))
        miss = time.perf_counter() - t0
    print(f"CSV roster of {rows} rows: load {load * 1000:.0f} ms; lookup of a student on it "
          f"{hit * 1000:.0f} ms, of one not on it {miss * 1000:.2f} ms")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
