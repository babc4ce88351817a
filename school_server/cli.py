"""photo-server: run the school server and do the staff's jobs on it.

Every command takes --data DIR (or PHOTO_SERVER_DATA) and optionally
--config FILE; commands that open the database bring its schema up to date
first, so any of them works on a fresh data dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from school_server.private_files import private_dir, private_umask

OPENAPI_FILE = Path(__file__).parent / "openapi.json"
AUDIT_BROKEN = 3  # verify-audit's exit code when the chain does not hold


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # Private from the start: whatever a command (or SQLite, uvicorn,
        # boto3) creates is the server user's alone.
        with private_umask():
            return args.run(args)
    except (ValueError, OSError) as err:
        print(f"photo-server {args.command}: {err}", file=sys.stderr)
        return 1
    except DataError as err:
        # A value the database refused (each command checks what it writes
        # first; this is the last line). One line, and never the statement's
        # parameters: they can hold students' names.
        reason = str(getattr(err, "orig", None) or type(err).__name__).strip().splitlines()[0]
        print(f"photo-server {args.command}: the database refused a value: {reason}",
              file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", type=Path, help="data dir (default $PHOTO_SERVER_DATA)")
    common.add_argument("--config", type=Path, help="TOML file (default DATA/server.toml)")
    parser = argparse.ArgumentParser(prog="photo-server", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run, help: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(run=run)
        return p

    p = command("serve", _serve, "run the HTTP API (migrates the database first)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    command("migrate", _migrate, "bring the database schema up to date")
    command("keygen", _keygen, "make the sealing key pair (once) and print the public key")
    p = command("enrol-code", _enrol_code,
                "print a one-time enrolment code for a new kiosk (or, with --kiosk, to "
                "re-enrol that kiosk id while it is active: a reimaged booth)")
    p.add_argument("--centre", help="the kiosk's centre (required without --kiosk; with it, "
                                    "default: where the kiosk is enrolled)")
    p.add_argument("--kiosk", metavar="KIOSK_ID", help="the code enrols only this kiosk id")
    p.add_argument("--hours", type=float, default=24.0, help="valid for (default 24)")
    p = command("revoke", _revoke, "revoke a kiosk's token")
    p.add_argument("kiosk_id")
    p = command("import-roster", _import_roster,
                "replace the roster of each centre in a CSV or XLSX file (姓名/name, "
                "身份证号/id_number or student_ref, 学习中心/centre, 场次/session; optional "
                "专业/programme, 学号/student_no, 手机号/phone, card_uid)")
    p.add_argument("file", type=Path)
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="threads hashing ID numbers (default: one per core)")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="import the rows without problems when some have one")
    p.add_argument("--only-sessions", action="store_true",
                   help="replace only the sessions in the file, not the whole centres' rosters "
                        "(a makeup roster beside the others)")
    p = command("import-schedule", _import_schedule,
                "replace the sessions of each centre in a CSV or XLSX file (学习中心/centre, "
                "场次/session, 开始时间/starts_at, 结束时间/ends_at)")
    p.add_argument("file", type=Path)
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="import the rows without problems when some have one")
    p = command("export", _export, "decrypt captures to OUT/<capture_id>.jpg + manifest.csv "
                "(--by-id: the approved ones to OUT/<ID number>.jpg, the hand-over layout)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--centre")
    p.add_argument("--by-id", action="store_true",
                   help="the collection unit's layout: approved captures only, named by ID number")
    p = command("import-bundle", _import_bundle,
                "store the captures of an offline booth's bundle (`kiosk export DIR`) as its "
                "uploads would be, and write DIR/receipts.json for `kiosk import-receipts`")
    p.add_argument("dir", type=Path, help="the bundle folder (holds manifest.json)")
    p = command("add-user", _add_user,
                "add an office account (or set its password and role); the password is "
                "asked for, or read from the first line of standard input")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=("viewer", "reviewer", "admin"),
                   help="viewer: progress, missing list, booths; reviewer: also review "
                        "photos; admin: also corrections, export, audit log")
    p = command("disable-user", _disable_user, "stop an office account from logging in and "
                "end its sessions now (add-user with a new password enables it again)")
    p.add_argument("username")
    command("verify-audit", _verify_audit, "check the audit log's hash chain: exit 0 intact, "
            f"{AUDIT_BROKEN} a row changed, removed or inserted (the first one is named)")
    command("progress", _progress, "captures per centre and session, kiosks' last heartbeats")
    p = sub.add_parser("openapi", help="write the OpenAPI document")
    p.add_argument("--out", type=Path, default=OPENAPI_FILE)
    p.set_defaults(run=_openapi)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1 (got {text!r})")
    return value


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from school_server.settings import load_settings

    settings = load_settings(args.data, args.config)
    private_dir(settings.data_dir)
    return settings


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[Session]:
    from school_server import db

    engine = db.make_engine(_settings(args).db_url)
    try:
        db.upgrade(engine)
        with db.make_sessions(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from school_server import db
    from school_server.app import ServerState, create_app
    from school_server.web.status import HideTokens

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").addFilter(HideTokens())  # students' status links
    state = ServerState.open(_settings(args))
    db.upgrade(state.engine)
    logging.getLogger(__name__).info("database ready; objects in %s",
                                     state.settings.storage.backend)
    # log_config=None: uvicorn's loggers go through the root handler above.
    # X-Forwarded-For only from the configured proxies (uvicorn's own default
    # believes 127.0.0.1, so anything on the machine could pick its address).
    proxies = state.settings.trusted_proxies
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_config=None,
                server_header=False, proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None)
    state.engine.dispose()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    with _database(args):
        pass
    print("database schema is up to date")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from school_server.keys import keygen

    settings = _settings(args)
    public, made = keygen(settings.private_key_file)
    if not made:
        print(f"{settings.private_key_file} exists; kept it", file=sys.stderr)
    print(public)
    return 0


def _enrol_code(args: argparse.Namespace) -> int:
    from school_server.auth import create_enrolment_code

    if not 0 < args.hours < float("inf"):
        raise ValueError("--hours must be a positive number")
    with _database(args) as session:
        print(create_enrolment_code(session, args.centre, args.hours, args.kiosk))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from school_server.auth import revoke_kiosk

    with _database(args) as session:
        if not revoke_kiosk(session, args.kiosk_id):
            raise ValueError(f"no kiosk {args.kiosk_id!r}")
    print(f"kiosk {args.kiosk_id} revoked")
    return 0


def _import_roster(args: argparse.Namespace) -> int:
    return _import(args, "roster")


def _import_schedule(args: argparse.Namespace) -> int:
    return _import(args, "schedule")


def _import(args: argparse.Namespace, kind: str) -> int:
    from school_server.cli_import import import_file

    settings = _settings(args)
    with _database(args) as session:
        return import_file(session, settings, args.file, kind, getattr(args, "workers", None),
                           args.skip_bad_rows, getattr(args, "only_sessions", False))


def _export(args: argparse.Namespace) -> int:
    from school_server import audit
    from school_server.export import MANIFEST, export_captures
    from school_server.keys import load_private_key
    from school_server.storage import open_store

    settings = _settings(args)
    key = load_private_key(settings.private_key_file)
    if args.by_id:
        return _export_by_id(args, settings, key)
    with _database(args) as session:
        result = export_captures(session, open_store(settings), key, args.out, args.centre,
                                 zone=ZoneInfo(settings.timezone))
        audit.record(session, "cli", audit.Action.EXPORT, args.centre or "all centres",
                     f"{len(result.exported)} captures by capture id to {args.out}")
    for capture_id, reason in result.failed:
        print(f"capture {capture_id}: {reason}", file=sys.stderr)
    print(f"{len(result.exported)} captures exported to {args.out} ({MANIFEST}); "
          f"{len(result.failed)} failed")
    return 1 if result.failed else 0


def _export_by_id(args: argparse.Namespace, settings, key) -> int:  # type: ignore[no-untyped-def]
    from school_server import audit
    from school_server.export import MANIFEST
    from school_server.handover import PROBLEMS, HandoverResult, approved_photos, write_folder
    from school_server.reviews import identify_new, pending_count, unopenable_count
    from school_server.storage import open_store

    store, result = open_store(settings), HandoverResult()
    with _database(args) as session:
        identify_new(session, store, key)
        unopened = unopenable_count(session)
        write_folder(approved_photos(session, store, key, result, args.centre,
                                     zone=ZoneInfo(settings.timezone)), result, args.out)
        pending = pending_count(session, args.centre)
        audit.record(session, "cli", audit.Action.EXPORT, args.centre or "all centres",
                     f"{len(result.exported)} photos by ID number to {args.out}")
    for capture_id, reason in result.failed:
        print(f"capture {capture_id}: {reason}", file=sys.stderr)
    if unopened:
        print(f"{unopened} captures could not be opened (see the log)", file=sys.stderr)
    print(f"{len(result.exported)} approved photos exported to {args.out} by ID number "
          f"({MANIFEST}); {len(result.failed)} failed (in {PROBLEMS}); {pending} captures "
          "still waiting for review were left out")
    return 1 if result.failed or unopened else 0


def _import_bundle(args: argparse.Namespace) -> int:
    """Exit 0: every capture stored (or already here) and receipts.json written;
    1: the bundle refused, some captures refused, or receipts.json not written."""
    from school_server.bundle import RECEIPTS, centre_note, import_bundle, write_receipts
    from school_server.storage import open_store

    settings = _settings(args)
    with _database(args) as session:
        result = import_bundle(session, open_store(settings), args.dir, settings.max_body_bytes)
    note = centre_note(result)
    if note:
        print(note, file=sys.stderr)
    for capture_id, reason in result.refused:
        print(f"capture {capture_id} refused: {reason}", file=sys.stderr)
    total = len(result.manifest.captures)
    print(f"bundle from kiosk {result.manifest.kiosk_id}: {total} captures: "
          f"{len(result.stored)} stored, {len(result.repeated)} already here (same receipt), "
          f"{len(result.refused)} refused")
    try:
        path = write_receipts(args.dir, result)
    except OSError as err:
        print(f"photo-server import-bundle: the captures are stored, but {args.dir / RECEIPTS} "
              f"could not be written ({err.strerror or type(err).__name__}); run import-bundle "
              "again on a writable copy of the folder (it is safe to repeat)", file=sys.stderr)
        return 1
    print(f"{len(result.receipts)} receipts written to {path}; on the booth: "
          f"kiosk import-receipts {args.dir}")
    return 1 if result.refused else 0


def _add_user(args: argparse.Namespace) -> int:
    import getpass

    from school_server.accounts import add_user

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the two passwords differ; nothing changed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with _database(args) as session:
        add_user(session, args.username, password, args.role)
    print(f"user {args.username} ({args.role}) can log in at /office")
    return 0


def _disable_user(args: argparse.Namespace) -> int:
    from school_server.accounts import disable_user

    with _database(args) as session:
        disable_user(session, args.username, "cli")
    print(f"user {args.username} disabled; their sessions have ended")
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    from school_server.audit import verify

    with _database(args) as session:
        check = verify(session)
    if check.broken_at is not None:
        print(f"audit log: row {check.broken_at} does not follow the chain: it or the row "
              "before it was changed, removed or inserted", file=sys.stderr)
        return AUDIT_BROKEN
    if not check.head_agrees:
        print(f"audit log: the chain ends at row {check.last_id}, not where the head says: "
              "rows were removed at the end", file=sys.stderr)
        return AUDIT_BROKEN
    print(f"audit log intact: {check.rows} rows, last {check.last_id}, chain {check.chain}")
    return 0


def _progress(args: argparse.Namespace) -> int:
    from school_server.progress import progress_report

    with _database(args) as session:
        print(progress_report(session))
    return 0


def openapi_text() -> str:
    from school_server.app import create_app

    return json.dumps(create_app(None).openapi(), indent=2, ensure_ascii=False) + "\n"


def _openapi(args: argparse.Namespace) -> int:
    args.out.write_text(openapi_text(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
