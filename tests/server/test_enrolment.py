"""Enrolment codes, bearer tokens, revocation."""

from __future__ import annotations

import time

import httpx

from .harness import Deployment, new_capture_id


def _enrol(dep: Deployment, code: str, kiosk_id: str) -> httpx.Response:
    return httpx.post(f"{dep.server.url}/api/v1/enrol",
                      json={"enrolment_code": code, "kiosk_id": kiosk_id})


def test_code_gives_a_token_once(deployment: Deployment) -> None:
    code = deployment.enrol_code("Haidian")
    first = _enrol(deployment, code, "booth-a")
    assert first.status_code == 200
    token = first.json()["token"]
    assert len(token) >= 40
    again = _enrol(deployment, code, "booth-b")
    assert again.status_code == 403
    assert "used" in again.json()["detail"]
    # The token works, and says which centre the kiosk belongs to.
    reply = httpx.get(f"{deployment.server.url}/api/v1/schedule",
                      headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    assert reply.json()["centre"] == "haidian"


def test_code_is_forgiving_about_case_and_dashes(deployment: Deployment) -> None:
    code = deployment.enrol_code("Haidian")
    assert _enrol(deployment, code.replace("-", "").lower(), "booth-c").status_code == 200


def test_expired_and_unknown_codes_are_refused(deployment: Deployment) -> None:
    code = deployment.enrol_code("Haidian", hours="0.0002")  # 0.72 s
    time.sleep(1.0)
    reply = _enrol(deployment, code, "booth-late")
    assert reply.status_code == 403
    assert "expired" in reply.json()["detail"]
    assert _enrol(deployment, "AAAAA-BBBBB-CCCCC", "booth-x").status_code == 403


def test_missing_or_unknown_token_is_401(deployment: Deployment) -> None:
    url = f"{deployment.server.url}/api/v1/roster"
    assert httpx.get(url).status_code == 401
    reply = httpx.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"


def test_revoked_kiosk_gets_401_and_can_be_re_enrolled(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    sealed = kiosk.seal({"spec_jpeg": ""})
    assert kiosk.put(new_capture_id(), kiosk.upload_body(sealed)).status_code == 201

    result = deployment.cli("revoke", kiosk.kiosk_id)
    assert result.code == 0 and kiosk.kiosk_id in result.out
    assert kiosk.put(new_capture_id(), kiosk.upload_body(sealed)).status_code == 401
    with kiosk.client() as client:
        assert client.get("/api/v1/roster").status_code == 401
        beat = {"status": "idle", "queue_depth": 0, "free_mb": 1, "version": "t"}
        assert client.post("/api/v1/heartbeat", json=beat).status_code == 401

    # Staff re-enrol the booth with a fresh code: a new token; the old stays dead.
    fresh = deployment.enrol("Haidian", kiosk.kiosk_id)
    assert fresh.token != kiosk.token
    assert fresh.put(new_capture_id(), fresh.upload_body(sealed)).status_code == 201
    assert kiosk.put(new_capture_id(), kiosk.upload_body(sealed)).status_code == 401


def test_revoking_an_unknown_kiosk_fails(deployment: Deployment) -> None:
    result = deployment.cli("revoke", "no-such-kiosk")
    assert result.code == 1
    assert "no kiosk" in result.err
