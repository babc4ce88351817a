"""Durable file writes: a file is whole or absent after a power cut.

Temp file, fsync, rename, directory fsync (the rename itself is only durable
once the directory is synced, fsync(2)). Files 0600, folders 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHUNK = 1024 * 1024


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is cut by the umask; an old dir may be looser


def write_durably(path: Path, data: bytes, *, exclusive: bool = False,
                  fsync_parent: bool = True) -> None:
    """Write path whole or not at all (0600). exclusive: never replace an
    existing file (FileExistsError instead; the first writer wins). The temp
    file is removed when the write fails (a full disk or stick)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp" if exclusive else path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view[:_CHUNK]):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(tmp, path)  # atomic, and fails where rename would overwrite
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    if fsync_parent:
        fsync_dir(path.parent)


def write_private_file(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """A small private file (token, caches, keys) in a 0700 folder, written durably."""
    make_private_dir(Path(path).parent)
    write_durably(path, data, exclusive=exclusive)
