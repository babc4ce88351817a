#!/usr/bin/env bash
# Copy the kiosk's source from a checkout (or release tarball) SRC into DEST:
# only what the booth runs, never the checkout's working data (var/: demo
# captures, prompts, the database) nor caches. Files of a previous install
# that are no longer shipped are removed; DEST's own var/ and .venv stay.
#   provisioning/copy-tree.sh SRC DEST
# The packages shipped follow pyproject.toml: every top-level package that
# [tool.setuptools.packages.find] includes, less [tool.photo-kiosk.booth]
# leave-out (the school server), so a new package is never left behind.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SRC DEST" >&2
  exit 2
fi
src="$1"
dest="$2"
# Besides the packages: what setup.sh (pip needs the readme pyproject names),
# the config's comments (examples/) and install-booth.sh read. Not docs/.
files=(pyproject.toml README.md examples provisioning systemd)
for item in "${files[@]}"; do
  if [ ! -e "$src/$item" ]; then
    echo "copy-tree: $src/$item is missing: is $src a photo-kiosk checkout?" >&2
    exit 1
  fi
done
if ! command -v python3 >/dev/null; then
  echo "copy-tree: python3 is needed to read $src/pyproject.toml (apt-get install python3)" >&2
  exit 1
fi
packages="$(python3 - "$src" <<'PY'
import fnmatch
import sys
import tomllib
from pathlib import Path

src = Path(sys.argv[1])
meta = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8"))
try:
    include = meta["tool"]["setuptools"]["packages"]["find"]["include"]
    leave_out = meta["tool"]["photo-kiosk"]["booth"]["leave-out"]
except KeyError as key:
    sys.exit(f"copy-tree: {src}/pyproject.toml has no {key} (tool.setuptools.packages.find.include, "
             "tool.photo-kiosk.booth.leave-out)")
tops = sorted(p.parent.name for p in src.glob("*/__init__.py"))
shipped = [t for t in tops if any(fnmatch.fnmatchcase(t, pat) for pat in include)
           and not any(fnmatch.fnmatchcase(t, pat) for pat in leave_out)]
if "kiosk" not in shipped:
    sys.exit(f"copy-tree: pyproject.toml in {src} ships no kiosk package")
print(" ".join(shipped))
PY
)"
read -ra shipped <<<"$packages"
shipped+=("${files[@]}")
install -d -m 0755 "$dest"
for item in "${shipped[@]}"; do
  rm -rf "${dest:?}/$item"
done
tar -C "$src" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
  -cf - "${shipped[@]}" | tar -C "$dest" --no-same-owner -xf -
