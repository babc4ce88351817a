"""The window a booth shows when its capture store cannot be opened.

Without the store nothing can be kept safe, so no student is taken. Before,
`kiosk run` exited 3 and systemd restarted it every 2 s: a black screen, a
dark LED and nothing to tell staff why. Now the screen says so (Chinese
first; the reason and what to do for staff), the status LED shows its fault
pattern, systemd gets READY and its watchdog pings, and the store is tried
again every RETRY_SECONDS. Once it opens, the app exits 0 and systemd
(Restart=always) starts the whole booth.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.codes import KioskStatus
from kiosk.config import Config
from kiosk.i18n import Translator
from kiosk.sdnotify import ServiceNotifier
from kiosk.capture.store import StoreError, open_store

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
KV = Path(__file__).with_name("out_of_service.kv")


def store_problem(config: Config) -> str | None:
    """Why the store cannot be opened now; None once it can (it is closed again)."""
    try:
        open_store(config).close()
    except StoreError as err:
        return str(err)
    return None


class OutOfService(BoxLayout):
    reason = StringProperty("")


class OutOfServiceApp(App):
    lang = StringProperty("zh_CN")
    u = NumericProperty(4.8)  # 1 % of the window height, as in the kiosk's screens
    text_scale = NumericProperty(1.0)  # common.kv binds it (the 大字 option); always normal here

    def __init__(self, config: Config, reason: str, screenshots: Path | None = None,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.title = "毕业生图像信息采集"
        self.config_ = config
        self.reason = reason
        self.screenshots = screenshots
        self.translator = Translator(config.kiosk.language)
        self.lang = config.kiosk.language
        self.notifier = ServiceNotifier()
        self.exit_code = 0
        self._next_try = time.monotonic() + RETRY_SECONDS
        self._led: Any = None
        self._ticks = 0

    def tr(self, key: str, _lang: str | None = None, **fmt: Any) -> str:
        return self.translator.t(key, **fmt)

    def build(self) -> OutOfService:
        from kivy.core.window import Window

        from kiosk.screens.window import load_common_kv

        Window.clearcolor = (1, 1, 1, 1)
        Window.bind(size=lambda _w, size: setattr(self, "u", size[1] / 100))
        self.u = Window.size[1] / 100
        load_common_kv()
        Builder.load_file(str(KV))
        return OutOfService(reason=self.reason)

    def on_start(self) -> None:
        log.error("out of service: %s", self.reason)
        self._show_fault()
        Clock.schedule_interval(self._tick, 0.5)

    def on_stop(self) -> None:
        self.notifier.stopping()
        if self._led is not None:
            self._led.close()

    def _show_fault(self) -> None:
        from kiosk.hardware.gpio import use_pin_factory
        from kiosk.hardware.status_led import StatusLed

        try:
            gpio = self.config_.gpio
            self._led = StatusLed(gpio.status_led_pins, use_pin_factory(gpio.pin_factory))
            self._led.show(KioskStatus.ERROR)
        except Exception as err:  # the screen and the log still say it
            log.error("status LED failed too: %s", err)

    def _tick(self, _dt: float) -> None:
        now = time.monotonic()
        self.notifier.tick(now, devices_up=True)  # up: this window is what staff need now
        self._ticks += 1
        if self.screenshots is not None and self._ticks == 2:  # drawn by now
            self._screenshot()
        if now < self._next_try:
            return
        self._next_try = now + RETRY_SECONDS
        reason = store_problem(self.config_)
        if reason is None:
            log.info("the capture store opens again: restarting the booth")
            self.stop()
        elif reason != self.root.reason:
            log.error("out of service: %s", reason)
            self.root.reason = reason

    def _screenshot(self) -> None:
        from kivy.core.window import Window

        assert self.screenshots is not None
        self.screenshots.mkdir(parents=True, exist_ok=True)
        target = self.screenshots / "out_of_service.png"
        written = Window.screenshot(name=str(target))  # saves NAME0001.png
        if written:
            os.replace(written, target)


def run_out_of_service(config: Config, reason: str, screenshots: Path | None = None) -> int:
    app = OutOfServiceApp(config, reason, screenshots)
    app.run()
    return app.exit_code
