"""Fixtures for the school server tests (see tests/server/harness.py and services.py).

Every test that takes `deployment` runs twice: on the school's configuration
(SQLite, objects in the data dir: `[sqlite]`) and on the province's
(PostgreSQL and S3 object storage, both real servers: `[province]`). The
PostgreSQL and SeaweedFS servers start on first use, so `-k sqlite` or a
module that needs neither never waits for them. Missing server binaries skip
those tests, unless KIOSK_REQUIRE_SERVICES=1 (CI) makes that a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from services_required import service_missing

from server.harness import Deployment
from server.services import ServiceMissing, Services

BACKENDS = ["sqlite", "province"]
_SERVICES = pytest.StashKey[Services]()
T = TypeVar("T")


@dataclass(frozen=True)
class Province:
    postgres_url: str  # admin URL: tests make a database each
    s3_endpoint: str  # tests make a bucket each


def _need(start: Callable[[], T]) -> T:
    """start(), or skip (fail under KIOSK_REQUIRE_SERVICES=1) when it cannot run here."""
    try:
        return start()
    except ServiceMissing as err:
        missing = str(err)
    service_missing(missing, "the province tests")


@pytest.fixture(scope="session")
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    """The session's PostgreSQL and SeaweedFS; nothing runs until asked for."""
    pool = request.config.stash[_SERVICES] = Services()
    yield pool
    pool.stop_all()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    pool = config.stash.get(_SERVICES, None)
    if pool is not None and pool.timings:
        took = ", ".join(f"{name} {secs:.1f} s" for name, secs in pool.timings.items())
        terminalreporter.write_line(f"server tests: services started ({took})")


@pytest.fixture(scope="session")
def postgres_url(services: Services) -> str:
    """Admin URL of a real PostgreSQL server (started for the session, or given)."""
    return _need(services.postgres_url)


@pytest.fixture(scope="session")
def s3_endpoint(services: Services) -> str:
    """A real S3 endpoint, SeaweedFS (started for the session, or given)."""
    return _need(services.s3_endpoint)


@pytest.fixture(scope="session")
def province(services: Services) -> Province:
    """Both servers, started side by side."""
    return Province(*_need(services.province))


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A fresh data dir and a server on it, shared by one test module, on each backend."""
    data_dir = tmp_path_factory.mktemp(f"server-{request.param}") / "data"
    if request.param == "province":
        where: Province = request.getfixturevalue("province")
        dep = Deployment(data_dir, postgres=where.postgres_url, s3=where.s3_endpoint)
    else:
        dep = Deployment(data_dir)
    try:
        dep.server.start()
        yield dep
    finally:
        dep.close()
