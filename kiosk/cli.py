"""The `kiosk` command: run the booth, and tools for staff and scripts."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from kiosk.config import Config, ConfigError, load_config

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
    config = _load(args)
    if args.headless and not args.script:
        print("kiosk run --headless needs --script FILE", file=sys.stderr)
        return 2
    if args.headless:
        from kiosk.runtime import KioskRuntime
        from kiosk.script import ScriptError, ScriptRunner, run_headless

        try:
            text = Path(args.script).read_text(encoding="utf-8")
            runtime = KioskRuntime(config)
            runner = ScriptRunner(runtime, text)
        except (OSError, ScriptError) as err:
            print(f"script: {err}", file=sys.stderr)
            return 2
        try:
            result = run_headless(runtime, runner)
        except ScriptError as err:
            print(f"script: {err}", file=sys.stderr)
            return 2
        print(("ok: " if result.ok else "failed: ") + result.reason + (f" ({result.capture_id})" if result.capture_id else ""))
        return 0 if result.ok else 1
    from kiosk.screens.app import run_app

    return run_app(config, script=Path(args.script) if args.script else None, screenshots=args.screenshots)


def cmd_make_prompts(args: argparse.Namespace) -> int:
    from kiosk.prompts import make_prompts

    config = _load(args)
    written = make_prompts(config.audio.prompts_dir, force=args.force)
    print(f"{written} prompt files written to {config.audio.prompts_dir}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    load_config(Path(args.file))
    print(f"{args.file}: ok")
    return 0


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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
