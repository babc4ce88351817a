"""PUT /api/v1/captures/{capture_id}: receipts, idempotency, refusals."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

from server.harness import Deployment, new_capture_id


def test_upload_gives_a_receipt_and_stores_the_sealed_bytes(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    sealed = kiosk.seal({"spec_jpeg": "AAAA", "id_number": "110101200001011234"})
    capture_id = new_capture_id()
    reply = kiosk.put(capture_id, kiosk.upload_body(sealed))
    assert reply.status_code == 201, reply.text
    receipt = reply.json()
    assert receipt["capture_id"] == capture_id
    assert receipt["digest"] == hashlib.sha256(sealed).hexdigest()
    assert receipt["received_at"].endswith("Z")
    key = f"captures/{capture_id}/{receipt['digest']}.sealed"
    assert deployment.stored_object(key) == sealed
    assert deployment.stored_keys(f"captures/{capture_id}/") == [key]  # no temporary leftovers
    if deployment.bucket is None:
        assert (deployment.data_dir / "objects" / key).stat().st_mode & 0o077 == 0
    else:
        assert not (deployment.data_dir / "objects").exists()


def test_exact_repeat_gets_the_same_receipt(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}))
    capture_id = new_capture_id()
    first = kiosk.put(capture_id, body)
    second = kiosk.put(capture_id, body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()


def test_concurrent_repeats_store_one_capture(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}))
    capture_id = new_capture_id()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: kiosk.put(capture_id, body), range(8)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] * 7 + [201]
    assert len({r.text for r in replies}) == 1


def test_concurrent_conflicting_uploads_keep_the_first(deployment: Deployment) -> None:
    """Two different captures under one id at once: one wins (201, then 200 for
    its repeats), every upload of the other gets 409, and the row points at the
    winner's bytes."""
    kiosk = deployment.enrol("Haidian")
    bodies = [kiosk.upload_body(kiosk.seal({"spec_jpeg": spec})) for spec in ("AAAA", "BBBB")]
    capture_id = new_capture_id()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda n: (n % 2, kiosk.put(capture_id, bodies[n % 2])), range(8)))
    created = [(which, r) for which, r in replies if r.status_code == 201]
    assert len(created) == 1, [r.status_code for _, r in replies]
    winner, receipt = created[0][0], created[0][1].json()
    for which, reply in replies:
        assert reply.status_code in ((200, 201) if which == winner else (409,)), reply.text
    assert receipt["digest"] == bodies[winner]["digest"]
    key = f"captures/{capture_id}/{receipt['digest']}.sealed"
    assert deployment.stored_object(key) == base64.b64decode(bodies[winner]["sealed"])
    assert kiosk.put(capture_id, bodies[1 - winner]).status_code == 409
    # The losers' objects are gone (they had stored theirs before losing the insert).
    assert deployment.stored_keys(f"captures/{capture_id}/") == [key]


def test_same_id_other_digest_is_409(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    capture_id = new_capture_id()
    first = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}))
    assert kiosk.put(capture_id, first).status_code == 201
    other = kiosk.upload_body(kiosk.seal({"spec_jpeg": "BBBB"}))
    reply = kiosk.put(capture_id, other)
    assert reply.status_code == 409
    # The first capture is untouched: its repeat still gets its receipt.
    assert kiosk.put(capture_id, first).status_code == 200


def test_digest_not_matching_the_body_is_422(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    sealed = kiosk.seal({"spec_jpeg": "AAAA"})
    wrong = kiosk.upload_body(sealed, digest=hashlib.sha256(b"something else").hexdigest())
    reply = kiosk.put(new_capture_id(), wrong)
    assert reply.status_code == 422
    assert "digest" in reply.json()["detail"]
    not_base64 = {**kiosk.upload_body(sealed), "sealed": "not base64!"}
    assert kiosk.put(new_capture_id(), not_base64).status_code == 422
    assert kiosk.put(new_capture_id(), kiosk.upload_body(sealed, digest="abc")).status_code == 422
    assert kiosk.put("../../etc", kiosk.upload_body(sealed)).status_code in (404, 422)


def test_a_session_the_database_cannot_hold_is_422(deployment: Deployment) -> None:
    """SQLite would store these and PostgreSQL fail on them (a 500 the kiosk
    retries for ever): both backends refuse them the same way. A blank
    session, which both would store, is refused too."""
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(kiosk.seal({"spec_jpeg": "AAAA"}))
    capture_id = new_capture_id()
    for session in ("2026-06\x00a",  # PostgreSQL text holds no NUL
                    "ß" * 100,  # 100 characters, 200 once case-folded ("ss")
                    " \t\u3000", "\x1c"):  # blank once stripped: stored as the session ""
        reply = kiosk.put(capture_id, {**body, "session": session})
        assert reply.status_code == 422, reply.text
        assert "session" in str(reply.json()["detail"])
    # Nothing was stored: the same capture with a good session is new.
    assert kiosk.put(capture_id, {**body, "session": "x" * 100}).status_code == 201


def test_validation_errors_do_not_echo_the_body(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(b"x", created_at="110101200001011234")
    reply = kiosk.put(new_capture_id(), body)
    assert reply.status_code == 422
    assert "110101200001011234" not in reply.text


def test_kiosk_cannot_write_as_another_kiosk(deployment: Deployment) -> None:
    mine, theirs = deployment.enrol("Haidian"), deployment.enrol("Haidian")
    sealed = mine.seal({"spec_jpeg": "AAAA"})
    reply = mine.put(new_capture_id(), mine.upload_body(sealed, kiosk_id=theirs.kiosk_id))
    assert reply.status_code == 403
    # Nor overwrite another kiosk's capture under its own name.
    capture_id = new_capture_id()
    assert theirs.put(capture_id, theirs.upload_body(sealed)).status_code == 201
    assert mine.put(capture_id, mine.upload_body(sealed)).status_code == 409


def test_body_over_the_limit_is_413(deployment: Deployment) -> None:
    kiosk = deployment.enrol("Haidian")
    sealed = b"\0" * (19 * 1024 * 1024)  # 25.3 MiB once in base64
    body = kiosk.upload_body(sealed)
    assert len(body["sealed"]) > 24 * 1024 * 1024
    reply = kiosk.put(new_capture_id(), body)
    assert reply.status_code == 413
    assert base64.b64encode(sealed[:3000]).decode() not in deployment.server.log()
