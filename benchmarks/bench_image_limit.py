"""Peak memory and time of `kiosk check-photo` by image size, and of the
refusals above the pixel limit (kiosk/imageio_safe.py MAX_PIXELS).

Each run is its own process, started by a small launcher (a child forked
from this big process would count its pages); its peak RSS comes from the
kernel (wait4).
Stills are the simulated camera's portrait scaled to the size (JPEG q90);
the oversized ones are generated (tests/image_files.py). With --unguarded
it also decodes the 144-Mpx PNG with the limit lifted (what the check did
before the guard; needs ~1 GB free).

Run: .venv/bin/python benchmarks/bench_image_limit.py [--unguarded]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PIL import Image  # noqa: E402

from image_files import jpeg_header_claiming, png_claiming  # noqa: E402
from kiosk.config import CameraConfig  # noqa: E402
from kiosk.hardware.camera_sim import SimulatedCamera  # noqa: E402

SIZES = [(2028, 1520), (4056, 3040), (8000, 6000), (8160, 6120)]


LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024)
"""


def measure(args: list[str]) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS in MiB) of one child process."""
    env = {**os.environ, "GLOG_minloglevel": "2"}
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--unguarded", action="store_true")
    opts = parser.parse_args()
    cam = SimulatedCamera(CameraConfig())
    cam.start()
    still = Image.fromarray(cam.capture_still())
    cam.close()
    kiosk = [sys.executable, "-m", "kiosk.cli", "check-photo"]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        print(f"{'input':38} {'exit':>4} {'seconds':>8} {'peak RSS MiB':>13}")
        for w, h in SIZES:
            path = d / f"still-{w}x{h}.jpg"
            still.resize((w, h), Image.BICUBIC).save(path, quality=90)
            code, secs, rss = measure([*kiosk, str(path)])
            print(f"{f'JPEG {w}x{h} ({w * h / 1e6:.1f} Mpx)':38} {code:>4} {secs:>8.2f} {rss:>13.0f}")
        oversized = {
            "PNG 12000x12000 (144 Mpx, 420 KB)": png_claiming(d / "big.png", 12000, 12000, "RGB"),
            "PNG 20000x20000 (400 Mpx, 48 KB)": png_claiming(d / "bomb.png", 20000, 20000),
            "JPEG header 65000x65000 (23 bytes)": jpeg_header_claiming(d / "bomb.jpg", 65000, 65000),
        }
        for name, path in oversized.items():
            code, secs, rss = measure([*kiosk, str(path)])
            print(f"{name:38} {code:>4} {secs:>8.2f} {rss:>13.0f}")
        if opts.unguarded:
            code, secs, rss = measure([sys.executable, "-c",
                                       "import sys; from kiosk.imageio_safe import read_image; "
                                       f"read_image({str(oversized['PNG 12000x12000 (144 Mpx, 420 KB)'])!r}, 10**12)"])
            print(f"{'144 Mpx decoded, no limit (read only)':38} {code:>4} {secs:>8.2f} {rss:>13.0f}")


if __name__ == "__main__":
    main()
