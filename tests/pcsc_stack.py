"""A real PC/SC stack for tests and benchmarks: pcscd with the vpcd driver.

PcscDaemon runs `pcscd --foreground --error` (as root, no systemd needed)
and waits until pyscard lists the vpcd readers ("Virtual PCD 00 00" on port
35963, "Virtual PCD 00 01" on 35964); virtual cards (tests/vicc.py) then
connect to those ports. A pcscd that is already running with the vpcd
readers is used as it is and never stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

VIRTUAL_READER = "Virtual PCD 00 00"
SECOND_READER = "Virtual PCD 00 01"


def pcscd_binary() -> str | None:
    # /usr/sbin is not on every PATH (a non-login root shell, CI runners).
    return shutil.which("pcscd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


# Where pcscd reads its serial-reader configuration (Debian's pcscd, and a
# pcsc-lite built from source into /usr/local).
READER_CONF_DIRS = ("/etc/reader.conf.d", "/usr/local/etc/reader.conf.d")


def vpcd_driver() -> str | None:
    """The vpcd driver pcscd is configured to load (vsmartcard-vpcd's
    /etc/reader.conf.d/vpcd: LIBPATH .../libifdvpcd.so), if it is there."""
    for conf_dir in READER_CONF_DIRS:
        try:
            names = sorted(os.listdir(conf_dir))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(conf_dir, name), errors="replace") as conf:
                    lines = conf.read().splitlines()
            except OSError:
                continue
            for line in lines:
                words = line.split(None, 1)
                lib = words[1].strip().strip('"') if len(words) == 2 else ""
                if words[:1] == ["LIBPATH"] and "vpcd" in os.path.basename(lib) and os.path.exists(lib):
                    return lib
    return None


def pyscard_missing() -> str:
    """Why pyscard cannot be imported here ('' when it can)."""
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (pip install -e '.[pcsc]'; needs libpcsclite-dev and gcc)"
    return ""


def missing() -> str:
    """Why the stack cannot run here ('' when it can): pcscd, pyscard or the vpcd driver absent."""
    if pcscd_binary() is None:
        return "pcscd is not installed (apt install pcscd vsmartcard-vpcd; provisioning/setup.sh --test does)"
    reason = pyscard_missing()
    if reason:
        return reason
    # Without the driver pcscd starts but lists no Virtual PCD reader. A pcscd
    # already running with them (configured elsewhere) will do too.
    if vpcd_driver() is None and not any(r.startswith("Virtual PCD") for r in list_readers() or []):
        return (
            "the vpcd virtual reader driver is not installed (no LIBPATH .../libifdvpcd.so in "
            f"{' or '.join(READER_CONF_DIRS)}; apt install vsmartcard-vpcd; provisioning/setup.sh --test does)"
        )
    return ""


def list_readers() -> list[str] | None:
    """Readers pcscd lists; None when pcscd does not answer."""
    from smartcard import scard

    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return None
    try:
        hr, readers = scard.SCardListReaders(ctx, [])
        if hr == scard.SCARD_S_SUCCESS:
            return list(readers)
        # Running but with no reader at all.
        return [] if (hr & 0xFFFFFFFF) == (scard.SCARD_E_NO_READERS_AVAILABLE & 0xFFFFFFFF) else None
    finally:
        scard.SCardReleaseContext(ctx)


def reader_state(reader: str = VIRTUAL_READER) -> int:
    """The reader's event state right now (0 when pcscd does not answer)."""
    from smartcard import scard

    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return 0
    try:
        hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return states[0][1] if hr == scard.SCARD_S_SUCCESS else 0
    finally:
        scard.SCardReleaseContext(ctx)


def wait_card_state(present: bool, reader: str = VIRTUAL_READER, timeout: float = 5.0) -> None:
    """Wait until pcscd has noticed a card put on / taken off (it checks every ~0.4 s)."""
    from smartcard import scard

    flag = scard.SCARD_STATE_PRESENT
    deadline = time.monotonic() + timeout
    while bool(reader_state(reader) & flag) != present:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pcscd did not see the card {'placed' if present else 'removed'} on {reader}")
        time.sleep(0.02)


class PcscDaemon:
    """pcscd for the tests: start(), stop(), and whether we own it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # pcscd's complaints, shown if it fails to start

    @property
    def owned(self) -> bool:
        """Started by us (so tests may stop and restart it)."""
        return self.proc is not None

    def attach_or_start(self, timeout: float = 15.0) -> None:
        readers = list_readers()
        if readers is None:
            self.start(timeout)
        elif not any(r.startswith("Virtual PCD") for r in readers):
            raise RuntimeError(
                f"a pcscd is already running without the vpcd driver (readers: {readers}); "
                "restart it after installing vsmartcard-vpcd"
            )

    def start(self, timeout: float = 15.0) -> None:
        binary = pcscd_binary()
        assert binary is not None
        try:
            os.makedirs("/run/pcscd", exist_ok=True)  # its socket and pid file live here
        except PermissionError:
            raise RuntimeError(
                "pcscd is not running and only root can start it here: run the tests as root, "
                "or start it yourself: sudo pcscd --foreground --error &"
            ) from None
        self.proc = subprocess.Popen(
            [binary, "--foreground", "--error"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            readers = list_readers()
            if readers and VIRTUAL_READER in readers:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self._log.seek(0)
                raise RuntimeError(
                    f"pcscd did not list {VIRTUAL_READER!r} within {timeout:g} s "
                    f"(readers: {readers}); its output:\n{self._log.read().decode(errors='replace')}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: pcscd removes its socket and pid file
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
