"""The printable status light card (kiosk/tools/led_card.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kiosk.codes import KioskStatus
from kiosk.config import Config
from kiosk.hardware.status_led import PATTERNS
from kiosk.tools.led_card import LAMPS, ROWS, SIZE, lamp_rgb, main, swatch_lit
from services_required import service_missing


def test_every_status_has_a_row() -> None:
    assert set(ROWS) == set(KioskStatus) == set(PATTERNS)


@pytest.mark.parametrize("status, expected", [
    (KioskStatus.READY, [True] * LAMPS),
    (KioskStatus.QUEUE, [True] * 5 + [False] * 5),  # 1 s on, 1 s off
    (KioskStatus.ERROR, [True, False] * 5),  # 0.2 s on, 0.2 s off
])
def test_lamps_follow_the_real_blink_timing(status: KioskStatus, expected: list[bool]) -> None:
    assert swatch_lit(status, LAMPS) == expected


def test_card_png_shows_each_pattern_in_its_colour(tmp_path: Path) -> None:
    if not Config().screen.font.is_file():
        service_missing("no CJK font (apt install fonts-wqy-microhei)", "the LED card tests")
    out = tmp_path / "card.png"
    assert main([str(out)]) == 0
    img = Image.open(out).convert("RGB")
    assert img.size == SIZE
    pixels = set(img.getdata())
    for status, (colour, _on, _off) in PATTERNS.items():
        assert lamp_rgb(colour) in pixels, status  # every LED colour is on the card


def test_card_pdf(tmp_path: Path) -> None:
    if not Config().screen.font.is_file():
        service_missing("no CJK font (apt install fonts-wqy-microhei)", "the LED card tests")
    out = tmp_path / "card.pdf"
    assert main([str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")


def test_bad_output_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["card.txt"]) == 2
    assert "usage" in capsys.readouterr().err
