"""A real headless browser for the office pages: Debian's chromium (apt),
driven by Playwright for Python (its own browser download is not used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services_required import service_missing

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    service_missing("no chromium (apt install chromium)", "the office page tests")


@contextmanager
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("no playwright (pip install playwright)", "the office page tests")
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                   args=["--no-sandbox"])
        try:
            yield chrome
        finally:
            chrome.close()


def screenshot_dir(default: Path) -> Path:
    """OFFICE_SCREENSHOTS=DIR keeps the pages' screenshots for a person to look at."""
    path = Path(os.environ.get("OFFICE_SCREENSHOTS") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path
