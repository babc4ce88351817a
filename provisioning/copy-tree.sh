#!/usr/bin/env bash
# Copy the kiosk's source from a checkout (or release tarball) SRC into DEST:
# only the files listed here, never the checkout's working data (var/: demo
# captures, prompts, the database) nor caches. Files of a previous install
# that are no longer shipped are removed; DEST's own var/ and .venv stay.
#   provisioning/copy-tree.sh SRC DEST
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SRC DEST" >&2
  exit 2
fi
src="$1"
dest="$2"
shipped=(pyproject.toml README.md kiosk examples provisioning systemd)
for item in "${shipped[@]}"; do
  if [ ! -e "$src/$item" ]; then
    echo "copy-tree: $src/$item is missing: is $src a photo-kiosk checkout?" >&2
    exit 1
  fi
done
install -d -m 0755 "$dest"
for item in "${shipped[@]}"; do
  rm -rf "${dest:?}/$item"
done
tar -C "$src" --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
  -cf - "${shipped[@]}" | tar -C "$dest" --no-same-owner -xf -
