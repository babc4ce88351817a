"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pcsc_stack


@pytest.fixture(scope="session")
def pcscd() -> Iterator[pcsc_stack.PcscDaemon]:
    """A running pcscd with the vpcd virtual readers (started for the session if needed)."""
    reason = pcsc_stack.missing()
    if reason:
        pytest.skip(reason)  # only when the binary or pyscard is absent; CI installs both
    daemon = pcsc_stack.PcscDaemon()
    daemon.attach_or_start()
    yield daemon
    daemon.stop()  # no-op for a pcscd we did not start
