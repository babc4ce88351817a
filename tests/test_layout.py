"""The layout rules hold (tests/layout_rules.py): small modules and classes,
no import cycle between the project's modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import layout_rules


def test_no_module_or_class_is_too_long() -> None:
    assert layout_rules.too_long() == []


def test_no_import_cycle() -> None:
    assert layout_rules.cycles() == []


def test_the_rules_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted cycle (a function-level import too) and a long module are found."""
    pkg = tmp_path / "kiosk"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from kiosk import b\n")
    (pkg / "b.py").write_text(textwrap.dedent("""
        def late():
            from kiosk.a import thing
    """))
    (pkg / "long.py").write_text("x = 1\n" * (layout_rules.MAX_MODULE_LINES + 1))
    monkeypatch.setattr(layout_rules, "ROOT", tmp_path)
    monkeypatch.setattr(layout_rules, "PACKAGES", ("kiosk",))
    assert layout_rules.cycles() == [["kiosk.a", "kiosk.b"]]
    assert layout_rules.too_long() == [f"kiosk/long.py: {layout_rules.MAX_MODULE_LINES + 1} lines "
                                       f"(at most {layout_rules.MAX_MODULE_LINES})"]
