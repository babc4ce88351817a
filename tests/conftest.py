"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

import pcsc_stack
from services_required import service_missing

PCSC_TESTS = "the PC/SC tests"


@pytest.fixture(scope="session")
def pyscard() -> ModuleType:
    """smartcard.scard, for tests that need pyscard but no pcscd."""
    reason = pcsc_stack.pyscard_missing()
    if reason:
        service_missing(reason, PCSC_TESTS)
    from smartcard import scard

    return scard


@pytest.fixture(scope="session")
def pcscd() -> Iterator[pcsc_stack.PcscDaemon]:
    """A running pcscd with the vpcd virtual readers (started for the session if needed)."""
    reason = pcsc_stack.missing()
    if reason:
        # pcscd, pyscard or the vpcd driver absent: a skip here, a failure in CI
        # (KIOSK_REQUIRE_SERVICES=1, after provisioning/setup.sh --test installed them).
        service_missing(reason, PCSC_TESTS)
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


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Deployment"]:
    """A real school server on 127.0.0.1 (SQLite) for the kiosk-side tests
    (tests/server/ has its own, over both backends)."""
    from server.harness import Deployment

    dep = Deployment(tmp_path_factory.mktemp("server") / "data")
    dep.server.start()
    yield dep
    dep.close()
