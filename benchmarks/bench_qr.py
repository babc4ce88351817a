"""采集码 decode time per 640x480 preview frame, with and without a code.

Run: .venv/bin/python benchmarks/bench_qr.py [--frames N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "kiosk" / "photo"))

from test_qr import PAYLOAD, code_image, paste_warped, square  # noqa: E402

from kiosk.config import CameraConfig  # noqa: E402
from kiosk.hardware.camera_sim import SimulatedCamera  # noqa: E402
from kiosk.photo.qr import QrReader  # noqa: E402


def timed(reader: QrReader, frame, n: int) -> tuple[list[float], str | None]:
    out, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = reader.decode(frame)
        out.append((time.perf_counter() - t0) * 1000)
    return out, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    n = ap.parse_args().frames
    cam = SimulatedCamera(CameraConfig())
    cam.start()
    empty = cam.preview_frame()
    cam.close()
    reader = QrReader()
    cases = {
        "no code": empty,
        "code held up (170 px)": paste_warped(empty, code_image(), square(320, 330, 170)),
        "small code (105 px)": paste_warped(empty, code_image(), square(320, 330, 105)),
        "tilted 30 deg": paste_warped(empty, code_image(), square(320, 320, 160, 30)),
    }
    for name, frame in cases.items():
        ms, result = timed(reader, frame, n)
        ms.sort()
        ok = "decoded" if result == PAYLOAD else ("nothing" if result is None else "WRONG")
        print(f"{name:24s} median {statistics.median(ms):6.1f} ms  p95 {ms[int(0.95 * len(ms)) - 1]:6.1f} ms  ({ok})")


if __name__ == "__main__":
    main()
