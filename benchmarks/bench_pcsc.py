"""Card inserted -> IdCard returned, through a real pcscd + vpcd + virtual card.

"Inserted" is the moment the virtual card (tests/vicc.py) connects to vpcd,
the counterpart of a card entering a real reader's field. What follows is
pcscd noticing it (vpcd's presence check, polled by pcscd about every
0.4 s), SCardGetStatusChange waking the kiosk's poll, SCardConnect and the
APDUs. A real reader adds its own RF time (card activation, a few tens of
ms) and usually reports presence by interrupt rather than pcscd's polling.

Prints medians over N placements of:
- inserted -> IdCard with a worker thread polling as the booth does
  (poll(0.2) in a loop), for a campus card (GET UID) and a resident ID card
  (GET UID fails, then 00 36);
- poll() on a card pcscd already knows is there (connect + APDUs only);
- the same with the virtual card's TCP quick ACKs off, to show the ~40 ms
  per APDU that delayed ACKs cost against vpcd.

Needs pcscd, vsmartcard-vpcd and pyscard (provisioning/setup.sh --test);
starts pcscd itself when none is running (as root).
Run: .venv/bin/python benchmarks/bench_pcsc.py [--runs N]
"""

from __future__ import annotations

import argparse
import queue
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pcsc_stack  # noqa: E402
from vicc import VirtualCard  # noqa: E402

from kiosk.config import IdReaderConfig  # noqa: E402
from kiosk.hardware.pcsc_reader import PcscCardReader  # noqa: E402


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return (
        f"median {statistics.median(values) * 1000:6.1f} ms  "
        f"min {min(values) * 1000:6.1f}  p90 {q[-1] * 1000:6.1f}  max {max(values) * 1000:6.1f}"
    )


def inserted_to_card(reader: PcscCardReader, card: VirtualCard, runs: int) -> list[float]:
    """The booth's way: a worker thread polls; the card arrives at a random moment."""
    got: queue.Queue[float] = queue.Queue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            if reader.poll(0.2) is not None:
                got.put(time.monotonic())

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    out = []
    try:
        for _ in range(runs):
            time.sleep(random.uniform(0.05, 0.5))
            card.insert()
            out.append(got.get(timeout=10) - card.inserted_at)
            card.remove()
            pcsc_stack.wait_card_state(False)
    finally:
        stop.set()
        t.join()
    return out


def read_only(reader: PcscCardReader, card: VirtualCard, runs: int) -> list[float]:
    """poll() once pcscd already shows the card: state wake-up + connect + APDUs."""
    out = []
    for _ in range(runs):
        card.insert()
        pcsc_stack.wait_card_state(True)
        start = time.monotonic()
        if reader.poll(5) is None:
            raise SystemExit("read failed")
        out.append(time.monotonic() - start)
        card.remove()
        pcsc_stack.wait_card_state(False)
        while reader.poll(0) is not None:  # let the reader see the removal
            pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    reason = pcsc_stack.missing()
    if reason:
        raise SystemExit(reason)
    daemon = pcsc_stack.PcscDaemon()
    daemon.attach_or_start()
    reader = PcscCardReader(IdReaderConfig(backend="pcsc", pcsc_reader=pcsc_stack.VIRTUAL_READER))
    reader.open()
    campus = VirtualCard(uid="04A2C3D4E5F601")
    resident = VirtualCard(uid=None, serial="1122334455667788")
    try:
        rows = [
            ("inserted -> IdCard, campus card (FF CA)", inserted_to_card(reader, campus, args.runs)),
            ("inserted -> IdCard, resident ID (FF CA, 00 36)", inserted_to_card(reader, resident, args.runs)),
            ("poll() on a known card, campus card", read_only(reader, campus, args.runs)),
            ("poll() on a known card, resident ID", read_only(reader, resident, args.runs)),
            ("  same, virtual card without quick ACKs", read_only(
                reader, VirtualCard(uid=None, serial="1122334455667788", quickack=False), args.runs)),
        ]  # fmt: skip
    finally:
        reader.close()
        daemon.stop()
    print(f"PC/SC reader on pcscd + vpcd ({pcsc_stack.VIRTUAL_READER}), {args.runs} reads each")
    for label, values in rows:
        print(f"  {label:<48} {ms(values)}")


if __name__ == "__main__":
    main()
