"""The `kiosk` command: run the booth, and tools for staff and scripts.

One module a group of commands: booth (run, check-config, doctor, enrol,
make-prompts), photo (check-photo, guide, calibrate-backdrop), usb (export,
import-receipts) and card (read-card).
"""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.cli.booth import cmd_check_config, cmd_doctor, cmd_enrol, cmd_make_prompts, cmd_run
from kiosk.cli.card import cmd_read_card
from kiosk.cli.common import DEFAULT_CONFIG
from kiosk.cli.photo import cmd_calibrate_backdrop, cmd_check_photo, cmd_guide
from kiosk.cli.usb import cmd_export, cmd_import_receipts
from kiosk.config import ConfigError

log = logging.getLogger("kiosk")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description="Diploma photo kiosk (毕业生图像采集)")
    p.add_argument("--config", help=f"TOML config (default: $KIOSK_CONFIG or {DEFAULT_CONFIG} or built-in demo defaults)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the kiosk")
    run.add_argument("--demo", action="store_true", help="simulated camera, card reader and GPIO")
    run.add_argument("--headless", action="store_true", help="no window: run --script and exit")
    run.add_argument("--script", help="drive a session from a script file (see kiosk/script.py)")
    run.add_argument("--screenshots", help="folder for the script's screenshots (windowed runs)")
    run.set_defaults(func=cmd_run)

    mp = sub.add_parser("make-prompts", help="generate the spoken prompts with espeak-ng")
    mp.add_argument("--force", action="store_true", help="rewrite existing files")
    mp.set_defaults(func=cmd_make_prompts)

    cc = sub.add_parser("check-config", help="validate a config file")
    cc.add_argument("file")
    cc.set_defaults(func=cmd_check_config)

    rc = sub.add_parser(
        "read-card",
        help="read one ID card and print it (ID masked); exit 0 read, 1 error, 2 no card",
    )
    rc.add_argument("--port", help="SAM reader serial port (implies the sam backend; '' = auto-detect)")
    rc.add_argument("--baud", type=int, choices=[115200, 57600, 38400, 19200, 9600], help="SAM reader baud rate")
    rc.add_argument("--json", action="store_true", help="print one JSON object")
    rc.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a card (default 10)")
    rc.set_defaults(func=cmd_read_card)

    en = sub.add_parser("enrol", help="enrol this kiosk with the school server (stores data_dir/sync.token)")
    en.add_argument("--server", required=True, help="school server URL, e.g. https://photo.school.example")
    en.add_argument("--code", required=True, help="one-time code from `photo-server enrol-code`")
    en.add_argument("--kiosk-id", help="default: kiosk.id from the config")
    en.set_defaults(func=cmd_enrol)

    ex = sub.add_parser(
        "export",
        help="write the captures waiting for the school to a folder (USB stick) for "
             "`photo-server import-bundle`; exit 0 all, 1 failed or some left out, 3 nothing to export",
    )
    ex.add_argument("dest", help="the bundle folder, e.g. /media/usb/booth-1 (created if needed)")
    ex.set_defaults(func=cmd_export)

    ir = sub.add_parser(
        "import-receipts",
        help="mark captures acknowledged from DIR/receipts.json (written by "
             "`photo-server import-bundle`), then purge those past retention; exit 0 all applied, 1 not",
    )
    ir.add_argument("dir", help="the bundle folder holding receipts.json")
    ir.set_defaults(func=cmd_import_receipts)

    cp = sub.add_parser(
        "check-photo",
        help="check a photo against the diploma photo spec; exit 0 compliant, 1 not, 2 unreadable",
    )
    cp.add_argument("image", help="a still (cropped to the spec first) or, with --as-is, a final photo")
    cp.add_argument("--json", action="store_true", help="print one JSON object")
    cp.add_argument("--out", help="write the spec photo (480x640 JPEG) here when one can be made")
    cp.add_argument("--as-is", action="store_true", help="check the file itself as the final photo (no crop)")
    cp.set_defaults(func=cmd_check_photo)

    gd = sub.add_parser("guide", help="pose hints for one camera frame; exit 0 ready, 1 hints, 2 unreadable")
    gd.add_argument("image")
    gd.add_argument("--json", action="store_true", help="print one JSON object")
    gd.set_defaults(func=cmd_guide)

    cb = sub.add_parser(
        "calibrate-backdrop",
        help="measure the empty booth's backdrop (from IMAGE or a camera still) into data_dir; "
             "exit 0 saved, 1 refused, 2 no image",
    )
    cb.add_argument("image", nargs="?", help="a frame of the empty, lit booth (default: take a still)")
    cb.set_defaults(func=cmd_calibrate_backdrop)

    dr = sub.add_parser("doctor", help="check camera, lights, LED, reader, disk, clock, server, "
                                       "enrolment, backdrop; exit 0 all well, 1 something to fix")
    dr.add_argument("--demo", action="store_true", help="simulated camera, card reader and GPIO")
    dr.add_argument("--json", action="store_true", help="print one JSON object")
    dr.set_defaults(func=cmd_doctor)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # transitions logs every callback at INFO; our flow logs each state change.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2

