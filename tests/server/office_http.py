"""The office login form over plain HTTP (no browser): for the tests of
logins under load, throttling and sessions on a real server."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

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


def at_once(url: str, attempts: list[tuple[str, str]]) -> list[httpx.Response]:
    """Each (user, password) posted by its own client, all released together."""
    clients = [httpx.Client(base_url=url, timeout=120) for _ in attempts]
    try:
        tokens = [login_csrf(c) for c in clients]
        gate = threading.Barrier(len(attempts))

        def one(i: int) -> httpx.Response:
            gate.wait()
            return post_login(clients[i], tokens[i], *attempts[i])
        with ThreadPoolExecutor(len(attempts)) as pool:
            return list(pool.map(one, range(len(attempts))))
    finally:
        for c in clients:
            c.close()
