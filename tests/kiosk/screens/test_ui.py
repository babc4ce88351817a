"""The Kivy front end, for real: windows under offscreen SDL (or Xvfb), screenshots.

Every test starts its own process (one Kivy window per process):
- the whole app with simulated devices walks tests/scripts/ui_tour.txt and
  saves a screenshot of every screen;
- tests/ui_gallery.py shows every screen with sample Views at three window
  sizes in both languages and reports widgets outside the window, text that
  does not fit, and texts that are catalog keys (missing translations);
- a Chinese string renders with the registered font (no tofu boxes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from window_harness import ROOT, assert_not_blank, kiosk_command, run_windowed, write_config

TOUR = ROOT / "tests" / "scripts" / "ui_tour.txt"
GALLERY = ROOT / "tests" / "ui_gallery.py"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
TOUR_SHOTS = [
    "attract", "not_on_roster", "identify", "confirm", "consent", "scan_code", "guide",
    "countdown", "capturing", "review", "saving", "receipt", "manual_entry", "call_staff", "staff_pin",
    "staff", "staff_sync", "staff_rejected", "staff_schedule",
]  # fmt: skip
KEY_TEXT = re.compile(r"^(state|button|hint|problem|status|device|prompt|consent|ui|check|sync_problem|reject_reason|backdrop)\.[A-Za-z0-9_.]+$")


def test_ui_tour_every_screen(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    cmd = kiosk_command() + [
        "--config", str(write_config(tmp_path)), "run", "--demo",
        "--script", str(TOUR), "--screenshots", str(shots),
    ]  # fmt: skip
    result = run_windowed(cmd, tmp_path)
    tail = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 0, tail
    assert "ok: capture stored" in result.stdout, tail
    seen = {}
    for name in TOUR_SHOTS:
        path = shots / f"{name}.png"
        assert path.is_file(), f"no screenshot {name}: {tail}"
        seen[name] = assert_not_blank(path, (800, 480))
    assert not list(shots.glob("*0001.png")), "screenshots are renamed to NAME.png"
    # each screen looks different from the one before it (nothing stuck)
    for before, after in zip(TOUR_SHOTS, TOUR_SHOTS[1:]):
        assert np.abs(seen[before] - seen[after]).mean() > 1, f"{before} and {after} look the same"


# The smallest screen in both languages; the larger ones once each (English
# texts are the longest, Chinese the default).
@pytest.mark.parametrize(
    ("size", "lang"),
    [((800, 480), "zh_CN"), ((800, 480), "en"), ((1024, 600), "en"), ((1920, 1080), "zh_CN")],
    ids=["800x480-zh", "800x480-en", "1024x600-en", "1920x1080-zh"],
)
def test_every_screen_fits_and_is_translated(tmp_path: Path, size: tuple[int, int], lang: str) -> None:
    out = tmp_path / "gallery"
    cmd = [sys.executable, str(GALLERY), "--size", f"{size[0]}x{size[1]}", "--lang", lang, "--out", str(out)]
    result = run_windowed(cmd, tmp_path)
    report_path = out / "report.json"
    assert report_path.is_file(), (result.stdout + result.stderr)[-3000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert "attract" in report and len(report) >= 15
    problems = {name: r["problems"] for name, r in report.items() if r["problems"]}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    # The receipt's QR code reads back as its link (OpenCV's decoder, from the screenshot).
    qr = cv2.imread(str(out / "receipt_qr.png"))
    assert cv2.QRCodeDetector().detectAndDecode(qr)[0] == \
        "https://photo.school.edu.cn/status/vB915ZzMjCzE6myPVNCjuTB5"  # ui_gallery's sample
    keys_shown = {name: [t for t in r["texts"] if KEY_TEXT.match(t)] for name, r in report.items()}
    assert not any(keys_shown.values()), f"untranslated: {keys_shown}"
    if lang == "zh_CN":
        assert "毕业生图像信息采集" in report["attract"]["texts"]
    else:
        assert "Graduate Photo Collection" in report["attract"]["texts"]
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for name in report:
        assert_not_blank(out / f"{name}.png", size)


TOUCH = """
import json, os, sys
os.environ["KIVY_NO_ARGS"] = "1"
from pathlib import Path
from kiosk.config import load_config
from kiosk.runtime import KioskRuntime
from kiosk.screens.app import KioskApp
from kiosk.screens.window import configure_kivy
from kivy.clock import Clock
from kivy.tests.common import UnitTestTouch

config = load_config(Path(sys.argv[1])).as_demo()
configure_kivy(config)
runtime = KioskRuntime(config)
app = KioskApp(runtime, config, demo=True)
out = {"steps": []}

def shown(w):
    while w is not None and w is not w.parent:
        if w.opacity == 0:
            return False
        w = w.parent
    return True

def tap(screen, cls, **attrs):
    for w in app.root.get_screen(screen).walk(restrict=True):
        if type(w).__name__ == cls and all(getattr(w, k, None) == v for k, v in attrs.items()) and shown(w):
            x, y = w.to_window(*w.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()
            return
    raise LookupError((screen, cls, attrs))

def showing(screen, unlocked=None):
    # the window shows this screen (not just the flow's state)
    def ready():
        view = runtime.flow.view()
        return (app.root.current == screen and view.state.value == screen
                and (unlocked is None or view.staff_unlocked == unlocked))
    return ready

# (wait until, then do): each tap waits for the window to show what it taps
steps = [
    (showing("attract"), lambda: tap("attract", "KButton", code="staff")),
    (showing("staff", False), lambda: [tap("staff", "PinKey", text=d) for d in "2468"]),
    (lambda: True, lambda: out.update(typed=app.root.get_screen("staff").pin)),
    (lambda: True, lambda: tap("staff", "PinKey", text=app.tr("ui.staff.enter"))),
    (showing("staff", True), lambda: tap("staff", "StaffTab", code="staff_sync")),
    (lambda: runtime.flow.view().staff_page == "sync",
     lambda: tap("staff", "StaffTab", code="staff_schedule")),
    (lambda: runtime.flow.view().staff_page == "schedule",
     lambda: tap("staff", "KButton", code="staff_exit")),
    (showing("attract"), lambda: None),
]
settled = {"frames": 0}

def run(dt, i=0, waited=0.0):
    if i == len(steps):
        print(json.dumps(out))
        app.stop()
        return
    ready, action = steps[i]
    if not ready():
        settled["frames"] = 0
        if waited > 20:
            out["stuck_at"] = i
            print(json.dumps(out))
            app.stop()
            return
        Clock.schedule_once(lambda dt: run(dt, i, waited + 0.1), 0.1)
        return
    settled["frames"] += 1
    if settled["frames"] < 3:  # a few frames: laid out and drawn
        Clock.schedule_once(lambda dt: run(dt, i, waited), 0.05)
        return
    settled["frames"] = 0
    view = runtime.flow.view()
    out["steps"].append([view.state.value, view.staff_unlocked, view.staff_page])
    action()
    Clock.schedule_once(lambda dt: run(dt, i + 1), 0.1)

Clock.schedule_once(run, 0.5)
app.run()
"""


def test_staff_screen_takes_real_touches(tmp_path: Path) -> None:
    """The PIN pad under the hidden staff pages, the tabs and the exit, tapped like a finger."""
    result = run_windowed([sys.executable, "-c", TOUCH, str(write_config(tmp_path))], tmp_path, timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "stuck_at" not in out, out
    assert out["typed"] == "2468", out
    assert out["steps"] == [
        ["attract", False, "status"],  # tap the staff button
        ["staff", False, "status"],  # tap 2, 4, 6, 8
        ["staff", False, "status"],
        ["staff", False, "status"],  # tap enter
        ["staff", True, "status"],  # unlocked: tap the sync tab
        ["staff", True, "sync"],  # the sessions tab
        ["staff", True, "schedule"],  # exit
        ["attract", False, "status"],
    ], out


RENDER = """
import json, os, sys
os.environ["KIVY_NO_ARGS"] = "1"
from pathlib import Path
import kivy
from kivy.core.window import Window  # a GL context for the textures
from kivy.core.text import Label as CoreLabel
from kiosk.screens.window import register_font

def pixels(text, size, font=None):
    kw = {"font_name": font} if font else {}
    label = CoreLabel(text=text, font_size=size, **kw)
    label.refresh()
    return label.texture.pixels

roboto = str(Path(kivy.__file__).parent / "data" / "fonts" / "Roboto-Regular.ttf")
out = {"roboto_same": pixels("毕", 40, roboto) == pixels("业", 40, roboto)}
out["registered"] = register_font(Path(sys.argv[1]))
a, b = pixels("毕", 41), pixels("业", 41)
out["cjk_differ"] = a != b
out["cjk_ink"] = sum(1 for i in range(3, len(a), 4) if a[i] > 128)
print(json.dumps(out))
"""


def test_chinese_renders_with_the_registered_font(tmp_path: Path) -> None:
    if not Path(FONT).is_file():
        service_missing("fonts-wqy-microhei not installed", "the font test")
    result = run_windowed([sys.executable, "-c", RENDER, FONT], tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["roboto_same"], "Kivy's Roboto draws both as the same box: the check can see tofu"
    assert out["registered"]
    assert out["cjk_differ"], "two different characters render the same: tofu"
    assert out["cjk_ink"] > 50


DEMO = """
import json, os, sys
os.environ["KIVY_NO_ARGS"] = "1"
from pathlib import Path
from kiosk.config import load_config
from kiosk.tools.prompts import make_prompts
from kiosk.runtime import KioskRuntime
from kiosk.screens.app import KioskApp
from kiosk.screens.window import configure_kivy

config = load_config(Path(sys.argv[1])).as_demo()
config = config.model_copy(update={"audio": config.audio.model_copy(update={"muted": False})})
make_prompts(config.audio.prompts_dir)
configure_kivy(config)
runtime = KioskRuntime(config)
app = KioskApp(runtime, config, demo=True)
out = {}

from kivy.clock import Clock
from kivy.core.window import Window

def key(code, text):
    Window.dispatch("on_key_down", code, 0, text, [])

def at_attract(dt):
    out["start"] = app.root.current
    out["said"] = app.player.say("prompt.saved")  # a real WAV through Kivy's SoundLoader
    key(ord("1"), "1")  # the first simulated card: zhangsan

import time
card_deadline = [0.0]

def wait_for_card(dt):
    # The reader thread and the roster's slow hash take their time: wait for
    # the screen to show the outcome (up to 20 s), not a fixed delay. The card
    # is put down once: a press must never be lost.
    if not card_deadline[0]:
        card_deadline[0] = time.monotonic() + 20
    if app.root.current in ("attract", "checking") and time.monotonic() < card_deadline[0]:
        return True  # keep polling
    on_card()
    Clock.schedule_once(finish, 0.5)
    return False

def on_card():
    out["after_card"] = app.root.current
    key(ord("l"), "l")
    out["card_on_reader"] = runtime.reader.card_on_reader
    key(ord("u"), "u")
    out["unplugged"] = runtime.camera.scene.unplugged
    key(276, "")  # left arrow
    out["dx"] = runtime.camera.scene.dx
    app.press("language")
    out["lang"] = app.lang

def finish(dt):
    print(json.dumps(out))
    app.stop()

# The first frame, the earliest a key can arrive: before the app's first poll
# and before the reader thread has opened the reader.
Clock.schedule_once(at_attract, 0)
Clock.schedule_once(lambda dt: Clock.schedule_interval(wait_for_card, 0.1), 0)
app.run()
"""


def test_demo_keyboard_and_sound(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        service_missing("espeak-ng not installed", "the sound test")
    result = run_windowed([sys.executable, "-c", DEMO, str(write_config(tmp_path))], tmp_path, timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["start"] == "attract"
    assert out["said"] is True
    assert out["after_card"] == "confirm", out
    assert out["card_on_reader"] is None
    assert out["unplugged"] is True
    assert out["dx"] != 0
    assert out["lang"] == "en"
