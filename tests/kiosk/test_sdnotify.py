"""sd_notify over a real unix datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.sdnotify import ServiceNotifier, notify, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    yield sock, path
    sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except (BlockingIOError, socket.timeout):
            return messages
        sock.settimeout(0.05)


def test_notify_sends_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", {"NOTIFY_SOCKET": path})
    assert received(sock) == ["READY=1"]


def test_abstract_socket_address() -> None:
    name = f"kiosk-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(0.5)
    try:
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_not_under_systemd_sends_nothing() -> None:
    assert not notify("READY=1", {})


def test_socket_gone_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "missing.sock")})


def test_watchdog_interval_is_half_of_watchdogsec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None


def test_ready_once_devices_are_up_then_watchdog_pings(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = ServiceNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    notifier.tick(0.0, devices_up=False)  # the first ping comes at once
    assert received(sock) == ["WATCHDOG=1"]
    notifier.tick(0.5, devices_up=True)  # ready, but the next ping is not due
    assert received(sock) == ["READY=1\nSTATUS=booth ready"]
    notifier.tick(0.9, devices_up=True)
    assert received(sock) == []
    notifier.tick(1.0, devices_up=True)
    notifier.tick(1.5, devices_up=True)
    notifier.tick(2.0, devices_up=True)
    assert received(sock) == ["WATCHDOG=1", "WATCHDOG=1"]
    notifier.stopping()
    notifier.stopping()
    assert received(sock) == ["STOPPING=1"]


def test_no_watchdog_configured_sends_ready_only(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = ServiceNotifier({"NOTIFY_SOCKET": path})
    for t in range(5):
        notifier.tick(float(t), devices_up=True)
    assert received(sock) == ["READY=1\nSTATUS=booth ready"]


def test_the_kiosk_window_tells_systemd(listener: tuple[socket.socket, str], tmp_path: Path) -> None:
    """A real `kiosk run` (offscreen window): READY=1 once devices are up, pings, STOPPING=1."""
    import threading

    from window_harness import kiosk_command, run_windowed, write_config

    sock, path = listener
    messages: list[str] = []
    done = threading.Event()

    def read() -> None:  # as systemd does: a unix datagram queue holds only a few
        sock.settimeout(0.2)
        while not done.is_set():
            try:
                messages.append(sock.recv(4096).decode())
            except socket.timeout:
                pass

    reader = threading.Thread(target=read)
    reader.start()
    script = tmp_path / "short.txt"
    # Long enough for the simulated camera's first start on a busy machine.
    script.write_text("expect attract\nwait 25\n", encoding="utf-8")
    os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"] = path, "1000000"
    try:
        result = run_windowed([*kiosk_command(), "--config", str(write_config(tmp_path)), "run", "--demo",
                               "--script", str(script)], tmp_path, timeout=240)
    finally:
        del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
        time.sleep(0.5)
        done.set()
        reader.join()
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: the script stored no capture
    assert messages.count("READY=1\nSTATUS=booth ready") == 1, messages
    ready = messages.index("READY=1\nSTATUS=booth ready")
    assert messages[ready + 1:].count("WATCHDOG=1") >= 3, messages  # every 0.5 s from the Kivy clock
    assert messages[-1] == "STOPPING=1" and messages.count("STOPPING=1") == 1
