"""Durable file writes and bounded reads.

Writes: a file is whole or absent after a power cut. Temp file, fsync,
rename, directory fsync (the rename itself is only durable once the
directory is synced, fsync(2)). Files 0600, folders 0700.

Reads: every file a user or a stick hands us (script, roster, bundle,
receipts, config, caches, images) is read with read_bounded: a regular file
of at most a stated size, never /dev/zero or a FIFO read without end, and
JSON from it with load_json (a 100 000-deep array is refused, not a
RecursionError).
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

_CHUNK = 1024 * 1024
MB = 1024 * 1024
MAX_CONFIG_BYTES = 1 * MB
# The booth's caches of the server's roster (names of a whole centre) and schedule.
MAX_CACHE_BYTES = 64 * MB
# A roster CSV or XLSX of every graduate of a city (~100 000 rows) is ~10 MB.
MAX_ROSTER_BYTES = 64 * MB


class ReadRefused(ValueError):
    """A file we will not read; the message says why in one line (path first)."""


def read_bounded(path: Path | str, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most limit bytes. FileNotFoundError
    when it is missing (callers word that themselves); ReadRefused for a
    folder, a device or FIFO, a file over the limit, or an OS error, its
    message naming what the file should have been ("not a roster file")."""
    path = Path(path)
    fd = _open_regular(path, limit, what)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)  # a file growing as we read stops here too
    except OSError as err:
        raise ReadRefused(f"{path}: cannot read: {err.strerror or type(err).__name__}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ReadRefused(f"{path}: larger than {_size(limit)}: not {_a(what)}")
    return data


def check_regular_file(path: Path | str, limit: int, what: str = "file") -> None:
    """read_bounded's refusals without the read, for a reader that streams a
    big file itself (the office's roster import)."""
    os.close(_open_regular(Path(path), limit, what))


def _open_regular(path: Path, limit: int, what: str) -> int:
    """A read-only descriptor of a regular file of at most limit bytes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ReadRefused(f"{path}: is a folder, not {_a(what)}") from None
    except OSError as err:
        raise ReadRefused(f"{path}: cannot read: {err.strerror or type(err).__name__}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ReadRefused(f"{path}: is a folder, not {_a(what)}")
        if not stat.S_ISREG(info.st_mode):
            raise ReadRefused(f"{path}: a device or pipe, not {_a(what)}")
        if info.st_size > limit:
            raise ReadRefused(f"{path}: larger than {_size(limit)}: not {_a(what)}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def load_json(data: bytes | str) -> Any:
    """json.loads, with nesting too deep for the parser a ValueError like any bad JSON."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def load_toml(path: Path | str, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """A config file's TOML; ReadRefused of one line for a file that is not one."""
    try:
        raw = read_bounded(path, limit, "config file")
    except FileNotFoundError:
        raise ReadRefused(f"{path}: no such config file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReadRefused(f"{path}: not UTF-8 text (save it as UTF-8)") from None
    except tomllib.TOMLDecodeError as err:
        raise ReadRefused(f"{path}: not valid TOML: {err}") from None
    except RecursionError:  # tomllib recurses once per nested array or table
        raise ReadRefused(f"{path}: not valid TOML: nested too deeply") from None


def _a(what: str) -> str:
    return ("an " if what[:1] in "aeiou" else "a ") + what


def _size(n: int) -> str:
    return (f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n // 1024} KB" if n >= 1024
            else f"{n} bytes")


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
