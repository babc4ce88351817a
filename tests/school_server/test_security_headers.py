"""Headers on every answer, no-store on the office's pages, and FastAPI's
own documentation pages not served (issue 24, item 10), on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from server.harness import Deployment

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    dep = Deployment(tmp_path_factory.mktemp("headers") / "data")
    try:
        dep.server.start()
        yield dep
    finally:
        dep.close()


def test_every_answer_carries_the_security_headers(server: Deployment) -> None:
    kiosk = server.enrol("Haidian")
    with httpx.Client(base_url=server.server.url) as client:
        answers = [client.get("/office/login"), client.get("/office/progress"),
                   client.get("/api/v1/health"), client.get("/no/such/page"),
                   client.get("/api/v1/roster", headers=kiosk.headers),
                   client.get("/api/v1/roster")]  # 401 from the body guard
    for reply in answers:
        where = f"{reply.request.url.path} ({reply.status_code})"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"], where
        # One same-origin script file (the review grid's keyboard), never inline.
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1] \
            .split(";")[0], where
        assert reply.headers["x-frame-options"] == "DENY", where
        assert reply.headers["referrer-policy"] == "no-referrer", where
        assert reply.headers["x-content-type-options"] == "nosniff", where
    for reply in answers[:2]:
        assert reply.headers["cache-control"] == "no-store", reply.request.url.path


def test_the_api_documentation_is_not_served(server: Deployment) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert httpx.get(server.server.url + path).status_code == 404, path
