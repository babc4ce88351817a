"""The `kiosk` command: run the booth, and tools for staff and scripts."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import KIOSK_ID, PATTERN_HELP, Config, ConfigError, load_config

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("kiosk")

DEFAULT_CONFIG = Path("/etc/photo-kiosk/kiosk.toml")


def _config_path(arg: str | None) -> Path | None:
    """--config, else $KIOSK_CONFIG, else /etc/photo-kiosk/kiosk.toml if present, else defaults."""
    if arg:
        return Path(arg)
    if os.environ.get("KIOSK_CONFIG"):
        return Path(os.environ["KIOSK_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _load(args: argparse.Namespace) -> Config:
    config = load_config(_config_path(args.config))
    return config.as_demo() if getattr(args, "demo", False) else config


def cmd_run(args: argparse.Namespace) -> int:
    """Run the booth. Exit 0 (window closed, or the script stored a capture),
    1 the script failed, 2 bad config or script, 3 the capture store cannot be
    opened (headless or scripted; a booth's window shows staff why and exits 0
    once it opens). A bad roster does not stop it: the booth waits for staff."""
    import sqlite3

    from kiosk.capture.store import StoreError

    config = _load(args)
    if args.headless and not args.script:
        print("kiosk run --headless needs --script FILE", file=sys.stderr)
        return 2
    try:
        if args.headless:
            return _run_headless(config, Path(args.script))
        from kiosk.screens.app import run_app

        return run_app(config, script=Path(args.script) if args.script else None,
                       screenshots=args.screenshots)
    except (StoreError, sqlite3.Error, OSError) as err:
        # Nothing can be kept safe without the store: say so instead of a traceback.
        print(f"run: cannot start: {err}", file=sys.stderr)
        return 3


def _run_headless(config: Config, script: Path) -> int:
    from kiosk.runtime import KioskRuntime
    from kiosk.script import ScriptError, ScriptRunner, run_headless

    try:
        text = script.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"script: {script}: {getattr(err, 'strerror', None) or 'not UTF-8 text'}", file=sys.stderr)
        return 2
    runtime = KioskRuntime(config)
    try:
        runner = ScriptRunner(runtime, text)
    except ScriptError as err:
        runtime.stop()
        print(f"script: {err}", file=sys.stderr)
        return 2
    try:
        result = run_headless(runtime, runner)  # stops the runtime
    except ScriptError as err:
        print(f"script: {err}", file=sys.stderr)
        return 2
    print(("ok: " if result.ok else "failed: ") + result.reason + (f" ({result.capture_id})" if result.capture_id else ""))
    return 0 if result.ok else 1


def cmd_make_prompts(args: argparse.Namespace) -> int:
    from kiosk.prompts import PromptError, make_prompts

    config = _load(args)
    try:
        written = make_prompts(config.audio.prompts_dir, force=args.force)
    except PromptError as err:
        print(f"make-prompts: {err}", file=sys.stderr)
        return 1
    print(f"{written} prompt files written to {config.audio.prompts_dir}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a config file and the roster it names; exit 0 ok, 2 not."""
    from kiosk.roster import CsvRoster, RosterError

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

    config = load_config(_config_path(args.config))
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

    config = load_config(_config_path(args.config))
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

    config = load_config(_config_path(args.config))
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


_SEXES = {"1": "male", "2": "female", "0": "unknown", "9": "unspecified"}


def cmd_read_card(args: argparse.Namespace) -> int:
    """Read one card; exit 0 read, 1 reader/card error, 2 no card in time."""
    import json
    import time
    from datetime import datetime

    from pydantic import ValidationError

    from kiosk.config import IdReaderConfig
    from kiosk.hardware.id_reader import CardReadError, ReaderError, make_card_reader
    from photo_wire.idnumber import is_valid, mask_id

    config = _load(args)
    reader_config = config.id_reader
    if args.port is not None or args.baud is not None:
        # A port or baud on the command line means the SAM serial reader.
        update: dict = {"backend": "sam"}
        if args.port is not None:
            update["port"] = args.port
        if args.baud is not None:
            update["baud"] = args.baud
        try:
            reader_config = IdReaderConfig.model_validate({**reader_config.model_dump(), **update})
        except ValidationError as err:
            print(f"read-card: {err}", file=sys.stderr)
            return 1
    reader = make_card_reader(reader_config)
    try:
        reader.open()
        deadline = time.monotonic() + args.timeout
        card = None
        while card is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                print(f"no card within {args.timeout:g} s", file=sys.stderr)
                return 2
            card = reader.poll(min(remaining, 0.5))
    except CardReadError as err:
        print(f"card could not be read: {err}", file=sys.stderr)
        return 1
    except ReaderError as err:
        print(f"card reader error: {err}", file=sys.stderr)
        return 1
    finally:
        reader.close()

    today = datetime.now(config.kiosk.tz()).date()  # the booth's date, not the host's
    expired = card.valid_until is not None and card.valid_until < today
    result = {
        "name": card.name,
        "sex": card.sex,
        "birth_date": card.birth_date.isoformat() if card.birth_date else None,
        "id_number_masked": mask_id(card.id_number),  # never the full number
        "id_number_valid": is_valid(card.id_number, today),
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "expired": expired,
    }
    if card.uid:  # PC/SC readers give only a UID or chip serial (masked: it keys the roster)
        from kiosk.hardware.pcsc_reader import mask_uid

        result["uid_masked"] = mask_uid(card.uid)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if card.uid and not card.id_number:
        print(f"card UID:    {result['uid_masked']} (no ID text: PC/SC reader)")
        return 0
    print(f"name:        {result['name']}")
    print(f"sex:         {card.sex} ({_SEXES.get(card.sex, 'unknown code')})")
    print(f"birth date:  {result['birth_date'] or '-'}")
    check = "check character ok" if result["id_number_valid"] else "INVALID"
    print(f"ID number:   {result['id_number_masked']} ({check})")
    print(f"valid until: {result['valid_until'] or 'long-term (长期)'}")
    print(f"expired:     {'YES' if expired else 'no'}")
    return 0


def _read_image(path: str, command: str) -> tuple[bytes, np.ndarray] | None:
    """(file bytes, RGB uint8 array), or None with the reason printed (exit 2)."""
    from kiosk.imageio_safe import ImageError, read_image

    try:
        return read_image(path)
    except ImageError as err:
        print(f"{command}: {err}", file=sys.stderr)
        return None


def _out_problem(out: str) -> str | None:
    """Why --out cannot be written, or None; checked before the slow work."""
    path = Path(out)
    if path.is_dir():
        return f"--out {out}: is a folder: give a file name, e.g. {path / 'photo.jpg'}"
    folder = path.parent
    if not folder.is_dir():
        return f"--out {out}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"--out {out}: cannot write into {folder}"
    return None


def _backdrop(config: Config):  # type: ignore[no-untyped-def]
    """The booth's calibrated backdrop model (the spec blue when none)."""
    from kiosk.photo.backdrop import load_backdrop

    return load_backdrop(config.kiosk.data_dir)


def cmd_calibrate_backdrop(args: argparse.Namespace) -> int:
    """Measure the empty booth's backdrop; exit 0 saved, 1 refused, 2 no image."""
    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.backdrop import CalibrationError, calibrate

    config = _load(args)
    if args.image:
        read = _read_image(args.image, "calibrate-backdrop")
        if read is None:
            return 2
        frame = read[1]
    else:
        from kiosk.hardware.camera import CameraError, make_camera

        camera = make_camera(config.camera)
        try:
            camera.start()
            frame = camera.capture_still()
        except CameraError as err:
            print(f"calibrate-backdrop: camera: {err}", file=sys.stderr)
            return 2
        finally:
            camera.close()
    try:
        with FaceAnalyser(static_image_mode=True) as analyser:
            if analyser.analyse(frame).faces:
                raise CalibrationError("not_empty", "a face is in view: the booth must be empty")
        model = calibrate(frame)
    except CalibrationError as err:
        print(f"calibrate-backdrop: not calibrated: {err}", file=sys.stderr)
        return 1
    config.kiosk.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = model.save(config.kiosk.data_dir)
    rgb = ", ".join(f"{v:.0f}" for v in model.rgb)
    print(f"backdrop calibrated: RGB({rgb}), tolerance {model.chroma_tolerance:.3f}; saved to {path}")
    return 0


def cmd_check_photo(args: argparse.Namespace) -> int:
    """Check a photo against the spec; exit 0 compliant, 1 not, 2 unreadable."""
    import json

    from dataclasses import replace

    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.measures import DEFAULT_MEASURE_SETTINGS
    from kiosk.photo.process import check_spec_jpeg, process_still
    from kiosk.photo.report import json_measures, problem_message

    config = _load(args)
    spec, backdrop = config.photo, _backdrop(config)
    settings = replace(DEFAULT_MEASURE_SETTINGS, backdrop=backdrop)
    if args.out and (problem := _out_problem(args.out)):
        print(f"check-photo: {problem}", file=sys.stderr)
        return 2
    read = _read_image(args.image, "check-photo")
    if read is None:
        return 2
    data, rgb = read
    spec_jpeg: bytes | None = None
    with FaceAnalyser(static_image_mode=True, backdrop=backdrop) as analyser:
        if args.as_is:
            problems, measures = check_spec_jpeg(data, analyser, spec, settings=settings)
        else:
            faces = analyser.analyse(rgb).face_count
            if faces != 1:  # nothing to crop around
                problems = ["NO_FACE" if faces == 0 else "MULTIPLE_FACES"]
                measures = {"faces": faces}
            else:
                photo = process_still(rgb, analyser, spec, settings=settings)
                problems, measures, spec_jpeg = photo.problems, photo.measures, photo.spec_jpeg
    if args.out and spec_jpeg is not None:
        try:
            Path(args.out).write_bytes(spec_jpeg)
        except OSError as err:
            print(f"check-photo: --out {args.out}: cannot write: {err.strerror}", file=sys.stderr)
            return 2
    result = {
        "compliant": not problems,
        "problems": [{"code": c, "message": problem_message(c, measures, spec)} for c in problems],
        "measures": json_measures(measures),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{args.image}: " + ("compliant" if not problems else "NOT compliant"))
        for p in result["problems"]:
            print(f"  {p['code']}: {p['message']}")
        if args.out:
            print(f"spec photo written to {args.out}" if spec_jpeg is not None
                  else "no spec photo written (no single face to crop around)")
    return 0 if not problems else 1


def cmd_guide(args: argparse.Namespace) -> int:
    """Pose hints for one frame; exit 0 ready, 1 hints, 2 unreadable."""
    import json

    from kiosk.codes import message_key
    from kiosk.i18n import Translator
    from dataclasses import replace

    from kiosk.photo.analysis import FaceAnalyser
    from kiosk.photo.guidance import DEFAULT_SETTINGS, hints_for

    config = _load(args)
    backdrop = _backdrop(config)
    read = _read_image(args.image, "guide")
    if read is None:
        return 2
    # An image wider than the booth's preview is a still (a phone photo):
    # then its own pixels are what the spec photo would be cut from.
    settings = replace(DEFAULT_SETTINGS, frame_is_still=read[1].shape[1] > config.camera.preview_size[0],
                       measures=replace(DEFAULT_SETTINGS.measures, backdrop=backdrop))
    with FaceAnalyser(static_image_mode=True, backdrop=backdrop) as analyser:
        hints = hints_for(analyser.analyse(read[1]), config.photo, settings)
    t = Translator("en")
    result = {
        "ready": not hints,
        "hints": [{"code": h.value, "message": t.t(message_key(h))} for h in hints],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("ready" if not hints else "\n".join(f"{h['code']}: {h['message']}" for h in result["hints"]))
    return 0 if not hints else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check every part of the booth; exit 0 all well, 1 something needs staff."""
    import json

    from kiosk.doctor import CHECK_NAMES, Status, all_well, as_json, check_booth
    from kiosk.i18n import Translator

    config = _load(args)
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


if __name__ == "__main__":
    sys.exit(main())
