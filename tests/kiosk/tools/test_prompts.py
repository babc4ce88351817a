"""Spoken prompts: real espeak-ng WAVs, and a player that never gets in the way."""

from __future__ import annotations

import logging
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from services_required import service_missing

from kiosk.tools import prompts
from kiosk.codes import Hint
from kiosk.tools.prompts import PromptError, PromptPlayer, make_prompts, prompt_keys, prompt_path

@pytest.fixture
def needs_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        service_missing("espeak-ng not installed", "the spoken prompt tests")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def test_prompt_keys_are_the_hints_and_the_fixed_prompts() -> None:
    keys = prompt_keys()
    assert {f"hint.{h.value}" for h in Hint} <= set(keys)
    assert {"prompt.countdown", "prompt.saved", "prompt.call_staff"} <= set(keys)
    # Card, confirm, consent, 采集码 and receipt screens are spoken too (issue 22, item 7),
    # and a returning student hears why the office refused their photo.
    assert {"prompt.identify", "prompt.confirm", "prompt.consent", "prompt.scan_code",
            "prompt.name_disputed", "retake.glasses_glare", "retake.other"} <= set(keys)
    assert len(keys) == len(set(keys)) == len(Hint) + 3 + 5 + 6


@pytest.mark.usefixtures("needs_espeak")
def test_make_prompts_writes_real_speech_for_both_languages(tmp_path: Path) -> None:
    written = make_prompts(tmp_path)
    assert written == 2 * len(prompt_keys())
    for lang in ("zh_CN", "en"):
        for key in prompt_keys():
            path = prompt_path(tmp_path, lang, key)
            assert path.is_file(), path
            assert wav_seconds(path) > 0.3, path
    assert not list(tmp_path.rglob("*.tmp")), "no half-written files left"
    # Chinese and English are different recordings
    zh = prompt_path(tmp_path, "zh_CN", "hint.MOVE_CLOSER").read_bytes()
    en = prompt_path(tmp_path, "en", "hint.MOVE_CLOSER").read_bytes()
    assert zh != en


@pytest.mark.usefixtures("needs_espeak")
def test_sox_agrees_the_wav_has_sound(tmp_path: Path) -> None:
    if shutil.which("soxi") is None:
        service_missing("sox not installed", "the check of the prompts with a second WAV reader")
    make_prompts(tmp_path)
    path = prompt_path(tmp_path, "zh_CN", "hint.OPEN_EYES")
    seconds = float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout)
    assert seconds > 0.3


@pytest.mark.usefixtures("needs_espeak")
def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    make_prompts(tmp_path)
    path = prompt_path(tmp_path, "en", "prompt.saved")
    path.write_bytes(b"kept")
    assert make_prompts(tmp_path) == 0
    assert path.read_bytes() == b"kept"
    assert make_prompts(tmp_path, force=True) == 2 * len(prompt_keys())
    assert wav_seconds(path) > 0.3


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompts, "ESPEAK", "espeak-ng-not-installed-here")
    with pytest.raises(PromptError, match="espeak-ng-not-installed-here not found.*apt install espeak-ng"):
        make_prompts(tmp_path)
    assert not any(tmp_path.iterdir())


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_player(tmp_path: Path, play=None) -> tuple[PromptPlayer, list[Path], FakeClock]:
    played: list[Path] = []
    clock = FakeClock()
    for lang in ("zh_CN", "en"):
        for key in ("hint.MOVE_CLOSER", "hint.MOVE_BACK"):
            path = prompt_path(tmp_path, lang, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF")
    player = PromptPlayer(tmp_path, "zh_CN", 4.0, play or played.append, clock)
    return player, played, clock


def test_player_does_not_repeat_a_prompt_too_often(tmp_path: Path) -> None:
    player, played, clock = make_player(tmp_path)
    assert player.say("hint.MOVE_CLOSER")
    clock.now += 1
    assert not player.say("hint.MOVE_CLOSER")  # said a second ago
    assert player.say("hint.MOVE_BACK")  # another prompt is fine
    clock.now += 3.5
    assert player.say("hint.MOVE_CLOSER")
    assert played == [
        prompt_path(tmp_path, "zh_CN", "hint.MOVE_CLOSER"),
        prompt_path(tmp_path, "zh_CN", "hint.MOVE_BACK"),
        prompt_path(tmp_path, "zh_CN", "hint.MOVE_CLOSER"),
    ]


def test_player_follows_the_language_and_mute(tmp_path: Path) -> None:
    player, played, clock = make_player(tmp_path)
    player.lang = "en"
    assert player.say("hint.MOVE_BACK")
    assert played == [prompt_path(tmp_path, "en", "hint.MOVE_BACK")]
    player.muted = True
    clock.now += 10
    assert not player.say("hint.MOVE_BACK")
    assert len(played) == 1


def test_missing_file_is_logged_once_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    player, played, clock = make_player(tmp_path)
    with caplog.at_level(logging.WARNING, logger="kiosk.tools.prompts"):
        for _ in range(3):
            assert not player.say("hint.OPEN_EYES")
            clock.now += 10
    assert played == []
    assert sum("hint.OPEN_EYES" in r.getMessage() for r in caplog.records) == 1


def test_a_failing_sound_device_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken(path: Path) -> None:
        raise OSError("no audio device")

    player, _, clock = make_player(tmp_path, play=broken)
    with caplog.at_level(logging.WARNING, logger="kiosk.tools.prompts"):
        assert not player.say("hint.MOVE_CLOSER")
        clock.now += 10
        assert not player.say("hint.MOVE_CLOSER")
    assert len([r for r in caplog.records if "playing the prompt failed" in r.getMessage()]) == 1
