"""Shared by the headless-session tests: a booth config, the happy-path
script and its first half, and `kiosk run --headless` as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HAPPY = (ROOT / "tests" / "scripts" / "happy_path.txt").read_text(encoding="utf-8")

# The start of a session up to the pose guidance, reused by the failure scripts.
TO_GUIDE = """
expect attract
card zhangsan
expect confirm
press confirm_identity
expect consent
press agree
expect scan_code
qr CHSI-DEMO-7f3a9c2e5b8d1f4a6c0e
expect guide
qr off
"""


def write_config(tmp_path: Path, extra: str = "", kiosk: str = "") -> Path:
    """The demo booth's config; kiosk: more lines of [kiosk], extra: more sections."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"""
[kiosk]
{kiosk}
data_dir = "{tmp_path / 'data'}"
min_free_mb = 1
[audio]
muted = true
[flow]
countdown_seconds = 0
ready_hold_seconds = 0.3
[roster]
path = "{ROOT / 'examples' / 'roster-demo.csv'}"
{extra}
""",
        encoding="utf-8",
    )
    return cfg


def run_cli(cfg: Path, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "script.txt"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "--config", str(cfg), "run", "--demo", "--headless", "--script", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
