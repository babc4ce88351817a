"""The data dir holds names and sealed faces: folders 0700, files 0600, under
any umask, including SQLite's -wal and -shm files and the object store."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import Deployment, new_capture_id, run_cli


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022, so a file nobody made private comes out 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose(root: Path) -> list[str]:
    """Everything under root (root included) that others could read."""
    paths = [root, *root.rglob("*")]
    return [f"{p} {_mode(p):o}" for p in paths if _mode(p) & 0o077]


def test_a_fresh_data_dir_is_private(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    result = run_cli(data, "migrate")
    assert result.code == 0, result.err
    assert _mode(data) == 0o700
    assert _mode(data / "server.db") == 0o600
    assert _loose(data) == []
    assert os.umask(0o022) == 0o022, "the CLI must give the caller's umask back"


def test_an_old_loose_data_dir_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    sqlite3.connect(data / "server.db").close()  # as an older server left it: 0644
    os.chmod(data, 0o755)
    assert _mode(data / "server.db") == 0o644
    assert run_cli(data, "migrate").code == 0
    assert _mode(data) == 0o700 and _mode(data / "server.db") == 0o600


def test_the_running_server_keeps_its_files_private(tmp_path: Path, loose_umask: None) -> None:
    """The server process (started under umask 022) writes the database, its
    WAL and the sealed objects (here in a configured folder outside the data
    dir, made loose beforehand): none of them readable by others."""
    objects = tmp_path / "objects"
    objects.mkdir(mode=0o755)
    dep = Deployment(tmp_path / "data", f'[storage]\nlocal_dir = "{objects}"\n')
    try:
        dep.server.start()
        kiosk = dep.enrol("Haidian")
        assert kiosk.put(new_capture_id(), kiosk.upload_body(kiosk.seal({"a": 1}))).status_code \
            == 201
        # While the server runs, SQLite keeps its WAL and shared-memory files.
        assert (dep.data_dir / "server.db-wal").exists()
        assert (dep.data_dir / "server.db-shm").exists()
        assert list(objects.rglob("*.sealed"))
        # server.toml is staff's own file (written here under umask 022): not the server's.
        assert _loose(dep.data_dir) == [f"{dep.data_dir / 'server.toml'} 644"]
        assert _loose(objects) == []
    finally:
        dep.close()
