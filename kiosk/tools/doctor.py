"""`kiosk doctor`: is this booth ready for students? One check per part.

Each check gives a Finding: ok, a problem (with what staff should do) or
skipped (nothing to check, e.g. the sync checks on an offline booth). The
words are in the catalogs under doctor.<check>.<outcome> (and .fix for what
to do); the CLI prints them, `--json` gives them with the figures, and staff
mode shows the same on a page. No Kivy here.

The device checks work on device objects: the CLI opens them from the
config (the kiosk service must be stopped, it holds the camera and reader);
staff mode hands in the running kiosk's own.
"""

from __future__ import annotations

import ctypes
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any

import httpx

from kiosk.capture.enrolment import read_token
from kiosk.codes import KioskStatus
from kiosk.config import Config
from kiosk.hardware.backends import make_camera, make_card_reader
from kiosk.hardware.camera import Camera, CameraError
from kiosk.hardware.gpio import GpioError, use_pin_factory
from kiosk.hardware.id_reader import CardReader, ReaderError
from kiosk.hardware.lights import Lights, LightsError
from kiosk.hardware.status_led import StatusLed, StatusLedError
from kiosk.photo.backdrop import load_backdrop
from kiosk.capture.answers import API

SERVER_TIMEOUT = 5.0  # seconds: staff wait for the answer


class Check(str, Enum):
    CAMERA = "camera"
    LIGHTS = "lights"
    STATUS_LED = "status_led"
    ID_READER = "id_reader"
    DISK = "disk"
    CLOCK = "clock"
    SERVER = "server"
    ENROLMENT = "enrolment"
    BACKDROP = "backdrop"


class Status(str, Enum):
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"


# The check's name on screen.
CHECK_NAMES: dict[Check, str] = {
    Check.CAMERA: "doctor.check.camera", Check.LIGHTS: "doctor.check.lights",
    Check.STATUS_LED: "doctor.check.status_led", Check.ID_READER: "doctor.check.id_reader",
    Check.DISK: "doctor.check.disk", Check.CLOCK: "doctor.check.clock",
    Check.SERVER: "doctor.check.server", Check.ENROLMENT: "doctor.check.enrolment",
    Check.BACKDROP: "doctor.check.backdrop",
}


@dataclass(frozen=True)
class Finding:
    check: Check
    status: Status
    key: str  # catalog key of what was found: doctor.<check>.<outcome>
    fix_key: str | None = None  # catalog key of what staff should do (problems only)
    figures: dict[str, Any] = field(default_factory=dict)  # fill the texts' {placeholders}
    error: str = ""  # the device's own words, for the log and --json (never personal data)

    @property
    def outcome(self) -> str:
        return self.key.rsplit(".", 1)[-1]


# What was found and what staff should do, for each problem (catalog keys).
Fix = tuple[str, str]
BACKDROP_NOT_CALIBRATED: Fix = ("doctor.backdrop.not_calibrated", "doctor.backdrop.not_calibrated.fix")
CAMERA_FAILED: Fix = ("doctor.camera.failed", "doctor.camera.failed.fix")
CLOCK_UNSYNCED: Fix = ("doctor.clock.unsynced", "doctor.clock.unsynced.fix")
DISK_FAILED: Fix = ("doctor.disk.failed", "doctor.disk.failed.fix")
DISK_LOW: Fix = ("doctor.disk.low", "doctor.disk.low.fix")
ENROLMENT_FAILED: Fix = ("doctor.enrolment.failed", "doctor.enrolment.failed.fix")
ENROLMENT_NOT_ENROLLED: Fix = ("doctor.enrolment.not_enrolled", "doctor.enrolment.not_enrolled.fix")
ENROLMENT_REFUSED: Fix = ("doctor.enrolment.refused", "doctor.enrolment.refused.fix")
ID_READER_FAILED: Fix = ("doctor.id_reader.failed", "doctor.id_reader.failed.fix")
LIGHTS_FAILED: Fix = ("doctor.lights.failed", "doctor.lights.failed.fix")
SERVER_UNREACHABLE: Fix = ("doctor.server.unreachable", "doctor.server.unreachable.fix")
STATUS_LED_FAILED: Fix = ("doctor.status_led.failed", "doctor.status_led.failed.fix")
ID_READER_NOT_FOUND: Fix = ("doctor.id_reader.not_found", "doctor.id_reader.not_found.fix")


def _ok(check: Check, key: str, **figures: Any) -> Finding:
    return Finding(check, Status.OK, key, None, figures)


def _skipped(check: Check, key: str) -> Finding:
    return Finding(check, Status.SKIPPED, key)


def _problem(check: Check, found: Fix, error: object = "", **figures: Any) -> Finding:
    return Finding(check, Status.PROBLEM, found[0], found[1], figures, str(error))


# ------------------------------------------------------------------ devices

def check_camera(camera: Camera, started: bool) -> Finding:
    """A preview frame and a full-resolution still; opens the camera unless started."""
    try:
        if not started:
            camera.start()
        frame = camera.preview_frame()
        still = camera.capture_still()
    except CameraError as err:
        return _problem(Check.CAMERA, CAMERA_FAILED, err)
    finally:
        if not started:
            camera.close()
    return _ok(Check.CAMERA, "doctor.camera.ok", preview=f"{frame.shape[1]}x{frame.shape[0]}",
               still=f"{still.shape[1]}x{still.shape[0]}")


def check_lights(lights: Lights) -> Finding:
    try:
        lights.on()
        was_on = lights.is_on
        lights.off()
    except LightsError as err:
        return _problem(Check.LIGHTS, LIGHTS_FAILED, err)
    if not was_on or lights.is_on:
        return _problem(Check.LIGHTS, LIGHTS_FAILED, f"on={was_on}, off={not lights.is_on}")
    return _ok(Check.LIGHTS, "doctor.lights.ok")


def check_status_led(led: StatusLed, status: KioskStatus = KioskStatus.READY) -> Finding:
    """Shows ``status`` (the kiosk's own, so the check does not change what staff see)."""
    try:
        led.show(status)
    except StatusLedError as err:
        return _problem(Check.STATUS_LED, STATUS_LED_FAILED, err)
    return _ok(Check.STATUS_LED, "doctor.status_led.ok")


def check_reader(reader: CardReader, opened: bool) -> Finding:
    """Opening a SAM reader finds its port and asks the SAM's status (90 = fine)."""
    try:
        if opened:
            if not reader.is_available():
                return _problem(Check.ID_READER, ID_READER_FAILED, "the reader is not answering")
        else:
            reader.open()
        port = getattr(reader, "port", "")  # the SAM reader's; others have none
    except ReaderError as err:
        found = ID_READER_NOT_FOUND if "no SAM ID card reader found" in str(err) else ID_READER_FAILED
        return _problem(Check.ID_READER, found, err)
    finally:
        if not opened:
            reader.close()
    if not port:
        return _ok(Check.ID_READER, "doctor.id_reader.ok_no_port")
    return _ok(Check.ID_READER, "doctor.id_reader.ok", port=port)


# ------------------------------------------------------------------- system

def check_disk(config: Config) -> Finding:
    where = config.kiosk.data_dir.absolute()
    while not where.exists():  # before the first run: the disk it will be made on
        where = where.parent
    try:
        free_mb = shutil.disk_usage(where).free // 2**20
    except OSError as err:
        return _problem(Check.DISK, DISK_FAILED, err.strerror)
    if free_mb < config.kiosk.min_free_mb:
        return _problem(Check.DISK, DISK_LOW, free_mb=free_mb, min_mb=config.kiosk.min_free_mb)
    return _ok(Check.DISK, "doctor.disk.ok", free_mb=free_mb)


class _Timex(ctypes.Structure):
    # The head of Linux's struct timex; the kernel writes the rest into _rest.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_byte * 256)]


TIME_ERROR = 5  # adjtimex: the clock is not synchronised
MAX_ERROR_US = 16_000_000  # the kernel's "unsynchronised" maximum error


def read_kernel_clock() -> tuple[int, int]:
    """(adjtimex state, maximum error in µs), read-only (modes = 0)."""
    timex = _Timex()
    state = ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.byref(timex))
    return state, timex.maxerror


def ntp_synchronised(read: Callable[[], tuple[int, int]] = read_kernel_clock) -> bool:
    """What `timedatectl`'s NTPSynchronized says, from the kernel (no D-Bus needed)."""
    state, max_error = read()
    return state not in (-1, TIME_ERROR) and max_error < MAX_ERROR_US


def school_time(when: datetime, tz: tzinfo) -> str:
    """A time as staff read it: in the booth's time zone ([kiosk] timezone),
    whatever the system's is (a Pi image's is often UTC)."""
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def check_clock(tz: tzinfo, synchronised: Callable[[], bool] = ntp_synchronised,
                now: datetime | None = None) -> Finding:
    now_text = school_time(now or datetime.now(tz), tz)
    if synchronised():
        return _ok(Check.CLOCK, "doctor.clock.ok", now=now_text)
    return _problem(Check.CLOCK, CLOCK_UNSYNCED, now=now_text)


def check_server(config: Config, client: httpx.Client) -> list[Finding]:
    """School server reachable, then this booth's token accepted."""
    if not config.sync.server_url:
        return [_skipped(Check.SERVER, "doctor.server.offline"),
                _skipped(Check.ENROLMENT, "doctor.enrolment.offline")]
    url = config.sync.server_url.rstrip("/")
    try:
        health = client.get(f"{url}{API}/health")
    except httpx.HTTPError as err:
        return [_problem(Check.SERVER, SERVER_UNREACHABLE, type(err).__name__, url=url),
                _skipped(Check.ENROLMENT, "doctor.enrolment.unchecked")]
    if health.status_code != 200:
        return [_problem(Check.SERVER, SERVER_UNREACHABLE, f"HTTP {health.status_code}", url=url),
                _skipped(Check.ENROLMENT, "doctor.enrolment.unchecked")]
    server = _ok(Check.SERVER, "doctor.server.ok", url=url)
    token = read_token(config.kiosk.data_dir)
    if token is None:
        return [server, _problem(Check.ENROLMENT, ENROLMENT_NOT_ENROLLED, kiosk=config.kiosk.id)]
    try:
        reply = client.get(f"{url}{API}/schedule", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as err:
        return [server, _problem(Check.ENROLMENT, ENROLMENT_FAILED, type(err).__name__)]
    if reply.status_code == 401:
        return [server, _problem(Check.ENROLMENT, ENROLMENT_REFUSED, kiosk=config.kiosk.id)]
    if reply.status_code not in (200, 304):
        return [server, _problem(Check.ENROLMENT, ENROLMENT_FAILED, f"HTTP {reply.status_code}")]
    return [server, _ok(Check.ENROLMENT, "doctor.enrolment.ok", kiosk=config.kiosk.id)]


def check_backdrop(config: Config) -> Finding:
    when = load_backdrop(config.kiosk.data_dir).calibrated_at
    if not when:
        return _problem(Check.BACKDROP, BACKDROP_NOT_CALIBRATED)
    try:  # written in UTC with its offset (backdrop.calibrate)
        shown = school_time(datetime.fromisoformat(when), config.kiosk.tz())
    except ValueError:
        shown = when[:16].replace("T", " ")
    return _ok(Check.BACKDROP, "doctor.backdrop.ok", when=shown)


# --------------------------------------------------------------------- all

@dataclass
class Devices:
    """The running kiosk's devices (staff mode): already open, checked in place."""

    camera: Camera
    lights: Lights
    status_led: StatusLed
    reader: CardReader
    led_status: KioskStatus = KioskStatus.STAFF


def device_checks(devices: Devices) -> list[Finding]:
    return [check_camera(devices.camera, started=True), check_lights(devices.lights),
            check_status_led(devices.status_led, devices.led_status),
            check_reader(devices.reader, opened=True)]


def system_checks(config: Config, *, synchronised: Callable[[], bool] = ntp_synchronised,
                  client: httpx.Client | None = None) -> list[Finding]:
    findings = [check_disk(config), check_clock(config.kiosk.tz(), synchronised)]
    http = client or httpx.Client(timeout=SERVER_TIMEOUT)
    try:
        findings += check_server(config, http)
    finally:
        if client is None:
            http.close()
    findings.append(check_backdrop(config))
    return findings


def check_booth(config: Config, *, synchronised: Callable[[], bool] = ntp_synchronised,
                client: httpx.Client | None = None) -> list[Finding]:
    """`kiosk doctor`: open each device from the config, check it, close it, then the rest."""
    findings = [check_camera(make_camera(config.camera), started=False)]
    try:
        factory = use_pin_factory(config.gpio.pin_factory)
    except GpioError as err:
        findings += [_problem(Check.LIGHTS, LIGHTS_FAILED, err),
                     _problem(Check.STATUS_LED, STATUS_LED_FAILED, err)]
    else:
        # Both open at once, as in the kiosk: a pin given to both is found here.
        lights: Lights | None = None
        led: StatusLed | None = None
        try:
            lights = Lights(config.gpio.lights_pins, config.gpio.lights_level, factory)
            findings.append(check_lights(lights))
        except LightsError as err:
            findings.append(_problem(Check.LIGHTS, LIGHTS_FAILED, err))
        try:
            led = StatusLed(config.gpio.status_led_pins, factory)
            findings.append(check_status_led(led))
        except StatusLedError as err:
            findings.append(_problem(Check.STATUS_LED, STATUS_LED_FAILED, err))
        for device in (lights, led):
            if device is not None:
                device.close()
    findings.append(check_reader(make_card_reader(config.id_reader), opened=False))
    return findings + system_checks(config, synchronised=synchronised, client=client)


def all_well(findings: list[Finding]) -> bool:
    return all(f.status != Status.PROBLEM for f in findings)


def as_json(findings: list[Finding], tr: Callable[..., str]) -> dict[str, Any]:
    """The --json document; tr(key, **figures) gives the words."""
    return {
        "ok": all_well(findings),
        "checks": [
            {"check": f.check.value, "status": f.status.value, "outcome": f.outcome,
             "message": tr(f.key, **f.figures),
             "fix": tr(f.fix_key, **f.figures) if f.fix_key else None,
             "figures": f.figures, "error": f.error or None}
            for f in findings
        ],
    }
