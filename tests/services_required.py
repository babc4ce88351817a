"""KIOSK_REQUIRE_SERVICES: a service the tests cannot start is a failure, not a skip.

Tests that need a real service (pcscd with the vpcd virtual readers, the
province's PostgreSQL and SeaweedFS, FUSE for the power cuts, espeak-ng, a
window for Kivy, the CJK font, systemd-analyze and shellcheck for the booth's
unit and scripts, nginx for the shipped reverse-proxy configuration) skip where it is not installed, so a
developer's machine without them still runs the rest. CI (.ci/run) sets
KIOSK_REQUIRE_SERVICES=1 after `provisioning/setup.sh --test` installed them
all: there a missing one must fail loudly, not pass as a quiet skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "KIOSK_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def service_missing(reason: str, who: str) -> NoReturn:
    """Skip the test because `reason`; fail instead under KIOSK_REQUIRE_SERVICES=1.

    who names the tests that must then run, e.g. "the PC/SC tests".
    """
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: {who} must run)", pytrace=False)
    pytest.skip(reason)
