"""The printable status light card: each LED pattern, what it means, what staff do.

    python -m kiosk.tools.led_card OUT.png     (or OUT.pdf)

One A5 page (landscape, 200 dpi), Chinese first with English below, drawn
with Pillow from status_led.PATTERNS (so the card shows the colours and
blink rates the booth really uses) and the catalogs' ui.led_card.* texts.
A blinking pattern is drawn as its on/off sequence over two seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kiosk.codes import KioskStatus
from kiosk.config import Config
from kiosk.hardware.status_led import PATTERNS
from kiosk.i18n import Translator

SIZE = (1654, 1165)  # A5 landscape at 200 dpi
MARGIN = 60
# status -> its three texts (literal keys: the catalog check finds them)
ROWS: dict[KioskStatus, tuple[str, str, str]] = {
    KioskStatus.READY: ("ui.led_card.ready.pattern", "ui.led_card.ready.meaning", "ui.led_card.ready.todo"),
    KioskStatus.BUSY: ("ui.led_card.busy.pattern", "ui.led_card.busy.meaning", "ui.led_card.busy.todo"),
    KioskStatus.QUEUE: ("ui.led_card.queue.pattern", "ui.led_card.queue.meaning", "ui.led_card.queue.todo"),
    KioskStatus.OFFLINE: ("ui.led_card.offline.pattern", "ui.led_card.offline.meaning",
                          "ui.led_card.offline.todo"),
    KioskStatus.STAFF: ("ui.led_card.staff.pattern", "ui.led_card.staff.meaning", "ui.led_card.staff.todo"),
    KioskStatus.ERROR: ("ui.led_card.error.pattern", "ui.led_card.error.meaning", "ui.led_card.error.todo"),
}
HEADINGS = ("ui.led_card.pattern", "ui.led_card.meaning", "ui.led_card.todo")
COLUMNS = (MARGIN + 300, MARGIN + 620, MARGIN + 1000)  # x of the three text columns
INK, MUTED, RULE = (20, 30, 50), (90, 100, 120), (200, 205, 215)
SWATCH_SECONDS = 2.0  # the stretch of time a blink pattern is drawn over...
LAMPS = 10  # ...as this many lamps, 0.2 s each


def lamp_rgb(colour: tuple[float, float, float]) -> tuple[int, int, int]:
    """How an LED colour looks on paper (white LED light drawn light grey, with an outline)."""
    return tuple(int(c * 255) for c in colour) if colour != (1.0, 1.0, 1.0) else (235, 235, 235)  # type: ignore[return-value]


def swatch_lit(status: KioskStatus, steps: int) -> list[bool]:
    """Whether the LED is lit in each of `steps` equal slices of SWATCH_SECONDS."""
    _colour, on, off = PATTERNS[status]
    if off <= 0:
        return [True] * steps
    period = on + off
    return [((i + 0.5) * SWATCH_SECONDS / steps) % period < on for i in range(steps)]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines no wider than width: Chinese by characters, English by words."""
    lines, line = [], ""
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    tokens = list(text) if chinese else text.split(" ")
    sep = "" if chinese else " "
    for token in tokens:
        trial = f"{line}{sep}{token}" if line else token
        if draw.textlength(trial, font=font) <= width:
            line = trial
        else:
            lines.append(line)
            line = token
    return [*lines, line] if line else lines


def draw_card(font_path: Path, seconds: float) -> Image.Image:
    zh, en = Translator("zh_CN"), Translator("en")
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    big, mid, small = (ImageFont.truetype(str(font_path), s) for s in (52, 27, 21))
    d.text((MARGIN, MARGIN), zh.t("ui.led_card.title"), font=big, fill=INK)
    d.text((MARGIN, MARGIN + 70), en.t("ui.led_card.title"), font=mid, fill=MUTED)
    y = MARGIN + 130
    widths = (COLUMNS[1] - COLUMNS[0] - 30, COLUMNS[2] - COLUMNS[1] - 30, SIZE[0] - MARGIN - COLUMNS[2])
    for x, key, width in zip(COLUMNS, HEADINGS, widths):
        d.text((x, y), zh.t(key), font=mid, fill=INK)
        d.text((x, y + 36), en.t(key), font=small, fill=MUTED)
    y += 80
    row_h = (SIZE[1] - y - MARGIN - 70) // len(ROWS)
    for status, keys in ROWS.items():
        d.line((MARGIN, y, SIZE[0] - MARGIN, y), fill=RULE, width=2)
        colour = lamp_rgb(PATTERNS[status][0])
        lit = swatch_lit(status, LAMPS)
        for i, on in enumerate(lit):  # a row of lamps: the pattern over two seconds
            cx, cy, r = MARGIN + 13 + i * 26, y + row_h // 2, 11
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour if on else "white", outline=MUTED, width=2)
        for x, key, width in zip(COLUMNS, keys, widths):
            ty = y + 8
            for line in _wrap(d, zh.t(key, seconds=f"{seconds:g}"), mid, width):
                d.text((x, ty), line, font=mid, fill=INK)
                ty += 32
            for line in _wrap(d, en.t(key, seconds=f"{seconds:g}"), small, width):
                d.text((x, ty), line, font=small, fill=MUTED)
                ty += 25
        y += row_h
    d.line((MARGIN, y, SIZE[0] - MARGIN, y), fill=RULE, width=2)
    footer = [(zh.t("ui.led_card.footer", seconds=f"{seconds:g}"), small, INK),
              (en.t("ui.led_card.footer", seconds=f"{seconds:g}"), small, MUTED)]
    ty = y + 16
    for text, font, fill in footer:
        for line in _wrap(d, text, font, SIZE[0] - 2 * MARGIN):
            d.text((MARGIN, ty), line, font=font, fill=fill)
            ty += 27
    return img


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or Path(args[0]).suffix.lower() not in (".png", ".pdf"):
        print("usage: python -m kiosk.tools.led_card OUT.png|OUT.pdf", file=sys.stderr)
        return 2
    config = Config()
    font = config.screen.font
    if not font.is_file():
        print(f"led_card: font {font} not found (apt install fonts-wqy-microhei)", file=sys.stderr)
        return 1
    card = draw_card(font, config.gpio.staff_button_hold_seconds)
    card.save(args[0], resolution=200.0)
    print(f"status light card written to {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
