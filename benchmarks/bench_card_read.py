"""Card placed -> IdCard returned, through a real pty, at the wire rate.

The simulated SAM reader (tests/sam_device.py) paces its output at 10 bits
a byte for the chosen baud (the 1295-byte text+photo reply alone is ~0.11 s
at 115200). It does not simulate the card/SAM time of a real reader (the
radio link and mutual authentication, typically a few hundred ms), so add
that for a real booth.

Prints medians over N reads of:
- placed -> IdCard with the kiosk polling as it does in the booth (a card
  lands at a random moment in the find-card polling cycle);
- poll() on a card already lying there (find + select + read exchanges).

Run: .venv/bin/python benchmarks/bench_card_read.py [--runs N] [--baud B]
"""

from __future__ import annotations

import argparse
import queue
import random
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sam_device import SamDevice  # noqa: E402

from kiosk.config import IdReaderConfig  # noqa: E402
from kiosk.hardware import sam_protocol as sp  # noqa: E402
from kiosk.domain import IdCard  # noqa: E402
from kiosk.hardware.sam_reader import SamCardReader  # noqa: E402

CARD = IdCard(
    id_number="110101200103151236", name="张三", sex="1", ethnicity="01",
    birth_date=date(2001, 3, 15), address="北京市东城区景山前街4号",
    issuer="北京市公安局东城分局", valid_from=date(2021, 7, 1), valid_until=date(2031, 7, 1),
)  # fmt: skip


def wire_seconds(baud: int) -> float:
    """Wire time of the replies to find + select + read (the device paces
    these; the kiosk's three 10-byte requests, ~3 ms more at 115200, are not)."""
    replies = len(sp.build_response(0x9F, bytes(4))) + len(sp.build_response(0x90, bytes(8)))
    replies += len(sp.build_response(0x90, sp.read_reply_data(bytes(256), bytes(1024))))
    return replies * 10 / baud


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return (
        f"median {statistics.median(values) * 1000:6.1f} ms  "
        f"min {min(values) * 1000:6.1f}  p90 {q[-1] * 1000:6.1f}  max {max(values) * 1000:6.1f}"
    )


def placed_to_card(reader: SamCardReader, device: SamDevice, runs: int) -> list[float]:
    """The booth's way: a worker thread polls; the card lands at a random moment."""
    got: queue.Queue[float] = queue.Queue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            if reader.poll(0.2) is not None:
                got.put(time.monotonic())

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    out = []
    for _ in range(runs):
        time.sleep(random.uniform(0.1, 0.3))
        device.place(CARD)
        placed = device.placed_at
        out.append(got.get(timeout=10) - placed)
        device.lift()
    stop.set()
    t.join()
    return out


def exchange_only(reader: SamCardReader, device: SamDevice, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        device.place(CARD)
        start = time.monotonic()
        if reader.poll(5) != CARD:
            raise SystemExit("read failed")
        out.append(time.monotonic() - start)
        device.lift()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--baud", type=int, default=115200, choices=[115200, 57600, 38400, 19200, 9600])
    args = ap.parse_args()
    with SamDevice(baud=args.baud) as device:
        reader = SamCardReader(IdReaderConfig(backend="sam", port=device.path, baud=args.baud))
        reader.open()
        try:
            booth = placed_to_card(reader, device, args.runs)
            direct = exchange_only(reader, device, args.runs)
        finally:
            reader.close()
    print(f"SAM reader over a pty at {args.baud} baud, {args.runs} reads each")
    print(f"  replies' wire time (find+select+read): {wire_seconds(args.baud) * 1000:.1f} ms")
    print(f"  placed -> IdCard (polling every {SamCardReader.POLL_INTERVAL * 1000:.0f} ms):  {ms(booth)}")
    print(f"  poll() on a card already there:         {ms(direct)}")


if __name__ == "__main__":
    main()
