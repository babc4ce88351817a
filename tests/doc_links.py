"""Broken links in the project's Markdown files.

Every relative ``[text](target)`` in a ``*.md`` file must name a file or
folder that exists, and a ``#anchor`` must name a heading of its file (the
way GitHub makes anchors from headings). Web links are not fetched.

Run it to list what is broken: ``python tests/doc_links.py`` (exit 1 if
anything is).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", ".pytest_cache"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def markdown_files(root: Path = ROOT) -> list[Path]:
    return sorted(
        p for p in root.rglob("*.md")
        if not SKIPPED_DIRS.intersection(p.relative_to(root).parts)
    )


def anchors(md: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to '-'."""
    found = set()
    for line in FENCE.sub("", md.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            text = heading.group(1).strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def links(md: Path) -> list[str]:
    # a link written in a code block or inline code is an example, not a link
    text = INLINE_CODE.sub("code", FENCE.sub("", md.read_text(encoding="utf-8")))
    return [m.group(1) for m in LINK.finditer(text)]


def broken_links(root: Path = ROOT) -> list[str]:
    problems = []
    for md in markdown_files(root):
        for target in links(md):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            dest = (md.parent / path_part).resolve() if path_part else md
            where = f"{md.relative_to(root)}: ({target})"
            if not dest.exists():
                problems.append(f"{where} names a missing file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where} names a missing heading")
    return problems


def main() -> int:
    problems = broken_links()
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
