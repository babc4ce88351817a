"""Shared fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import pcsc_stack
from services_required import service_missing

PCSC_TESTS = "the PC/SC tests"

# The `slow` marker (pyproject.toml) goes on every test that starts a real
# service, found here rather than written on each test, so that
# `pytest -m "not slow"` runs the rest (docs/running.md). A test is slow when:
# it takes one of these fixtures (pcscd and its readers; PostgreSQL, SeaweedFS)...
SERVICE_FIXTURES = frozenset({"pcscd", "pyscard", "services", "postgres_url", "s3_endpoint", "province"})
# ...or is parametrized on a backend that is one (asked for with getfixturevalue)...
SERVICE_PARAMS = frozenset({"province", "postgresql", "s3"})
# ...or its module, or the test itself, uses what opens a window, a browser or
# the power-cut FUSE filesystem...
SERVICE_HARNESSES = {"window_harness": ("run_windowed", "display_prefix"),
                     "server.office_browser": ("browser",), "powercut_fs": ()}
# ...or it is opt-in as slow already (the chroot, the package registry).
SLOW_SKIP_REASON = "slow"


def _harness_objects() -> tuple[set[int], set[str]]:
    """ids of the harness modules and functions the collected modules imported, and their names
    (for a test that imports one only when it runs)."""
    ids: set[int] = set()
    names: set[str] = set()
    for module_name, functions in SERVICE_HARNESSES.items():
        names |= {module_name.rpartition(".")[2], *functions}
        module = sys.modules.get(module_name)
        if module is not None:  # else no collected module imported it
            ids |= {id(module), *(id(getattr(module, f)) for f in functions)}
    return ids, names


def _starts_a_service(item: pytest.Item, harness_ids: set[int], harness_names: set[str]) -> bool:
    if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(isinstance(v, str) and v in SERVICE_PARAMS for v in callspec.params.values()):
        return True
    module = getattr(item, "module", None)
    if module is not None and any(id(v) in harness_ids for v in vars(module).values()):
        return True
    code = getattr(getattr(item, "function", None), "__code__", None)
    if code is not None and harness_names & {*code.co_names, *code.co_varnames}:
        return True  # a harness imported inside the test
    return any(str(m.kwargs.get("reason", "")).startswith(SLOW_SKIP_REASON) for m in item.iter_markers("skipif"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    # tests/server/ holds the server's harnesses only: a test put there would run
    # without tests/school_server/conftest.py's fixtures (backends, services).
    if file_path.name.startswith("test_") and file_path.parent == Path(__file__).parent / "server":
        raise pytest.UsageError(f"{file_path}: the server's tests live in tests/school_server/")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    harness_ids, harness_names = _harness_objects()
    for item in items:
        if _starts_a_service(item, harness_ids, harness_names):
            item.add_marker(pytest.mark.slow)


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
    (tests/school_server/ has its own, over both backends)."""
    from server.harness import Deployment

    dep = Deployment(tmp_path_factory.mktemp("server") / "data")
    dep.server.start()
    yield dep
    dep.close()
