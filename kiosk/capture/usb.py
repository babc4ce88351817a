"""The USB stick staff plug into an offline booth (bundles for the school).

The booth mounts a stick under one of a few folders (provisioning's udev
rule uses /media/kiosk-usb; a desktop mounts under /media/USER/LABEL or
/run/media/USER/LABEL). We read the kernel's mount table rather than
guessing from folders: an empty mount point left behind must not be taken
for a stick, or the bundle would land on the SD card.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

MOUNT_TABLE = Path("/proc/self/mounts")
# The bundle folder on the stick: one per booth, so sticks can be shared.
BUNDLE_DIR_PREFIX = "photo-kiosk-"

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # The mount table writes space, tab, newline and backslash as \040 etc.
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def mounted_sticks(roots: Iterable[str | Path], table: Path = MOUNT_TABLE) -> list[Path]:
    """Writable mount points strictly inside one of roots, sorted."""
    bases = [Path(os.path.realpath(r)) for r in roots]
    try:
        lines = table.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    found: set[Path] = set()
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        point = Path(_unescape(fields[1]))
        options = fields[3].split(",")
        if "ro" in options or not any(base in point.parents for base in bases):
            continue
        if point.is_dir() and os.access(point, os.W_OK):
            found.add(point)
    return sorted(found)


def bundle_dir(stick: Path, kiosk_id: str) -> Path:
    return stick / f"{BUNDLE_DIR_PREFIX}{kiosk_id}"
