"""Installing the school server pulls nothing of the booth (issue 12, item 5).

The server is `photo-kiosk[server]` (plus s3/postgres): its requirements,
followed through every installed distribution they name, must not reach
Kivy, mediapipe, gpiozero or OpenCV; and the server's code must import and
describe itself with those blocked.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BOOTH_ONLY = {"kivy", "mediapipe", "gpiozero", "opencv-contrib-python", "opencv-python"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def closure(requirements: list[str], extras: set[str]) -> set[str]:
    """Every distribution these requirements pull, through the installed
    distributions' own metadata (self-references expand the named extras)."""
    own = canonical(project()["name"])
    optional = project()["optional-dependencies"]
    seen: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        req, active = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in active | {""}):
            continue
        name = canonical(req.name)
        if name == own:
            todo += [(Requirement(r), set(req.extras)) for e in req.extras for r in optional[e]]
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own requirements are unknown
        todo += [(Requirement(r), set(req.extras)) for r in dist.requires or []]
    return seen


def server_requirements() -> list[str]:
    optional = project()["optional-dependencies"]
    return [*project()["dependencies"], *optional["server"], *optional["s3"],
            *optional["postgres"]]


def test_the_server_install_pulls_no_booth_packages() -> None:
    pulled = closure(server_requirements(), set())
    assert {"fastapi", "sqlalchemy", "pydantic", "pynacl"} <= pulled  # the check sees deps
    assert pulled.isdisjoint(BOOTH_ONLY), sorted(pulled & BOOTH_ONLY)


def test_the_booth_install_does_pull_them() -> None:
    """The control: the same walk over the booth's extra finds Kivy and mediapipe."""
    pulled = closure([*project()["dependencies"], *project()["optional-dependencies"]["kiosk"]],
                     set())
    assert {"kivy", "mediapipe", "gpiozero"} <= pulled


BLOCKER = """
import importlib.abc, sys
BLOCKED = {"kivy", "mediapipe", "gpiozero", "cv2", "kiosk"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is the booth's")
sys.meta_path.insert(0, Block())
import photo_wire.files, photo_wire.ids, photo_wire.models
import school_server.app, school_server.cli, school_server.export, school_server.bundle
from school_server.app import create_app
assert create_app(None).openapi()["paths"]
print("ok")
"""


def test_the_server_imports_without_the_booths_packages() -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
