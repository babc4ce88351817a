"""Failed office logins per client address (school_server/login_throttle.py):
one address trying many accounts is refused before any password is checked,
on a real server over HTTP. Its own server with a limit of 3, so the office
page tests' server (one address: 127.0.0.1) is not throttled."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.harness import Deployment
from server.office_http import log_in

PASSWORD = "correct horse battery"
ACCOUNTS = ("amy", "bob", "cai", "dai")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    dep = Deployment(tmp_path_factory.mktemp("throttle") / "data",
                     "office_login_failures_per_address = 3\n")
    try:
        dep.server.start()
        for user in ACCOUNTS:
            result = dep.cli_stdin(PASSWORD + "\n", "add-user", user, "--role", "viewer")
            assert result.code == 0, result.err
        yield dep
    finally:
        dep.close()


def _log_in(dep: Deployment, user: str, password: str) -> str:
    return log_in(dep.server.url, user, password)


def test_one_address_spraying_accounts_is_throttled(server: Deployment) -> None:
    # One wrong guess each on three accounts: no account is locked (5 needed)...
    for user in ACCOUNTS[:3]:
        assert _log_in(server, user, "wrong password!") == "/office/login?error=bad"
    # ...but the address has used its 3 failures: even the right password of a
    # fourth account is refused now, before it is checked.
    assert _log_in(server, "dai", PASSWORD) == "/office/login?error=throttled"
    db = sqlite3.connect(Path(server.data_dir) / "server.db")
    actions = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]
    db.close()
    assert actions.count("login_failed") == 3 and actions[-1] == "login_throttled"
    with httpx.Client(base_url=server.server.url) as client:
        page = client.get("/office/login?error=throttled")
    assert "15 分钟后再试" in page.text
