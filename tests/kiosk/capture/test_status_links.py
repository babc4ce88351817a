"""The booth's status key and links (kiosk/capture/status_links.py) and the
upload head that carries the link's hash (uploads.upload_body)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from kiosk.capture.queue import Outgoing
from kiosk.capture.status_links import (KEY_FILE, StatusLinks, ensure_status_key,
                                        read_status_key, status_hash)
from kiosk.capture.uploads import upload_body
from photo_wire.requests import CaptureUpload
from photo_wire.status_link import status_token, status_url, token_hash

PUBLIC = "https://photo.school.edu.cn"
ITEM = Outgoing(capture_id="49985f9b0c1d4e2f8a7b6c5d4e3f2a1b", kiosk_id="booth-1",
                session="morning", created_at="2026-06-20T09:30:00+08:00", digest="a" * 64)


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    assert read_status_key(tmp_path) is None
    key = ensure_status_key(tmp_path)
    assert key is not None and len(key) == 32
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_status_key(tmp_path) == key == read_status_key(tmp_path)  # not made again
    path.write_bytes(b"short")  # not a key this booth wrote: no links rather than wrong ones
    assert read_status_key(tmp_path) is None


def test_the_receipt_link_only_with_a_public_url(tmp_path: Path) -> None:
    off = StatusLinks("", tmp_path)
    assert off.url(ITEM.capture_id) == "" and not (tmp_path / KEY_FILE).exists()
    on = StatusLinks(PUBLIC, tmp_path)
    key = read_status_key(tmp_path)
    assert key is not None
    url = on.url(ITEM.capture_id)
    assert url == status_url(PUBLIC, status_token(key, ITEM.capture_id))
    assert url != on.url(ITEM.capture_id[:-1] + "c")  # every capture its own link
    assert StatusLinks(PUBLIC, tmp_path).url(ITEM.capture_id) == url  # after a restart too


def test_the_upload_head_carries_the_tokens_hash(tmp_path: Path) -> None:
    key = ensure_status_key(tmp_path)
    body = json.loads(upload_body(ITEM, b"sealed bytes", key))
    token = StatusLinks(PUBLIC, tmp_path).url(ITEM.capture_id).rsplit("/", 1)[1]
    assert body["status_hash"] == token_hash(token) == status_hash(key, ITEM.capture_id)
    assert token not in json.dumps(body)  # the token itself never leaves the booth
    assert CaptureUpload.model_validate(body).status_hash == body["status_hash"]
    # Without a key (older booths, no public_url ever): no field, as before.
    assert "status_hash" not in json.loads(upload_body(ITEM, b"sealed bytes"))
