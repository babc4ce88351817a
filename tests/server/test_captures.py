"""PUT /api/v1/captures/{capture_id}: receipts, idempotency, refusals."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

from .harness import Deployment, new_capture_id


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
    stored = deployment.data_dir / "objects" / "captures" / capture_id / f"{receipt['digest']}.sealed"
    assert stored.read_bytes() == sealed
    assert stored.stat().st_mode & 0o077 == 0
    assert not list(stored.parent.glob(".tmp-*"))


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
