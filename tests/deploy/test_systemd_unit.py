"""The booth's systemd unit and drop-ins: checked by systemd's own parser.

`systemd-analyze verify` reports a key it cannot parse on stderr and still
exits 0 ("..., ignoring"), so a clean verify means exit 0 and nothing said.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from services_required import service_missing
from deploy.test_booth_install import ROOT, UNIT, unit_values

VERIFY_TESTS = "the systemd-analyze test"


def verify(unit: Path) -> subprocess.CompletedProcess:
    if shutil.which("systemd-analyze") is None:
        service_missing("systemd-analyze is not installed (apt install systemd)", VERIFY_TESTS)
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, timeout=60)


def verifiable_copy(tmp_path: Path, text: str) -> Path:
    # ExecStart must exist for verify; /opt/photo-kiosk is only there on a booth.
    unit = tmp_path / "photo-kiosk.service"
    unit.write_text(text.replace("/opt/photo-kiosk/.venv/bin/kiosk", "/bin/true"), encoding="utf-8")
    return unit


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    out = verify(verifiable_copy(tmp_path, UNIT.read_text(encoding="utf-8")))
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    # The check above can fail: a typo in the type is reported.
    broken = UNIT.read_text(encoding="utf-8").replace("Type=notify", "Type=notfy")
    out = verify(verifiable_copy(tmp_path, broken))
    assert "Failed to parse service type" in out.stderr


def test_unit_is_a_watched_notify_service() -> None:
    assert unit_values("Type") == ["notify"]
    assert unit_values("NotifyAccess") == ["main"]
    assert unit_values("Restart") == ["always"]
    watchdog = unit_values("WatchdogSec")
    assert watchdog and 5 <= int(watchdog[0]) <= 120
    # The app's first WATCHDOG=1 must come before the start timeout runs out.
    assert int(unit_values("TimeoutStartSec")[0]) > int(watchdog[0])


def read_conf(path: Path) -> configparser.ConfigParser:
    conf = configparser.ConfigParser()
    conf.optionxform = str  # systemd keys are CamelCase
    conf.read(path, encoding="utf-8")
    return conf


def test_hardware_watchdog_is_on() -> None:
    conf = read_conf(ROOT / "systemd" / "system.conf.d" / "photo-kiosk-watchdog.conf")
    assert conf["Manager"]["RuntimeWatchdogSec"] == "15"
    assert conf["Manager"]["RebootWatchdogSec"]


def test_journal_lives_in_ram_with_limits() -> None:
    journal = read_conf(ROOT / "systemd" / "journald.conf.d" / "photo-kiosk.conf")["Journal"]
    assert journal["Storage"] == "volatile"
    assert journal["RuntimeMaxUse"].endswith("M") and int(journal["RuntimeMaxUse"][:-1]) <= 128
    assert "RuntimeMaxFileSize" in journal


@pytest.mark.parametrize("conf", ["system.conf.d/photo-kiosk-watchdog.conf",
                                  "journald.conf.d/photo-kiosk.conf"])
def test_install_puts_each_drop_in_in_place(conf: str) -> None:
    script = (ROOT / "provisioning" / "install-booth.sh").read_text()
    assert f'"$src/systemd/{conf}"' in script
