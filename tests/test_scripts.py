"""The programs under tests/ (``python tests/face_set.py`` and the like) import
the real packages when run as programs.

Run that way, tests/ is sys.path[0], and tests/kiosk/ (the tests' mirror of
the package, no __init__.py) shadowed the package: ``from kiosk.session import
View`` failed in the UI gallery, which CI caught only through the gallery test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_IMPORT = re.compile(r"^(from|import) (kiosk|photo_wire|school_server)\b", re.M)
PROGRAMS = sorted(p for p in (ROOT / "tests").glob("*.py")
                  if '__name__ == "__main__"' in (text := p.read_text(encoding="utf-8"))
                  and PROJECT_IMPORT.search(text))

# Load the program's module-level code as `python tests/X.py` would (tests/ first
# on the path, the working directory elsewhere), without running its main part.
PROBE = """
import runpy, sys
sys.path[0] = sys.argv[1]
runpy.run_path(sys.argv[2], run_name="not_main")
for name in ("kiosk", "photo_wire", "school_server"):
    module = sys.modules.get(name)
    if module is not None:
        print(name, getattr(module, "__file__", None))
"""


def test_there_are_programs_to_check() -> None:
    assert {p.name for p in PROGRAMS} >= {"ui_gallery.py", "face_set.py"}


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_a_program_imports_the_real_packages(program: Path, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "tests"), str(program)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert loaded, "the program imported none of the project's packages"
    for name, where in loaded.items():
        assert where == str(ROOT / name / "__init__.py"), f"{name} came from {where}"
