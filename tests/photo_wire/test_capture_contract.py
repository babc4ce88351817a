"""The capture contract end to end (issue 20 point 1): a capture made by a
real headless booth session, synced to a real school server on 127.0.0.1,
read through the office's review page, the export and the hand-over."""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kiosk.capture.status_links import StatusLinks
from kiosk.config import Config, load_config
from kiosk.capture.store import open_store
from kiosk.capture.sync import SyncAgent
from headless_harness import write_config
from photo_wire.status_link import token_hash
from school_server import db as dbm
from school_server.models import Capture
from school_server.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "tests" / "scripts" / "happy_path.txt"
CENTRE = "demo-centre"  # the demo roster's
PASSWORD = "correct horse battery"
ID_NUMBER = "110101200103151236"  # the demo card "zhangsan"


def _booth_config(tmp_path: Path, public_key: bytes, server_url: str) -> Path:
    return write_config(tmp_path, kiosk=f'id = "booth-contract"\ncentre = "{CENTRE}"', extra=f"""
[sync]
server_url = "{server_url}"
server_public_key = "{base64.b64encode(public_key).decode()}"
roster_refresh_seconds = 0
public_url = "{server_url}"
""")


def _kiosk(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(cfg), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:2000]
    return html.unescape(found.group(1))


@contextlib.contextmanager
def _office(url: str) -> Iterator[httpx.Client]:
    """An admin's session on the office pages."""
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client:
        login = client.get("/office/login").text
        reply = client.post("/office/login", data={"username": "contract-admin",
                                                   "password": PASSWORD, "csrf": _csrf(login)})
        assert reply.url.path == "/office/progress", reply.text[:2000]
        yield client


@pytest.fixture(scope="module")
def booth(deployment, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Config]:  # type: ignore[no-untyped-def]
    """A real booth's capture, synced to the server: its capture_id and the booth's config."""
    tmp = tmp_path_factory.mktemp("booth")
    cfg = _booth_config(tmp, deployment.public_key, deployment.server.url)
    enrolled = _kiosk(cfg, "enrol", "--server", deployment.server.url,
                      "--code", deployment.enrol_code(CENTRE))
    assert enrolled.returncode == 0, enrolled.stderr
    # The session itself offline (sync off), so the upload below is the only one.
    offline = tmp / "offline.toml"
    offline.write_text(cfg.read_text().replace(f'server_url = "{deployment.server.url}"',
                                               'server_url = ""'), encoding="utf-8")
    run = _kiosk(offline, "run", "--demo", "--headless", "--script", str(HAPPY))
    assert run.returncode == 0, run.stderr[-3000:]
    config = load_config(cfg)
    store = open_store(config)
    try:
        [item] = store.outbox(None)
        agent = SyncAgent(store, config)
        try:
            agent.sync_once()
        finally:
            agent.stop()
        assert store.status_counts()["acknowledged"] == 1
    finally:
        store.close()
    added = deployment.cli_stdin(PASSWORD + "\n", "add-user", "contract-admin", "--role", "admin")
    assert added.code == 0, added.err
    return item.capture_id, config


@pytest.fixture(scope="module")
def synced(booth: tuple[str, Config]) -> str:
    return booth[0]


def test_the_receipts_status_link_opens_the_captures_page(  # type: ignore[no-untyped-def]
        deployment, booth: tuple[str, Config]) -> None:
    """The link the booth's receipt showed (its QR code) finds the synced
    capture: the upload carried the token's hash, the server stored only that."""
    capture_id, config = booth
    link = StatusLinks(config.sync.public_url, config.kiosk.data_dir).url(capture_id)
    assert link.startswith(deployment.server.url + "/status/")
    token = link.rsplit("/", 1)[1]
    engine = dbm.make_engine(load_settings(deployment.data_dir).db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(Capture.status_hash)
                                  .where(Capture.capture_id == capture_id)).scalar_one()
    finally:
        engine.dispose()
    assert stored == token_hash(token)
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "学校已收到您的照片" in page.text
    assert ID_NUMBER not in page.text and "张三" not in page.text


def test_the_review_page_shows_the_booths_verdict(deployment, synced: str) -> None:  # type: ignore[no-untyped-def]
    with _office(deployment.server.url) as office:
        page = office.get("/office/review").text
        card = page[page.index(f'id="capture-{synced}"'):]
        card = card[:card.index("</form>")]
        assert "自动检查: 通过" in card, card
        assert "自动检查: 无" not in card
        assert "张三" in card and "110101********1236" in card
        photo = office.get(f"/office/review/{synced}/photo.jpg")
        assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"


def test_export_and_handover_read_the_booths_document(deployment, synced: str,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = deployment.cli("export", "--out", str(out), "--centre", CENTRE)
    assert result.code == 0, result.err
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["capture_id"] == synced and row["id_number"] == ID_NUMBER
    assert row["kiosk_id"] == "booth-contract" and row["id_method"] == "card"
    assert json.loads(row["check_report"])["passed"] is True
    assert (out / f"{synced}.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert (out / f"{synced}.original.jpg").exists()

    with _office(deployment.server.url) as office:
        page = office.get("/office/review").text
        decided = office.post(f"/office/review/{synced}",
                              data={"decision": "approved", "csrf": _csrf(page)})
        assert decided.status_code == 200
        page = office.get("/office/export").text
        reply = office.post("/office/export", data={"centre": CENTRE, "csrf": _csrf(page)})
        assert reply.status_code == 200, reply.text[:2000]
    with zipfile.ZipFile(io.BytesIO(reply.content)) as zf:
        assert sorted(zf.namelist()) == sorted([f"{ID_NUMBER}.jpg", "manifest.csv"])
        assert zf.read(f"{ID_NUMBER}.jpg")[:2] == b"\xff\xd8"
        rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    assert [(r["capture_id"], r["name"], r["code_payload"]) for r in rows] == [
        (synced, "张三", "CHSI-DEMO-7f3a9c2e5b8d1f4a6c0e")]
    assert rows[0]["check_passed"] == "1"  # the booth's verdict as columns, not a JSON blob


def test_a_document_outside_the_contract_is_a_clear_error_not_a_500(  # type: ignore[no-untyped-def]
        deployment, synced: str, tmp_path: Path) -> None:
    kiosk = deployment.enrol("Hostile")
    capture_id = "hostile" + "0" * 25
    doc = {"spec_jpeg": base64.b64encode(b"\xff\xd8x").decode(), "name": "长" * 1_000_000,
           "id_number": ID_NUMBER}
    assert kiosk.put(capture_id, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
    with _office(deployment.server.url) as office:
        page = office.get("/office/review")
        assert page.status_code == 200 and f"capture-{capture_id}" not in page.text
        assert office.get(f"/office/review/{capture_id}/photo.jpg").status_code == 404
    result = deployment.cli("export", "--out", str(tmp_path / "out"), "--centre", "Hostile")
    assert result.code == 1
    assert capture_id in result.err and "does not match the capture contract" in result.err
    assert "长长长" not in result.err + result.out and len(result.err) < 2000
