"""USB bundle commands: export the pending captures, import the school's receipts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.common import config_path
from kiosk.config import Config, load_config


def _bundle_store(config: Config, command: str):  # type: ignore[no-untyped-def]
    """The booth's capture store for export / import-receipts, or None (message printed)."""
    from kiosk.capture.store import DB_NAME, CaptureStore, StoreError

    data_dir = Path(config.kiosk.data_dir)
    if not (data_dir / DB_NAME).is_file():
        print(f"{command}: no capture store at {data_dir / DB_NAME}: is this the booth's "
              "config (--config or $KIOSK_CONFIG)?", file=sys.stderr)
        return None
    try:
        return CaptureStore(data_dir, config.kiosk.id, public_key=config.sync.public_key_bytes())
    except StoreError as err:
        print(f"{command}: {err}", file=sys.stderr)
        return None


def cmd_export(args: argparse.Namespace) -> int:
    """Write the pending captures to a folder (USB stick) for `photo-server import-bundle`.
    Exit 0 every pending capture is in the bundle, 1 failed or some left out, 3 nothing to export."""
    import sqlite3

    from kiosk.capture.bundle import BundleError, export_bundle, unsealed_message
    from kiosk.capture.store import StoreError

    config = load_config(config_path(args.config))
    store = _bundle_store(config, "export")
    if store is None:
        return 1
    dest = Path(args.dest)
    try:
        result = export_bundle(store, config.kiosk.id, config.kiosk.centre, dest)
    except BundleError as err:
        print(f"export: {err}", file=sys.stderr)
        return err.exit_code
    except (OSError, sqlite3.Error, StoreError) as err:
        print(f"export: failed: {err}", file=sys.stderr)
        return 1
    finally:
        store.close()
    for capture_id, reason in result.damaged:
        print(f"capture {capture_id} not exported: {reason} (set aside for staff)", file=sys.stderr)
    if result.unsealed:
        print(f"export: {unsealed_message(result.unsealed)}", file=sys.stderr)
    if result.rejected:
        print(f"note: {result.rejected} captures refused earlier are set aside for staff "
              "(staff mode) and not exported", file=sys.stderr)
    print(f"{len(result.exported)} captures exported to {dest} "
          f"({result.size / (1024 * 1024):.1f} MB, {result.written} files written now"
          + (f", {result.removed} no longer pending removed" if result.removed else "") + "); "
          f"at the school: photo-server import-bundle {dest}; then here: "
          f"kiosk import-receipts {dest}")
    return 1 if result.damaged or result.unsealed else 0


def cmd_import_receipts(args: argparse.Namespace) -> int:
    """Apply DIR/receipts.json from `photo-server import-bundle`; exit 0 all applied
    (or applied before), 1 refused or some receipts not applied."""
    import sqlite3

    from kiosk.capture.bundle import BundleError
    from kiosk.capture.enrolment import read_token
    from kiosk.capture.receipts import RECEIPTS, import_receipts
    from kiosk.capture.store import StoreError

    config = load_config(config_path(args.config))
    store = _bundle_store(config, "import-receipts")
    if store is None:
        return 1
    try:
        result = import_receipts(store, config.kiosk.id, Path(args.dir),
                                 config.sync.retention_days, read_token(config.kiosk.data_dir))
    except BundleError as err:
        print(f"import-receipts: {err}", file=sys.stderr)
        return err.exit_code
    except (OSError, sqlite3.Error, StoreError) as err:
        print(f"import-receipts: failed: {err}", file=sys.stderr)
        return 1
    finally:
        store.close()
    for capture_id in result.unknown:
        print(f"receipt for capture {capture_id}: no such capture on this booth; not applied",
              file=sys.stderr)
    for capture_id in result.wrong_digest:
        print(f"receipt for capture {capture_id}: digest is not the capture's own; not applied",
              file=sys.stderr)
    for capture_id in result.malformed:
        print(f"receipt {capture_id!r}: malformed; not applied", file=sys.stderr)
    for capture_id, reason in result.refused.items():
        print(f"capture {capture_id} was refused by the school: {reason} "
              "(it stays queued and goes in the next export)", file=sys.stderr)
    total = len(result.applied) + len(result.already) + result.problems
    print(f"{total} receipts in {Path(args.dir) / RECEIPTS}: {len(result.applied)} applied, "
          f"{len(result.already)} already acknowledged, {len(result.unknown)} unknown capture, "
          f"{len(result.wrong_digest)} wrong digest, {len(result.malformed)} malformed; "
          f"{len(result.purged)} acknowledged captures past retention "
          f"({config.sync.retention_days:g} days) purged")
    return 1 if result.problems else 0
