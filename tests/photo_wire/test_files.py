"""photo_wire/files.py's bounded reads, and every command that reads a file a
user hands it: /dev/zero, a FIFO, a file over its limit or JSON nested
100 000 deep each give one line and the documented exit code, never a
traceback, under a memory limit of the test's own (issue 24 item 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bounded_run import ROOT, one_line, run_bounded
from headless_harness import write_config
from kiosk.capture.store import CaptureStore
from photo_wire.files import ReadRefused, load_json, read_bounded

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_read_bounded_reads_a_regular_file_up_to_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    with pytest.raises(ReadRefused, match=r"f\.txt: larger than 99 bytes: not a roster file"):
        read_bounded(path, 99, "roster file")


def test_read_bounded_refuses_devices_fifos_and_folders(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opened without a writer: must not block
    cases = {Path("/dev/zero"): "a device or pipe, not an image", fifo: "a device or pipe, not an image",
             tmp_path: "is a folder, not an image"}
    for path, why in cases.items():
        with pytest.raises(ReadRefused) as err:
            read_bounded(path, 1024, "image")
        assert str(err.value) == f"{path}: {why}"
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "missing", 10)


def test_load_json_refuses_deep_nesting_as_bad_json() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        load_json(DEEP)
    assert load_json(b"[[1]]") == [[1]]


def test_kiosk_script_from_dev_zero(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    res = run_bounded("kiosk.cli", "--config", str(cfg), "run", "--demo", "--headless",
                "--script", "/dev/zero")
    one_line(res, 2, "/dev/zero: a device or pipe, not a kiosk script")


def test_kiosk_roster_from_dev_zero(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        str(ROOT / "examples" / "roster-demo.csv"), "/dev/zero"), encoding="utf-8")
    res = run_bounded("kiosk.cli", "check-config", str(cfg))
    one_line(res, 2, "/dev/zero: a device or pipe, not a roster file")


@pytest.mark.parametrize("content", ["dev-zero", "deep"])
def test_kiosk_import_receipts(tmp_path: Path, content: str) -> None:
    cfg = write_config(tmp_path)
    CaptureStore(tmp_path / "data", "kiosk-01").close()  # a booth that has a store
    bundle = tmp_path / "stick"
    bundle.mkdir()
    receipts = bundle / "receipts.json"
    if content == "dev-zero":
        receipts.symlink_to("/dev/zero")
    else:
        receipts.write_bytes(DEEP)
    res = run_bounded("kiosk.cli", "--config", str(cfg), "import-receipts", str(bundle))
    why = "a device or pipe, not a receipts file" if content == "dev-zero" else "nested too deeply"
    one_line(res, 1, why, "nothing applied")


@pytest.mark.parametrize("what", ["manifest", "config"])
def test_server_import_bundle_from_dev_zero(tmp_path: Path, what: str) -> None:
    bundle = tmp_path / "stick"
    bundle.mkdir()
    config: tuple[str, ...] = ()
    if what == "manifest":
        (bundle / "manifest.json").symlink_to("/dev/zero")
        why = f"{bundle / 'manifest.json'}: a device or pipe, not a bundle manifest"
    else:
        config = ("--config", "/dev/zero")
        why = "/dev/zero: a device or pipe, not a config file"
    res = run_bounded("school_server.cli", "import-bundle", "--data", str(tmp_path / "server"),
                      *config, str(bundle))
    one_line(res, 1, why)


def test_server_import_roster_from_dev_zero(tmp_path: Path) -> None:
    res = run_bounded("school_server.cli", "import-roster", "--data", str(tmp_path), "/dev/zero")
    one_line(res, 1, "/dev/zero: a device or pipe, not a roster file; nothing imported")

