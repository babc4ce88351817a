"""The Kivy front end: one window, one Screen per flow State.

The app polls the runtime at 30 Hz on Kivy's clock, shows the screen for the
View's state and forwards touches back (runtime.press / runtime.enter_pin).
With a script (kiosk run --script) it also steps the ScriptRunner and saves
the screenshots the script asks for; in demo mode the keyboard plays the
simulated camera and card reader.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.codes import Button, Device, State, message_key
from kiosk.config import Config
from kiosk.session import View
from kiosk.i18n import LANGUAGES, Translator, consent_text
from kiosk.tools.prompts import PromptPlayer
from kiosk.screens.overlay import DEFAULT_FACE_SHARE
from kiosk.screens.window import load_kv
from kiosk.sdnotify import ServiceNotifier

if TYPE_CHECKING:
    from kiosk.script import ScriptRunner

log = logging.getLogger(__name__)

POLL_HZ = 30
LARGER_TEXT = 1.3  # the 大字 option: fonts this much larger, as far as each box allows
SHOT_FRAMES = 4  # frames drawn after a screen is shown before its screenshot
ARROWS = {273: "up", 274: "down", 275: "right", 276: "left"}
CARD_STATES = (State.ATTRACT, State.IDENTIFY, State.CHECKING)  # where digit keys mean "present card n"


class Runtime(Protocol):
    """What the app needs of kiosk.runtime.KioskRuntime."""

    on_prompt: Any
    devices_up: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def poll(self) -> View: ...
    def press(self, button: Button) -> None: ...
    def enter_pin(self, pin: str) -> None: ...
    def enter_id_number(self, text: str) -> None: ...
    def latest_frame(self) -> np.ndarray | None: ...
    def internal_error(self, where: str, err: BaseException) -> None: ...


class ToCallStaff(ExceptionHandler):
    """Kivy's safety net: an error in the window's own code (a screen, a
    touch, a clock callback) sends the student to staff and the window goes
    on, instead of the kiosk dying (and systemd restarting it mid-session)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def handle_exception(self, inst: BaseException) -> int:
        if not isinstance(inst, Exception):  # Ctrl-C, SystemExit: stop as usual
            return ExceptionManager.RAISE
        self.runtime.internal_error("the window", inst)
        return ExceptionManager.PASS


@dataclass
class _Shot:
    """A screenshot the script asked for: the view it shows and when it was shown."""

    name: str
    view: View
    frame0: int | None = None
    done: bool = False


class KioskApp(App):
    lang = StringProperty("zh_CN")
    u = NumericProperty(4.8)  # 1 % of the window height: the unit of every size
    muted = BooleanProperty(False)
    demo = BooleanProperty(False)
    face_share = NumericProperty(DEFAULT_FACE_SHARE)
    # 1, or LARGER_TEXT once the student pressed 大字 on the attract screen
    text_scale = NumericProperty(1.0)

    def __init__(
        self,
        runtime: Runtime,
        config: Config,
        runner: ScriptRunner | None = None,
        screenshots: Path | None = None,
        demo: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.title = "毕业生图像信息采集"
        self.runtime = runtime
        self.config_ = config
        self.runner = runner
        self.screenshots = screenshots
        self.demo = demo
        self.home_lang = config.kiosk.language
        self.translator = Translator(self.home_lang)
        self.lang = self.home_lang
        self.muted = config.audio.muted
        self.player = PromptPlayer(
            config.audio.prompts_dir, self.lang, config.audio.repeat_seconds, self._play_sound
        )
        self.player.muted = self.muted
        self.exit_code = 0
        self._sounds: dict[Path, Any] = {}
        self._playing: Any = None
        self._shot: _Shot | None = None
        self._last_view: View | None = None
        self._shown: State | None = None
        self._finished = False
        self._event: Any = None
        self.notifier = ServiceNotifier()

    # ---------------------------------------------------------- lifecycle

    def build(self) -> ScreenManager:
        from kivy.core.window import Window

        from kiosk.screens.states import SCREENS

        Window.clearcolor = (1, 1, 1, 1)
        Window.bind(size=self._on_window_size)
        self._on_window_size(Window, Window.size)
        load_kv()
        sm = ScreenManager(transition=NoTransition())
        for state, cls in SCREENS.items():
            sm.add_widget(cls(name=state.value))
        self.runtime.on_prompt = self._on_prompt
        if self.demo:
            Window.bind(on_key_down=self._on_key_down)
        return sm

    def on_start(self) -> None:
        self.runtime.start()
        self._event = Clock.schedule_interval(self._tick, 1 / POLL_HZ)

    def on_stop(self) -> None:
        self.notifier.stopping()
        if self._event is not None:
            self._event.cancel()
        self.runtime.stop()

    def _on_window_size(self, _window: Any, size: tuple[int, int]) -> None:
        self.u = size[1] / 100

    # --------------------------------------------------------- the loop

    def _tick(self, _dt: float) -> None:
        try:
            self._poll_and_show()
        except Exception as err:  # Kivy drops a clock callback that raises: the loop must go on
            self.runtime.internal_error("the window's loop", err)

    def _poll_and_show(self) -> None:
        view = self.runtime.poll()
        # systemd's watchdog: pings stop when this clock stops (a frozen UI).
        self.notifier.tick(time.monotonic(), self.runtime.devices_up)
        if self._shot is not None:
            self._advance_shot()
        else:
            self._show(view, self.runtime.latest_frame())
        self._last_view = view
        if self.runner is not None and not self._finished:
            self._step_script(view)

    def _show(self, view: View, frame: np.ndarray | None) -> None:
        sm = self.root
        screen = sm.get_screen(view.state.value)
        if view.state != self._shown:
            if view.state == State.ATTRACT and self._shown not in (None, State.STAFF):
                self.lang = self.home_lang  # a new student starts in the kiosk's language
                self.text_scale = 1.0  # and in the usual text size
            sm.current = view.state.value  # on_pre_enter first, then the data
            screen.update(view, frame)
            self._shown = view.state
        else:
            screen.update(view, frame)

    def _step_script(self, view: View) -> None:
        from kiosk.script import ScriptError

        assert self.runner is not None
        try:
            result = self.runner.step(view)
        except (ScriptError, KeyError, ValueError) as err:
            print(f"script: {err}", file=sys.stderr, flush=True)
            self._finish(2)
            return
        if result is None:
            return
        extra = f" ({result.capture_id})" if result.capture_id else ""
        print(("ok: " if result.ok else "failed: ") + result.reason + extra, flush=True)
        self._finish(0 if result.ok else 1)

    def _finish(self, code: int) -> None:
        self._finished = True
        self.exit_code = code
        self.stop()

    # ------------------------------------------------------- screenshots

    def screenshot_hook(self, name: str) -> bool:
        """Called by the script; False until the screenshot is on disk (the script waits)."""
        if self._shot is not None and self._shot.done:
            self._shot = None
            return True
        if self._shot is None:
            view = self._last_view or self.runtime.poll()
            self._shot = _Shot(name=name, view=view)
        return False

    def _advance_shot(self) -> None:
        from kivy.core.window import Window

        shot = self._shot
        assert shot is not None
        if shot.done:
            return
        if shot.frame0 is None:
            # Show the view the script saw; the flow may move on meanwhile.
            self._show(shot.view, self.runtime.latest_frame())
            shot.frame0 = Clock.frames_displayed
            return
        if Clock.frames_displayed - shot.frame0 < SHOT_FRAMES:
            return
        if self.screenshots is None:
            shot.done = True
            return
        self.screenshots.mkdir(parents=True, exist_ok=True)
        target = self.screenshots / f"{shot.name}.png"
        written = Window.screenshot(name=str(target))  # saves NAME0001.png
        if written:
            os.replace(written, target)
            log.info("screenshot %s (%s)", target, shot.view.state.value)
        else:
            log.error("screenshot %s failed", target)
        shot.done = True

    # ------------------------------------------------- called by screens

    def tr(self, key: str, _lang: str | None = None, **fmt: Any) -> str:
        """Text for key; kv passes app.lang so the text follows language changes."""
        return self.translator.t(key, **fmt)

    def consent_text(self, _lang: str | None = None) -> str:
        sync = self.config_.sync
        return consent_text(self.translator, bool(sync.server_public_key), sync.retention_days)

    def problem_text(self, view: View, _lang: str | None = None) -> str:
        return self.translator.t(message_key(view.problem)) if view.problem else ""

    def staff_text(self, view: View, _lang: str | None = None) -> str:
        if not view.problem:
            return ""
        text = self.translator.t(message_key(view.problem) + ".staff")
        return f"{text}\n{view.problem_detail}" if view.problem_detail else text

    def photo_problems_text(self, view: View, _lang: str | None = None) -> str:
        """The photo engine's failed checks, one a line (check.<code> when translated)."""
        lines = []
        for code in view.photo_problems:
            key = f"check.{code}"
            text = self.translator.t(key) if self.translator.has(key) else self.translator.t("ui.review.check_failed", code=code)
            lines.append(f"• {text}")
        return "\n".join(lines)

    def device_names(self, devices: tuple[Device, ...], _lang: str | None = None) -> str:
        sep = self.translator.t("ui.list_separator")
        return sep.join(self.translator.t(message_key(d)) for d in devices)

    def press(self, code: str) -> None:
        button = Button(code)
        if button == Button.LANGUAGE:
            self.toggle_language()
        if button == Button.LARGER_TEXT:
            self.text_scale = 1.0 if self.text_scale != 1.0 else LARGER_TEXT
        self.runtime.press(button)

    def enter_pin(self, pin: str) -> None:
        self.runtime.enter_pin(pin)

    def enter_id_number(self, text: str) -> None:
        self.runtime.enter_id_number(text)

    def toggle_language(self) -> None:
        langs = list(LANGUAGES)
        self.lang = langs[(langs.index(self.lang) + 1) % len(langs)]
        if self._shown == State.STAFF:
            self.home_lang = self.lang  # staff choose the kiosk's language

    def toggle_mute(self) -> None:
        self.muted = not self.muted

    def on_lang(self, _app: Any, lang: str) -> None:
        self.translator.set_language(lang)
        if hasattr(self, "player"):
            self.player.lang = lang

    def on_muted(self, _app: Any, muted: bool) -> None:
        if hasattr(self, "player"):
            self.player.muted = muted
            if muted and self._playing is not None:
                self._playing.stop()

    # ------------------------------------------------------------ audio

    def _on_prompt(self, key: str) -> None:
        self.player.say(key)

    def _play_sound(self, path: Path) -> None:
        from kivy.core.audio import SoundLoader

        sound = self._sounds.get(path)
        if sound is None:
            sound = SoundLoader.load(str(path))
            if sound is None:
                raise RuntimeError(f"no audio provider could load {path}")
            self._sounds[path] = sound
        if self._playing is not None and self._playing is not sound:
            self._playing.stop()  # the newest prompt wins
        sound.play()
        self._playing = sound

    # --------------------------------------------------- demo keyboard

    def _on_key_down(self, _window: Any, key: int, _scancode: int, codepoint: str | None, _mods: list) -> bool:
        name = ARROWS.get(key) or (codepoint or "")
        if not name:
            return False
        rt: Any = self.runtime
        try:
            # The flow's state, not the screen shown: before the first poll
            # nothing is shown yet and a card put down then must not be lost.
            if name.isdigit() and name != "0" and rt.flow.state in CARD_STATES:
                labels = rt.reader.labels()
                if int(name) <= len(labels):
                    rt.reader.present(labels[int(name) - 1])
                return True
            if name == "l":
                rt.reader.lift()
                return True
            from kiosk.hardware.camera_sim import apply_key

            return bool(apply_key(rt.camera, name))
        except Exception:  # a demo key must never crash the kiosk
            log.exception("demo key %r failed", name)
            return False

