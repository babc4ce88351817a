"""setup.sh on a Pi whose apt sources lack the Raspberry Pi archive (issue 25).

Debian 12 installed on a Pi (not Raspberry Pi OS) has no python3-picamera2
nor python3-lgpio: setup.sh must say so in one line and exit 3 before
apt-get install, or go on without them when KIOSK_NO_PI_ARCHIVE=1. The
check is setup.sh's own function, run with this machine's real apt-cache (a
Debian without the Pi archive, like such a Pi) and with a stand-in apt-cache
that answers as Raspberry Pi OS does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = (ROOT / "provisioning" / "setup.sh").read_text()
# apt-cache policy as Raspberry Pi OS answers it for the Pi archive's packages.
PI_OS_APT_CACHE = """#!/bin/sh
[ "$1" = policy ] || exit 100
echo "$2:"
echo "  Installed: (none)"
echo "  Candidate: 0.3.25-1"
echo "  Version table:"
"""


def check_pi_archive(tmp_path: Path, apt_cache: str | None, **env: str) -> subprocess.CompletedProcess:
    """Run setup.sh's check_pi_archive on a list of missing packages; print what is left."""
    listing = re.search(r"^pi_archive_only=\(.*\)$", SETUP, re.M)
    function = re.search(r"^check_pi_archive\(\) \{\n.*?^\}$", SETUP, re.M | re.S)
    assert listing and function, "setup.sh must define pi_archive_only and check_pi_archive()"
    script = tmp_path / "check.sh"
    script.write_text("set -euo pipefail\n" + listing.group(0) + "\n" + function.group(0) + "\n"
                      "missing=(python3-venv python3-picamera2 python3-lgpio libccid)\n"
                      "check_pi_archive\n"
                      'echo "apt-get install ${missing[*]}"\n')
    path = "/usr/bin:/bin"
    if apt_cache is not None:
        (tmp_path / "bin").mkdir()
        fake = tmp_path / "bin" / "apt-cache"
        fake.write_text(apt_cache)
        fake.chmod(0o755)
        path = f"{tmp_path / 'bin'}:{path}"
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "LANG": "C.UTF-8", **env})


def debian_apt_cache() -> None:
    if shutil.which("apt-cache") is None:
        pytest.skip("needs Debian's apt-cache")
    policy = subprocess.run(["apt-cache", "policy", "python3-picamera2"], capture_output=True, text=True)
    if "Candidate: (none)" not in policy.stdout and policy.stdout.strip():
        pytest.skip("this machine's apt has the Raspberry Pi archive")


def test_plain_debian_says_what_to_do_and_exits_3_before_apt_install(tmp_path: Path) -> None:
    debian_apt_cache()
    out = check_pi_archive(tmp_path, None)
    assert out.returncode == 3
    assert out.stdout == ""  # apt-get install never reached
    assert out.stderr.splitlines() == [
        "setup: python3-picamera2 python3-lgpio not in the apt sources (Debian, not Raspberry Pi OS?): "
        "add the Raspberry Pi archive, or set KIOSK_NO_PI_ARCHIVE=1 to go on with a USB camera "
        "(docs/booth-install.md)"]


def test_plain_debian_goes_on_without_them_when_told(tmp_path: Path) -> None:
    debian_apt_cache()
    out = check_pi_archive(tmp_path, None, KIOSK_NO_PI_ARCHIVE="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "apt-get install python3-venv libccid\n"
    assert "going on without python3-picamera2 python3-lgpio" in out.stderr
    assert 'camera.backend = "opencv"' in out.stderr


def test_raspberry_pi_os_installs_them(tmp_path: Path) -> None:
    out = check_pi_archive(tmp_path, PI_OS_APT_CACHE)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "apt-get install python3-venv python3-picamera2 python3-lgpio libccid\n"
    assert out.stderr == ""


def test_the_check_runs_between_apt_update_and_apt_install() -> None:
    update = SETUP.index("$SUDO apt-get update")
    check = SETUP.index("check_pi_archive; fi")
    install = SETUP.index("$SUDO apt-get install")
    assert update < check < install


def test_install_booth_writes_a_usb_camera_without_the_pi_archive() -> None:
    text = (ROOT / "provisioning" / "install-booth.sh").read_text()
    assert '[ "${KIOSK_NO_PI_ARCHIVE:-0}" = 1 ] && camera=opencv' in text
    assert 'backend = "$camera"' in text
