"""The kiosk's one TOML config file, validated.

Every key and its default is in examples/kiosk.toml. Defaults give the
laptop demo (simulated devices). A bad file fails with the key's dotted path
and what is allowed, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from photo_wire.files import MAX_CONFIG_BYTES, ReadRefused, load_toml
from photo_wire.status_link import MAX_PUBLIC_URL_CHARS

Seconds = Annotated[float, Field(ge=0)]
# The school server's kiosk id pattern (school_server/schemas.py KIOSK_ID; a
# test keeps them equal): the server refuses any other, and the id names the
# booth's folder on a USB stick.
KIOSK_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# What a pattern means, said in words, for keys that have one.
PATTERN_HELP = {
    "kiosk.id": "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                "(the school server's rule)",
    "kiosk.staff_pin": "4 to 8 digits",
}
# Keys whose values a config error never repeats.
SECRET_KEYS = frozenset({"kiosk.staff_pin"})
# A config file is a few KB; refuse anything that is clearly not one before reading it all.


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: Annotated[str, Field(pattern=KIOSK_ID)] = "demo-kiosk-01"
    centre: str = "demo-centre"
    # Recorded with each capture until the school server's schedule is known;
    # then the session whose window covers now is.
    session: str = "demo-session"
    # The booth's time zone: session times on screen, and what "today" is.
    timezone: str = "Asia/Shanghai"
    language: Literal["zh_CN", "en"] = "zh_CN"
    # Where captures and the database live; created with mode 0700.
    data_dir: Path = Path("var/kiosk-data")
    # Staff mode PIN: digits only, 4 to 8 of them.
    staff_pin: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")] = "2468"
    # Refuse new sessions below this much free disk, before anything is lost.
    min_free_mb: Annotated[int, Field(ge=0)] = 200

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("data_dir")
    @classmethod
    def _check_data_dir(cls, value: Path) -> Path:
        # Missing is fine (created at start); an existing file is not a folder.
        if value.exists() and not value.is_dir():
            raise ValueError("exists but is not a folder")
        return value

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ScreenConfig(_Section):
    width: Annotated[int, Field(ge=320)] = 800
    height: Annotated[int, Field(ge=240)] = 480
    fullscreen: bool = False
    # Font with Simplified Chinese glyphs (Debian fonts-wqy-microhei).
    font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class AudioConfig(_Section):
    muted: bool = False
    # Spoken prompts, one WAV per hint and language: DIR/<lang>/<HINT>.wav.
    # `kiosk make-prompts` fills it with espeak-ng.
    prompts_dir: Path = Path("var/prompts")
    # Do not repeat the same prompt more often than this.
    repeat_seconds: Seconds = 4.0


class TimeoutsConfig(_Section):
    """Seconds of inactivity after which a state goes back to attract."""

    identify: Seconds = 60
    checking: Seconds = 30  # a roster lookup takes well under a second: only a stuck worker
    confirm: Seconds = 45
    not_on_roster: Seconds = 20
    manual_entry: Seconds = 120
    consent: Seconds = 90
    scan_code: Seconds = 90
    guide: Seconds = 90
    countdown: Seconds = 30
    capturing: Seconds = 30
    review: Seconds = 60
    saving: Seconds = 30
    receipt: Seconds = 120  # the receipt stays until 完成: the student reads (hears) what comes next
    call_staff: Seconds = 120
    staff: Seconds = 300


class FlowConfig(_Section):
    countdown_seconds: Annotated[int, Field(ge=0, le=10)] = 3
    max_retakes: Annotated[int, Field(ge=0, le=10)] = 3
    # Capture by itself once the pose has been right for ready_hold_seconds.
    auto_capture: bool = True
    ready_hold_seconds: Seconds = 1.0
    # Read failures in a row before the student is sent to staff.
    max_card_errors: Annotated[int, Field(ge=1)] = 3
    # Offer "manual entry" on the identify screen: staff type the ID number
    # (after their PIN) for a student with a temporary or lost card.
    manual_entry: bool = True
    timeouts: TimeoutsConfig = TimeoutsConfig()


class ConsentConfig(_Section):
    # Stored with every capture; bump it whenever the consent text changes.
    version: str = "2026-11-v1"


class SimulatedCameraConfig(_Section):
    # Portraits (JPEG/PNG) to use as the student; empty: scikit-image's
    # astronaut, cut out and put on the blue backdrop.
    faces: list[Path] = []
    # Smaller than the Pi HQ camera's 4056x3040 so the demo stays quick.
    still_size: tuple[int, int] = (2028, 1520)
    fps: Annotated[float, Field(gt=0, le=60)] = 15


class CameraConfig(_Section):
    # 'picamera2': the Pi camera (CSI ribbon); 'opencv': a USB webcam (V4L2).
    backend: Literal["simulated", "picamera2", "opencv"] = "simulated"
    # The USB webcam for 'opencv': its device path (a /dev/v4l/by-id/ name survives replugging).
    device: str = "/dev/video0"
    preview_size: tuple[int, int] = (640, 480)
    still_size: tuple[int, int] = (4056, 3040)
    simulated: SimulatedCameraConfig = SimulatedCameraConfig()


class SimulatedCard(_Section):
    """A card the simulated reader can present."""

    label: str
    id_number: str = ""
    name: str = ""
    sex: str = "0"
    birth_date: date | None = None
    valid_until: date | None = None  # None: long-term
    uid: str | None = None
    # 'unreadable': the reader reports a read failure for this card.
    fault: Literal["none", "unreadable"] = "none"


class IdReaderConfig(_Section):
    # 'sam': certified SAM reader on a serial port (GA/T 467 protocol);
    # 'pcsc': plain contactless reader through pcscd (card UID / chip serial only).
    backend: Literal["simulated", "sam", "pcsc"] = "simulated"
    simulated_cards: list[SimulatedCard] = []
    # Serial port of the SAM reader; empty: probe /dev/ttyUSB*, /dev/ttyACM*.
    port: str = ""
    baud: Literal[115200, 57600, 38400, 19200, 9600] = 115200
    # How long to wait for a reply before resending the command (the reply's
    # transfer time at the baud rate is added).
    timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 1.0
    # PC/SC reader to use: part of its name (any case), e.g. "ACR122U";
    # empty: the first reader pcscd lists.
    pcsc_reader: str = ""


class GpioConfig(_Section):
    # 'mock' is gpiozero's MockFactory with PWM pins (laptop, tests);
    # 'lgpio' on a Pi 5 / Bookworm; 'rpigpio' or 'pigpio' on older Pis.
    pin_factory: Literal["mock", "lgpio", "rpigpio", "pigpio", "native"] = "mock"
    lights_pins: list[Annotated[int, Field(ge=0, le=27)]] = [12, 13]
    lights_level: Annotated[float, Field(gt=0, le=1)] = 1.0
    # Common-cathode RGB LED: red, green, blue.
    status_led_pins: tuple[int, int, int] = (17, 27, 22)
    # A push button to ground for staff (inside the booth's door): a press opens
    # staff mode, a long press opens it on the booth check page. -1: no button.
    staff_button_pin: Annotated[int, Field(ge=-1, le=27)] = -1
    staff_button_hold_seconds: Annotated[float, Field(gt=0, le=30)] = 3.0


class RosterConfig(_Section):
    # CSV with columns id_number,name,programme,centre,session.
    path: Path = Path("examples/roster-demo.csv")
    # Let a student who already has a capture take another one.
    allow_recapture: bool = False
    # Makeup mode: accept students from other centres and sessions.
    makeup_mode: bool = False


class PhotoConfig(_Section):
    width: int = 480
    height: int = 640
    min_kb: Annotated[int, Field(ge=1)] = 20
    max_kb: Annotated[int, Field(ge=1)] = 40
    min_quality: Annotated[int, Field(ge=60, le=100)] = 60
    dpi: int = 300
    # The school's rule on glasses: "allowed" (any clear glasses),
    # "no_glare" (clear glasses with no reflection in them: the spec's
    # rule) or "forbidden" (不得佩戴眼镜: the student takes them off).
    glasses: Literal["allowed", "no_glare", "forbidden"] = "no_glare"
    # Head coverings (HEAD_COVERED) and earrings and necklaces (JEWELLERY;
    # 不得佩戴耳环、项链等饰物, as diploma photo notices ask): "refuse" (the
    # live hint, and the photo is refused), "warn" (the live hint only) or
    # "ignore" (measured and reported for the office, never shown to the
    # student). "ignore" by default: on real people put on the booth's blue
    # (benchmarks/bench_real_faces.py --booth-backdrop) HEAD_COVERED fired on
    # 5 of 64 bare heads (red and ginger hair, a headband), JEWELLERY on 3 and
    # caught 1 of 19, and any hint holds hands-free capture. A school turns
    # them on once its own booth's captures show they hold (docs/photo-checks.md).
    head_covering: Literal["ignore", "warn", "refuse"] = "ignore"
    jewellery: Literal["ignore", "warn", "refuse"] = "ignore"

    @model_validator(mode="after")
    def _kb_range(self) -> PhotoConfig:
        if self.min_kb > self.max_kb:
            raise ValueError("min_kb must not be larger than max_kb")
        return self


def _is_web_address(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (parts.scheme in ("https", "http") and bool(parts.hostname) and not parts.query
            and not parts.fragment and value.isprintable() and " " not in value)


class SyncConfig(_Section):
    """Upload to the school server (school_server/), sealed to its public key."""

    # e.g. "https://photo.school.example"; empty: no sync, the kiosk runs offline only.
    server_url: str = ""
    # The server's sealing key (`photo-server keygen` prints it), base64.
    # Set: every capture is sealed to it on disk and the kiosk cannot read
    # its own backlog. Empty: photos are stored as plain files (a warning).
    server_public_key: str = ""
    # Keep acknowledged sealed captures this long, then delete their files.
    retention_days: Annotated[float, Field(ge=0)] = 7
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 60
    # Connect / read / write timeout of one request.
    upload_timeout_seconds: Annotated[float, Field(gt=0)] = 30
    # How often to fetch the centre's roster and session schedule from the server; 0: never.
    roster_refresh_seconds: Seconds = 300
    # Tries per capture before the queue waits; then backoff grows from
    # backoff_initial_seconds to backoff_max_seconds (with jitter).
    retry_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    backoff_initial_seconds: Annotated[float, Field(gt=0)] = 1.0
    backoff_max_seconds: Annotated[float, Field(gt=0)] = 300
    # Where a USB stick is mounted for staff mode's USB exchange (offline
    # bundles): mount points inside these folders count as sticks.
    usb_roots: list[str] = ["/media", "/run/media"]
    # The school server's address as a student's phone reaches it (e.g.
    # "https://photo.school.edu.cn"); set: the receipt shows a QR code to the
    # capture's status page there. Empty: the receipt says to ask the office.
    public_url: Annotated[str, Field(max_length=MAX_PUBLIC_URL_CHARS)] = ""

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if value and not _is_web_address(value):
            raise ValueError("must be an https:// (or http://) address with a host "
                             "and nothing after the path")
        return value

    @model_validator(mode="after")
    def _check(self) -> SyncConfig:
        if self.server_url and not self.server_url.startswith(("http://", "https://")):
            raise ValueError("server_url must start with https:// (or http:// on a test bench)")
        if self.server_url and not self.server_public_key:
            raise ValueError("server_public_key is required when server_url is set")
        if self.server_public_key:
            self.public_key_bytes()  # raises ValueError when it is not a key
        if self.backoff_initial_seconds > self.backoff_max_seconds:
            raise ValueError("backoff_initial_seconds must not be larger than backoff_max_seconds")
        return self

    def public_key_bytes(self) -> bytes | None:
        """The 32-byte Curve25519 public key, or None when sealing is off."""
        if not self.server_public_key:
            return None
        try:
            raw = base64.b64decode(self.server_public_key.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("server_public_key is not base64") from None
        if len(raw) != 32:
            raise ValueError("server_public_key must be 32 bytes (the line `photo-server keygen` prints)")
        return raw


class Config(_Section):
    kiosk: KioskSection = KioskSection()
    screen: ScreenConfig = ScreenConfig()
    audio: AudioConfig = AudioConfig()
    flow: FlowConfig = FlowConfig()
    consent: ConsentConfig = ConsentConfig()
    camera: CameraConfig = CameraConfig()
    id_reader: IdReaderConfig = IdReaderConfig()
    gpio: GpioConfig = GpioConfig()
    roster: RosterConfig = RosterConfig()
    photo: PhotoConfig = PhotoConfig()
    sync: SyncConfig = SyncConfig()

    def as_demo(self) -> Config:
        """Same settings with every device simulated (``kiosk run --demo``)."""
        return self.model_copy(
            update={
                "camera": self.camera.model_copy(update={"backend": "simulated"}),
                "id_reader": self.id_reader.model_copy(update={"backend": "simulated"}),
                "gpio": self.gpio.model_copy(update={"pin_factory": "mock"}),
            }
        )


class ConfigError(Exception):
    """A config file that cannot be used; the message says which key and why."""


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (see examples/kiosk.toml for the allowed keys)")
        else:
            got = e.get("input")
            got_text = "" if isinstance(got, dict) or key in SECRET_KEYS else f" (got {_short(got)})"
            msg = PATTERN_HELP.get(key, e["msg"]) if e["type"] == "string_pattern_mismatch" else e["msg"]
            lines.append(f"  {key}: {msg.removeprefix('Value error, ')}{got_text}")
    return "\n".join(lines)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def parse_config(data: dict, source: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


def load_config(path: Path | None) -> Config:
    """Read and validate a TOML file; None gives the defaults (the demo)."""
    if path is None:
        return Config()
    try:
        data = load_toml(path, MAX_CONFIG_BYTES)
    except ReadRefused as err:
        raise ConfigError(str(err)) from None
    return parse_config(data, str(path))
