"""`kiosk check-photo` and `kiosk guide` as a script or staff member runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import photo_cases as pc

ROOT = Path(__file__).resolve().parents[3]


def kiosk(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    env["GLOG_minloglevel"] = "2"
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )


def run_json(*args: str) -> tuple[int, dict]:
    proc = kiosk(*args, "--json")
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def save(img: np.ndarray, path: Path) -> str:
    Image.fromarray(img).save(path)
    return str(path)


def test_default_still_is_compliant_and_out_is_a_spec_photo(camera, tmp_path):
    still = save(pc.still(camera), tmp_path / "still.png")
    out = tmp_path / "fixed.jpg"
    code, result = run_json("check-photo", still, "--out", str(out))
    assert code == 0
    assert result["compliant"] is True and result["problems"] == []
    assert result["measures"]["EYE_LINE_OUT_OF_BAND"]["band"] == [200, 300]
    assert all(m["passed"] for m in result["measures"].values())
    img = Image.open(out)
    assert img.format == "JPEG" and img.size == (480, 640)
    # The written photo is itself a compliant final photo.
    code, again = run_json("check-photo", str(out), "--as-is")
    assert code == 0 and again["compliant"]


def test_blue_top_still_is_not_compliant(camera, analyser, tmp_path):
    still = pc.still(camera)
    path = save(pc.blue_top(still, pc.one_face(analyser, still)), tmp_path / "blue.jpg")
    code, result = run_json("check-photo", path)
    assert code == 1 and result["compliant"] is False
    assert [p["code"] for p in result["problems"]] == ["CLOTHING_MATCHES_BACKGROUND"]
    assert "allowed at most 0.35" in result["problems"][0]["message"]
    assert result["measures"]["CLOTHING_MATCHES_BACKGROUND"]["passed"] is False


def test_badly_framed_final_photo_as_is(camera, analyser, tmp_path):
    still = pc.still(camera)
    photo = pc.framed(still, pc.one_face(analyser, still), shift=(0, -60))
    path = tmp_path / "final.jpg"
    path.write_bytes(pc.jpeg(photo))
    code, result = run_json("check-photo", str(path), "--as-is")
    assert code == 1
    eye = next(p for p in result["problems"] if p["code"] == "EYE_LINE_OUT_OF_BAND")
    value = result["measures"]["EYE_LINE_OUT_OF_BAND"]["value"]
    assert value > 300
    assert eye["message"] == f"eye line at {value:.0f} px, allowed 200-300 px"


def test_a_still_as_is_is_the_wrong_size_and_format(camera, tmp_path):
    path = save(pc.still(camera), tmp_path / "still.png")
    code, result = run_json("check-photo", path, "--as-is")
    codes = [p["code"] for p in result["problems"]]
    assert code == 1 and "WRONG_SIZE" in codes and "WRONG_FORMAT" in codes
    size = next(p["message"] for p in result["problems"] if p["code"] == "WRONG_SIZE")
    assert size == "image is 2028x1520 px, must be 480x640"


def test_no_face_gives_no_photo(camera, tmp_path):
    path = save(pc.still(camera, faces=0), tmp_path / "empty.png")
    out = tmp_path / "never.jpg"
    code, result = run_json("check-photo", path, "--out", str(out))
    assert code == 1 and [p["code"] for p in result["problems"]] == ["NO_FACE"]
    assert not out.exists()


def test_two_people(camera, tmp_path):
    path = save(pc.still(camera, faces=2), tmp_path / "two.png")
    code, result = run_json("check-photo", path)
    assert code == 1 and [p["code"] for p in result["problems"]] == ["MULTIPLE_FACES"]


@pytest.mark.parametrize("content", [b"not an image at all", b""])
def test_unreadable_file_exits_2(tmp_path, content):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    proc = kiosk("check-photo", str(path), "--json")
    assert proc.returncode == 2 and "not a JPEG or PNG image" in proc.stderr
    assert kiosk("guide", str(path)).returncode == 2


def test_missing_file_exits_2(tmp_path):
    assert kiosk("check-photo", str(tmp_path / "nope.png")).returncode == 2


def test_plain_text_output(camera, tmp_path):
    path = save(pc.still(camera, brightness=0.35), tmp_path / "dark.png")
    proc = kiosk("check-photo", path)
    assert proc.returncode == 1
    assert "NOT compliant" in proc.stdout and "UNDEREXPOSED: face brightness" in proc.stdout


def test_guide_ready_and_hints(camera, tmp_path):
    camera.reset_scene()
    good = save(camera.preview_frame(), tmp_path / "good.png")
    code, result = run_json("guide", good)
    assert code == 0 and result == {"ready": True, "hints": []}
    camera.update_scene(dx=0.15)
    off = save(camera.preview_frame(), tmp_path / "off.png")
    camera.reset_scene()
    code, result = run_json("guide", off)
    assert code == 1 and result["ready"] is False
    assert [h["code"] for h in result["hints"]] == ["MOVE_RIGHT"]
    assert result["hints"][0]["message"] and result["hints"][0]["message"] != "hint.MOVE_RIGHT"


def test_calibrate_backdrop_then_check_under_warm_lamps(camera, tmp_path):
    """Staff calibrate on the empty booth; check-photo then uses that model.
    Under warm lamps the default model loses the head top; the calibrated
    one does not. Refusals exit 1 with the reason, unreadable input 2."""
    def warm(img: np.ndarray) -> np.ndarray:
        return np.clip(img * np.float32([1.1, 1.0, 0.8]), 0, 255).round().astype(np.uint8)

    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    person = save(warm(pc.still(camera)), tmp_path / "person.png")
    empty = save(warm(pc.still(camera, faces=0)), tmp_path / "empty.png")

    code, before = run_json("--config", str(config), "check-photo", person)
    assert code == 1 and "HEAD_TOP_OUT_OF_BAND" in [p["code"] for p in before["problems"]]

    refused = kiosk("--config", str(config), "calibrate-backdrop", person)
    assert refused.returncode == 1 and "face is in view" in refused.stderr
    assert kiosk("--config", str(config), "calibrate-backdrop", str(config)).returncode == 2
    done = kiosk("--config", str(config), "calibrate-backdrop", empty)
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "data" / "backdrop.json").read_text())
    assert saved["calibrated_at"] and saved["rgb"][2] < 230  # the warm cloth, not the spec blue

    code, after = run_json("--config", str(config), "check-photo", person)
    assert "HEAD_TOP_OUT_OF_BAND" not in [p["code"] for p in after["problems"]], after
    assert code == 0, after["problems"]


@pytest.mark.parametrize("orientation", [6, 8])
def test_phone_photo_stored_sideways_is_read_as_shown(camera, tmp_path, orientation):
    """A phone stores a portrait sideways with an EXIF Orientation tag;
    check-photo judges it as every viewer shows it (upright)."""
    still = pc.still(camera)
    # Orientation 6 = shown rotated 90 deg clockwise: store it the other way round.
    stored = np.rot90(still, k=1 if orientation == 6 else -1)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(stored)).save(path, quality=95, exif=exif)
    code, result = run_json("check-photo", str(path))
    assert code == 0 and result["compliant"], result["problems"]


def test_small_face_is_low_resolution_not_enlarged(camera, tmp_path):
    """A phone photo whose face is 90 px wide: refused with the reason,
    not blown up 2.7x into a "photo"."""
    still = pc.still(camera)
    h, w = still.shape[:2]
    small = np.asarray(Image.fromarray(still).resize((w // 4, h // 4), Image.LANCZOS))
    out = tmp_path / "fixed.jpg"
    code, result = run_json("check-photo", save(small, tmp_path / "small.png"), "--out", str(out))
    assert code == 1
    low = next(p for p in result["problems"] if p["code"] == "LOW_RESOLUTION")
    value, (need, _) = result["measures"]["LOW_RESOLUTION"]["value"], result["measures"]["LOW_RESOLUTION"]["band"]
    assert value < 120 and need >= 180
    assert low["message"] == f"face width in the image {value:.0f} px, allowed at least {need:.0f} px"
    # The booth's own still needs no enlarging.
    code, result = run_json("check-photo", save(still, tmp_path / "still.png"))
    assert result["measures"]["LOW_RESOLUTION"]["passed"] is True


def test_group_photo_is_multiple_faces(camera, tmp_path):
    """Seven people, each face a tenth of the frame: FaceMesh's own
    detector sees none of them, the full-range one counts them."""
    import face_set as fs

    group = fs.group([pc.still(camera)], 7)
    code, result = run_json("check-photo", save(group, tmp_path / "group.png"))
    assert code == 1 and [p["code"] for p in result["problems"]] == ["MULTIPLE_FACES"]


def test_guide_says_a_small_phone_photo_has_too_few_pixels(camera, tmp_path):
    """A still-sized image whose face is under the spec's 180 px: the hint
    says so; the booth's own still does not get it."""
    still = pc.still(camera)
    h, w = still.shape[:2]
    small = np.asarray(Image.fromarray(still).resize((w * 2 // 5, h * 2 // 5), Image.LANCZOS))
    code, result = run_json("guide", save(small, tmp_path / "small.png"))
    assert code == 1 and "LOW_RESOLUTION" in [h["code"] for h in result["hints"]]
    code, result = run_json("guide", save(still, tmp_path / "still.png"))
    assert "LOW_RESOLUTION" not in [h["code"] for h in result["hints"]]


def test_a_face_washed_out_by_the_light_is_too_bright_too(camera, analyser, tmp_path):
    """No face counted because the light washed it out: check-photo says
    OVEREXPOSED too, as --as-is, guide and the live preview do; a plain
    empty booth is NO_FACE alone (test_no_face_gives_no_photo)."""
    washed = pc.still(camera, brightness=2.5)
    assert analyser.analyse(washed).face_count == 0  # the case under test
    path = save(washed, tmp_path / "washed.png")
    code, result = run_json("check-photo", path)
    assert code == 1 and [p["code"] for p in result["problems"]] == ["NO_FACE", "OVEREXPOSED"]
    assert result["measures"]["OVEREXPOSED"]["passed"] is False
    assert "allowed at most 0.15" in result["problems"][1]["message"]
    code, as_is = run_json("check-photo", path, "--as-is")
    assert {"NO_FACE", "OVEREXPOSED"} <= {p["code"] for p in as_is["problems"]}
