"""The school office's pages in a real browser (issue 13): log in, progress
after a booth uploads, the missing list and its CSV, the booths, roles,
sessions, CSRF, lockout, and the append-only audit log."""

from __future__ import annotations

import base64
import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from school_server import db as dbm
from school_server.keys import roster_key, student_ref
from school_server.settings import load_settings

from .harness import Deployment, Kiosk, new_capture_id
from .office_browser import browser, screenshot_dir

PASSWORD = "correct horse battery"
ROSTER = """id_number,name,programme,centre,session
110101200001011234,张三,Computing,Haidian,2026-06-a
11010120000202567X,李四,Nursing,Haidian,2026-06-a
330101200003038888,=HYPERLINK("http://x"),Law,Haidian,2026-06-a
440101200004041111,王五,Law,Xihu,2026-06-b
"""


def _cli_with_stdin(dep: Deployment, stdin: str, *args: str) -> Any:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return dep.cli(*args)
    finally:
        sys.stdin = old


def _spec_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (480, 640), (200, 210, 220)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def office(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    path = tmp_path_factory.mktemp("office") / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    assert deployment.cli("import-roster", str(path)).code == 0
    for user, role in (("admin1", "admin"), ("viewer1", "viewer"), ("reviewer1", "reviewer"),
                       ("locky", "viewer")):
        result = _cli_with_stdin(deployment, PASSWORD + "\n", "add-user", user, "--role", role)
        assert result.code == 0, result.err
    return deployment


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


def _ref(dep: Deployment, id_number: str) -> str:
    return student_ref(roster_key(load_settings(dep.data_dir).roster_key_file), "id", id_number)


def _upload(kiosk: Kiosk, dep: Deployment, id_number: str, name: str) -> str:
    doc = {"spec_jpeg": base64.b64encode(_spec_jpeg()).decode(), "id_number": id_number,
           "name": name, "student_ref": _ref(dep, id_number), "code_payload": "CHSI" + "7" * 20,
           "session": "2026-06-a", "makeup": False, "check_report": {"passed": True}}
    capture_id = new_capture_id()
    assert kiosk.put(capture_id, kiosk.upload_body(kiosk.seal(doc))).status_code == 201
    return capture_id


def _log_in(chrome: Any, dep: Deployment, user: str, password: str = PASSWORD) -> Any:
    page = chrome.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(dep.server.url + "/office/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("#login")
    return page


def test_no_page_works_without_a_session(office: Deployment, chrome: Any) -> None:
    for path in ("/office/progress", "/office/missing", "/office/fleet", "/office/audit",
                 "/office/missing.csv?centre=haidian", "/office/audit.csv"):
        reply = httpx.get(office.server.url + path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"] == "/office/login", path
    page = chrome.new_page()
    page.goto(office.server.url + "/office/progress")
    assert page.url.endswith("/office/login")
    assert page.locator("h1").inner_text() == "工作人员登录"
    page.close()


def test_progress_missing_list_and_csv_after_a_booth_uploads(office: Deployment, chrome: Any,
                                                             tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    page = _log_in(chrome, office, "viewer1")
    assert page.url.endswith("/office/progress"), page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "office_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    row = page.locator('#progress tr[data-centre="haidian"]')
    assert row.locator("td").nth(2).inner_text() == "3"  # expected
    assert row.locator("td.received").inner_text() == "0"

    kiosk = office.enrol("Haidian")
    _upload(kiosk, office, "110101200001011234", "张三")
    page.reload()
    row = page.locator('#progress tr[data-centre="haidian"]')
    assert row.locator("td.received").inner_text() == "1"
    assert row.locator("td").nth(6).inner_text() == "2"  # missing
    page.screenshot(path=str(shots / f"progress-{office.server.port}.png"), full_page=True)

    row.locator("td").nth(6).locator("a").click()
    names = page.locator("#missing tr td:first-child").all_inner_texts()
    assert sorted(names) == sorted(["李四", '=HYPERLINK("http://x")'])
    page.screenshot(path=str(shots / f"missing-{office.server.port}.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#missing-csv")
    data = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert sorted(r["name"] for r in rows) == sorted(["李四", '\'=HYPERLINK("http://x")'])
    assert {r["centre"] for r in rows} == {"haidian"}

    page.click("text=English")
    assert page.locator("h1").inner_text().startswith("Missing list")
    page.close()


def test_fleet_shows_a_silent_booth_red(office: Deployment, chrome: Any, tmp_path: Path) -> None:
    alive, silent = office.enrol("Xihu", "booth-alive"), office.enrol("Xihu", "booth-silent")
    with alive.client() as client:
        beat = {"status": "idle", "queue_depth": 2, "free_mb": 5120, "version": "0.1.0",
                "last_error": "camera: timeout"}
        assert client.post("/api/v1/heartbeat", json=beat).status_code == 204
    page = _log_in(chrome, office, "viewer1")
    page.goto(office.server.url + "/office/fleet")
    good = page.locator("#kiosk-booth-alive")
    assert "5120" in good.inner_text() and "camera: timeout" in good.inner_text()
    assert good.get_attribute("class") == ""
    assert page.locator("#kiosk-booth-silent").get_attribute("class") == "silent"
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"fleet-{office.server.port}.png"),
                    full_page=True)
    page.close()


def test_a_viewer_cannot_see_the_audit_log(office: Deployment, chrome: Any) -> None:
    page = _log_in(chrome, office, "viewer1")
    for path in ("/office/audit", "/office/audit.csv"):
        reply = page.request.get(office.server.url + path)
        assert reply.status == 403, path
    page.close()


def test_csrf_is_refused(office: Deployment, chrome: Any) -> None:
    page = _log_in(chrome, office, "viewer1")
    # The session cookie alone (as a forged cross-site form would carry) is not enough.
    reply = page.request.post(office.server.url + "/office/logout", form={"csrf": "forged"})
    assert reply.status == 403
    page.goto(office.server.url + "/office/progress")
    assert page.url.endswith("/office/progress")  # still logged in
    # A login form posted without the login page's cookie is refused too.
    reply = httpx.post(office.server.url + "/office/login",
                       data={"username": "viewer1", "password": PASSWORD, "csrf": "x"})
    assert reply.status_code == 403
    page.close()


def test_lockout_after_repeated_failures(office: Deployment, chrome: Any) -> None:
    for _ in range(5):
        page = _log_in(chrome, office, "locky", "wrong password!")
        assert page.url.endswith("/office/login?error=bad") or "locked" in page.url
        page.close()
    page = _log_in(chrome, office, "locky")  # the right password, but locked
    assert page.url.endswith("error=locked")
    assert "锁定" in page.locator("#login-error").inner_text()
    page.close()


def test_the_audit_log_records_and_is_append_only(office: Deployment, chrome: Any,
                                                  tmp_path: Path) -> None:
    page = _log_in(chrome, office, "admin1")
    page.goto(office.server.url + "/office/audit")
    text_ = page.locator("#audit").inner_text()
    assert "admin1" in text_ and "登录" in text_ and "locky" in text_
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"audit-{office.server.port}.png"),
                    full_page=True)
    page.close()
    engine = dbm.make_engine(load_settings(office.data_dir).db_url)
    try:
        for statement in ("UPDATE audit_log SET username = 'someone'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                with engine.begin() as conn:
                    conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() > 5
    finally:
        engine.dispose()


def test_add_user_refuses_a_short_password(office: Deployment) -> None:
    result = _cli_with_stdin(office, "short\n", "add-user", "x1", "--role", "viewer")
    assert result.code == 1 and "at least 10" in result.err
    assert "Traceback" not in result.err and "short" not in result.err
