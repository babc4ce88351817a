"""Booth commands: run, check-config, doctor, enrol, make-prompts."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from kiosk.cli.common import config_path, load
from kiosk.config import KIOSK_ID, PATTERN_HELP, load_config


def cmd_run(args: argparse.Namespace) -> int:
    """Run the booth. Exit 0 (window closed, or the script stored a capture),
    1 the script failed, 2 bad config or script, 3 the capture store cannot be
    opened (headless or scripted; a booth's window shows staff why and exits 0
    once it opens). A bad roster does not stop it: the booth waits for staff."""
    import sqlite3

    from kiosk.capture.store import StoreError

    config = load(args)
    if args.headless and not args.script:
        print("kiosk run --headless needs --script FILE", file=sys.stderr)
        return 2
    try:
        from kiosk.boot import run_booth

        return run_booth(config, args.headless, Path(args.script) if args.script else None,
                         args.screenshots)
    except (StoreError, sqlite3.Error, OSError) as err:
        # Nothing can be kept safe without the store: say so instead of a traceback.
        print(f"run: cannot start: {err}", file=sys.stderr)
        return 3


def cmd_make_prompts(args: argparse.Namespace) -> int:
    from kiosk.tools.prompts import PromptError, make_prompts

    config = load(args)
    try:
        written = make_prompts(config.audio.prompts_dir, force=args.force)
    except PromptError as err:
        print(f"make-prompts: {err}", file=sys.stderr)
        return 1
    print(f"{written} prompt files written to {config.audio.prompts_dir}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a config file and the roster it names; exit 0 ok, 2 not."""
    from kiosk.identity.roster import CsvRoster, RosterError

    config = load_config(Path(args.file))
    try:
        roster = CsvRoster(config.roster.path, centre=config.kiosk.centre,
                           session=config.kiosk.session)
    except RosterError as err:
        print(f"{args.file}: roster: {err}", file=sys.stderr)
        return 2
    print(f"{args.file}: ok (roster {config.roster.path}: {len(roster)} students)")
    return 0


def cmd_enrol(args: argparse.Namespace) -> int:
    """Spend a one-time code from `photo-server enrol-code`; store the sync token."""
    from kiosk.capture.enrolment import EnrolError, enrol

    config = load_config(config_path(args.config))
    kiosk_id = args.kiosk_id or config.kiosk.id
    if not re.fullmatch(KIOSK_ID, kiosk_id):
        print(f"enrol: --kiosk-id {kiosk_id!r}: {PATTERN_HELP['kiosk.id']}", file=sys.stderr)
        return 2
    try:
        path = enrol(args.server, args.code, kiosk_id, config.kiosk.data_dir)
    except EnrolError as err:
        print(f"enrol: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"enrol: cannot store the token in {config.kiosk.data_dir}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"kiosk {kiosk_id} enrolled at {args.server}; token stored in {path}")
    if config.sync.server_url.rstrip("/") != args.server.rstrip("/"):
        print(f"note: set [sync] server_url = \"{args.server}\" (and server_public_key) in the "
              "config for the kiosk to upload", file=sys.stderr)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check every part of the booth; exit 0 all well, 1 something needs staff."""
    import json

    from kiosk.tools.doctor import CHECK_NAMES, Status, all_well, as_json, check_booth
    from kiosk.i18n import Translator

    config = load(args)
    tr = Translator(config.kiosk.language).t
    findings = check_booth(config)
    if args.json:
        print(json.dumps(as_json(findings, tr), ensure_ascii=False, indent=2))
        return 0 if all_well(findings) else 1
    marks = {Status.OK: "ok", Status.PROBLEM: "!!", Status.SKIPPED: "--"}
    for f in findings:
        print(f"[{marks[f.status]}] {tr(CHECK_NAMES[f.check])}: {tr(f.key, **f.figures)}")
        if f.fix_key:
            print(f"     -> {tr(f.fix_key, **f.figures)}")
    problems = sum(f.status == Status.PROBLEM for f in findings)
    print(tr("doctor.all_ok") if not problems else tr("doctor.some_wrong", count=problems))
    return 0 if not problems else 1
