"""CardReader backend for the certified SAM ID card reader on a serial port.

One read is three exchanges: find card (9F found, 80 none), select card,
read text + photo (1295-byte reply; the photo is dropped). The reader itself
answers "find card failed" while a card that was read stays on it, so each
placement is reported once.

Errors: the port vanishing (unplug: SerialException/OSError) is a
ReaderError and closes the port (open() again to recover, with auto-detect
finding the reader under its new name). A card that was found but whose
replies stay garbled or missing after retries is a CardReadError, raised
once per placement so a damaged card does not flood the flow; quiet retries
continue while it lies there. A reader that answers nothing at all is a
ReaderError.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import termios
import threading
import time
from collections.abc import Callable

import serial

from kiosk.config import IdReaderConfig
from kiosk.hardware.id_reader import CardReadError, ReaderError
from kiosk.domain import IdCard
from kiosk.hardware.sam_protocol import (
    FIND_CARD,
    READ_TEXT_PHOTO,
    READ_TEXT_PHOTO_FP,
    SAM_STATUS,
    SELECT_CARD,
    Command,
    Frame,
    FrameError,
    FrameParser,
    Status,
    build_request,
    parse_read_reply,
)

log = logging.getLogger(__name__)

# I/O errors that mean the port went away (termios.error is not an OSError).
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)
# Statuses that are about the card, not the reader.
_CARD_STATUSES = {
    Status.CARD_AUTH_SAM_FAILED, Status.SAM_AUTH_CARD_FAILED, Status.VERIFICATION_ERROR,
    Status.UNRECOGNIZED_CARD, Status.READ_FAILED, Status.RANDOM_FAILED,
    Status.SELECT_FAILED, Status.NO_CONTENT, Status.FIND_FAILED,
}  # fmt: skip


# Longest reply each command can get, for its transfer time at low baud rates
# (the 1295-byte text+photo reply takes 1.35 s at 9600 baud).
_REPLY_BYTES = {READ_TEXT_PHOTO: 1295, READ_TEXT_PHOTO_FP: 2321}
_SHORT_REPLY_BYTES = 32


def default_candidates() -> list[str]:
    """USB-serial bridges, in natural order (ttyUSB2 before ttyUSB10)."""

    def key(path: str) -> tuple[str, int]:
        m = re.match(r"(.*?)(\d+)$", path)
        return (m.group(1), int(m.group(2))) if m else (path, -1)

    return sorted(glob.glob("/dev/ttyUSB*"), key=key) + sorted(glob.glob("/dev/ttyACM*"), key=key)


class _NoReply(Exception):
    """No good reply after all retries (timeouts or garbled frames)."""


class _Closed(Exception):
    """close() was called while a command was in flight."""


class SamCardReader:
    """CardReader on a GA/T 467 serial reader. Safe to close() from another thread."""

    RETRIES = 2  # resends after a timeout or a garbled reply
    POLL_INTERVAL = 0.05  # between find-card commands while no card is there
    READ_SLICE = 0.02  # serial read timeout; bounds how late close() is noticed
    PROBE_TIMEOUT = 0.5  # per candidate port during auto-detect

    def __init__(
        self,
        config: IdReaderConfig,
        candidates: Callable[[], list[str]] | None = None,
    ) -> None:
        self._config = config
        self._candidates = candidates or default_candidates
        self._serial: serial.Serial | None = None
        self._port = ""
        self._parser = FrameParser()
        self._lock = threading.Lock()  # one exchange on the wire at a time
        self._closing = threading.Event()
        self._failed_placement = False  # a read of the card lying there failed already

    @property
    def port(self) -> str:
        """The port in use ('' when closed)."""
        return self._port if self._serial is not None else ""

    # ------------------------------------------------------- CardReader

    def open(self) -> None:
        self._closing.clear()
        with self._lock:
            self._drop_port()
            timeout = self._config.timeout_seconds
            if self._config.port:
                ser = self._open_port(self._config.port)
                try:
                    frame = self._exchange(ser, SAM_STATUS, timeout, self.RETRIES)
                except _NoReply as err:
                    ser.close()
                    raise ReaderError(f"no SAM reader answers on {self._config.port}: {err}") from None
                except ReaderError:
                    ser.close()
                    raise
                if frame.sw3 != Status.OK:
                    ser.close()
                    raise ReaderError(f"SAM reader on {self._config.port}: {frame.describe()}")
            else:
                ser = self._detect()
                if ser is None:
                    raise ReaderError("no SAM ID card reader found on /dev/ttyUSB* or /dev/ttyACM*")
            self._serial, self._port = ser, ser.port
            self._failed_placement = False
        log.info("SAM ID reader open on %s at %d baud", self._port, self._config.baud)

    def poll(self, timeout: float) -> IdCard | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._serial is None:
                raise ReaderError("SAM ID reader is not open")
            while not self._closing.is_set():
                try:
                    card = self._read_card(self._serial)
                except _Closed:
                    return None
                if card is not None:
                    return card
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._closing.wait(min(self.POLL_INTERVAL, remaining))
            return None  # closed while waiting: shutting down is not a fault

    def is_available(self) -> bool:
        if self._config.port:
            return os.path.exists(self._config.port)
        if self._serial is not None and os.path.exists(self._port):
            return True
        with self._lock:
            ser = self._detect()
        if ser is None:
            return False
        ser.close()
        return True

    def close(self) -> None:
        self._closing.set()  # a poll in progress returns within READ_SLICE
        with self._lock:
            self._drop_port()

    # ------------------------------------------------------------ reading

    def _read_card(self, ser: serial.Serial) -> IdCard | None:
        """One find/select/read round. None: no new card (or a failure already reported)."""
        timeout = self._config.timeout_seconds
        try:
            found = self._exchange(ser, FIND_CARD, timeout, self.RETRIES)
        except _NoReply as err:
            self._drop_port()  # open() again checks SAM status before trusting it
            raise ReaderError(f"SAM reader does not answer: {err}") from None
        if found.sw3 == Status.FIND_FAILED:
            self._failed_placement = False  # nothing new there: the next failure is news
            return None
        if found.sw3 != Status.FIND_OK:
            if found.sw3 not in _CARD_STATUSES:  # e.g. SAM self-test failed
                self._drop_port()
                raise ReaderError(f"SAM reader: find card: {found.describe()}")
            return self._card_failed(f"find card: {found.describe()}")
        try:
            selected = self._exchange(ser, SELECT_CARD, timeout, self.RETRIES)
            if selected.sw3 not in (Status.OK, Status.FIND_OK):
                return self._card_failed(f"select card: {selected.describe()}")
            reply = self._exchange(ser, READ_TEXT_PHOTO, timeout, self.RETRIES)
        except _NoReply as err:
            return self._card_failed(f"no good reply: {err}")
        try:
            card = parse_read_reply(reply)  # the WLT photo in reply is never copied out
        except CardReadError as err:
            return self._card_failed(str(err))
        self._failed_placement = False
        log.info("SAM reader: read a card")  # never whose (docs/privacy.md)
        return card

    def _card_failed(self, reason: str) -> None:
        if self._failed_placement:
            log.debug("SAM reader: card still unreadable: %s", reason)
            return None
        self._failed_placement = True
        log.info("SAM reader: card unreadable: %s", reason)
        raise CardReadError(reason)

    # ----------------------------------------------------------- the wire

    def _exchange(self, ser: serial.Serial, command: Command, timeout: float, retries: int) -> Frame:
        """Send command, return its checked reply; resend on timeouts and garbled replies.

        Raises _NoReply after the retries, _Closed, or ReaderError when the
        port is gone (and drops the port).
        """
        problem = ""
        # timeout is the device's thinking time; the bytes' wire time comes on top.
        timeout += _REPLY_BYTES.get(command, _SHORT_REPLY_BYTES) * 10 / ser.baudrate
        for _ in range(1 + retries):
            try:
                ser.reset_input_buffer()  # late bytes of an earlier reply are not ours
                self._parser.reset()
                ser.write(build_request(*command))
                frame, problem = self._read_frame(ser, timeout)
            except _PORT_ERRORS as err:
                if self._closing.is_set():
                    raise _Closed() from None
                port = ser.port
                self._drop_port(ser)
                raise ReaderError(f"serial port {port} failed (unplugged?): {_reason(err)}") from None
            if frame is None:
                continue
            if frame.sw3 in (Status.CHECKSUM_ERROR, Status.LENGTH_ERROR):
                problem = f"reader got a garbled request ({frame.describe()})"
                continue
            return frame
        raise _NoReply(f"{describe_command(command)}: {problem}")

    def _read_frame(self, ser: serial.Serial, timeout: float) -> tuple[Frame | None, str]:
        deadline = time.monotonic() + timeout
        while True:
            if self._closing.is_set():
                raise _Closed()
            if time.monotonic() >= deadline:
                return None, f"no reply within {timeout:g} s"
            chunk = ser.read(ser.in_waiting or 1)
            for item in self._parser.feed(chunk):
                if isinstance(item, FrameError):
                    return None, str(item)  # resend now rather than wait out the timeout
                return item, ""

    def _open_port(self, path: str) -> serial.Serial:
        try:
            return serial.Serial(
                port=path,
                baudrate=self._config.baud,
                timeout=self.READ_SLICE,
                write_timeout=self._config.timeout_seconds,
                exclusive=True,  # a second kiosk process must not share the reader
            )
        except _PORT_ERRORS as err:
            raise ReaderError(f"cannot open {path}: {_reason(err)}") from None
        except ValueError as err:  # pyserial's answer to a bad setting
            raise ReaderError(f"cannot open {path}: {err}") from None

    def _detect(self) -> serial.Serial | None:
        """The first candidate port whose device answers SAM status with 90, opened."""
        timeout = min(self._config.timeout_seconds, self.PROBE_TIMEOUT)
        for path in self._candidates():
            if not os.path.exists(path):
                continue
            try:
                ser = self._open_port(path)
            except ReaderError as err:
                log.debug("auto-detect: %s", err)
                continue
            try:
                frame = self._exchange(ser, SAM_STATUS, timeout, retries=0)
            except (_NoReply, ReaderError) as err:
                log.debug("auto-detect: %s: %s", path, err)
                ser.close()
                continue
            if frame.sw3 == Status.OK:
                log.info("auto-detect: SAM reader on %s", path)
                return ser
            log.debug("auto-detect: %s answers %s", path, frame.describe())
            ser.close()
        return None

    def _drop_port(self, ser: serial.Serial | None = None) -> None:
        ser = ser or self._serial
        if ser is self._serial:
            self._serial = None
        if ser is not None:
            try:
                ser.close()
            except _PORT_ERRORS:
                pass  # already gone


def _reason(err: BaseException) -> str:
    """termios.error carries (errno, text) args; show the text."""
    args = err.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return args[1]
    return str(err)


def describe_command(command: Command) -> str:
    names = {FIND_CARD: "find card", SELECT_CARD: "select card", READ_TEXT_PHOTO: "read text", SAM_STATUS: "SAM status"}
    return names.get(command, f"command {command.cmd:02X} {command.para:02X}")

