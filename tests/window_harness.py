"""Shared by the window tests: Kivy under offscreen SDL (or Xvfb), the
`kiosk` command, a booth config for a window, and a screenshot check."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from services_required import service_missing

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import os
os.environ["KIVY_NO_ARGS"] = "1"
from kivy.core.window import Window
print("window", Window.size)
"""


def base_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KIVY_HOME=str(tmp_path / "kivy-home"),
        KIVY_NO_ARGS="1",
        KIVY_NO_FILELOG="1",
        SDL_AUDIODRIVER="dummy",
        SDL_VIDEODRIVER="offscreen",
        PYTHONUNBUFFERED="1",
    )
    return env


@functools.cache
def display_prefix() -> tuple[str, ...]:
    """() when offscreen SDL works here, else an xvfb-run prefix (or skip)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        probe = subprocess.run(
            [sys.executable, "-c", PROBE], env=base_env(Path(tmp)), capture_output=True, text=True, timeout=60
        )
    if probe.returncode == 0 and "window" in probe.stdout:
        return ()
    if shutil.which("xvfb-run"):
        return ("xvfb-run", "-a", "-s", "-screen 0 1920x1080x24")
    service_missing(f"no way to open a window here: {probe.stderr[-500:]}", "the window tests")


def run_windowed(cmd: list[str], tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    prefix = display_prefix()
    env = base_env(tmp_path)
    if prefix:
        env.pop("SDL_VIDEODRIVER")
    return subprocess.run([*prefix, *cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def kiosk_command() -> list[str]:
    script = Path(sys.executable).parent / "kiosk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]


def write_config(tmp_path: Path, width: int = 800, height: int = 480) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"""
[kiosk]
data_dir = "{tmp_path / 'data'}"
min_free_mb = 1
[screen]
width = {width}
height = {height}
[audio]
muted = true
prompts_dir = "{tmp_path / 'prompts'}"
[flow]
countdown_seconds = 1
[roster]
path = "{ROOT / 'examples' / 'roster-demo.csv'}"
""",
        encoding="utf-8",
    )
    return cfg


def assert_not_blank(path: Path, size: tuple[int, int]) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    assert img.size == size, f"{path.name} is {img.size}"
    pixels = np.asarray(img).astype(np.float32)
    assert pixels.std() > 12, f"{path.name} looks blank"
    packed = pixels[::4, ::4].astype(np.uint32)
    colours = np.unique((packed[..., 0] << 16) | (packed[..., 1] << 8) | packed[..., 2])
    assert len(colours) > 40, f"{path.name} has hardly any colours"
    return pixels
