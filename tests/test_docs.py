"""The README stays a front page, and every link in the docs leads somewhere."""

from __future__ import annotations

from pathlib import Path

from doc_links import ROOT, broken_links, links

README = ROOT / "README.md"
SERVER_README = ROOT / "school_server" / "README.md"

FIRST_LINES = """\
# Photo kiosk — 毕业生图像信息采集 自助拍照

Set up and run the kiosk (simulated devices when there is no booth hardware):

    provisioning/setup.sh && .venv/bin/kiosk run --demo

Set up and run every test (headless):

    provisioning/setup.sh --test && .venv/bin/python -m pytest
"""


def test_readme_starts_with_the_two_commands():
    assert README.read_text(encoding="utf-8").startswith(FIRST_LINES)


def test_readme_is_a_front_page():
    text = README.read_text(encoding="utf-8")
    assert len(text) < 12_000, f"README.md has {len(text)} characters"
    for section in ("## What it is", "## Status LED", "## Layout"):
        assert section in text


def test_every_doc_is_linked_from_a_readme():
    linked = set()
    for readme in (README, SERVER_README):
        linked |= {(readme.parent / t.partition("#")[0]).resolve() for t in links(readme)}
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"docs not linked from README.md or school_server/README.md: {unlinked}"


def test_no_broken_links():
    assert broken_links() == []


def test_the_link_check_finds_missing_files_and_headings(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Some part, here\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md) [ok](docs/a.md#some-part-here) [web](https://example.org/x)\n"
        "[gone](docs/b.md) [no heading](docs/a.md#other)\n"
        "`[example](not/checked.md)`\n\n```\n[in code](nor/this.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(tmp_path) == [
        "README.md: (docs/b.md) names a missing file",
        "README.md: (docs/a.md#other) names a missing heading",
    ]


SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache"}
TEXT_SUFFIXES = {".md", ".py", ".toml", ".kv", ".po", ".sh", ".cfg", ".ini", ".service", ".txt", ".json", ".html", ".css", ".js", ".conf"}
CONFLICT_MARKERS = ("<<<<<<< ", "=======\n", ">>>>>>> ")


def conflict_markers(root: Path = ROOT) -> list[str]:
    """file:line of every line a merge left unresolved (git's conflict markers)."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in TEXT_SUFFIXES or SKIPPED_DIRS & set(path.relative_to(root).parts) or not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        found += [f"{path.relative_to(root)}:{n}" for n, line in enumerate(lines, 1) if line.startswith(CONFLICT_MARKERS)]
    return found


def test_no_merge_left_its_conflict_markers():
    # One did: docs/server-commands.md carried both sides of a merge for weeks.
    assert conflict_markers() == []


def test_the_marker_check_finds_a_left_conflict(tmp_path: Path):
    (tmp_path / "a.md").write_text("x\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("a table\n=======  \nis not a conflict\n", encoding="utf-8")
    assert conflict_markers(tmp_path) == ["a.md:2", "a.md:4", "a.md:6"]
