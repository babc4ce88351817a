"""Kivy settings and the kv files, shared by the kiosk's window and the
out-of-service window (kiosk/screens/out_of_service.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from kivy.config import Config as KivyConfig
from kivy.lang import Builder

from kiosk.config import Config

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent


def configure_kivy(config: Config) -> None:
    """Window and font settings; must run before the window is created."""
    screen = config.screen
    KivyConfig.set("graphics", "width", str(screen.width))
    KivyConfig.set("graphics", "height", str(screen.height))
    KivyConfig.set("graphics", "fullscreen", "auto" if screen.fullscreen else "0")
    KivyConfig.set("graphics", "show_cursor", "0" if screen.fullscreen else "1")
    KivyConfig.set("graphics", "resizable", "0")
    KivyConfig.set("kivy", "exit_on_escape", "0")  # a kiosk: Esc must not quit
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    register_font(screen.font)


def register_font(font: Path) -> bool:
    """Use the CJK font for every label (Kivy's default Roboto has no Chinese)."""
    from kivy.core.text import LabelBase

    if not Path(font).is_file():
        log.error("font %s not found: Chinese will show as boxes (apt install fonts-wqy-microhei)", font)
        return False
    LabelBase.register(name="Roboto", fn_regular=str(font))
    return True


def load_common_kv() -> None:
    """The shared widgets (FitLabel, Header, ...) every screen is made of."""
    import kiosk.screens.qr  # noqa: F401  (registers QrCode)
    import kiosk.screens.widgets  # noqa: F401  (registers the shared widgets)

    Builder.load_file(str(KV_DIR / "common.kv"))


def load_kv() -> None:
    """common.kv first (shared widgets), then one file per screen."""
    from kiosk.screens.states import SCREENS

    load_common_kv()
    for state in SCREENS:
        Builder.load_file(str(KV_DIR / f"{state.value}.kv"))
