"""install-booth.sh for real in a Debian 12 root made with debootstrap: twice, then the app.

The real setup.sh runs inside (apt packages from the Debian archive, the venv
from the package registry), then `kiosk check-config`, `kiosk doctor --demo`
and a headless session run from /opt/photo-kiosk as the kiosk user, as the
unit would. This is what an install test with a stand-in for setup.sh could
not see (issue 25: photo_wire was never shipped).

Slow (3 to 9 minutes on 2 shared cores, plus debootstrap once: apt, the venv) and
needs the archive and the registry, so it is opt-in: KIOSK_SLOW_TESTS=1. The
bare root is kept in KIOSK_DEBOOTSTRAP_CACHE (default
/var/cache/photo-kiosk-tests/bookworm) and copied for each run. The root is
amd64 (this machine's): benchmarks/arm64_install.sh does the same in an
emulated arm64 root. No systemd runs (systemctl only enables: it makes the
symlinks offline) and nothing is started (KIOSK_NO_START=1).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("KIOSK_DEBOOTSTRAP_CACHE", "/var/cache/photo-kiosk-tests/bookworm"))
CONF = "/etc/photo-kiosk/kiosk.toml"

slow = pytest.mark.skipif(os.environ.get("KIOSK_SLOW_TESTS", "") in ("", "0"),
                          reason="slow: set KIOSK_SLOW_TESTS=1 (debootstrap, chroot as root, apt and pip)")


def host_mirror() -> str:
    """The Debian mirror this machine's apt uses."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        found = re.search(r"https?://\S+/debian/?(?=\s|$)", source.read_text()) if source.is_file() else None
        if found:
            return found.group(0)
    pytest.fail("no Debian mirror in /etc/apt/sources.list*")


def debian_root() -> Path:
    if (CACHE / "root" / "usr" / "bin" / "systemctl").exists():
        return CACHE / "root"
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.fail("needs root and debootstrap (apt install debootstrap)")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["debootstrap", "--variant=minbase", "--include=systemd,passwd,util-linux,mount",
                          "bookworm", str(CACHE / "root.tmp"), host_mirror()],
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (CACHE / "root.tmp").rename(CACHE / "root")
    return CACHE / "root"


def snapshot(root: Path) -> dict[str, tuple]:
    """Mode, owner and content of what the install touches. Not Python's byte-code
    caches: pip rewrites its editable finder (same content, new mtime) on every
    run, and the finder's .pyc records that mtime."""
    seen = {}
    for top in ("etc", "opt/photo-kiosk", "var/lib/photo-kiosk"):
        for path in sorted((root / top).rglob("*")):
            if "__pycache__" in path.parts:
                continue
            st = path.lstat()
            if path.is_symlink():
                what = os.readlink(path)
            elif path.is_file():
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir"
            seen[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return seen


def in_root(root: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run argv chrooted in root, with /dev and /proc (in a mount namespace of its own:
    the mounts go when it ends) and the host's CA bundle for pip's HTTPS."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
           "PIP_CERT": "/etc/host-ca-bundle.crt", "SSL_CERT_FILE": "/etc/host-ca-bundle.crt"}
    script = 'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
    return subprocess.run(["unshare", "--mount", "--fork", "sh", "-c", script, str(root), *argv],
                          capture_output=True, text=True, env=env, timeout=timeout)


def install(root: Path) -> subprocess.CompletedProcess:
    # demo-centre: the demo roster's centre, so that the scripted session's student is on it
    return in_root(root, "env", "KIOSK_NO_START=1", "/bin/bash", "/src/provisioning/install-booth.sh",
                   "--kiosk-id", "booth-07", "--centre", "demo-centre", timeout=2400)


def as_kiosk(root: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """argv as the unit runs the app: the kiosk user, from /opt/photo-kiosk, the booth's config."""
    script = 'cd /opt/photo-kiosk && exec runuser -u kiosk -- env "$@"'
    return in_root(root, "sh", "-c", script, "as_kiosk", "HOME=/var/lib/photo-kiosk",
                   "KIVY_HOME=/var/lib/photo-kiosk/kivy", f"KIOSK_CONFIG={CONF}",
                   "/opt/photo-kiosk/.venv/bin/kiosk", *argv, timeout=timeout)


@slow
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_install_booth_in_a_debian_root_twice_then_run_the_app(tmp_path: Path) -> None:
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", str(debian_root()), str(root)], check=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc" / "host-ca-bundle.crt")
    src = root / "src"  # a checkout, with the working data a developer's has
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "var", "__pycache__"))
    (src / "var" / "kiosk-data").mkdir(parents=True)
    (src / "var" / "kiosk-data" / "demo-capture.jpg").write_bytes(b"a demo capture")

    first = install(root)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
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
    conf = root / CONF.lstrip("/")
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    text = conf.read_text()
    assert 'id = "booth-07"' in text and 'backend = "picamera2"' in text and 'pin_factory = "lgpio"' in text
    store = root / "var" / "lib" / "photo-kiosk" / "data"
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    kiosk_uid = int(kiosk[2])
    assert store.stat().st_uid == kiosk_uid
    app = root / "opt" / "photo-kiosk"
    assert not (app / "var" / "kiosk-data").exists()  # no demo capture
    assert not (app / "school_server").exists() and (app / "photo_wire" / "__init__.py").is_file()

    before = snapshot(root)
    second = install(root)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "staff PIN" not in second.stdout and "created" not in second.stdout
    after = snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], changed

    # The app from the installed tree, as the booth's own user, every device simulated.
    checked = as_kiosk(root, "check-config", CONF)
    assert checked.returncode == 0, checked.stderr[-3000:]
    doctor = as_kiosk(root, "doctor", "--demo", "--json")
    assert doctor.returncode in (0, 1), doctor.stderr[-3000:]  # 1: clock not synchronised, no backdrop yet
    status = {c["check"]: c["status"] for c in json.loads(doctor.stdout)["checks"]}
    assert {status[c] for c in ("camera", "lights", "status_led", "id_reader", "disk")} == {"ok"}, status
    script = "/src/tests/scripts/happy_path.txt"
    session = as_kiosk(root, "run", "--demo", "--headless", "--script", script, timeout=900)
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-3000:]
    photos = list(store.rglob("spec.jpg"))
    assert len(photos) == 1 and photos[0].stat().st_uid == kiosk_uid


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
