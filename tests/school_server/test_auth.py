"""Enrolment codes, bearer tokens, revocation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from server.harness import Deployment, new_capture_id


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


def _works(dep: Deployment, token: str) -> str | None:
    """The centre the token's kiosk is at, or None when the token is refused."""
    reply = httpx.get(f"{dep.server.url}/api/v1/schedule",
                      headers={"Authorization": f"Bearer {token}"})
    return reply.json()["centre"] if reply.status_code == 200 else None


def test_an_active_kiosk_id_is_not_taken_over(deployment: Deployment) -> None:
    """Any code used to take over a working booth's id (even at another
    centre) is refused, unspent; the booth keeps working."""
    booth = deployment.enrol("Haidian")
    code = deployment.enrol_code("Xihu")
    reply = _enrol(deployment, code, booth.kiosk_id)
    assert reply.status_code == 403
    detail = reply.json()["detail"]
    assert f"photo-server revoke {booth.kiosk_id}" in detail and "--kiosk" in detail
    assert _works(deployment, booth.token) == "haidian"
    # The refused code was not spent: it still enrols a new booth.
    assert _enrol(deployment, code, "booth-new-xihu").status_code == 200


def test_a_code_made_for_a_kiosk_id_re_enrols_only_that_kiosk(deployment: Deployment) -> None:
    booth = deployment.enrol("Haidian")
    made = deployment.cli("enrol-code", "--kiosk", booth.kiosk_id)  # centre: where it is
    assert made.code == 0, made.err
    code = made.out.strip()
    other = _enrol(deployment, code, "booth-someone-else")
    assert other.status_code == 403 and "another kiosk id" in other.json()["detail"]
    reimaged = _enrol(deployment, code, booth.kiosk_id)
    assert reimaged.status_code == 200
    assert _works(deployment, reimaged.json()["token"]) == "haidian"
    assert _works(deployment, booth.token) is None  # the old token is rotated out
    # A code for an unknown kiosk id needs its centre; a malformed id is refused.
    unknown = deployment.cli("enrol-code", "--kiosk", "booth-not-yet")
    assert unknown.code == 1 and "--centre" in unknown.err and "Traceback" not in unknown.err
    assert deployment.cli("enrol-code", "--kiosk", "booth-not-yet", "--centre", "Xihu").code == 0
    bad = deployment.cli("enrol-code", "--kiosk", "../booth", "--centre", "Xihu")
    assert bad.code == 1 and "kiosk id" in bad.err
    assert deployment.cli("enrol-code").code == 1


def test_concurrent_enrolments_of_one_new_id_enrol_it_once(deployment: Deployment) -> None:
    codes = [deployment.enrol_code("Haidian") for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda code: _enrol(deployment, code, "booth-race"), codes))
    assert sorted(r.status_code for r in replies) == [200] + [403] * 5, [r.text for r in replies]
    # The losers' codes are unspent.
    losers = [code for code, r in zip(codes, replies) if r.status_code == 403]
    assert _enrol(deployment, losers[0], "booth-race-2").status_code == 200
