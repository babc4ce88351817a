"""Accounts and their sessions (issue 24, item 9), on a real server: a new
password ends the sessions opened with the old one, and a disabled account
cannot log in and its open session ends at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from server.harness import Deployment
from server.office_http import log_in, login_csrf, outcome, post_login

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    dep = Deployment(tmp_path_factory.mktemp("sessions") / "data")
    try:
        dep.server.start()
        yield dep
    finally:
        dep.close()


def _session(dep: Deployment, user: str) -> httpx.Client:
    """A logged-in client (close it)."""
    client = httpx.Client(base_url=dep.server.url)
    reply = post_login(client, login_csrf(client), user, PASSWORD)
    assert outcome(reply.headers["location"]) == "ok"
    assert client.get("/office/progress").status_code == 200
    return client


def _add(dep: Deployment, user: str, password: str) -> None:
    result = dep.cli_stdin(password + "\n", "add-user", user, "--role", "viewer")
    assert result.code == 0, result.err


def test_a_new_password_ends_the_old_sessions(server: Deployment) -> None:
    _add(server, "amy", PASSWORD)
    with closing(_session(server, "amy")) as old:
        _add(server, "amy", NEW_PASSWORD)
        reply = old.get("/office/progress")
        assert reply.status_code == 303 and reply.headers["location"] == "/office/login"
    assert outcome(log_in(server.server.url, "amy", NEW_PASSWORD)) == "ok"


def test_a_disabled_user_is_out_at_once(server: Deployment) -> None:
    _add(server, "bob", PASSWORD)
    with closing(_session(server, "bob")) as open_one:
        result = server.cli("disable-user", "bob")
        assert result.code == 0 and "disabled" in result.out, result.err
        reply = open_one.get("/office/progress")
        assert reply.status_code == 303 and reply.headers["location"] == "/office/login"
    # The right password now answers as a wrong one.
    assert outcome(log_in(server.server.url, "bob", PASSWORD)) == "bad"
    result = server.cli("disable-user", "nobody")
    assert result.code == 1 and "no user 'nobody'" in result.err
    _add(server, "bob", NEW_PASSWORD)  # enabled again, with a new password
    assert outcome(log_in(server.server.url, "bob", NEW_PASSWORD)) == "ok"


def test_an_admin_disables_an_account_from_the_office(server: Deployment) -> None:
    _add(server, "cai", PASSWORD)
    result = server.cli_stdin(PASSWORD + "\n", "add-user", "boss", "--role", "admin")
    assert result.code == 0, result.err
    with closing(_session(server, "cai")) as victim, closing(_session(server, "boss")) as admin:
        assert victim.get("/office/users").status_code == 403  # a viewer may not
        page = admin.get("/office/users")
        assert page.status_code == 200 and 'id="user-cai"' in page.text
        csrf = _page_csrf(page.text)
        assert admin.post("/office/users/cai/disable", data={"csrf": "forged"}).status_code == 403
        assert victim.get("/office/progress").status_code == 200
        reply = admin.post("/office/users/cai/disable", data={"csrf": csrf})
        assert reply.status_code == 303
        assert victim.get("/office/progress").status_code == 303  # out at once
        assert "已停用" in admin.get("/office/users").text
    assert outcome(log_in(server.server.url, "cai", PASSWORD)) == "bad"


def _page_csrf(html: str) -> str:
    """The session's CSRF token, from a page's logout form."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)
