"""The certified SAM ID card reader's serial protocol (GA/T 467 style).

Pure: bytes in, bytes or values out, no I/O. See
docs/id-reader-protocol.md (shared docs) for the frame layout:

    request : AA AA AA 96 69 | LEN(2, BE) | CMD PARA | DATA | CHK
    response: AA AA AA 96 69 | LEN(2, BE) | SW1 SW2 SW3 | DATA | CHK

LEN counts every byte after itself, CHK included; CHK is the XOR of every
byte from LEN up to the byte before CHK.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum, IntEnum
from typing import NamedTuple

from kiosk.hardware.id_reader import CardReadError
from kiosk.domain import IdCard

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2  # preamble + LEN
# The largest reply the protocol has (text + photo + fingerprint) is ~2.3 kB;
# anything claiming more is noise, refused at once instead of waited for.
MAX_LEN = 4096


class Command(NamedTuple):
    cmd: int
    para: int


RESET_SAM = Command(0x10, 0xFF)
SAM_STATUS = Command(0x11, 0xFF)
READ_SAM_ID = Command(0x12, 0xFF)
FIND_CARD = Command(0x20, 0x01)
SELECT_CARD = Command(0x20, 0x02)
READ_TEXT_PHOTO = Command(0x30, 0x01)
READ_TEXT_PHOTO_FP = Command(0x30, 0x10)


class Status(IntEnum):
    """SW3 codes."""

    OK = 0x90
    FIND_OK = 0x9F
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    COMMAND_ERROR = 0x21
    UNAUTHORIZED = 0x23
    UNRECOGNIZED_ERROR = 0x24
    CARD_AUTH_SAM_FAILED = 0x31
    SAM_AUTH_CARD_FAILED = 0x32
    VERIFICATION_ERROR = 0x33
    UNRECOGNIZED_CARD = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORIZED = 0x66
    FIND_FAILED = 0x80
    SELECT_FAILED = 0x81
    NO_CONTENT = 0x91

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[Status, str] = {
    Status.OK: "ok",
    Status.FIND_OK: "find card ok",
    Status.CHECKSUM_ERROR: "checksum error",
    Status.LENGTH_ERROR: "length error",
    Status.COMMAND_ERROR: "command error",
    Status.UNAUTHORIZED: "unauthorized",
    Status.UNRECOGNIZED_ERROR: "unrecognized error",
    Status.CARD_AUTH_SAM_FAILED: "card failed to authenticate SAM",
    Status.SAM_AUTH_CARD_FAILED: "SAM failed to authenticate card",
    Status.VERIFICATION_ERROR: "verification error",
    Status.UNRECOGNIZED_CARD: "unrecognized card",
    Status.READ_FAILED: "read failed",
    Status.RANDOM_FAILED: "random number failed",
    Status.SAM_SELF_TEST_FAILED: "SAM self-test failed",
    Status.SAM_NOT_AUTHORIZED: "SAM not authorized",
    Status.FIND_FAILED: "find card failed",
    Status.SELECT_FAILED: "select card failed",
    Status.NO_CONTENT: "no content",
}


def describe_status(sw3: int) -> str:
    """A short English text for any SW3 byte, known or not."""
    try:
        return Status(sw3).description
    except ValueError:
        return f"unknown status 0x{sw3:02X}"


def checksum(body: bytes) -> int:
    """XOR of the bytes from LEN up to (not including) CHK."""
    x = 0
    for b in body:
        x ^= b
    return x


def _frame(payload: bytes) -> bytes:
    n = len(payload) + 1  # + CHK
    if n > 0xFFFF:
        raise ValueError("frame too long")
    body = n.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def build_request(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A request frame: build_request(*SAM_STATUS) -> AA AA AA 96 69 00 03 11 FF ED."""
    return _frame(bytes([cmd, para]) + data)


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reply frame, as the reader sends it (for simulators and tests)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


# ------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class Frame:
    """A checked reply frame."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def ok(self) -> bool:
        return self.sw3 in (Status.OK, Status.FIND_OK)

    def describe(self) -> str:
        return describe_status(self.sw3)

    def __repr__(self) -> str:  # data may be a whole card: keep it out of logs
        return f"Frame(sw=0x{self.sw1:02X}{self.sw2:02X}{self.sw3:02X}, {len(self.data)} data bytes)"


@dataclass(frozen=True)
class Request:
    """A checked request frame (what a simulated device receives)."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def command(self) -> Command:
        return Command(self.cmd, self.para)


class FrameErrorKind(Enum):
    CHECKSUM = "bad checksum"
    LENGTH = "bad length"


@dataclass(frozen=True)
class FrameError:
    """A frame that was dropped; the parser has already resynchronised."""

    kind: FrameErrorKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}"


class _RawParser:
    """Finds preamble-delimited, length-checked, checksum-checked payloads.

    The buffer never holds more than one maximal frame (HEADER_LEN + MAX_LEN)
    after feed() returns: noise without a preamble is dropped except for a
    possible partial preamble at the end.
    """

    min_len = 3  # smallest LEN accepted (2 command/status bytes + CHK for requests)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget a partial frame (after a timeout: its rest is not coming)."""
        self._buf.clear()

    def feed_payloads(self, chunk: bytes) -> list[bytes | FrameError]:
        self._buf += chunk
        out: list[bytes | FrameError] = []
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                # Keep only what could be the start of the next preamble.
                keep = len(PREAMBLE) - 1
                if len(buf) > keep:
                    del buf[: len(buf) - keep]
                break
            if start:
                del buf[:start]  # noise before the preamble
            if len(buf) < HEADER_LEN:
                break
            n = int.from_bytes(buf[5:7], "big")
            if n < self.min_len or n > MAX_LEN:
                out.append(FrameError(FrameErrorKind.LENGTH, f"LEN {n} outside {self.min_len}..{MAX_LEN}"))
                del buf[:1]  # resync: look for a preamble after this one
                continue
            end = HEADER_LEN + n
            if len(buf) < end:
                break  # partial frame: wait for more
            body = bytes(buf[5 : end - 1])
            chk = buf[end - 1]
            if checksum(body) != chk:
                out.append(
                    FrameError(FrameErrorKind.CHECKSUM, f"got 0x{chk:02X}, want 0x{checksum(body):02X} (LEN {n})")
                )
                # Drop only the first byte: a real frame may start inside the
                # bytes a corrupt header claimed.
                del buf[:1]
                continue
            out.append(body[2:])
            del buf[:end]
        return out


class FrameParser(_RawParser):
    """Incremental reply parser: feed(bytes) -> [Frame | FrameError, ...].

    Skips noise before the preamble, waits for partial frames, refuses
    LEN outside 4..MAX_LEN and bad checksums (reporting them) and resyncs.
    Never raises.
    """

    min_len = 4  # SW1 SW2 SW3 CHK

    def feed(self, chunk: bytes) -> list[Frame | FrameError]:
        return [
            p if isinstance(p, FrameError) else Frame(p[0], p[1], p[2], p[3:])
            for p in self.feed_payloads(chunk)
        ]


class RequestParser(_RawParser):
    """Incremental request parser, for the device side (simulators)."""

    min_len = 3  # CMD PARA CHK

    def feed(self, chunk: bytes) -> list[Request | FrameError]:
        return [
            p if isinstance(p, FrameError) else Request(p[0], p[1], p[2:])
            for p in self.feed_payloads(chunk)
        ]


# ------------------------------------------------------------- card text

TEXT_LEN = 256
PHOTO_LEN = 1024
LONG_TERM = "长期"

# (offset, length) in the UCS-2 LE text block.
_FIELDS: dict[str, tuple[int, int]] = {
    "name": (0, 30),
    "sex": (30, 2),
    "ethnicity": (32, 4),
    "birth_date": (36, 16),
    "address": (52, 70),
    "id_number": (122, 36),
    "issuer": (158, 30),
    "valid_from": (188, 16),
    "valid_until": (204, 16),
    "reserved": (220, 36),
}
CARD_TYPE_OFFSET = 248
_CARD_TYPES = {
    "J": "Hong Kong/Macau/Taiwan residence permit",
    "I": "foreign permanent residence card",
}


def _field(block: bytes, name: str) -> str:
    off, n = _FIELDS[name]
    try:
        text = block[off : off + n].decode("utf-16-le")
    except UnicodeDecodeError:
        raise CardReadError(f"card text field {name} is not UCS-2") from None
    return text.rstrip(" \x00")


def _date(text: str, name: str) -> date:
    if len(text) != 8 or not text.isdigit():
        raise CardReadError(f"card field {name} is not a YYYYMMDD date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise CardReadError(f"card field {name} is not a real date") from None


def decode_text(block: bytes) -> IdCard:
    """The 256-byte text block of a resident ID card -> IdCard.

    Raises CardReadError for a short block, undecodable fields, bad dates or
    another card type (residence permits use other layouts).
    """
    if len(block) != TEXT_LEN:
        raise CardReadError(f"card text is {len(block)} bytes, want {TEXT_LEN}")
    kind = chr(block[CARD_TYPE_OFFSET])
    if "A" <= kind <= "Z":
        what = _CARD_TYPES.get(kind, "not a resident ID card")
        raise CardReadError(f"unsupported card type {kind!r} ({what})")
    valid_until_text = _field(block, "valid_until")
    return IdCard(
        id_number=_field(block, "id_number"),
        name=_field(block, "name"),
        sex=_field(block, "sex") or "0",
        ethnicity=_field(block, "ethnicity"),
        birth_date=_date(_field(block, "birth_date"), "birth_date"),
        address=_field(block, "address"),
        issuer=_field(block, "issuer"),
        valid_from=_date(_field(block, "valid_from"), "valid_from"),
        valid_until=None if valid_until_text == LONG_TERM else _date(valid_until_text, "valid_until"),
    )


def parse_read_reply(frame: Frame) -> IdCard:
    """The reply to READ_TEXT_PHOTO -> IdCard; the WLT photo is dropped unread.

    Data: text length (2, BE), photo length (2, BE), text, photo.
    """
    if not frame.ok:
        raise CardReadError(f"reader: {frame.describe()}")
    data = frame.data
    if len(data) < 4:
        raise CardReadError("read reply too short")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_LEN or len(data) != 4 + text_len + photo_len:
        raise CardReadError(
            f"read reply lengths do not add up (text {text_len}, photo {photo_len}, data {len(data)})"
        )
    return decode_text(data[4 : 4 + TEXT_LEN])


# --------------------------------------------- encoding (simulators, tests)


def _put(block: bytearray, name: str, value: str) -> None:
    off, n = _FIELDS[name]
    raw = value.encode("utf-16-le")
    if len(raw) > n:
        raise ValueError(f"{name} too long for its {n}-byte field")
    block[off : off + n] = raw + " ".encode("utf-16-le") * ((n - len(raw)) // 2)


def encode_text(card: IdCard, card_type: str = "") -> bytes:
    """IdCard -> 256-byte text block, space padded (inverse of decode_text)."""
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    ymd = lambda d: d.strftime("%Y%m%d") if d else ""  # noqa: E731
    _put(block, "name", card.name)
    _put(block, "sex", card.sex)
    _put(block, "ethnicity", card.ethnicity)
    _put(block, "birth_date", ymd(card.birth_date))
    _put(block, "address", card.address)
    _put(block, "id_number", card.id_number)
    _put(block, "issuer", card.issuer)
    _put(block, "valid_from", ymd(card.valid_from))
    _put(block, "valid_until", LONG_TERM if card.valid_until is None else ymd(card.valid_until))
    if card_type:
        block[CARD_TYPE_OFFSET : CARD_TYPE_OFFSET + 2] = card_type.encode("utf-16-le")
    return bytes(block)


def read_reply_data(text: bytes, photo: bytes) -> bytes:
    """The DATA of a READ_TEXT_PHOTO reply."""
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo
