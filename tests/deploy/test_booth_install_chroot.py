"""install-booth.sh in a Debian 12 root made with debootstrap: files, users, units; twice.

Slow and needs the Debian archive once (debootstrap, about 3 minutes), so it
is opt-in: KIOSK_SLOW_TESTS=1. The root is kept in KIOSK_DEBOOTSTRAP_CACHE
(default /var/cache/photo-kiosk-tests/bookworm) and copied for each run.
The root is amd64 (this machine's); an arm64 one would need qemu-user.
What does not happen in a chroot: setup.sh (apt and the venv: minutes, the
registry) is replaced by a stand-in that makes a fake .venv/bin/kiosk, no
systemd runs (systemctl only enables: it makes the symlinks offline), and
nothing is started (KIOSK_NO_START=1).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("KIOSK_DEBOOTSTRAP_CACHE", "/var/cache/photo-kiosk-tests/bookworm"))
STAND_IN_SETUP = """#!/bin/sh
# Stand-in for setup.sh in the chroot test: the real one installs apt packages and the venv.
mkdir -p .venv/bin
printf '#!/bin/sh\\necho "kiosk $*" >>/var/log/kiosk-stand-in.log\\n' >.venv/bin/kiosk
chmod 0755 .venv/bin/kiosk
"""

slow = pytest.mark.skipif(os.environ.get("KIOSK_SLOW_TESTS", "") in ("", "0"),
                                 reason="slow: set KIOSK_SLOW_TESTS=1 (debootstrap, chroot as root)")


def debian_root() -> Path:
    if (CACHE / "root" / "usr" / "bin" / "systemctl").exists():
        return CACHE / "root"
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.fail("needs root and debootstrap (apt install debootstrap)")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["debootstrap", "--variant=minbase", "--include=systemd,passwd,util-linux,mount",
                          "bookworm", str(CACHE / "root.tmp"), "http://deb.debian.org/debian"],
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (CACHE / "root.tmp").rename(CACHE / "root")
    return CACHE / "root"


def snapshot(root: Path) -> dict[str, tuple]:
    """Mode, owner and content of what the install touches."""
    seen = {}
    for top in ("etc", "opt/photo-kiosk", "var/lib/photo-kiosk"):
        for path in sorted((root / top).rglob("*")):
            st = path.lstat()
            if path.is_symlink():
                what = os.readlink(path)
            elif path.is_file():
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir"
            seen[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return seen


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "KIOSK_NO_START": "1", "LANG": "C.UTF-8"}
    return subprocess.run(["chroot", str(root), "/bin/bash", "/src/provisioning/install-booth.sh", *args],
                          capture_output=True, text=True, env=env, timeout=300)


@slow
def test_install_booth_in_a_debian_root_twice(tmp_path: Path) -> None:
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", str(debian_root()), str(root)], check=True)
    src = root / "src"
    subprocess.run([str(ROOT / "provisioning" / "copy-tree.sh"), str(ROOT), str(src)], check=True)
    (src / "var" / "kiosk-data").mkdir(parents=True)
    (src / "var" / "kiosk-data" / "demo-capture.jpg").write_bytes(b"a demo capture")
    (src / "provisioning" / "setup.sh").write_text(STAND_IN_SETUP)

    first = install(root, "--kiosk-id", "booth-07", "--centre", "centre-a")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "staff PIN: " in first.stdout

    passwd = (root / "etc" / "passwd").read_text()
    kiosk = next(line.split(":") for line in passwd.splitlines() if line.startswith("kiosk:"))
    assert kiosk[5] == "/var/lib/photo-kiosk" and kiosk[6] == "/usr/sbin/nologin"
    groups = {line.split(":")[0] for line in (root / "etc" / "group").read_text().splitlines()}
    assert {"gpio", "video", "render", "dialout", "input", "audio", "kiosk"} <= groups
    unit = root / "etc" / "systemd" / "system" / "photo-kiosk.service"
    assert unit.read_text() == (ROOT / "systemd" / "photo-kiosk.service").read_text()
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants" / "photo-kiosk.service"
    assert wants.is_symlink()  # enabled: starts at boot on a console image
    assert (root / "etc" / "systemd" / "system.conf.d" / "photo-kiosk-watchdog.conf").is_file()
    assert (root / "etc" / "systemd" / "journald.conf.d" / "photo-kiosk.conf").is_file()
    conf = root / "etc" / "photo-kiosk" / "kiosk.toml"
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    text = conf.read_text()
    assert 'id = "booth-07"' in text and 'backend = "picamera2"' in text and 'pin_factory = "lgpio"' in text
    store = root / "var" / "lib" / "photo-kiosk" / "data"
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    kiosk_uid = int(kiosk[2])
    assert store.stat().st_uid == kiosk_uid
    assert not (root / "opt" / "photo-kiosk" / "var" / "kiosk-data").exists()  # no demo capture
    assert (root / "opt" / "photo-kiosk" / "kiosk" / "cli.py").is_file()

    before = snapshot(root)
    second = install(root, "--kiosk-id", "booth-07", "--centre", "centre-a")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "staff PIN" not in second.stdout and "created" not in second.stdout
    after = snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], changed


@pytest.mark.parametrize("args, says", [
    (["--enrol-code", "x"], "needs --server and --server-key"),
    (["--frobnicate"], "unknown option --frobnicate"),
])
def test_bad_options_change_nothing(args: list[str], says: str) -> None:
    # Checked before anything is touched (the root check comes in between when not root).
    out = subprocess.run(["bash", str(ROOT / "provisioning" / "install-booth.sh"), *args],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert says in out.stderr or "run as root" in out.stderr
