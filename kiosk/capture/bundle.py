"""Sneakernet for booths without network: `kiosk export` and `kiosk import-receipts`.

An offline booth (sync.server_url empty) still owes the school every capture,
exactly once, and may delete one only once the school has it. The way there
is a folder on a USB stick:

1. `kiosk export DIR` writes the bundle: for each capture waiting for the
   school (the sync agent's outbox: captured or uploading, sealed, not set
   aside as refused) the exact bytes its PUT /api/v1/captures/{id} would send,
   as DIR/captures/<capture_id>.json, then DIR/manifest.json naming them.
   Nothing is marked: the captures stay queued until their receipts come
   back. Exporting again (to the same folder or another) is harmless: the
   files are the same bytes and the server's PUT rules make repeats no-ops.
2. `photo-server import-bundle DIR` at the school stores them through the
   PUT's own code and writes DIR/receipts.json.
3. `kiosk import-receipts DIR` checks that the receipts come from the school
   (their "mac": HMAC-SHA256 keyed with the sha256 of this booth's enrolment
   token, which the server stores and the stick does not hold; see
   school_server/bundle.py), then marks each capture whose receipt names its
   own digest acknowledged, exactly as a sync receipt does, and runs the
   retention purge (the running kiosk also does, hourly). A forged or edited
   receipts file, or a booth that was never enrolled (no token), applies
   nothing: a capture is only ever deleted once the school really has it.

The bundle format is photo_wire.models' (BundleManifest, receipts_mac),
which the server reads with the same code. Nothing personal is in the clear: the
captures are sealed to the school's key; the manifest holds ids, digests,
times, the session name, the kiosk and its centre.

Every file is written whole or not at all (temp file, fsync, rename,
directory fsync), the manifest last: a stick pulled or full half way leaves
the previous bundle (or none) intact, never a manifest naming a missing file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import kiosk
from kiosk.codes import UsbResult
from kiosk.capture.queue import Outgoing
from kiosk.capture.status_links import read_status_key
from kiosk.capture.store import SEALED_SUFFIX, CaptureStore
from kiosk.capture.uploads import MALFORMED_ROW, upload_body
from photo_wire.files import fsync_dir as _fsync_dir
from photo_wire.files import ReadRefused, load_json, read_bounded, write_durably
from photo_wire.status_link import KEY_BYTES
from photo_wire.models import (BUNDLE_FORMAT, CAPTURE_ID, CAPTURES_DIR, MANIFEST,
                               MAX_MANIFEST_BYTES, BundleManifest)

TMP_SUFFIX = ".tmp"
_CAPTURE_ID = re.compile(CAPTURE_ID)
_BLOCK = 32 * 1024  # FAT32/exFAT clusters on big sticks: a file takes at least one
_CHUNK = 1024 * 1024

# Exit codes of `kiosk export` (import-receipts uses 0 and 1).
EXIT_OK, EXIT_FAILED, EXIT_NOTHING = 0, 1, 3


class BundleError(Exception):
    """A user-facing failure; the message says what happened and what to do.

    reason: what staff mode shows for it (other booth's files, stick full or
    read-only, booth not enrolled, anything else)."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, reason: UsbResult = UsbResult.FAILED) -> None:
        super().__init__(message)
        self.reason = reason


class NothingToExport(BundleError):
    exit_code = EXIT_NOTHING


@dataclass
class ExportResult:
    dest: Path
    bundle_id: str
    exported: list[str] = field(default_factory=list)
    written: int = 0  # capture files written now (the others were on the stick already)
    size: int = 0  # bytes of capture files in the bundle
    damaged: list[tuple[str, str]] = field(default_factory=list)  # set aside for staff
    removed: int = 0  # files of an earlier export no longer pending
    rejected: int = 0  # refused earlier, set aside for staff: not exported
    unsealed: int = 0  # plain files: not exported


# --------------------------------------------------------------------- export

def export_bundle(store: CaptureStore, kiosk_id: str, centre: str, dest: Path) -> ExportResult:
    """Write every pending sealed capture and the manifest to dest."""
    dest = Path(dest)
    items = store.outbox(None)
    counts = store.status_counts()
    unsealed = store.unsealed_pending_count()
    if not items:
        if unsealed:
            raise BundleError(unsealed_message(unsealed))
        aside = (f"; {counts['rejected']} refused earlier are set aside for staff (staff mode)"
                 if counts["rejected"] else "")
        raise NothingToExport(
            f"nothing to export: no captures are waiting for the school "
            f"({counts['acknowledged']} acknowledged, {counts['purged']} purged{aside}); "
            f"no bundle written to {dest}")
    previous = _prepare(dest, kiosk_id)
    captures = dest / CAPTURES_DIR
    _check_space(store, items, captures, dest)
    result = ExportResult(dest, uuid.uuid4().hex, rejected=counts["rejected"], unsealed=unsealed)
    entries: list[dict[str, Any]] = []
    key = read_status_key(store.data_dir)  # the captures' status links, as uploads carry them
    try:
        for item in items:
            entry = _export_one(store, item, captures, result, key)
            if entry is not None:
                entries.append(entry)
        if not entries:
            raise BundleError(f"none of the {len(items)} pending captures could be read "
                              "(sealed files missing or damaged): they are set aside for staff; "
                              f"no bundle written to {dest}")
        _fsync_dir(captures)  # the renames above, before a manifest names them
        manifest = {
            "format": BUNDLE_FORMAT,
            "bundle_id": result.bundle_id,
            "kiosk_id": kiosk_id,
            "centre": centre,
            "software_version": kiosk.__version__,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "captures": entries,
        }
        # What the server will read (times kept as the PUT bodies have them).
        BundleManifest.model_validate(manifest)
        _write_file(dest / MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n")
        _fsync_dir(dest)
    except OSError as err:
        raise _write_error(err, dest, previous) from None
    result.removed = _remove_stale(captures, {e["capture_id"] for e in entries})
    return result


def _export_one(store: CaptureStore, item: Outgoing, captures: Path,
                result: ExportResult, key: bytes | None) -> dict[str, Any] | None:
    try:
        sealed = store.sealed_bytes(item)
    except (OSError, ValueError) as err:
        # As the sync agent does: uploading it (or carrying it) again will not help.
        reason = ("sealed file missing on the kiosk" if isinstance(err, OSError) else str(err))
        store.mark_rejected(item.capture_id, reason)
        result.damaged.append((item.capture_id, reason))
        return None
    try:
        body = upload_body(item, sealed, key)
    except ValueError:
        store.mark_rejected(item.capture_id, MALFORMED_ROW)
        result.damaged.append((item.capture_id, MALFORMED_ROW))
        return None
    del sealed
    digest = hashlib.sha256(body).hexdigest()
    path = captures / f"{item.capture_id}.json"
    if _file_sha256(path, len(body)) != digest:
        _write_file(path, body, fsync_dir=False)
        result.written += 1
    result.exported.append(item.capture_id)
    result.size += len(body)
    return {"capture_id": item.capture_id, "digest": item.digest,
            "created_at": item.created_at, "session": item.session,
            "size": len(body), "file_sha256": digest}


def _prepare(dest: Path, kiosk_id: str) -> dict[str, Any] | None:
    """Make dest/captures; refuse another kiosk's bundle. Returns the manifest
    already there (this kiosk's earlier export) or None."""
    if dest.exists() and not dest.is_dir():
        raise BundleError(f"{dest} exists and is not a folder")
    previous = None
    manifest = dest / MANIFEST
    if manifest.exists():
        try:
            previous = load_json(read_bounded(manifest, MAX_MANIFEST_BYTES))
            if not isinstance(previous, dict) or previous.get("format") != BUNDLE_FORMAT:
                raise ValueError
        except (OSError, ValueError):  # ReadRefused is a ValueError
            raise BundleError(f"{manifest} exists but is not a kiosk bundle manifest: "
                              "export to an empty folder") from None
        if previous.get("kiosk_id") != kiosk_id:
            raise BundleError(f"{dest} holds a bundle from kiosk {previous.get('kiosk_id')!r} "
                              f"(this is kiosk {kiosk_id!r}): use another folder, one per booth",
                              UsbResult.OTHER_KIOSK)
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        (dest / CAPTURES_DIR).mkdir(mode=0o700, exist_ok=True)
    except OSError as err:
        raise _write_error(err, dest, previous) from None
    return previous


def _check_space(store: CaptureStore, items: list[Outgoing], captures: Path, dest: Path) -> None:
    """Refuse up front when the bundle cannot fit (a full stick is the usual failure)."""
    needed = 64 * 1024 + 512 * len(items)  # manifest, directory entries
    for item in items:
        try:
            sealed = (store.sealed_dir / f"{item.capture_id}{SEALED_SUFFIX}").stat().st_size
        except OSError:
            continue  # missing: found and set aside when it is read
        size = _body_size(item, sealed)
        try:
            if (captures / f"{item.capture_id}.json").stat().st_size == size:
                continue  # on the stick already (checked by hash when written)
        except OSError:
            pass
        needed += -(-size // _BLOCK) * _BLOCK
    try:
        free = shutil.disk_usage(dest).free
    except OSError as err:
        raise BundleError(f"cannot read {dest}: {err.strerror or type(err).__name__}") from None
    if needed > free:
        raise BundleError(f"not enough space in {dest}: the bundle needs about "
                          f"{_mb(needed)}, {_mb(free)} free; free some space or use a bigger "
                          "stick (nothing was written)", UsbResult.NO_SPACE)


def _body_size(item: Outgoing, sealed_size: int) -> int:
    # As if with a status hash (any key): the larger of the two sizes.
    return len(upload_body(item, b"", bytes(KEY_BYTES))) + 4 * (-(-sealed_size // 3))


def _remove_stale(captures: Path, keep: set[str]) -> int:
    """Capture files of an earlier export that are no longer pending, and temp
    files a cut-short export left. Best effort: they are harmless when left."""
    removed = 0
    try:
        for entry in captures.iterdir():
            name = entry.name
            stem = name.removesuffix(".json")
            if name.endswith(TMP_SUFFIX) or (name.endswith(".json") and _CAPTURE_ID.match(stem)
                                             and stem not in keep):
                entry.unlink(missing_ok=True)
                removed += not name.endswith(TMP_SUFFIX)
        _fsync_dir(captures)
    except OSError:
        pass
    return removed


def unsealed_message(count: int) -> str:
    return (f"{count} pending captures are stored as plain files (no [sync] server_public_key "
            "when they were taken) and are never exported unsealed: set server_public_key to "
            "the line `photo-server keygen` prints and restart the kiosk, which seals them, "
            "then export again")


def _write_error(err: OSError, dest: Path, previous: dict[str, Any] | None) -> BundleError:
    kept = ("the bundle already there is unchanged" if previous is not None
            else "no bundle was written")
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return BundleError(f"{dest} is full: {kept}; free some space or use a bigger stick",
                           UsbResult.NO_SPACE)
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return BundleError(f"{dest} is not writable ({err.strerror}): is the stick "
                           f"write-protected or mounted read-only? {kept}", UsbResult.NO_SPACE)
    return BundleError(f"cannot write to {dest}: {err.strerror or type(err).__name__}; {kept}")


# -------------------------------------------------------------------- helpers

def _write_file(path: Path, data: bytes, *, fsync_dir: bool = True) -> None:
    """Whole or absent (photo_wire.files): a full stick leaves no temp file."""
    write_durably(path, data, fsync_parent=fsync_dir)


def _file_sha256(path: Path, size: int) -> str | None:
    """sha256 of an existing file of this size, else None."""
    try:
        if path.stat().st_size != size:
            return None
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
