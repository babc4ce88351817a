"""Choosing the pin factory (kiosk/hardware/gpio.py): backends that fail as they load."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kiosk.hardware import gpio


def fake_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """A pin-factory module named 'lgpio' in the config, whose import runs ``body``."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "fake_pin_backend.py").write_text(body + "\nclass Factory:\n    pass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(lib))
    monkeypatch.delitem(sys.modules, "fake_pin_backend", raising=False)
    monkeypatch.setitem(gpio._REAL_FACTORIES, "lgpio", ("fake_pin_backend", "Factory", "apt install it"))


def test_a_backend_that_breaks_while_loading_is_one_clear_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # lgpio in a directory the kiosk user cannot write: FileNotFoundError at
    # import (seen in the arm64 root), which `kiosk doctor` printed as a traceback.
    fake_backend(tmp_path, monkeypatch, "raise FileNotFoundError(2, 'No such file', '.lgd-nfy-3')")
    with pytest.raises(gpio.GpioError, match=r"'lgpio' could not load: .*lgd-nfy-3.*apt install it"):
        gpio.make_pin_factory("lgpio")


def test_backends_load_in_a_writable_directory_and_the_cwd_is_restored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Like lgpio: the import creates a file in the working directory and opens it.
    locked = tmp_path / "opt"
    locked.mkdir()
    work = tmp_path / "run"
    work.mkdir()
    monkeypatch.chdir(locked)
    monkeypatch.setenv("LG_WD", str(work))
    fake_backend(tmp_path, monkeypatch,
                 "import os\nopen('.lgd-nfy0', 'w').close()\nWHERE = os.getcwd()")
    factory = gpio.make_pin_factory("lgpio")
    assert type(factory).__name__ == "Factory"
    assert sys.modules["fake_pin_backend"].WHERE == str(work)
    assert (work / ".lgd-nfy0").exists() and not (locked / ".lgd-nfy0").exists()
    assert os.getcwd() == str(locked)


def test_without_lg_wd_a_private_directory_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LG_WD", "")  # so the teardown puts back what was there
    monkeypatch.delenv("LG_WD")
    fake_backend(tmp_path, monkeypatch, "import os\nWHERE = os.getcwd()")
    gpio.make_pin_factory("lgpio")
    where = Path(sys.modules["fake_pin_backend"].WHERE)
    assert where != tmp_path and where.stat().st_mode & 0o077 == 0  # mkdtemp: 0700
    assert os.environ["LG_WD"] == str(where)  # lgpio's C side makes its pipe there too
