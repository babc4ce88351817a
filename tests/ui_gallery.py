"""Render every screen with sample Views, without devices, and check the layout.

    python tests/ui_gallery.py --size 1024x600 --out DIR [--lang en] [--only attract,guide]

Runs the real KioskApp against a stand-in runtime whose View is set by this
program, saves DIR/<sample>.png for each sample and DIR/report.json listing
layout problems: a visible widget outside the window, or a label whose text
does not fit its box. tests/kiosk/screens/test_ui.py runs it as a subprocess (one window
per process); it is also handy for looking at the screens while editing.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a program, tests/ is sys.path[0] and its kiosk/ folder (the tests'
# mirror of the package) would shadow the real package: put the project first.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from datetime import datetime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import numpy as np  # noqa: E402

from kiosk.codes import (BackdropResult, Device, Hint, KioskStatus, Problem, RejectReason, State, SyncProblem,  # noqa: E402
                         UsbResult)
from kiosk.config import Config, parse_config  # noqa: E402
from kiosk.session import RejectedCapture, SyncInfo, UsbOutcome, View  # noqa: E402
from kiosk.identity.schedule import SessionWindow  # noqa: E402

# The samples' wall clock: a Sunday morning at a Beijing learning centre.
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
from kiosk.script import ScriptResult  # noqa: E402


def sample_frame() -> np.ndarray:
    """A 640x480 preview: the astronaut on a blue backdrop if scikit-image is there."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:] = (100, 197, 255)
    try:
        from skimage.data import astronaut
        from skimage.transform import resize

        face = (resize(astronaut()[0:300, 100:350], (260, 216)) * 255).astype(np.uint8)
        frame[60:320, 212:428] = face
    except ImportError:
        yy, xx = np.mgrid[0:480, 0:640]
        frame[((xx - 320) / 80) ** 2 + ((yy - 200) / 105) ** 2 < 1] = (224, 180, 150)
    return frame


def sample_jpeg(compliant: bool) -> bytes:
    from PIL import Image

    img = Image.fromarray(sample_frame()[:, 80:560]).resize((480, 640))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time `day` days after NOW's date."""
    return NOW.replace(hour=hour, minute=minute) + timedelta(days=day)


def sessions() -> tuple[SessionWindow, ...]:
    return (
        SessionWindow("上午场", at(0, 8, 30), at(0, 12)),
        SessionWindow("下午场", at(0, 14), at(0, 17, 30)),
        SessionWindow("evening makeup session", at(0, 18, 30), at(0, 20, 30)),
        SessionWindow("上午场（第二天）", at(1, 8, 30), at(1, 12)),
        SessionWindow("下午场（第二天）", at(1, 14), at(1, 17, 30)),
    )


def rejected() -> tuple[RejectedCapture, ...]:
    reasons = (RejectReason.CONFLICT, RejectReason.FILE_DAMAGED, RejectReason.OTHER_KIOSK)
    return tuple(RejectedCapture(f"{n:x}1b2c3d4e"[:8], reasons[n], at(-n, 9 + n, 12))
                 for n in range(3))


def samples() -> list[tuple[str, View]]:
    V, S = View, State
    busy = KioskStatus.BUSY
    staff = dict(staff_unlocked=True, now=NOW, free_mb=11_878)
    server = dict(configured=True, queue_depth=12, last_success=at(-1, 17, 42))
    return [
        ("attract", V(S.ATTRACT, KioskStatus.READY)),
        ("attract_larger", V(S.ATTRACT, KioskStatus.READY)),
        ("attract_session", V(S.ATTRACT, KioskStatus.READY, now=NOW, schedule_known=True,
                              session_now=sessions()[0], sessions_today=3)),
        ("attract_next_session", V(S.ATTRACT, KioskStatus.QUEUE, now=NOW, schedule_known=True,
                                   session_next=sessions()[2], sessions_today=3)),
        ("identify", V(S.IDENTIFY, busy, seconds_left=58)),
        ("identify_problem", V(S.IDENTIFY, busy, problem=Problem.CARD_EXPIRED, seconds_left=12)),
        ("checking", V(S.CHECKING, busy, checking=True)),
        ("confirm", V(S.CONFIRM, busy, name="欧阳娜娜", id_masked="110101********1236", programme="计算机科学与技术", id_method="card")),
        ("confirm_disputed", V(S.CONFIRM, busy, name="欧阳娜娜", id_masked="110101********1236", id_method="card", name_disputed=True)),
        ("confirm_no_name", V(S.CONFIRM, busy, id_masked="110101********1236", id_method="card")),
        ("confirm_retake", V(S.CONFIRM, busy, name="热依拉·买买提", id_masked="650102********2341", id_method="card", retake_reason="glasses_glare")),
        ("confirm_manual", V(S.CONFIRM, busy, id_masked="310104********2468", programme="会计学", id_method="manual")),
        ("not_on_roster", V(S.NOT_ON_ROSTER, busy, problem=Problem.OTHER_CENTRE)),
        ("not_on_roster_missed", V(S.NOT_ON_ROSTER, busy, problem=Problem.MISSED_SESSION)),
        ("not_on_roster_own", V(S.NOT_ON_ROSTER, busy, problem=Problem.OTHER_CENTRE, now=NOW,
                                own_session="2026-06-b", own_centre="海淀校区", own_window=sessions()[2])),
        ("not_on_roster_elsewhere", V(S.NOT_ON_ROSTER, busy, problem=Problem.OTHER_CENTRE,
                                      own_session="2026-06-a", own_centre="西湖学习中心")),
        ("manual_entry_pin", V(S.MANUAL_ENTRY, busy, problem=Problem.PIN_WRONG, seconds_left=15)),
        ("manual_entry", V(S.MANUAL_ENTRY, busy, staff_unlocked=True, id_entry="1101011999130700")),
        ("manual_entry_valid", V(S.MANUAL_ENTRY, busy, staff_unlocked=True, id_entry="310104200011022468")),
        ("consent", V(S.CONSENT, busy, consent_version="2026-11-v1")),
        ("consent_larger", V(S.CONSENT, busy, consent_version="2026-11-v1")),
        ("scan_code", V(S.SCAN_CODE, busy, problem=Problem.CODE_INVALID)),
        ("scan_code_checking", V(S.SCAN_CODE, busy, checking=True)),
        ("guide", V(S.GUIDE, busy, hints=(Hint.HAIR_OFF_FACE, Hint.MOVE_LEFT))),
        ("guide_ready", V(S.GUIDE, busy, hints=(Hint.READY,), ready=True)),
        ("guide_retry", V(S.GUIDE, busy, problem=Problem.NO_FACE_IN_PHOTO, hints=(Hint.GLASSES_GLARE,))),
        ("countdown", V(S.COUNTDOWN, busy, countdown=2, ready=True)),
        ("capturing", V(S.CAPTURING, busy)),
        ("review", V(S.REVIEW, busy, photo_jpeg=sample_jpeg(True), photo_compliant=True, retakes_left=3)),
        ("review_bad", V(
            S.REVIEW, busy, problem=Problem.PHOTO_NOT_COMPLIANT, photo_jpeg=sample_jpeg(False),
            photo_problems=("EYE_LINE_OUT_OF_BAND", "HEAD_TOP_OUT_OF_BAND"), retakes_left=2,
        )),
        ("saving", V(S.SAVING, busy)),
        ("receipt", V(S.RECEIPT, busy, capture_id="49985f9b0c1d4e2f", reference="4998-5F9B",
                      photo_jpeg=sample_jpeg(True), seconds_left=118)),
        ("receipt_qr", V(S.RECEIPT, busy, capture_id="49985f9b0c1d4e2f", reference="4998-5F9B",
                         photo_jpeg=sample_jpeg(True), seconds_left=118,
                         status_url="https://photo.school.edu.cn/status/vB915ZzMjCzE6myPVNCjuTB5")),
        ("receipt_leaving", V(S.RECEIPT, busy, capture_id="49985f9b0c1d4e2f", reference="4998-5F9B",
                              photo_jpeg=sample_jpeg(True), seconds_left=12)),
        ("call_staff", V(
            S.CALL_STAFF, KioskStatus.ERROR, problem=Problem.CAMERA_FAILED, failed_devices=(Device.CAMERA,),
        )),
        ("call_staff_roster", V(
            S.CALL_STAFF, KioskStatus.ERROR, problem=Problem.ROSTER_UNUSABLE, failed_devices=(Device.ROSTER,),
            problem_detail="/etc/photo-kiosk/roster-2026-graduates.csv: missing column 'programme' "
                           "(need id_number,name,programme,centre,session; found id_number,name,centre,session)",
        )),
        ("staff", V(S.STAFF, KioskStatus.STAFF, problem=Problem.PIN_WRONG)),
        ("staff_unlocked", V(
            S.STAFF, KioskStatus.STAFF, staff_unlocked=True, failed_devices=(Device.CAMERA, Device.ID_READER),
            problem=Problem.CAMERA_FAILED, queue_depth=3, online=False,
        )),
        ("staff_backdrop_refused", V(
            S.STAFF, KioskStatus.STAFF, backdrop_result=BackdropResult.WRONG_COLOUR, **staff,
        )),
        ("staff_backdrop_ok", V(
            S.STAFF, KioskStatus.STAFF, backdrop_result=BackdropResult.OK, backdrop_at=at(0, 9, 12), **staff,
        )),
        ("staff_backdrop_measuring", V(
            S.STAFF, KioskStatus.STAFF, backdrop_result=BackdropResult.MEASURING, **staff,
        )),
        # staff mode's pages: sync, refused captures, sessions
        ("staff_sync", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=12, online=False,
            sync_configured=True, sync=SyncInfo(online=False, problem=SyncProblem.UNREACHABLE, **server),
            **staff,
        )),
        ("staff_sync_revoked", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=12, online=False,
            sync_configured=True, sync=SyncInfo(online=False, problem=SyncProblem.TOKEN_REVOKED,
                                                uploads_stopped=True, rejected_total=5, **server),
            **staff,
        )),
        ("staff_sync_busy", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=3, online=True,
            sync_configured=True, sync=SyncInfo(online=True, problem=SyncProblem.BUSY, **server),
            **staff,
        )),
        ("staff_sync_ok", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=0, sync_configured=True,
            sync=SyncInfo(configured=True, last_success=at(0, 10, 29)), **staff,
        )),
        # an offline booth's USB exchange: done with a problem, refused, under way
        ("staff_usb_done", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=0,
            usb=UsbOutcome(UsbResult.DONE, acknowledged=1234, exported=56, problems=2), **staff,
        )),
        ("staff_usb_not_enrolled", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=56,
            usb=UsbOutcome(UsbResult.NOT_ENROLLED), **staff,
        )),
        ("staff_usb_working", V(
            S.STAFF, KioskStatus.STAFF, staff_page="sync", queue_depth=56,
            usb=UsbOutcome(UsbResult.WORKING), **staff,
        )),
        ("staff_rejected", V(
            S.STAFF, KioskStatus.STAFF, staff_page="rejected", queue_depth=12, sync_configured=True,
            sync=SyncInfo(problem=SyncProblem.REFUSED, rejected=rejected(), rejected_total=5, **server),
            **staff,
        )),
        ("staff_rejected_none", V(
            S.STAFF, KioskStatus.STAFF, staff_page="rejected", sync_configured=True, **staff,
        )),
        ("staff_schedule", V(
            S.STAFF, KioskStatus.STAFF, staff_page="schedule", schedule_known=True, session="上午场",
            session_now=sessions()[0], sessions_today=3, schedule=sessions(), **staff,
        )),
        ("staff_schedule_makeup", V(
            S.STAFF, KioskStatus.STAFF, staff_page="schedule", schedule_known=True, makeup_mode=True,
            schedule=sessions()[3:], **{**staff, "now": at(0, 21)},
        )),
        ("staff_schedule_between", V(
            S.STAFF, KioskStatus.STAFF, staff_page="schedule", schedule_known=True,
            schedule=sessions(), **{**staff, "now": at(0, 12, 40)},
        )),
        ("staff_schedule_unknown", V(
            S.STAFF, KioskStatus.STAFF, staff_page="schedule", session="demo-session", **staff,
        )),
        ("staff_doctor", V(S.STAFF, KioskStatus.STAFF, staff_page="doctor", doctor=doctor_findings(), **staff)),
        ("staff_doctor_running", V(S.STAFF, KioskStatus.STAFF, staff_page="doctor", doctor_running=True,
                                   **staff)),
    ]


def doctor_findings() -> tuple:
    """A booth with an unplugged reader, no network time and no calibration yet."""
    from kiosk.tools import doctor as d
    from kiosk.tools.doctor import Check, Finding, Status

    ok = Status.OK
    return (
        Finding(Check.CAMERA, ok, "doctor.camera.ok", figures={"preview": "640x480", "still": "4056x3040"}),
        Finding(Check.LIGHTS, ok, "doctor.lights.ok"),
        Finding(Check.STATUS_LED, ok, "doctor.status_led.ok"),
        Finding(Check.ID_READER, Status.PROBLEM, *d.ID_READER_NOT_FOUND),
        Finding(Check.DISK, ok, "doctor.disk.ok", figures={"free_mb": 11878}),
        Finding(Check.CLOCK, Status.PROBLEM, *d.CLOCK_UNSYNCED, figures={"now": "2026-11-22 10:30"}),
        Finding(Check.SERVER, ok, "doctor.server.ok", figures={"url": "https://photo.school.example"}),
        Finding(Check.ENROLMENT, ok, "doctor.enrolment.ok", figures={"kiosk": "booth-01"}),
        Finding(Check.BACKDROP, Status.PROBLEM, *d.BACKDROP_NOT_CALIBRATED),
    )


class StandInRuntime:
    """Just enough of KioskRuntime: a View set from outside, a still preview frame."""

    def __init__(self, view: View) -> None:
        self.view = view
        self.frame = sample_frame()
        self.on_prompt = None
        self.devices_up = True
        self.pressed: list[str] = []

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def poll(self) -> View:
        return self.view

    def press(self, button) -> None:
        self.pressed.append(button.value)

    def enter_pin(self, pin: str) -> None: ...

    def enter_id_number(self, text: str) -> None: ...

    def latest_frame(self) -> np.ndarray | None:
        return self.frame if self.view.state in (State.SCAN_CODE, State.GUIDE, State.COUNTDOWN) else None


def layout_problems(screen, window_size: tuple[int, int]) -> list[str]:
    """Visible widgets outside the window; labels whose text overflows their box."""
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    ww, wh = window_size
    problems = []
    scrolled = set()
    for w in screen.walk(restrict=True):
        if isinstance(w, ScrollView):
            scrolled |= {id(c) for c in w.walk(restrict=True) if c is not w}
    for w in screen.walk(restrict=True):
        if id(w) in scrolled or w.width <= 1 or w.height <= 1 or _hidden(w):
            continue
        x0, y0 = w.to_window(w.x, w.y)
        x1, y1 = w.to_window(w.right, w.top)
        name = f"{type(w).__name__}({getattr(w, 'text', '')[:20]!r})"
        if x0 < -1 or y0 < -1 or x1 > ww + 1 or y1 > wh + 1:
            problems.append(f"{name} at ({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f}) is outside {ww}x{wh}")
        if isinstance(w, Label) and w.text:
            w.texture_update()
            tw, th = w.texture_size
            if tw > w.width + 2 or th > w.height + 2:
                problems.append(f"{name}: text {tw}x{th} does not fit {w.width:.0f}x{w.height:.0f}")
    return problems


def visible_texts(screen) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in screen.walk(restrict=True) if isinstance(w, Label) and w.text and not _hidden(w)]


def _hidden(w) -> bool:
    seen = set()
    while w is not None and id(w) not in seen:  # the Window is its own parent
        if getattr(w, "opacity", 1) == 0:
            return True
        seen.add(id(w))
        w = w.parent
    return False


class GalleryRunner:
    """Plays the ScriptRunner's part: one sample per screenshot."""

    def __init__(self, app, runtime: StandInRuntime, items: list[tuple[str, View]], report: dict) -> None:
        self.app, self.runtime, self.items, self.report = app, runtime, items, report
        self.index = 0
        self.settled = 0

    def step(self, view: View) -> ScriptResult | None:
        from kivy.core.window import Window

        if self.index >= len(self.items):
            return ScriptResult(True, f"{len(self.items)} screens", "gallery")
        name, sample = self.items[self.index]
        if self.runtime.view is not sample:
            self.runtime.view, self.settled = sample, 0
            from kiosk.screens.app import LARGER_TEXT  # "<name>_larger": the 大字 option on

            self.app.text_scale = LARGER_TEXT if name.endswith("_larger") else 1.0
            return None
        self.settled += 1
        if self.settled < 3:  # let the app show it first (the script would wait too)
            return None
        if self.app.screenshot_hook(name):
            screen = self.app.root.current_screen
            self.report[name] = {
                "state": screen.name,
                "problems": layout_problems(screen, Window.size),
                "texts": visible_texts(screen),
            }
            self.index += 1
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="800x480")
    p.add_argument("--out", required=True)
    p.add_argument("--lang", default="zh_CN")
    p.add_argument("--only", default="")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    config: Config = parse_config({
        "screen": {"width": width, "height": height},
        "kiosk": {"language": args.lang},
        "audio": {"muted": True},
    })  # fmt: skip
    from kiosk.screens.app import KioskApp
    from kiosk.screens.window import configure_kivy

    configure_kivy(config)
    items = samples()
    if args.only:
        wanted = set(args.only.split(","))
        items = [(n, v) for n, v in items if n in wanted]
    runtime = StandInRuntime(items[0][1])
    out = Path(args.out)
    app = KioskApp(runtime, config, screenshots=out, demo=True)
    report: dict = {}
    app.runner = GalleryRunner(app, runtime, items, report)
    app.run()
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    bad = {n: r["problems"] for n, r in report.items() if r["problems"]}
    for name, problems in bad.items():
        for problem in problems:
            print(f"{name}: {problem}")
    return app.exit_code or (1 if bad or len(report) != len(items) else 0)


if __name__ == "__main__":
    sys.exit(main())
