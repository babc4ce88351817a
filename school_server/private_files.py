"""The data dir holds names, programmes and sealed faces: only the server's
own user may read it (folders 0700, files 0600).

Every `photo-server` command runs under umask 077, so whatever it or a
library creates (SQLite's -wal and -shm files, object folders, temp files)
is private from the start; a data dir or database made by an older version
with looser modes is tightened when the server opens it.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


@contextmanager
def private_umask() -> Iterator[None]:
    """Run the block under umask 077 (restored after: the CLI also runs in-process in tests)."""
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def private_dir(path: Path) -> Path:
    """Make path (and missing parents) 0700, or tighten it if it exists looser."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create path empty as 0600 if missing, or tighten it if it exists looser."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    _tighten(path, FILE_MODE)
    return path


def tighten_if_present(path: Path) -> None:
    try:
        _tighten(path, FILE_MODE)
    except FileNotFoundError:
        pass


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        os.chmod(path, mode)
        log.warning("%s was readable by others (mode %o); made it %o", path, current, mode)
