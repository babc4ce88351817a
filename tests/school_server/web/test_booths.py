"""The office's booths page (school_server/web/booths.py), on a real server:
each booth's token's last use (time and address) and the admin's revoke
button (issue 24 item 6: a stolen token heartbeats as the booth and reads
the centre's roster; revocation was CLI only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from server.harness import Deployment, new_capture_id
from server.office_http import login_csrf, outcome, post_login

PASSWORD = "correct horse battery"
BEAT = {"status": "idle", "queue_depth": 0, "free_mb": 900, "version": "0.1.0"}
THIEF = "203.0.113.9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # The proxy on this machine is believed, as behind the school's nginx.
    dep = Deployment(tmp_path_factory.mktemp("booths") / "data", 'trusted_proxies = ["127.0.0.1"]\n')
    try:
        dep.server.start()
        for user, role in (("boss", "admin"), ("vera", "viewer")):
            result = dep.cli_stdin(PASSWORD + "\n", "add-user", user, "--role", role)
            assert result.code == 0, result.err
        yield dep
    finally:
        dep.close()


def _session(dep: Deployment, user: str) -> httpx.Client:
    client = httpx.Client(base_url=dep.server.url, timeout=30)
    reply = post_login(client, login_csrf(client), user, PASSWORD)
    assert outcome(reply.headers["location"]) == "ok"
    return client


def _row(html: str, kiosk_id: str) -> str:
    found = re.search(rf'<tr id="kiosk-{re.escape(kiosk_id)}".*?</tr>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


def test_the_booths_page_shows_each_tokens_last_use(server: Deployment) -> None:
    used, idle = server.enrol("Haidian"), server.enrol("Haidian")
    with used.client() as client:
        assert client.post("/api/v1/heartbeat", json=BEAT).status_code == 204
        # The same token from another address: shown at once, not a minute later.
        assert client.post("/api/v1/heartbeat", json=BEAT,
                           headers={"X-Forwarded-For": THIEF}).status_code == 204
    with closing(_session(server, "vera")) as viewer:
        page = viewer.get("/office/fleet")
    assert page.status_code == 200
    row = _row(page.text, used.kiosk_id)
    assert re.search(r'class="last-used">20\d\d-\d\d-\d\d \d\d:\d\d:\d\d<', row), row
    assert f'class="address">{THIEF}<' in row
    assert 'class="last-used">从未<' in _row(page.text, idle.kiosk_id)
    assert "revoke" not in page.text  # a viewer gets no button


def test_an_admin_revokes_a_stolen_token_from_the_office(server: Deployment) -> None:
    kiosk = server.enrol("Chaoyang")
    with kiosk.client() as client:
        assert client.post("/api/v1/heartbeat", json=BEAT).status_code == 204
    action = f"/office/fleet/{kiosk.kiosk_id}/revoke"
    with closing(_session(server, "vera")) as viewer, closing(_session(server, "boss")) as admin:
        page = admin.get("/office/fleet")
        assert f'action="{action}"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        viewer_csrf = re.search(r'name="csrf" value="([^"]+)"',  # type: ignore[union-attr]
                                viewer.get("/office/fleet").text).group(1)
        assert viewer.post(action, data={"csrf": viewer_csrf}).status_code == 403
        assert admin.post(action, data={"csrf": "forged"}).status_code == 403
        with kiosk.client() as client:  # still working after the refused attempts
            assert client.post("/api/v1/heartbeat", json=BEAT).status_code == 204
        reply = admin.post(action, data={"csrf": csrf})
        assert reply.status_code == 303 and reply.headers["location"] == "/office/fleet"
        page = admin.get("/office/fleet")
        assert "已吊销" in _row(page.text, kiosk.kiosk_id)
        assert f'action="{action}"' not in page.text
        assert "kiosk_revoked" in admin.get("/office/audit").text
    # The token is refused at once: heartbeat, roster, upload.
    with kiosk.client() as client:
        for reply in (client.post("/api/v1/heartbeat", json=BEAT), client.get("/api/v1/roster")):
            assert reply.status_code == 401 and reply.json() == {"detail": "kiosk revoked"}
    reply = kiosk.put(new_capture_id(), kiosk.upload_body(kiosk.seal({"a": 1})))
    assert reply.status_code == 401
