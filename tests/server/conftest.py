"""Fixtures for the school server tests (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Deployment


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A fresh data dir and a server on it, shared by one test module."""
    dep = Deployment(tmp_path_factory.mktemp("server") / "data")
    dep.server.start()
    yield dep
    dep.close()
