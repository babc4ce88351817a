"""A real mounted filesystem standing in for a USB stick (tmpfs; needs root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services_required import service_missing


@contextmanager
def mounted_tmpfs(where: Path, options: str = "size=8m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        service_missing(f"cannot mount a tmpfs here: {done.stderr.strip()}", "the USB stick tests")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
