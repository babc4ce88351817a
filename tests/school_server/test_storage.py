"""The S3 object store on its own (with SQLite), end to end, on a real S3
service: SeaweedFS started for the session (services.py), or the endpoint in
PHOTO_SERVER_TEST_S3_ENDPOINT. The province configuration (PostgreSQL + S3)
runs every `deployment` test as well (conftest.py)."""

from __future__ import annotations

import base64
from pathlib import Path

from server.harness import Deployment, new_capture_id


def test_upload_and_export_through_s3(tmp_path: Path, s3_endpoint: str) -> None:
    dep = Deployment(tmp_path / "data", s3=s3_endpoint, s3_prefix="school")
    dep.server.start()
    try:
        assert dep.bucket is not None
        kiosk = dep.enrol("Haidian")
        spec = b"\xff\xd8 not really a jpeg \xff\xd9"
        body = kiosk.upload_body(kiosk.seal({"spec_jpeg": base64.b64encode(spec).decode()}))
        capture_id = new_capture_id()
        first = kiosk.put(capture_id, body)
        assert first.status_code == 201, first.text
        assert kiosk.put(capture_id, body).json() == first.json()
        # The object is under the prefix, in the bucket, and nowhere on disk.
        assert dep.bucket.keys() == [f"school/captures/{capture_id}/{body['digest']}.sealed"]
        assert not (dep.data_dir / "objects").exists()
        result = dep.cli("export", "--out", str(tmp_path / "out"))
        assert result.code == 0, result.err
        assert (tmp_path / "out" / f"{capture_id}.jpg").read_bytes() == spec
    finally:
        dep.close()


def test_object_storage_down_is_503_and_the_retry_succeeds(tmp_path: Path,
                                                           s3_endpoint: str) -> None:
    """Object before row: when the bucket is gone the upload gets 503 and no
    row (no receipt); once it is back, the kiosk's retry stores the capture."""
    dep = Deployment(tmp_path / "data", s3=s3_endpoint)
    dep.server.start()
    try:
        assert dep.bucket is not None
        kiosk = dep.enrol("Haidian")
        body = kiosk.upload_body(kiosk.seal({"spec_jpeg": base64.b64encode(b"x").decode()}))
        capture_id = new_capture_id()
        dep.bucket.client.delete_bucket(Bucket=dep.bucket.name)
        refused = kiosk.put(capture_id, body)
        assert refused.status_code == 503, refused.text
        progress = dep.cli("progress")
        assert progress.code == 0 and "haidian" not in _captures_table(progress.out)  # no row

        dep.bucket.client.create_bucket(Bucket=dep.bucket.name)
        stored = kiosk.put(capture_id, body)
        assert stored.status_code == 201, stored.text
        assert dep.stored_keys() == [f"captures/{capture_id}/{body['digest']}.sealed"]
        result = dep.cli("export", "--out", str(tmp_path / "out"))
        assert result.code == 0, result.err
        assert (tmp_path / "out" / f"{capture_id}.jpg").read_bytes() == b"x"
    finally:
        dep.close()


def _captures_table(progress: str) -> str:
    return progress.split("Kiosks")[0]
