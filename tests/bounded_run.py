"""A command run as a subprocess under a memory limit of its own and a time
limit: what reading a file without bound would exceed (issue 24 item 8)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Enough for the kiosk's imports (numpy, OpenCV, their thread pools' address
# space); far below what reading /dev/zero without end takes.
MEMORY_LIMIT = 3 * 1024 ** 3


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_bounded(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """python -m ARGS from the repository, memory- and time-limited."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_limited, env=dict(os.environ))


def one_line(res: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    """Exit code, no traceback, and the last line of stderr says each needle."""
    assert res.returncode == code, res.stderr[-3000:]
    assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr, res.stderr[-3000:]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines, res.stdout
    for needle in needles:
        assert needle in lines[-1], lines
