"""A small virtual contactless card for the vpcd virtual reader (vsmartcard-vpcd).

pcscd's vpcd driver listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00";
35964 is "Virtual PCD 00 01"). A card is "on the reader" while it is
connected: insert() connects, remove() disconnects. Each message either way
is a 2-byte big-endian length and a payload; vpcd sends a 1-byte control
code (0 power off, 1 power on, 2 reset: no answer; 4: send the ATR) or an
APDU, which the card answers with data + SW1 SW2.

The card answers
- FF CA 00 00 00 (GET UID, normally answered by a contactless reader's
  firmware) with its UID + 90 00, or 6A 81 when it has none (a resident ID
  card in our tests);
- 00 36 00 00 08 (resident ID card chip serial) with 8 bytes + 90 00 when it
  has a serial, else 6D 00;
- anything else with 6D 00 (instruction not supported).

The socket has TCP_NODELAY and re-armed TCP_QUICKACK: vpcd sends each APDU
as two writes (length, then body) with Nagle on, so without quick ACKs
every APDU waits ~40 ms for our delayed ACK (measured: 44 ms -> 0.1 ms).

Debian's own vicc is broken on bookworm, hence this one. Use it from tests
(VirtualCard) or by hand:

    python tests/vicc.py --uid 04A2C3D4E5F601     # then type remove / insert / quit
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963  # reader "Virtual PCD 00 00"

CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0, 1, 2, 4

GET_UID = bytes.fromhex("FFCA000000")
GET_SERIAL = bytes.fromhex("0036000008")
SW_OK = b"\x90\x00"
SW_NOT_SUPPORTED = b"\x6a\x81"  # function not supported
SW_INS_UNKNOWN = b"\x6d\x00"

# PC/SC Part 3 ATR of a MIFARE Classic 1K (a typical campus card).
ATR_MIFARE_1K = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")


def contactless_atr(historical: bytes) -> bytes:
    """PC/SC Part 3 ATR for an ISO 14443-4 card: 3B 8n 80 01 <historical> TCK."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


# Type B: ATQB application data (4) + protocol info (3), as a resident ID card gives.
ATR_TYPE_B = contactless_atr(bytes.fromhex("00000000" "008181"))


class VirtualCard:
    """One virtual card; insert() puts it on the reader, remove() lifts it.

    uid=None makes GET UID fail (6A 81); serial=None makes 00 36 fail.
    drop_on: an APDU on which the card vanishes instead of answering (a card
    pulled away mid-read). Also a context manager (removes on exit).
    """

    def __init__(
        self,
        uid: str | bytes | None = "04A2C3D4E5F601",
        serial: str | bytes | None = None,
        atr: bytes | None = None,
        port: int = VPCD_PORT,
        host: str = VPCD_HOST,
        drop_on: bytes | None = None,
        quickack: bool = True,
    ) -> None:
        self.uid = bytes.fromhex(uid) if isinstance(uid, str) else uid
        self.serial = bytes.fromhex(serial) if isinstance(serial, str) else serial
        if self.serial is not None and len(self.serial) != 8:
            raise ValueError("a chip serial is 8 bytes")
        self.atr = atr or (ATR_MIFARE_1K if self.uid is not None else ATR_TYPE_B)
        self.host, self.port = host, port
        self.drop_on = drop_on
        self.quickack = quickack  # False only to measure what delayed ACKs cost
        self.inserted_at = 0.0  # time.monotonic() when the last insert() connected
        self.apdus: list[bytes] = []  # every APDU received, in order
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------- placing

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 10.0) -> None:
        """Connect to vpcd (retrying until it listens, e.g. just after pcscd starts)."""
        with self._lock:
            if self._sock is not None:
                return
            deadline = time.monotonic() + timeout
            while True:
                try:
                    sock = socket.create_connection((self.host, self.port), timeout=1.0)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.05)
            # Without this every small answer waits for the peer's delayed ACK (~40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(None)
            self.inserted_at = time.monotonic()
            self._sock = sock
            self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                            name=f"vicc:{self.port}")
            self._thread.start()

    def remove(self) -> None:
        """Disconnect: vpcd reports the card gone on its next presence check."""
        with self._lock:
            sock, thread = self._sock, self._thread
            self._sock = self._thread = None
        if sock is not None:
            _close(sock)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def __enter__(self) -> VirtualCard:
        self.insert()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # ---------------------------------------------------------- answering

    def answer(self, apdu: bytes) -> bytes:
        if apdu == GET_UID:
            return self.uid + SW_OK if self.uid is not None else SW_NOT_SUPPORTED
        if apdu == GET_SERIAL:
            return self.serial + SW_OK if self.serial is not None else SW_INS_UNKNOWN
        return SW_INS_UNKNOWN

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = _recv_exact(sock, 2, self.quickack)
                if header is None:
                    break
                (length,) = struct.unpack(">H", header)
                payload = _recv_exact(sock, length, self.quickack)
                if payload is None:
                    break
                if length == 1:
                    if payload[0] == CTRL_ATR:
                        _send(sock, self.atr)
                    continue  # power off / on / reset: no answer expected
                self.apdus.append(payload)
                if self.drop_on is not None and payload == self.drop_on:
                    break  # pulled away mid-read
                _send(sock, self.answer(payload))
        except OSError:
            pass  # vpcd went away (pcscd stopped) or remove() closed the socket
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = self._thread = None
            _close(sock)


def _recv_exact(sock: socket.socket, n: int, quickack: bool = True) -> bytes | None:
    buf = b""
    while len(buf) < n:
        if quickack:
            _quickack(sock)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _quickack(sock: socket.socket) -> None:
    # vpcd writes the length and the APDU in two send()s without TCP_NODELAY:
    # Nagle holds the APDU until our ACK of the length, which Linux delays
    # ~40 ms. Quick ACKs (re-armed before each read: the kernel clears the
    # flag) avoid that wait; TCP_NODELAY does the same for our own answers.
    if hasattr(socket, "TCP_QUICKACK"):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def main() -> None:
    ap = argparse.ArgumentParser(description="Virtual contactless card for vpcd.")
    ap.add_argument("--uid", default="04A2C3D4E5F601", help="hex UID; 'none' makes GET UID fail")
    ap.add_argument("--serial", default="none", help="hex 8-byte chip serial for 00 36, or 'none'")
    ap.add_argument("--atr", default="", help="hex ATR (default: by card kind)")
    ap.add_argument("--port", type=int, default=VPCD_PORT)
    args = ap.parse_args()
    card = VirtualCard(
        uid=None if args.uid.lower() == "none" else args.uid,
        serial=None if args.serial.lower() == "none" else args.serial,
        atr=bytes.fromhex(args.atr) if args.atr else None,
        port=args.port,
    )
    card.insert()
    print("card inserted; commands: remove, insert, quit", file=sys.stderr)
    for line in sys.stdin:
        cmd = line.strip().lower()
        if cmd == "remove":
            card.remove()
        elif cmd == "insert":
            card.insert()
        elif cmd in ("quit", "exit"):
            break
        print("inserted" if card.inserted else "removed", file=sys.stderr)
    card.remove()


if __name__ == "__main__":
    main()
