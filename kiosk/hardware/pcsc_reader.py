"""CardReader backend for a plain PC/SC contactless reader (pcscd + pyscard).

Without a SAM such a reader cannot read an ID card's text: a read gives only
IdCard(id_number="", name="", uid=...), which the roster matches through its
card_uid column. The uid is
- the card's UID from GET UID (FF CA 00 00 00, answered by the reader's
  firmware for any ISO 14443 card: campus cards), upper-case hex; or
- "ID-" + the 8-byte chip serial (00 36 00 00 08) when GET UID fails but the
  card answers that (a resident ID card).

Card presence comes from SCardGetStatusChange, which blocks in pcscd until
the reader's state changes (no busy polling). pcsc-lite counts insertions
and removals in the high word of the event state; a placement is identified
by that count, so a card is reported once until lifted and put back, even
when both happen between two polls. A card already on the reader when
open() succeeds counts as newly placed.

Errors: pcscd not running or gone, no (matching) reader, reader removed ->
ReaderError, and the context is released (open() again to recover). A card
that cannot be read (no answer, removed mid-read, neither command answered)
-> CardReadError, once per placement.

pyscard is imported lazily so the kiosk runs without it when another
backend is configured; with backend "pcsc" and no pyscard, open() raises
ReaderError naming the missing package.
"""

from __future__ import annotations

import logging
import threading
import time
from types import ModuleType
from typing import Any

from kiosk.config import IdReaderConfig
from kiosk.hardware.id_reader import CardReadError, ReaderError
from kiosk.domain import IdCard

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
GET_CHIP_SERIAL = [0x00, 0x36, 0x00, 0x00, 0x08]
SERIAL_PREFIX = "ID-"

# pcsc-lite return codes (as unsigned 32-bit) that mean the service or the
# reader is gone rather than the card: resolved against smartcard.scard.
_READER_GONE_NAMES = (
    "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED", "SCARD_F_COMM_ERROR",
    "SCARD_E_INVALID_HANDLE", "SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE",
    "SCARD_E_NO_READERS_AVAILABLE", "SCARD_F_INTERNAL_ERROR", "SCARD_E_NO_MEMORY",
)  # fmt: skip


def mask_uid(uid: str) -> str:
    """Only the last 4 hex digits of a UID or chip serial go to a log."""
    return "…" + uid[-4:] if uid else "(none)"


def _u32(code: int) -> int:
    # pyscard hands back HRESULTs signed or unsigned depending on the call.
    return code & 0xFFFFFFFF


class PcscCardReader:
    """CardReader on the PC/SC stack. Safe to close() from another thread."""

    def __init__(self, config: IdReaderConfig) -> None:
        self._config = config
        self._sc: ModuleType | None = None  # smartcard.scard, once imported
        self._ctx: Any = None  # SCARDCONTEXT
        self._reader = ""
        self._state = 0  # last event state seen (SCARD_STATE_UNAWARE = 0), counter included
        self._handled: int | None = None  # event count of the placement reported (or failed)
        self._lock = threading.Lock()  # one poll/open/close on the context at a time
        self._closing = threading.Event()

    @property
    def reader_name(self) -> str:
        """The PC/SC reader in use ('' when closed)."""
        return self._reader if self._ctx is not None else ""

    # ------------------------------------------------------- CardReader

    def open(self) -> None:
        self._closing.clear()
        with self._lock:
            self._release()
            sc = self._scard()
            ctx = self._establish(sc)
            try:
                reader = self._find_reader(sc, ctx)
            except ReaderError:
                sc.SCardReleaseContext(ctx)
                raise
            self._ctx, self._reader = ctx, reader
            self._state = sc.SCARD_STATE_UNAWARE  # first wait returns the current state
            self._handled = None  # a card lying there now is news
        log.info("PC/SC reader open: %s", reader)

    def poll(self, timeout: float) -> IdCard | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._ctx is None:
                raise ReaderError("PC/SC reader is not open")
            sc = self._scard()
            while not self._closing.is_set():
                remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                state = self._wait_for_change(sc, remaining_ms)
                if state is None:
                    return None  # timed out, or close() cancelled the wait
                card = self._on_state(sc, state)
                if card is not None:
                    return card
                if remaining_ms == 0:
                    return None
            return None  # closed while waiting: shutting down is not a fault

    def is_available(self) -> bool:
        """pcscd answers and lists a matching reader (a separate, short-lived context)."""
        try:
            sc = self._scard()
            ctx = self._establish(sc)
        except ReaderError:
            return False
        try:
            self._find_reader(sc, ctx)
            return True
        except ReaderError:
            return False
        finally:
            sc.SCardReleaseContext(ctx)

    def close(self) -> None:
        self._closing.set()
        ctx, sc = self._ctx, self._sc
        if ctx is not None and sc is not None:
            sc.SCardCancel(ctx)  # wakes a poll blocked in SCardGetStatusChange
        with self._lock:
            self._release()

    # ------------------------------------------------------------- state

    def _wait_for_change(self, sc: ModuleType, timeout_ms: int) -> int | None:
        """The reader's new event state, or None on timeout / cancel."""
        hr, states = sc.SCardGetStatusChange(self._ctx, timeout_ms, [(self._reader, self._state)])
        code = _u32(hr)
        if code in (_u32(sc.SCARD_E_TIMEOUT), _u32(sc.SCARD_E_CANCELLED)):
            return None
        if code != 0:
            self._fail(sc, hr, "waiting for a card")
        event = states[0][1]
        # Keep the count bits: pcscd then wakes us if a card came and went meanwhile.
        self._state = event & ~sc.SCARD_STATE_CHANGED
        return event

    def _on_state(self, sc: ModuleType, state: int) -> IdCard | None:
        gone = sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_UNAVAILABLE | sc.SCARD_STATE_IGNORE
        if state & gone:
            reader = self._reader
            self._release()
            raise ReaderError(f"PC/SC reader {reader!r} went away (unplugged?)")
        if state & sc.SCARD_STATE_EMPTY or not state & sc.SCARD_STATE_PRESENT:
            self._handled = None  # lifted: the next card is news
            return None
        placement = (state >> 16) & 0xFFFF
        if self._handled is not None and placement == self._handled:
            return None  # still the card we already reported
        self._handled = placement  # reported once, whether the read works or not
        if state & sc.SCARD_STATE_MUTE:
            raise CardReadError("card does not answer (no ATR)")
        return self._read_card(sc)

    # ----------------------------------------------------------- reading

    def _read_card(self, sc: ModuleType) -> IdCard:
        hr, hcard, protocol = sc.SCardConnect(
            self._ctx, self._reader, sc.SCARD_SHARE_SHARED, sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1
        )
        if _u32(hr) != 0:
            self._fail(sc, hr, "connecting to the card")
        try:
            uid = self._get_uid(sc, hcard, protocol)
            if uid is None:
                serial = self._get_chip_serial(sc, hcard, protocol)
                if serial is None:
                    raise CardReadError("card answers neither GET UID (FF CA) nor chip serial (00 36)")
                uid = SERIAL_PREFIX + serial
        finally:
            # LEAVE_CARD: the card stays powered and untouched for the next reader user.
            sc.SCardDisconnect(hcard, sc.SCARD_LEAVE_CARD)
        log.info("PC/SC reader: read a card")  # never whose (docs/privacy.md)
        return IdCard(id_number="", name="", uid=uid)

    def _get_uid(self, sc: ModuleType, hcard: Any, protocol: int) -> str | None:
        data, sw = self._transmit(sc, hcard, protocol, GET_UID)
        if sw >> 8 == 0x6C:  # wrong Le: some readers want the exact UID length
            data, sw = self._transmit(sc, hcard, protocol, GET_UID[:4] + [sw & 0xFF])
        if sw == 0x9000 and 0 < len(data) <= 16:
            return data.hex().upper()
        log.debug("PC/SC reader: GET UID answered %04X", sw)
        return None

    def _get_chip_serial(self, sc: ModuleType, hcard: Any, protocol: int) -> str | None:
        data, sw = self._transmit(sc, hcard, protocol, GET_CHIP_SERIAL)
        if sw == 0x9000 and len(data) == 8:
            return data.hex().upper()
        log.debug("PC/SC reader: chip serial answered %04X", sw)
        return None

    def _transmit(self, sc: ModuleType, hcard: Any, protocol: int, apdu: list[int]) -> tuple[bytes, int]:
        hr, response = sc.SCardTransmit(hcard, protocol, apdu)
        if _u32(hr) != 0:
            self._fail(sc, hr, f"command {bytes(apdu[:2]).hex().upper()}")
        if len(response) < 2:
            # vpcd (and some drivers) report success with no bytes when the card vanished.
            raise CardReadError(f"no answer to {bytes(apdu[:2]).hex().upper()} (card removed?)")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    # --------------------------------------------------------- plumbing

    def _fail(self, sc: ModuleType, hr: int, doing: str) -> None:
        """Raise ReaderError (dropping the context) or CardReadError for a PC/SC error."""
        message = f"{doing}: {sc.SCardGetErrorMessage(hr)} ({_u32(hr):#010x})"
        gone = {_u32(getattr(sc, name)) for name in _READER_GONE_NAMES if hasattr(sc, name)}
        if _u32(hr) in gone:
            reader = self._reader
            self._release()
            raise ReaderError(f"PC/SC reader {reader!r}: {message}")
        raise CardReadError(message)

    def _scard(self) -> ModuleType:
        if self._sc is None:
            try:
                from smartcard import scard
            except ImportError as err:
                raise ReaderError(
                    f"pyscard is not installed ({err}); install the kiosk with the 'pcsc' extra"
                ) from None
            self._sc = scard
        return self._sc

    @staticmethod
    def _establish(sc: ModuleType) -> Any:
        hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
        if _u32(hr) != 0:
            raise ReaderError(f"pcscd is not running or refuses us: {sc.SCardGetErrorMessage(hr)}")
        return ctx

    def _find_reader(self, sc: ModuleType, ctx: Any) -> str:
        hr, readers = sc.SCardListReaders(ctx, [])
        if _u32(hr) == _u32(sc.SCARD_E_NO_READERS_AVAILABLE) or (_u32(hr) == 0 and not readers):
            raise ReaderError("no PC/SC card reader connected")
        if _u32(hr) != 0:
            raise ReaderError(f"cannot list PC/SC readers: {sc.SCardGetErrorMessage(hr)}")
        wanted = self._config.pcsc_reader.casefold()
        for name in readers:
            if wanted in name.casefold():
                return name
        raise ReaderError(f"no PC/SC reader matching {self._config.pcsc_reader!r} (found: {', '.join(readers)})")

    def _release(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None and self._sc is not None:
            self._sc.SCardReleaseContext(ctx)  # fails harmlessly when pcscd is gone
