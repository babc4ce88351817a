"""Shared by the runtime tests: a booth config with a chosen roster, a
runtime for it, an error as a failing disk gives it, and polling until."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from headless_harness import ROOT
from headless_harness import write_config as headless_config
from kiosk.config import load_config
from kiosk.runtime import KioskRuntime

ROSTER = ROOT / "examples" / "roster-demo.csv"


def write_config(tmp_path: Path, roster: Path = ROSTER, extra: str = "") -> Path:
    cfg = headless_config(tmp_path, extra)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(ROSTER), str(roster)), encoding="utf-8")
    return cfg


def runtime_for(cfg: Path, clock=time.monotonic) -> KioskRuntime:
    return KioskRuntime(load_config(cfg).as_demo(), clock=clock)


def malformed(*_args, **_kw):
    raise sqlite3.DatabaseError("database disk image is malformed")


def poll_until(runtime: KioskRuntime, done, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    view = runtime.poll()
    while not done(view) and time.monotonic() < deadline:
        time.sleep(0.02)
        view = runtime.poll()
    return view
