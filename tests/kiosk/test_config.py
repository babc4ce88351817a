"""Config validation and ID number helpers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.config import Config, ConfigError, load_config, parse_config
from kiosk.domain import IdCard
from photo_wire.idnumber import check_character, is_valid, mask_id, mask_name

EXAMPLE = Path(__file__).parents[2] / "examples" / "kiosk.toml"


def test_defaults_are_the_demo() -> None:
    c = Config()
    assert c.camera.backend == "simulated"
    assert c.gpio.pin_factory == "mock"
    assert c.kiosk.language == "zh_CN"


def test_example_file_is_complete_and_valid() -> None:
    """examples/kiosk.toml documents every key: same values as the defaults."""
    import tomllib

    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert parse_config(data, "example") == Config()

    def keys(model, prefix=""):
        out = set()
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if hasattr(value, "model_fields"):
                out |= keys(value, prefix + name + ".")
            else:
                out.add(prefix + name)
        return out

    def toml_keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            out |= toml_keys(v, prefix + k + ".") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(Config()) == toml_keys(data)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text('[flow]\ncountdown_secs = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert "flow.countdown_secs: unknown key" in str(err.value)


def test_bad_value_names_key_and_allowed(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text('[camera]\nbackend = "webcam"\n[flow]\nmax_retakes = -1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    text = str(err.value)
    assert "camera.backend" in text and "'simulated', 'picamera2' or 'opencv'" in text and "'webcam'" in text
    assert "flow.max_retakes" in text and "greater than or equal to 0" in text


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "k.toml"
    p.write_text("[flow\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_kb_range_checked() -> None:
    with pytest.raises(ConfigError, match="min_kb"):
        parse_config({"photo": {"min_kb": 50, "max_kb": 40}})


def test_pin_must_be_digits() -> None:
    with pytest.raises(ConfigError, match="kiosk.staff_pin"):
        parse_config({"kiosk": {"staff_pin": "abc"}})


def test_public_url_is_a_web_address() -> None:
    for good in ("https://photo.school.edu.cn", "http://10.0.0.5:8000/photo/"):
        assert parse_config({"sync": {"public_url": good}}).sync.public_url == good
    assert parse_config({}).sync.public_url == ""
    for bad in ("photo.school.edu.cn", "ftp://x", "https://", "https://a/?q=1", "https://a/#x",
                "https://a/ b", "https://" + "a" * 300):
        with pytest.raises(ConfigError, match="sync.public_url") as err:
            parse_config({"sync": {"public_url": bad}})
        assert "Traceback" not in str(err.value) and len(str(err.value).splitlines()) == 2


def test_as_demo_simulates_every_device() -> None:
    c = parse_config({"gpio": {"pin_factory": "lgpio"}, "camera": {"backend": "picamera2"}})
    d = c.as_demo()
    assert (d.camera.backend, d.gpio.pin_factory, d.id_reader.backend) == ("simulated", "mock", "simulated")
    assert d.kiosk == c.kiosk


# ------------------------------------------------------------------ ID numbers


def test_check_character_known_examples() -> None:
    # Worked example from GB 11643-1999: 11010519491231002X
    assert check_character("11010519491231002") == "X"
    assert is_valid("11010519491231002X")
    assert is_valid("11010519491231002x")
    assert not is_valid("110105194912310021")


@pytest.mark.parametrize(
    "bad",
    ["", "1234", "11010519491331002X", "01010519491231002X", "1101051949123100ZX", "110105" + "21000101" + "0010"],
)
def test_invalid_numbers(bad: str) -> None:
    assert not is_valid(bad)


def test_future_birth_date_is_invalid() -> None:
    first = "110105" + "20300101" + "001"
    assert not is_valid(first + check_character(first), today=date(2026, 1, 1))


def test_mask_keeps_at_most_first6_last4() -> None:
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("12345") == "*****"
    assert mask_id(None) == ""
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧**娜" and mask_name("李") == "李"


def test_idcard_repr_never_shows_the_number() -> None:
    c = IdCard(id_number="11010519491231002X", name="张三")
    assert "11010519491231002X" not in repr(c) and "11010519491231002X" not in f"{c}"
    assert "张三" not in repr(c)


@pytest.mark.parametrize("area", ["990101", "000101", "110000", "200101"])
def test_implausible_area_codes_are_invalid(area: str) -> None:
    first = area + "19900101" + "123"
    assert not is_valid(first + check_character(first))


def test_every_demo_and_roster_number_has_a_plausible_area() -> None:
    import csv

    from photo_wire.idnumber import area_code_plausible

    rows = csv.DictReader((Path(__file__).parents[2] / "examples" / "roster-demo.csv").open(encoding="utf-8"))
    for row in rows:
        assert area_code_plausible(row["id_number"])


# ------------------------------------------------------- bad config files (issue 12 item 14)

import subprocess  # noqa: E402
import sys  # noqa: E402

ROOT = Path(__file__).parents[2]


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the one-line message must say)."""
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('[kiosk]\ncentre = "中心"\n'.encode("gbk"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 200_000, encoding="utf-8")
    return {
        "gbk": (gbk, "not UTF-8 text (save it as UTF-8)"),
        "binary": (binary, "not UTF-8 text (save it as UTF-8)"),
        "folder": (folder, "is a folder, not a config file"),
        "deep": (deep, "not valid TOML: nested too deeply"),
        "huge": (huge, "larger than 1 MB: not a config file"),
    }


@pytest.mark.parametrize("name", ["gbk", "binary", "folder", "deep", "huge"])
def test_unreadable_config_files_give_one_line(tmp_path: Path, name: str) -> None:
    path, expected = _bad_files(tmp_path)[name]
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {expected}"


def test_check_config_cli_exit_2_without_traceback(tmp_path: Path) -> None:
    for path, expected in _bad_files(tmp_path).values():
        res = subprocess.run([sys.executable, "-m", "kiosk.cli", "check-config", str(path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert res.returncode == 2, (path, res.stderr[-2000:])
        assert res.stderr.strip() == f"{path}: {expected}"


def test_config_error_never_echoes_the_staff_pin() -> None:
    for bad in ("98x76543", 9876543210, "123456789"):
        with pytest.raises(ConfigError) as err:
            parse_config({"kiosk": {"staff_pin": bad}})
        text = str(err.value)
        assert "kiosk.staff_pin" in text and str(bad) not in text


def test_data_dir_must_be_a_folder(tmp_path: Path) -> None:
    afile = tmp_path / "data"
    afile.write_text("not a folder")
    with pytest.raises(ConfigError, match="kiosk.data_dir: exists but is not a folder"):
        parse_config({"kiosk": {"data_dir": str(afile)}})
    assert parse_config({"kiosk": {"data_dir": str(tmp_path / "new")}}).kiosk.data_dir == tmp_path / "new"


def test_kiosk_id_follows_the_servers_pattern() -> None:
    from kiosk.config import KIOSK_ID
    from school_server.schemas import KIOSK_ID as SERVER_KIOSK_ID

    assert KIOSK_ID == SERVER_KIOSK_ID
    for bad in ("", "../booth", "booth 7", "-booth", "b" * 65, "站点1"):
        with pytest.raises(ConfigError, match="kiosk.id: 1 to 64 letters"):
            parse_config({"kiosk": {"id": bad}})
    assert parse_config({"kiosk": {"id": "centre-3.booth_7"}}).kiosk.id == "centre-3.booth_7"


@pytest.mark.parametrize("content,expected", [
    (b"id_number,name\n", "missing column 'programme'"),
    (b"", "the roster file is empty"),
    ("id_number,name,programme,centre,session\n110101200103151236,张三,x,c,s\n".encode("gbk"),
     "not UTF-8 text"),
])
def test_check_config_reads_the_roster(tmp_path: Path, content: bytes, expected: str) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes(content)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[roster]\npath = "{roster}"\n', encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "kiosk.cli", "check-config", str(cfg)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    [line] = res.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith(f"{cfg}: roster: {roster}: ") and expected in line
