"""systemd's notify protocol: READY=1 once the booth is up, WATCHDOG=1 while the UI lives.

The unit is Type=notify with WatchdogSec: systemd waits for READY=1 before
it counts the service as started, and restarts it when WATCHDOG=1 stops
arriving (a frozen UI: the Kivy clock that sends it no longer ticks). The
protocol is one datagram on the unix socket named by $NOTIFY_SOCKET, so no
library is needed. Outside systemd (no $NOTIFY_SOCKET) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(message: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send one sd_notify message; False when not under systemd or the send failed."""
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract socket namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)  # never hold up the UI thread on a full socket
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as err:  # systemd gone (shutdown): the kiosk goes on
        log.warning("sd_notify to %s failed: %s", env.get("NOTIFY_SOCKET"), err)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] = os.environ, pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), None when there is no watchdog."""
    usec = env.get("WATCHDOG_USEC", "")
    watched_pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if watched_pid and watched_pid != str(os.getpid() if pid is None else pid):
        return None  # the watchdog is meant for another process (e.g. a parent shell)
    return int(usec) / 1e6 / 2


class ServiceNotifier:
    """Called on every UI tick: READY=1 once, then WATCHDOG=1 every half WatchdogSec."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        self._env = env
        self._interval = watchdog_interval(env)
        self._next_ping = 0.0
        self.ready_sent = False
        self._stopping_sent = False

    def tick(self, now: float, devices_up: bool) -> None:
        """now: a monotonic clock; devices_up: each device has had its first try."""
        if devices_up and not self.ready_sent:
            self.ready_sent = True  # once, under systemd or not
            if notify("READY=1\nSTATUS=booth ready", self._env):
                log.info("told systemd the booth is ready")
        if self._interval is not None and now >= self._next_ping:
            self._next_ping = now + self._interval
            notify("WATCHDOG=1", self._env)

    def stopping(self) -> None:
        """Once, however often the app's on_stop runs (Kivy may call it twice)."""
        if not self._stopping_sent:
            self._stopping_sent = True
            notify("STOPPING=1", self._env)
