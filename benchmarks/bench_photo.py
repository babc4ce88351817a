"""Photo engine timings on the simulated camera (just prints figures).

    .venv/bin/python benchmarks/bench_photo.py [--frames 300] [--stills 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("GLOG_minloglevel", "2")  # quieten mediapipe's C++ log

from kiosk.config import CameraConfig, PhotoConfig, SimulatedCameraConfig  # noqa: E402
from kiosk.hardware.camera_sim import SimulatedCamera  # noqa: E402
from kiosk.photo.analysis import FaceAnalyser  # noqa: E402
from kiosk.photo.guidance import GuidanceSmoother, hints_for  # noqa: E402
from kiosk.photo.process import process_still  # noqa: E402


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   (n={len(ms)})"


def bench_preview(frames: int) -> None:
    cam = SimulatedCamera(CameraConfig())
    cam.start()
    spec = PhotoConfig()
    smoother = GuidanceSmoother()
    render, analyse = [], []
    with FaceAnalyser(static_image_mode=False) as analyser:
        for i in range(frames):
            # Move a little every 10 frames so tracking and re-rendering both show up.
            if i % 10 == 0:
                cam.update_scene(dx=0.04 * ((i // 10) % 3 - 1))
            t0 = time.perf_counter()
            frame = cam.preview_frame()
            t1 = time.perf_counter()
            hints = hints_for(analyser.analyse(frame), spec)
            smoother.update(hints, t1)
            t2 = time.perf_counter()
            render.append((t1 - t0) * 1000)
            analyse.append((t2 - t1) * 1000)
    print(f"sim preview_frame 640x480        {_stats(render)}")
    print(f"analysis+guidance 640x480 frame  {_stats(analyse)}")


def bench_still(size: tuple[int, int], runs: int) -> None:
    cam = SimulatedCamera(CameraConfig(simulated=SimulatedCameraConfig(still_size=size)))
    cam.start()
    spec = PhotoConfig()
    capture, process = [], []
    with FaceAnalyser(static_image_mode=True) as analyser:
        for _ in range(runs):
            t0 = time.perf_counter()
            still = cam.capture_still()
            t1 = time.perf_counter()
            photo = process_still(still, analyser, spec)
            t2 = time.perf_counter()
            capture.append((t1 - t0) * 1000)
            process.append((t2 - t1) * 1000)
    w, h = size
    print(f"sim capture_still {w}x{h}      {_stats(capture)}")
    print(
        f"process_still {w}x{h}          {_stats(process)}"
        f"   compliant={photo.compliant} q={photo.measures['quality']} {photo.measures['jpeg_kb']} KB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--stills", type=int, default=5)
    args = ap.parse_args()
    bench_preview(args.frames)
    bench_still((2028, 1520), args.stills)
    bench_still((4056, 3040), args.stills)


if __name__ == "__main__":
    main()
