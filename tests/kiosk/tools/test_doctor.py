"""`kiosk doctor`: simulated devices, a real school server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk import cli
from kiosk.codes import KioskStatus
from kiosk.config import Config, parse_config
from kiosk.tools.doctor import (Check, Devices, Status, all_well, as_json, check_booth, check_camera,
                          check_clock, check_reader, device_checks, ntp_synchronised, system_checks)
from kiosk.hardware.camera_sim import SimulatedCamera
from kiosk.hardware.backends import make_card_reader
from kiosk.hardware.lights import Lights
from kiosk.hardware.status_led import StatusLed
from kiosk.i18n import Translator
from kiosk.photo.backdrop import Backdrop
from kiosk.capture.enrolment import enrol
from server.harness import Deployment

CENTRE = "centre-doctor"
SYNCED = lambda: True  # noqa: E731  (the machine's own clock is whatever it is)


def booth_config(tmp_path: Path, server: Deployment | None = None, **sections: dict) -> Config:
    import base64

    data = {"kiosk": {"id": "booth-doc", "data_dir": str(tmp_path / "data"), "min_free_mb": 1},
            "audio": {"muted": True}}
    if server is not None:
        data["sync"] = {"server_url": server.server.url,
                        "server_public_key": base64.b64encode(server.public_key).decode()}
    data.update(sections)
    return parse_config(data)


def by_check(findings: list) -> dict[Check, object]:
    return {f.check: f for f in findings}


def test_a_ready_booth_is_all_well(tmp_path: Path, deployment: Deployment) -> None:
    config = booth_config(tmp_path, deployment)
    enrol(deployment.server.url, deployment.enrol_code(CENTRE), "booth-doc", config.kiosk.data_dir)
    Backdrop(calibrated_at="2026-12-01T09:30:00+08:00").save(config.kiosk.data_dir)

    findings = check_booth(config, synchronised=SYNCED)
    assert [f.check for f in findings] == list(Check)
    assert {f.check: f.status for f in findings} == {c: Status.OK for c in Check}, findings
    found = by_check(findings)
    assert found[Check.CAMERA].figures == {"preview": "640x480", "still": "2028x1520"}
    assert found[Check.BACKDROP].figures == {"when": "2026-12-01 09:30"}
    assert all_well(findings)


def test_sync_problems_say_what_to_do(tmp_path: Path, deployment: Deployment) -> None:
    config = booth_config(tmp_path, deployment)
    found = by_check(system_checks(config, synchronised=SYNCED))
    assert found[Check.SERVER].status == Status.OK
    assert found[Check.ENROLMENT].outcome == "not_enrolled"

    (config.kiosk.data_dir).mkdir(parents=True, exist_ok=True)
    (config.kiosk.data_dir / "sync.token").write_text("not-a-token-the-server-gave")
    found = by_check(system_checks(config, synchronised=SYNCED))
    assert found[Check.ENROLMENT].outcome == "refused"
    assert found[Check.BACKDROP].outcome == "not_calibrated"
    assert not all_well(list(found.values()))


def test_unreachable_server(tmp_path: Path, deployment: Deployment) -> None:
    with socket.socket() as s:  # a port on 127.0.0.1 with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = booth_config(tmp_path, deployment)
    config = config.model_copy(update={"sync": config.sync.model_copy(
        update={"server_url": f"http://127.0.0.1:{port}"})})
    found = by_check(system_checks(config, synchronised=SYNCED,
                                   client=httpx.Client(timeout=2)))
    assert found[Check.SERVER].outcome == "unreachable" and found[Check.SERVER].status == Status.PROBLEM
    assert found[Check.ENROLMENT].status == Status.SKIPPED


def test_offline_booth_skips_the_sync_checks(tmp_path: Path) -> None:
    found = by_check(system_checks(booth_config(tmp_path), synchronised=SYNCED))
    assert found[Check.SERVER].status == found[Check.ENROLMENT].status == Status.SKIPPED


def test_low_disk(tmp_path: Path) -> None:
    config = booth_config(tmp_path, kiosk={"data_dir": str(tmp_path / "d"), "min_free_mb": 10**9})
    disk = by_check(system_checks(config, synchronised=SYNCED))[Check.DISK]
    assert disk.outcome == "low" and disk.figures["min_mb"] == 10**9


@pytest.mark.parametrize("kernel, synced", [((0, 1200), True), ((5, 1200), False),
                                            ((0, 16_000_000), False), ((-1, 0), False)])
def test_ntp_synchronised_reads_the_kernel_clock(kernel: tuple[int, int], synced: bool) -> None:
    assert ntp_synchronised(lambda: kernel) is synced
    clock = check_clock(ZoneInfo("Asia/Shanghai"), lambda: synced)
    assert clock.status == (Status.OK if synced else Status.PROBLEM)


@pytest.fixture
def utc_system(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The system's own zone is UTC (as on a fresh Pi image), not the school's."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_doctor_tells_the_time_in_the_booths_zone(tmp_path: Path, utc_system: None) -> None:
    """A photo at 08:59 in Beijing is 00:59 UTC: the clock and the backdrop's
    calibration read 08:59 (the [kiosk] timezone), never the system's UTC."""
    at = datetime(2026, 6, 20, 0, 59, tzinfo=timezone.utc)
    assert check_clock(ZoneInfo("Asia/Shanghai"), SYNCED, now=at).figures == {
        "now": "2026-06-20 08:59"}
    config = booth_config(tmp_path)
    config.kiosk.data_dir.mkdir(parents=True)
    Backdrop(calibrated_at=at.isoformat(timespec="seconds")).save(config.kiosk.data_dir)
    found = by_check(system_checks(config, synchronised=SYNCED))
    assert found[Check.BACKDROP].figures == {"when": "2026-06-20 08:59"}
    now = found[Check.CLOCK].figures["now"]  # the real clock, read in the booth's zone
    beijing = [(datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=m))
               .strftime("%Y-%m-%d %H:%M") for m in (0, 1)]
    assert now in beijing, (now, beijing)
    config = booth_config(tmp_path, kiosk={"data_dir": str(tmp_path / "data"),
                                           "timezone": "Europe/London", "min_free_mb": 1})
    found = by_check(system_checks(config, synchronised=SYNCED))
    assert found[Check.BACKDROP].figures == {"when": "2026-06-20 01:59"}  # BST


def test_unplugged_camera_and_missing_reader(tmp_path: Path) -> None:
    config = booth_config(tmp_path)
    camera = SimulatedCamera(config.camera)
    camera.update_scene(unplugged=True)
    finding = check_camera(camera, started=False)
    assert finding.status == Status.PROBLEM and "unplugged" in finding.error

    sam = booth_config(tmp_path, id_reader={"backend": "sam", "port": "/dev/ttyNOPE0"})
    finding = check_reader(make_card_reader(sam.id_reader), opened=False)
    assert finding.status == Status.PROBLEM and finding.outcome == "failed"


def test_gpio_pin_clash_is_a_lights_or_led_problem(tmp_path: Path) -> None:
    # The LED's red pin is one of the lights' pins: opening it fails.
    config = booth_config(tmp_path, gpio={"lights_pins": [12, 17]})
    found = by_check(check_booth(config, synchronised=SYNCED))
    assert found[Check.LIGHTS].status == Status.OK
    assert found[Check.STATUS_LED].status == Status.PROBLEM


def test_staff_mode_checks_the_running_devices_in_place(tmp_path: Path) -> None:
    config = booth_config(tmp_path)
    factory = MockFactory(pin_class=MockPWMPin)
    camera = SimulatedCamera(config.camera)
    camera.start()
    reader = make_card_reader(config.id_reader)
    reader.open()
    lights = Lights([12, 13], 1.0, factory)
    led = StatusLed((17, 27, 22), factory)
    findings = device_checks(Devices(camera, lights, led, reader))
    assert [f.status for f in findings] == [Status.OK] * 4
    assert led.status == KioskStatus.STAFF  # the LED still says "staff mode"
    levels = [s.state for s in factory.pin(12).states]
    assert levels[-2:] == [1.0, 0.0]  # the lights went on, then off
    camera.close()
    reader.close()


def test_every_outcome_has_words_in_both_languages(tmp_path: Path, deployment: Deployment) -> None:
    findings = check_booth(booth_config(tmp_path, deployment), synchronised=lambda: False)
    findings += check_booth(booth_config(tmp_path), synchronised=SYNCED)
    for lang in ("zh_CN", "en"):
        tr = Translator(lang)
        doc = as_json(findings, tr.t)
        for item in doc["checks"]:
            assert not item["message"].startswith("doctor."), item
            assert (item["fix"] is None) == (item["status"] != "problem"), item
            if item["fix"]:
                assert not item["fix"].startswith("doctor."), item


def test_cli_json_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\nlanguage = "en"\n', encoding="utf-8")
    code = cli.main(["--config", str(cfg), "doctor", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in doc["checks"]] == [c.value for c in Check]
    backdrop = doc["checks"][-1]
    assert backdrop["status"] == "problem" and "Calibrate backdrop" in backdrop["fix"]
    assert doc["ok"] is False and code == 1


def test_cli_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    code = cli.main(["--config", str(cfg), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[ok] 摄像头: 摄像头正常" in out and "[!!] 背景布校准" in out and "-> 在维护模式中" in out
    assert "项需要处理" in out.splitlines()[-1]


def test_cli_bad_config_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[kiosk]\nstaff_pin = 12\n", encoding="utf-8")
    assert cli.main(["--config", str(cfg), "doctor"]) == 2
    assert "staff_pin" in capsys.readouterr().err


def test_staff_mode_doctor_page_runs_the_checks_on_the_kiosks_devices(tmp_path: Path) -> None:
    import time

    from kiosk.codes import Button, State
    from kiosk.runtime import KioskRuntime

    config = booth_config(tmp_path, roster={"path": str(Path(__file__).resolve().parents[3] / "examples" /
                                                        "roster-demo.csv")})
    runtime = KioskRuntime(config)
    runtime.start()
    try:
        deadline = time.monotonic() + 30
        while not runtime.devices_up and time.monotonic() < deadline:
            runtime.poll()
            time.sleep(0.05)
        runtime.press(Button.STAFF)
        runtime.enter_pin(config.kiosk.staff_pin)
        runtime.press(Button.STAFF_DOCTOR)
        view = runtime.poll()
        assert view.state == State.STAFF and view.staff_page == "doctor" and view.doctor_running
        while not view.doctor and time.monotonic() < deadline:
            time.sleep(0.05)
            view = runtime.poll()
        assert [f.check for f in view.doctor] == list(Check)
        found = by_check(view.doctor)
        assert found[Check.CAMERA].status == found[Check.ID_READER].status == Status.OK
        assert found[Check.BACKDROP].status == Status.PROBLEM
        assert not view.doctor_running and view.status == KioskStatus.STAFF
        runtime.press(Button.STAFF_EXIT)
        assert runtime.poll().doctor == ()  # not shown outside staff mode
    finally:
        runtime.stop()
