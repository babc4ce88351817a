"""What a Raspberry Pi booth is installed from: the unit, the scripts, the pins.

The defects found when the project was installed into an arm64 Debian 12
root under qemu (issue 14) each have a test here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "photo-kiosk.service"
PI_MARKERS = {"platform_machine": "aarch64", "sys_platform": "linux", "python_version": "3.11",
              "python_full_version": "3.11.2", "platform_system": "Linux", "os_name": "posix",
              "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def unit_entries(path: Path = UNIT) -> list[tuple[str, str, str]]:
    """(section, key, value) for every line of a systemd unit (keys may repeat)."""
    entries, section = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in unit_entries() if s == section and k == key]


def test_unit_names_the_kmsdrm_driver_and_not_the_pi3_dispmanx() -> None:
    env = " ".join(unit_values("Environment"))
    assert "SDL_VIDEODRIVER=kmsdrm" in env
    assert "KIVY_BCM_DISPMANX_ID" not in UNIT.read_text()


def test_unit_starts_on_a_console_image() -> None:
    assert unit_values("WantedBy", "Install") == ["multi-user.target"]
    assert "graphical.target" not in " ".join(v for _, _, v in unit_entries())


def test_install_creates_every_group_the_unit_needs() -> None:
    wanted = set(" ".join(unit_values("SupplementaryGroups")).split())
    script = (ROOT / "provisioning" / "install-booth.sh").read_text()
    loop = re.search(r"for group in ([^;]+);\s*do\s*\n\s*getent group", script)
    assert loop, "install-booth.sh must create the unit's groups"
    assert wanted and wanted <= set(loop.group(1).split()), wanted


def test_setup_installs_glib_for_opencv() -> None:
    text = (ROOT / "provisioning" / "setup.sh").read_text()
    packages = re.search(r"apt_packages=\((.*?)\n\)", text, re.S)
    assert packages and "libglib2.0-0" in packages.group(1).split()


def test_setup_keeps_the_pyscard_build_tools_on_a_pi() -> None:
    text = (ROOT / "provisioning" / "setup.sh").read_text()
    base = re.search(r"apt_packages=\((.*?)\n\)", text, re.S)
    assert base and "gcc" in base.group(1).split()
    pi_block = re.search(r"if \$on_pi \|\| \$testing; then(.*?)\nfi", text, re.S)
    assert pi_block and "libpcsclite-dev" in pi_block.group(1)


def test_lgpio_is_pinned_to_the_real_aarch64_wheel() -> None:
    # The booth's packages are the `kiosk` extra (the base is the wire contract alone).
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["kiosk"]
    on_pi = [r for r in map(Requirement, deps)
             if r.name == "lgpio" and (r.marker is None or r.marker.evaluate(PI_MARKERS))]
    assert [str(r.specifier) for r in on_pi] == ["==0.2.2.0"]
    here = {**PI_MARKERS, "platform_machine": "x86_64"}
    assert not [r for r in map(Requirement, deps) if r.name == "lgpio" and r.marker.evaluate(here)]


def copy_tree(src: Path, dest: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "provisioning" / "copy-tree.sh"), str(src), str(dest)],
                          capture_output=True, text=True, timeout=120)


def test_booth_gets_the_source_never_the_working_data(tmp_path: Path) -> None:
    src = tmp_path / "checkout"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "var", "tests"))
    capture = src / "var" / "kiosk-data" / "outbox" / "demo-capture.jpg"
    capture.parent.mkdir(parents=True)
    capture.write_bytes(b"demo")
    (src / "kiosk" / "__pycache__").mkdir(exist_ok=True)
    dest = tmp_path / "opt"
    (dest / "var").mkdir(parents=True)
    (dest / "var" / "booth.db").write_text("the booth's own data")
    (dest / "kiosk").mkdir()
    (dest / "kiosk" / "removed_module.py").write_text("from an older release")

    out = copy_tree(src, dest)
    assert out.returncode == 0, out.stderr
    assert (dest / "kiosk" / "boot.py").is_file() and (dest / "systemd" / "photo-kiosk.service").is_file()
    assert not (dest / "var" / "kiosk-data").exists()  # no demo capture in the outbox
    assert (dest / "var" / "booth.db").read_text() == "the booth's own data"
    assert not (dest / "kiosk" / "removed_module.py").exists()
    assert not list(dest.rglob("__pycache__"))


def test_booth_gets_the_packages_pyproject_includes_but_the_server(tmp_path: Path) -> None:
    src = tmp_path / "checkout"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "var", "tests", "__pycache__"))
    for package in ("photo_extra", "scratch"):  # a new package, and a folder setuptools does not include
        (src / package).mkdir()
        (src / package / "__init__.py").write_text("")
    meta = (src / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(meta.replace('"photo_wire*"]', '"photo_wire*", "photo_extra*"]'))

    dest = tmp_path / "opt"
    out = copy_tree(src, dest)
    assert out.returncode == 0, out.stderr
    shipped = sorted(p.name for p in dest.iterdir())
    assert shipped == ["README.md", "examples", "kiosk", "photo_extra", "photo_wire", "provisioning",
                       "pyproject.toml", "systemd"]


def test_copy_tree_says_what_pyproject_lacks(tmp_path: Path) -> None:
    src = tmp_path / "checkout"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "var", "tests", "__pycache__"))
    meta = (src / "pyproject.toml").read_text()
    (src / "pyproject.toml").write_text(meta.replace("[tool.photo-kiosk.booth]", "[tool.photo-kiosk.other]"))
    out = copy_tree(src, tmp_path / "opt")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"copy-tree: {src}/pyproject.toml has no 'booth' (tool.setuptools.packages.find.include, "
        "tool.photo-kiosk.booth.leave-out)"]


# Imports every module of the booth's packages from the copy given first, with
# the third-party packages from the site folders after it. Run with -S -I: the
# site-packages' .pth files are not read, so the venv's editable install (a
# finder pointing at this checkout) cannot stand in for a package the copy lacks.
IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
copy, *site_dirs = sys.argv[1:]
sys.path[:0] = [copy]
sys.path += site_dirs
failed = []
for top in ("kiosk", "photo_wire"):
    try:
        names = [top] + [m.name for m in pkgutil.walk_packages(importlib.import_module(top).__path__, top + ".")]
    except Exception as err:
        failed.append(f"{top}: {type(err).__name__}: {err}")
        continue
    for name in names:
        if name.endswith(".__main__"):  # `python -m` entry points run a command when imported
            continue
        try:
            importlib.import_module(name)
        except Exception as err:
            failed.append(f"{name}: {type(err).__name__}: {err}")
files = {name: getattr(m, "__file__", None) or "" for name, m in list(sys.modules.items())}
print(json.dumps({"failed": failed, "files": files}))
"""


def test_the_copied_tree_imports_every_kiosk_module_on_its_own(tmp_path: Path) -> None:
    dest = tmp_path / "opt"
    assert copy_tree(ROOT, dest).returncode == 0
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "KIVY_HOME": str(tmp_path / "kivy"),
           "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1"}
    out = subprocess.run([sys.executable, "-S", "-I", "-c", IMPORT_EVERY_MODULE, str(dest), *site.getsitepackages()],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failed"] == []  # e.g. "kiosk.flow: ModuleNotFoundError: No module named 'photo_wire'"
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    loaded = {name: path for name, path in report["files"].items() if name.split(".")[0] in ours}
    assert len(loaded) > 50, sorted(loaded)  # every module of kiosk and photo_wire
    elsewhere = {name: path for name, path in loaded.items() if not path.startswith(f"{dest}/")}
    assert elsewhere == {}  # each from the copy, none from the checkout


def test_copy_tree_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    out = copy_tree(tmp_path, tmp_path / "opt")
    assert out.returncode == 1
    assert "is missing: is" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "opt").exists()


def test_shell_scripts_pass_shellcheck() -> None:
    from services_required import service_missing

    if shutil.which("shellcheck") is None:
        service_missing("shellcheck is not installed (apt install shellcheck)", "the shellcheck test")
    scripts = sorted(str(p) for p in (ROOT / "provisioning").glob("*.sh"))
    out = subprocess.run(["shellcheck", "--severity=style", *scripts], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def wheel_check():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_aarch64_wheels",
                                                  ROOT / "provisioning" / "check_aarch64_wheels.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_wheel_check_resolves_for_the_pi_not_for_this_machine() -> None:
    check = wheel_check()
    reqs = check.for_the_pi(check.requirements(["kiosk", "demo", "pcsc"]))
    names = {Requirement(r).name for r in reqs}
    assert "lgpio" in names and "pyscard" in names and "kivy" in names and "segno" in names
    assert "lgpio==0.2.2.0" in reqs  # the marker was evaluated for aarch64 and dropped
    assert all(Requirement(r).marker is None for r in reqs)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KIOSK_SLOW_TESTS", "") in ("", "0"),
                    reason="slow, needs the package registry: set KIOSK_SLOW_TESTS=1")
def test_every_dependency_has_an_aarch64_wheel() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "provisioning" / "check_aarch64_wheels.py")],
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "lgpio-0.2.2.0-cp311-cp311-manylinux_2_34_aarch64.whl" in out.stdout
