"""Rebuilds the labelled set of real faces (issue 23 item 9) outside git.

The photos belong to others, so they are never committed: this script copies
each one named in sources.toml out of a snapshot of its public repository
and checks it against the sha256 that labels.toml keys its truth by. The
snapshots are bare git directories that the session's `fetch` tool brings
onto the machine (github:owner/name -> /work/.mirror/owner+name/repo); the
script reads them with `git show <commit>:<path>` and never goes online.

    python benchmarks/real_faces/build_set.py [--mirrors DIR] [--out DIR]

Writes OUT/<n>-<name> for every image plus OUT/manifest.json (file, source,
sha256 and the labels), default var/real_faces/ (git-ignored). Exit 0 when
every image was written, 2 with one line when a mirror or an image is
missing or its bytes are not the labelled ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MIRRORS = Path("/work/.mirror")
OUT = ROOT / "var" / "real_faces"


class SetError(Exception):
    """The set cannot be built; the message is the one line to print."""


def load(name: str) -> dict[str, dict]:
    """The [[image]] tables of a TOML file in this folder, by source."""
    with open(HERE / name, "rb") as f:
        return {entry["source"]: entry for entry in tomllib.load(f)["image"]}


def mirror_dir(mirrors: Path, repo: str) -> Path:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        raise SetError(f"mirror of {repo} missing: {git_dir} (bring it with the fetch tool: github:{repo})")
    return git_dir


def image_bytes(mirrors: Path, src: dict) -> bytes:
    shown = subprocess.run(["git", "-C", str(mirror_dir(mirrors, src["repo"])), "show",
                            f"{src['commit']}:{src['path']}"], capture_output=True)
    if shown.returncode != 0 or not shown.stdout:
        raise SetError(f"{src['source']}: not in the mirror at {src['commit'][:12]}")
    return shown.stdout


def build(mirrors: Path, out: Path) -> list[dict]:
    sources, labels = load("sources.toml"), load("labels.toml")
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for n, (key, src) in enumerate(sources.items()):
        data = image_bytes(mirrors, src)
        sha = hashlib.sha256(data).hexdigest()
        if sha != src["sha256"] or labels[key]["sha256"] != sha:
            raise SetError(f"{key}: bytes changed (sha256 {sha[:12]}), labels no longer apply")
        name = f"{n:03d}-{src['repo'].split('/')[1]}-{Path(src['path']).name}"
        (out / name).write_bytes(data)
        manifest.append({"file": name, "source": key, "sha256": sha, "labels": labels[key]})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", type=Path, default=MIRRORS)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        manifest = build(args.mirrors, args.out)
    except (SetError, KeyError) as err:
        print(f"build_set: {err}", file=sys.stderr)
        return 2
    print(f"{len(manifest)} images written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
