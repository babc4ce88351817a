"""Bad image files for `check-photo`, `guide` and `calibrate-backdrop`: one
line and exit 2 ("not an image we can check"), never a traceback or exit 1
("not compliant"); decompression bombs refused before decoding (issue 12 item 12)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from PIL import Image

import photo_cases as pc
from image_files import jpeg_header_claiming, png_claiming
from kiosk.imageio_safe import MAX_PIXELS, ImageError, read_image

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("check-photo", "guide", "calibrate-backdrop")


def kiosk(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    env["GLOG_minloglevel"] = "2"
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bombs")
    return {
        "png 20000x20000": png_claiming(d / "bomb.png", 20000, 20000),
        "jpeg header 65000x65000": jpeg_header_claiming(d / "bomb.jpg", 65000, 65000),
        "png 144 Mpx": png_claiming(d / "big.png", 12000, 12000, "RGB"),
        "png just over the limit": png_claiming(d / "over.png", 7100, 7100),
    }


def test_the_generated_bombs_claim_what_the_issue_says(bombs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        sizes = {name: Image.open(path).size for name, path in bombs.items()
                 if name not in ("png 20000x20000", "jpeg header 65000x65000")}
    assert sizes == {"png 144 Mpx": (12000, 12000), "png just over the limit": (7100, 7100)}
    assert bombs["jpeg header 65000x65000"].stat().st_size == 23
    assert bombs["png 20000x20000"].stat().st_size < 400_000


@pytest.mark.parametrize("name,claimed", [
    ("png 20000x20000", "400 Mpx"),
    ("jpeg header 65000x65000", "4225 Mpx"),
    ("png 144 Mpx", "12000x12000 = 144 Mpx"),
    ("png just over the limit", "7100x7100 = 50.4 Mpx"),
])
def test_bombs_are_refused_before_decoding(bombs, name: str, claimed: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageError) as err:
        read_image(bombs[name])
    assert str(err.value) == (f"{bombs[name]}: image too large ({claimed}; at most "
                              f"{MAX_PIXELS // 1_000_000} Mpx): refused before decoding")
    # Decoding 144 Mpx takes seconds and 400+ MB; the header takes nothing.
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("command", COMMANDS)
def test_every_image_command_exits_2_with_one_line(bombs, command: str, tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    for path in (bombs["png 20000x20000"], bombs["jpeg header 65000x65000"]):
        res = kiosk("--config", str(cfg), command, str(path))
        assert res.returncode == 2, res.stderr[-2000:]
        assert res.stderr.strip().splitlines() == [
            f"{command}: {path}: image too large ({'400' if path.suffix == '.png' else '4225'} Mpx; "
            f"at most {MAX_PIXELS // 1_000_000} Mpx): refused before decoding"]
    assert not (tmp_path / "data" / "backdrop.json").exists()


def test_other_bad_files(tmp_path: Path, camera) -> None:
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    gif = tmp_path / "photo.gif"
    Image.new("RGB", (64, 64)).save(gif)
    buf = io.BytesIO()
    Image.fromarray(pc.still(camera)).save(buf, "JPEG", quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cases = {
        tmp_path / "missing.png": "no such file",
        folder: "is a folder, not an image",
        Path("/dev/zero"): "a device or pipe, not an image",
        gif: "not a JPEG or PNG image",
        empty: "not a JPEG or PNG image",
    }
    for path, reason in cases.items():
        with pytest.raises(ImageError) as err:
            read_image(path)
        assert str(err.value) == f"{path}: {reason}"
    with pytest.raises(ImageError, match=r"truncated\.jpg: damaged or truncated image"):
        read_image(truncated)


def test_a_real_photo_reads_as_before(tmp_path: Path, camera) -> None:
    still = pc.still(camera)
    path = tmp_path / "still.png"
    Image.fromarray(still).save(path)
    data, rgb = read_image(path)
    assert data == path.read_bytes() and (rgb == still).all()


@pytest.mark.parametrize("where", ["a folder", "a missing folder"])
def test_check_photo_out_to_a_folder_or_missing_folder(tmp_path: Path, camera, where: str) -> None:
    still = tmp_path / "still.png"
    Image.fromarray(pc.still(camera)).save(still)
    out = tmp_path if where == "a folder" else tmp_path / "nowhere" / "fixed.jpg"
    res = kiosk("check-photo", str(still), "--out", str(out))
    assert res.returncode == 2
    expected = (f"is a folder: give a file name, e.g. {tmp_path / 'photo.jpg'}" if where == "a folder"
                else f"folder {tmp_path / 'nowhere'} does not exist")
    assert res.stderr.strip().splitlines() == [f"check-photo: --out {out}: {expected}"]
    assert res.stdout == ""
