"""The code-layout rules a newcomer relies on, checked from the source alone.

- no module of the project's packages over 400 lines (generated data and
  migrations aside), no class over 300;
- no import cycle between the project's modules, imports inside functions
  included (a lazy import hides a cycle, it does not remove it).

Run it to list what breaks the rules: ``python tests/layout_rules.py``.
tests/test_layout.py asserts there is nothing to list.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kiosk", "school_server", "photo_wire")
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300
# Generated data (tests/face_model.py writes it) and alembic's migrations.
EXEMPT = ("kiosk/photo/face_model.py", "school_server/migrations/")


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(EXEMPT):
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def too_long() -> list[str]:
    found = []
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{rel}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    found.append(f"{rel}: class {node.name} {size} lines (at most {MAX_CLASS_LINES})")
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, wherever in the file."""
    paths = {module_name(p): p for p in source_files()}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in known else base)
        # A package's __init__ runs before its modules: an import of a.b.c is
        # an edge to a.b.c only (the parents' __init__ files hold no imports
        # back, which the graph itself checks).
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def cycles() -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def main() -> int:
    problems = too_long() + [" <-> ".join(group) for group in cycles()]
    for line in problems:
        print(line)
    print(f"{len(problems)} layout problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
