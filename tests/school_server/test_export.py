"""Export decrypts to the original bytes; data outlives a server restart."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from PIL import Image

from server.harness import Deployment, new_capture_id

ID_NUMBER = "110101200001011234"


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 64), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_export_decrypts_to_the_original_jpeg(deployment: Deployment, tmp_path: Path) -> None:
    kiosk, elsewhere = deployment.enrol("Haidian"), deployment.enrol("Xihu")
    spec, original = _jpeg((20, 60, 200)), _jpeg((200, 60, 20))
    doc = {"spec_jpeg": base64.b64encode(spec).decode(),
           "original_jpeg": base64.b64encode(original).decode(),
           "id_number": ID_NUMBER, "name": "张三明", "consent_version": "2026-05",
           "report": {"passed": True}}
    capture_id = new_capture_id()
    assert kiosk.put(capture_id, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
    other_id = new_capture_id()
    other = {"spec_jpeg": base64.b64encode(_jpeg((0, 0, 0))).decode()}
    assert elsewhere.put(other_id, elsewhere.upload_body(elsewhere.seal(other))).status_code == 201

    out = tmp_path / "export"
    result = deployment.cli("export", "--out", str(out), "--centre", "Haidian")
    assert result.code == 0, result.err
    assert (out / f"{capture_id}.jpg").read_bytes() == spec
    assert (out / f"{capture_id}.original.jpg").read_bytes() == original
    assert not (out / f"{other_id}.jpg").exists()  # another centre
    assert (out / f"{capture_id}.jpg").stat().st_mode & 0o077 == 0
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["capture_id"] for r in rows] == [capture_id]
    row = rows[0]
    assert row["id_number"] == ID_NUMBER and row["name"] == "张三明"
    assert row["kiosk_id"] == kiosk.kiosk_id and row["centre"] == "haidian"
    assert row["photo"] == f"{capture_id}.jpg" and row["report"] == '{"passed": true}'
    assert "spec_jpeg" not in row and "original_jpeg" not in row
    assert ID_NUMBER not in result.out + result.err
    # The server never saw the plaintext, and logs no bodies.
    log = deployment.server.log()
    assert capture_id in log and kiosk.kiosk_id in log
    assert ID_NUMBER not in log and "张三明" not in log


def test_export_reports_a_capture_it_cannot_open(deployment: Deployment, tmp_path: Path) -> None:
    kiosk = deployment.enrol("Chaoyang")
    good, bad = new_capture_id(), new_capture_id()
    doc = {"spec_jpeg": base64.b64encode(_jpeg((1, 2, 3))).decode()}
    assert kiosk.put(good, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
    assert kiosk.put(bad, kiosk.upload_body(b"not sealed to the server")).status_code == 201
    result = deployment.cli("export", "--out", str(tmp_path / "out"), "--centre", "chaoyang")
    assert result.code == 1
    assert bad in result.err and "decrypt" in result.err
    assert (tmp_path / "out" / f"{good}.jpg").exists()


def test_data_persists_across_a_restart(deployment: Deployment, tmp_path: Path) -> None:
    kiosk = deployment.enrol("Haidian")
    body = kiosk.upload_body(kiosk.seal({"spec_jpeg": base64.b64encode(_jpeg((9, 9, 9))).decode()}))
    capture_id = new_capture_id()
    receipt = kiosk.put(capture_id, body).json()
    with kiosk.client() as client:
        beat = {"status": "idle", "queue_depth": 0, "free_mb": 777, "version": "0.1.0"}
        assert client.post("/api/v1/heartbeat", json=beat).status_code == 204

    deployment.server.restart()

    again = kiosk.put(capture_id, body)  # the token survived too
    assert again.status_code == 200 and again.json() == receipt
    progress = deployment.cli("progress").out
    assert any(kiosk.kiosk_id in line and "777" in line for line in progress.splitlines())
    out = tmp_path / "after-restart"
    assert deployment.cli("export", "--out", str(out), "--centre", "haidian").code == 0
    assert (out / f"{capture_id}.jpg").read_bytes() == _jpeg((9, 9, 9))
