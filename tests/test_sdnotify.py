"""sd_notify over a real unix datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
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
    assert received(sock) == ["STOPPING=1"]


def test_no_watchdog_configured_sends_ready_only(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = ServiceNotifier({"NOTIFY_SOCKET": path})
    for t in range(5):
        notifier.tick(float(t), devices_up=True)
    assert received(sock) == ["READY=1\nSTATUS=booth ready"]
