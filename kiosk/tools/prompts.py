"""Spoken prompts: WAV files made with espeak-ng from the catalogs, and a player.

Files live at DIR/<lang>/<key>.wav (e.g. var/prompts/zh_CN/hint.MOVE_CLOSER.wav);
`kiosk make-prompts` writes them. The player is given the function that
actually plays a file (Kivy's SoundLoader in the app), so it stays testable.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from kiosk.codes import Hint, message_key
from kiosk.i18n import LANGUAGES, PROMPT_KEYS, load_catalog

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
VOICES = {"zh_CN": "cmn", "en": "en"}
SPEED_WPM = 150  # a little slower than espeak's 175: clearer in a noisy hall


class PromptError(Exception):
    """Prompts cannot be made (espeak-ng missing or failing, text missing)."""


def prompt_keys() -> list[str]:
    """Every key that is ever spoken: the hints and the fixed prompts."""
    return [message_key(h) for h in Hint] + list(PROMPT_KEYS)


def prompt_path(directory: Path, lang: str, key: str) -> Path:
    return Path(directory) / lang / f"{key}.wav"


def make_prompts(directory: Path, force: bool = False) -> int:
    """Write DIR/<lang>/<key>.wav for both languages; returns how many were written."""
    espeak = shutil.which(ESPEAK)
    if espeak is None:
        raise PromptError(f"{ESPEAK} not found: install it (Debian: apt install espeak-ng)")
    written = 0
    for lang in LANGUAGES:
        catalog = load_catalog(lang)
        for key in prompt_keys():
            out = prompt_path(directory, lang, key)
            if out.exists() and not force:
                continue
            text = catalog.get(key)
            if not text:
                raise PromptError(f"no {lang} text for {key!r} in the catalog")
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".wav.tmp")
            cmd = [espeak, "-v", VOICES[lang], "-s", str(SPEED_WPM), "-w", str(tmp), text]
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            except subprocess.CalledProcessError as err:
                tmp.unlink(missing_ok=True)
                raise PromptError(f"{ESPEAK} failed for {key} ({lang}): {err.stderr.decode(errors='replace').strip()}") from None
            os.replace(tmp, out)  # never leave a half-written prompt behind
            written += 1
    return written


class PromptPlayer:
    """say(key): play the prompt for the current language, not too often, never raise."""

    def __init__(
        self,
        directory: Path,
        lang: str,
        repeat_seconds: float,
        play: Callable[[Path], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.lang = lang
        self.repeat_seconds = repeat_seconds
        self.muted = False
        self._play = play
        self._clock = clock
        self._last_said: dict[str, float] = {}
        self._reported: set[Path] = set()

    def say(self, key: str) -> bool:
        """True when the prompt was played."""
        if self.muted:
            return False
        now = self._clock()
        last = self._last_said.get(key)
        if last is not None and now - last < self.repeat_seconds:
            return False
        path = prompt_path(self.directory, self.lang, key)
        if not path.is_file():
            self._report(path, "prompt file missing (run `kiosk make-prompts`)")
            return False
        try:
            self._play(path)
        except Exception:  # a sound problem must never stop the kiosk
            self._report(path, "playing the prompt failed", exc_info=True)
            return False
        self._last_said[key] = now
        return True

    def _report(self, path: Path, what: str, exc_info: bool = False) -> None:
        if path not in self._reported:
            self._reported.add(path)
            log.warning("%s: %s", what, path, exc_info=exc_info)
