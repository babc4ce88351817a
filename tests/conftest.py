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


# The real portrait on the blue backdrop and a still-image face analyser,
# shared by the photo-engine tests (one of each per test module).
@pytest.fixture(scope="module")
def camera():
    from kiosk.config import CameraConfig
    from kiosk.hardware.camera_sim import SimulatedCamera

    cam = SimulatedCamera(CameraConfig())
    cam.start()
    yield cam
    cam.close()


@pytest.fixture(scope="module")
def analyser():
    from kiosk.photo.analysis import FaceAnalyser

    a = FaceAnalyser(static_image_mode=True)
    yield a
    a.close()
