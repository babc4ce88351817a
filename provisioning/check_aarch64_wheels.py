"""Can every dependency install on the booth (Pi OS Bookworm, aarch64, CPython 3.11) from wheels?

    .venv/bin/python provisioning/check_aarch64_wheels.py [--extras kiosk,demo,pcsc]

Resolves pyproject.toml's dependencies (and the extras named) with
`pip download --only-binary=:all:` for linux aarch64 up to glibc 2.36
(Bookworm's), into a temporary folder. Prints one line per downloaded
wheel, then what needs building from source on the Pi. Exit 0 when only
the known source builds are left (pyscard: gcc + libpcsclite-dev, see
setup.sh), 1 otherwise. Needs the package registry: an opt-in check
(tests/deploy/test_booth_install.py runs it with KIOSK_SLOW_TESTS=1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# Bookworm has glibc 2.36: any manylinux tag up to it installs there.
PLATFORMS = ["manylinux2014_aarch64", *(f"manylinux_2_{n}_aarch64" for n in range(17, 37))]
BUILT_ON_THE_PI = {"pyscard"}  # no aarch64 wheel; setup.sh keeps gcc and libpcsclite-dev
# pip evaluates markers for this machine, not --platform's: they are applied here for the Pi.
PI = {"platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
      "os_name": "posix", "python_version": "3.11", "python_full_version": "3.11.2",
      "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def for_the_pi(reqs: list[str]) -> list[str]:
    """The requirements that apply on the Pi, markers evaluated and dropped."""
    out = []
    for text in reqs:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(PI):
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            out.append(f"{req.name}{extras}{req.specifier}")
    return out


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    optional = project["optional-dependencies"]
    todo = list(extras)
    while todo:
        for dep in optional[todo.pop()]:
            if dep.startswith("photo-kiosk["):  # an extra naming other extras
                todo += dep[len("photo-kiosk["):-1].split(",")
            else:
                reqs.append(dep)
    return reqs


def pip_download(reqs: list[str], dest: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
           "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
           *(arg for p in PLATFORMS for arg in ("--platform", p)), "--dest", str(dest), *reqs]
    return subprocess.run(cmd, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="kiosk,demo,pcsc", help="extras the booth installs (default kiosk,demo,pcsc)")
    args = parser.parse_args(argv)
    reqs = requirements([e for e in args.extras.split(",") if e])
    binary = [r for r in for_the_pi(reqs) if Requirement(r).name not in BUILT_ON_THE_PI]
    with tempfile.TemporaryDirectory(prefix="aarch64-wheels-") as tmp:
        out = pip_download(binary, Path(tmp))
        wheels = sorted(p.name for p in Path(tmp).iterdir())
    for name in wheels:
        print(name)
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-3:]
        print("not installable from wheels on the Pi:\n  " + "\n  ".join(last), file=sys.stderr)
        return 1
    print(f"{len(wheels)} aarch64 wheels; built on the Pi from source: {', '.join(sorted(BUILT_ON_THE_PI))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
