"""A simulated certified SAM ID card reader on the far end of a real pty.

The kiosk opens ``device.path`` (the pty's slave side) with pyserial, exactly
as it opens /dev/ttyUSB0; a thread on the master side answers like the
device: SAM status, find card (9F when a card lies there and has not been
read since it was placed, else 80), select card, read text + photo (the
1295-byte reply, with a dummy 1024-byte photo).

Fault injection (``inject``): noise before the preamble, a wrong checksum,
an absurd or too-long LEN, a reply split into delayed chunks, silence, and
unplug (the master is closed: the kiosk side gets EIO). With ``baud`` set
the device paces its output at the wire rate (10 bits a byte).
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty
from dataclasses import dataclass
from enum import Enum

from kiosk.domain import IdCard
from kiosk.hardware import sam_protocol as sp

DUMMY_PHOTO = bytes(range(256)) * 4  # stands in for the WLT photo
assert len(DUMMY_PHOTO) == sp.PHOTO_LEN


class Fault(Enum):
    NOISE = "noise"  # junk bytes before the reply
    BAD_CHECKSUM = "bad_checksum"  # last byte flipped
    BAD_LENGTH = "bad_length"  # LEN = 0xFFFF: refused at once by the parser
    LONG_LENGTH = "long_length"  # LEN claims 16 more bytes than are sent: a wait
    SPLIT = "split"  # the reply in 4 chunks, 50 ms apart
    SILENCE = "silence"  # no reply at all
    UNPLUG = "unplug"  # close the pty instead of replying


NOISE = b"\x00\x13\xaa\xaa\x96\x69\xff\xaa\xaa\xaa\x96"  # near-preambles on purpose


@dataclass
class _Injection:
    fault: Fault
    command: sp.Command | None
    times: int


class SamDevice:
    """One simulated reader on a fresh pty. Use as a context manager."""

    def __init__(self, baud: int | None = None, sam_status: int = sp.Status.OK, answer: bool = True) -> None:
        self._master, self._slave = os.openpty()
        # Raw on both ends: no echo, no CR/LF translation of binary frames.
        tty.setraw(self._master)
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.baud = baud
        self.sam_status = sam_status
        self.answer = answer  # False: a silent serial device (not a reader)
        self.requests: list[sp.Request] = []
        self.placed_at: float | None = None  # monotonic time of the last place()
        self._lock = threading.Lock()
        self._card: IdCard | None = None
        self._card_type = ""
        self._read_status: int | None = None
        self._read_done = False
        self._injections: list[_Injection] = []
        self._stop = threading.Event()
        self._unplug = threading.Event()
        self._gone = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sam-device {self.path}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ controls

    def place(self, card: IdCard, card_type: str = "", read_status: int | None = None) -> None:
        """Put a card on the reader. read_status: answer read text with this SW3 instead."""
        with self._lock:
            self._card, self._card_type, self._read_status = card, card_type, read_status
            self._read_done = False
            self.placed_at = time.monotonic()

    def lift(self) -> None:
        with self._lock:
            self._card = None
            self._read_done = False

    def inject(self, fault: Fault, command: sp.Command | None = None, times: int = 1) -> None:
        """Apply fault to the next `times` replies (to `command`, or to any)."""
        with self._lock:
            self._injections.append(_Injection(fault, command, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._injections.clear()

    def unplug(self) -> None:
        self._unplug.set()
        self._gone.wait(2)

    def wait_unplugged(self, timeout: float = 2.0) -> bool:
        # The reader can see the closed pty a moment before our thread marks it gone.
        return self._gone.wait(timeout)

    def commands(self) -> list[sp.Command]:
        with self._lock:
            return [r.command for r in self.requests]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def __enter__(self) -> SamDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- device

    def _run(self) -> None:
        parser = sp.RequestParser()
        try:
            while not self._stop.is_set() and not self._unplug.is_set():
                ready, _, _ = select.select([self._master], [], [], 0.02)
                if not ready:
                    continue
                try:
                    chunk = os.read(self._master, 4096)
                except OSError as err:
                    if err.errno in (errno.EAGAIN, errno.EIO):
                        time.sleep(0.01)  # EIO: nobody has the slave open right now
                        continue
                    raise
                for item in parser.feed(chunk):
                    if not self.answer:
                        continue
                    if isinstance(item, sp.FrameError):
                        code = sp.Status.CHECKSUM_ERROR if item.kind is sp.FrameErrorKind.CHECKSUM else sp.Status.LENGTH_ERROR
                        self._send(sp.build_response(code), None)
                        continue
                    with self._lock:
                        self.requests.append(item)
                    self._send(self._answer(item), item.command)
                    if self._unplug.is_set():
                        break
        finally:
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._gone.set()

    def _answer(self, req: sp.Request) -> bytes:
        with self._lock:
            cmd = req.command
            if cmd in (sp.SAM_STATUS, sp.RESET_SAM):
                return sp.build_response(self.sam_status)
            if cmd == sp.READ_SAM_ID:
                return sp.build_response(sp.Status.OK, bytes(16))
            if cmd == sp.FIND_CARD:
                if self._card is not None and not self._read_done:
                    return sp.build_response(sp.Status.FIND_OK, bytes(4))
                return sp.build_response(sp.Status.FIND_FAILED)
            if cmd == sp.SELECT_CARD:
                if self._card is None:
                    return sp.build_response(sp.Status.SELECT_FAILED)
                return sp.build_response(sp.Status.OK, bytes(8))
            if cmd == sp.READ_TEXT_PHOTO:
                if self._card is None:
                    return sp.build_response(sp.Status.READ_FAILED)
                if self._read_status is not None:
                    return sp.build_response(self._read_status)
                self._read_done = True  # find card fails until lifted and put back
                text = sp.encode_text(self._card, self._card_type)
                return sp.build_response(sp.Status.OK, sp.read_reply_data(text, DUMMY_PHOTO))
            return sp.build_response(sp.Status.COMMAND_ERROR)

    def _take_fault(self, command: sp.Command | None) -> Fault | None:
        with self._lock:
            for inj in self._injections:
                if inj.command is None or inj.command == command:
                    inj.times -= 1
                    if inj.times <= 0:
                        self._injections.remove(inj)
                    return inj.fault
        return None

    def _send(self, reply: bytes, command: sp.Command | None) -> None:
        fault = self._take_fault(command)
        chunks = [reply]
        if fault is Fault.SILENCE:
            return
        if fault is Fault.UNPLUG:
            self._unplug.set()
            return
        if fault is Fault.NOISE:
            chunks = [NOISE + reply]
        elif fault is Fault.BAD_CHECKSUM:
            chunks = [reply[:-1] + bytes([reply[-1] ^ 0x5A])]
        elif fault is Fault.BAD_LENGTH:
            chunks = [reply[:5] + b"\xff\xff" + reply[7:]]
        elif fault is Fault.LONG_LENGTH:
            n = int.from_bytes(reply[5:7], "big") + 16
            chunks = [reply[:5] + n.to_bytes(2, "big") + reply[7:]]
        elif fault is Fault.SPLIT:
            q = max(1, len(reply) // 4)
            chunks = [reply[i : i + q] for i in range(0, len(reply), q)]
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(0.05)
            self._write(chunk)

    def _write(self, data: bytes) -> None:
        """Write all of data; with baud set, each byte leaves no sooner than the wire allows."""
        start = time.monotonic()
        per_byte = 10 / self.baud if self.baud else 0.0
        step = 16 if self.baud else len(data)
        sent = 0
        while sent < len(data) and not self._stop.is_set() and not self._unplug.is_set():
            chunk = data[sent : sent + step]
            if per_byte:  # this chunk's last bit is on the wire at start + (sent + len) bytes
                delay = start + (sent + len(chunk)) * per_byte - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                sent += os.write(self._master, chunk)
            except BlockingIOError:
                select.select([], [self._master], [], 0.05)  # kiosk not reading: wait
