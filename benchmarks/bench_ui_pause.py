"""How long the UI thread stops when a card is read or a 采集码 is scanned.

The kiosk's window polls the runtime 30 times a second on Kivy's thread; a
poll() that takes longer freezes the preview and the touch screen. A card's
roster lookup and the 采集码 check each cost one scrypt hash (photo_wire/ids.py).
This drives a real KioskRuntime (simulated devices, the demo roster, a real
store in a temporary directory) the way the reader and analysis threads do,
posting the events, and polls it like the window until the outcome shows.

Prints, for a card read and for a code scan (median and worst of N runs):
- the longest single poll() (the UI thread's pause);
- the time from the event to the outcome on screen (CONFIRM, GUIDE).

Run: .venv/bin/python benchmarks/bench_ui_pause.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.codes import Button, State  # noqa: E402
from kiosk.config import parse_config  # noqa: E402
from kiosk.hardware.id_reader_sim import DEMO_CARDS, to_id_card  # noqa: E402
from kiosk.runtime import KioskRuntime  # noqa: E402


def until(rt: KioskRuntime, state: State, limit: float = 30.0) -> tuple[float, float]:
    """Poll like the window until the flow is in state: (longest poll, time taken)."""
    start = time.perf_counter()
    longest = 0.0
    while rt.flow.state != state:
        if time.perf_counter() - start > limit:
            raise SystemExit(f"no {state.value} after {limit} s (in {rt.flow.state.value})")
        t = time.perf_counter()
        rt.poll()
        longest = max(longest, time.perf_counter() - t)
        time.sleep(0.001)
    return longest, time.perf_counter() - start


def one_session(rt: KioskRuntime, n: int) -> tuple[tuple[float, float], tuple[float, float]]:
    card = to_id_card(DEMO_CARDS[0])  # zhangsan: on the demo roster, this centre
    rt.post(lambda f: f.card_presented(card))  # as the reader thread does
    card_figures = until(rt, State.CONFIRM)
    for button in (Button.CONFIRM_IDENTITY, Button.AGREE):
        rt.press(button)
    payload = f"CHSI-BENCH-{n:04d}-4f9a8b7c6d5e4f3a"  # a new code each run: no memo
    rt.post(lambda f: f.code_scanned(payload))  # as the analysis thread does
    code_figures = until(rt, State.GUIDE)
    rt.press(Button.CANCEL)
    rt.poll()
    return card_figures, code_figures


def report(what: str, figures: list[tuple[float, float]]) -> None:
    pauses = [p * 1000 for p, _ in figures]
    waits = [w * 1000 for _, w in figures]
    print(f"{what}: longest UI-thread poll median {statistics.median(pauses):.1f} ms, "
          f"worst {max(pauses):.1f} ms; event to outcome median {statistics.median(waits):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config({
            "kiosk": {"data_dir": str(Path(tmp) / "data"), "min_free_mb": 1},
            "audio": {"muted": True},
            "roster": {"path": str(ROOT / "examples" / "roster-demo.csv")},
        }).as_demo()
        rt = KioskRuntime(config)  # not started: the events come from here
        try:
            runs = [one_session(rt, n) for n in range(args.runs)]
        finally:
            rt.stop()
    report("card read", [c for c, _ in runs])
    report("采集码 scan", [q for _, q in runs])


if __name__ == "__main__":
    main()
