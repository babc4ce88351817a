"""What every `kiosk` command shares: finding and loading the config."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kiosk.config import Config, load_config

DEFAULT_CONFIG = Path("/etc/photo-kiosk/kiosk.toml")


def config_path(arg: str | None) -> Path | None:
    """--config, else $KIOSK_CONFIG, else /etc/photo-kiosk/kiosk.toml if present, else defaults."""
    if arg:
        return Path(arg)
    if os.environ.get("KIOSK_CONFIG"):
        return Path(os.environ["KIOSK_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load(args: argparse.Namespace) -> Config:
    config = load_config(config_path(args.config))
    return config.as_demo() if getattr(args, "demo", False) else config
