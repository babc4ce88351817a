"""The office login form over plain HTTP (no browser): for the tests of
logins under load, throttling and sessions on a real server."""

from __future__ import annotations

import re

import httpx


def login_csrf(client: httpx.Client) -> str:
    """Open the login page (it sets the login CSRF cookie on client); its token."""
    page = client.get("/office/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def post_login(client: httpx.Client, csrf: str, user: str, password: str,
               headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/office/login", data={"username": user, "password": password,
                                              "csrf": csrf}, headers=headers)


def log_in(url: str, user: str, password: str,
           headers: dict[str, str] | None = None) -> str:
    """Where the login form sends the browser (one fresh client)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        reply = post_login(client, login_csrf(client), user, password, headers)
        assert reply.status_code == 303, reply.text[:300]
        return reply.headers["location"]


def outcome(location: str) -> str:
    """ok, or the login page's error (bad, locked, throttled)."""
    return "ok" if not location.startswith("/office/login") else location.rsplit("=", 1)[-1]
