"""The school office's pages in a real browser (issue 13): log in, progress
after a booth uploads, the missing list and its CSV, the booths, roles,
sessions, CSRF, lockout, and the append-only audit log."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from photo_wire.ids import student_ref
from school_server import db as dbm
from school_server.settings import load_settings

from server.harness import Deployment, Kiosk, new_capture_id
from server.office_browser import browser, screenshot_dir
from server.office_data import PASSWORD, _ref, _spec_jpeg, _upload

ROSTER = """id_number,name,programme,centre,session
110101200001011232,张三,Computing,Haidian,2026-06-a
11010120000202107X,李四,Nursing,Haidian,2026-06-a
330101200003038886,=HYPERLINK("http://x"),Law,Haidian,2026-06-a
440101200004041118,王五,Law,Xihu,2026-06-b
"""


@pytest.fixture(scope="module")
def office(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    path = tmp_path_factory.mktemp("office") / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    assert deployment.cli("import-roster", str(path)).code == 0
    for user, role in (("admin1", "admin"), ("viewer1", "viewer"), ("reviewer1", "reviewer"),
                       ("locky", "viewer")):
        result = deployment.cli_stdin(PASSWORD + "\n", "add-user", user, "--role", role)
        assert result.code == 0, result.err
    return deployment


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


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
    for path in ("/office/review/x", "/office/captures/x/correct", "/office/export",
                 "/office/logout"):
        reply = httpx.post(office.server.url + path, follow_redirects=False,
                           data={"decision": "approved", "field": "name", "value": "x",
                                 "reason": "x", "csrf": "x"})
        assert reply.status_code == 303 and reply.headers["location"] == "/office/login", path
    page = chrome.new_page()
    page.goto(office.server.url + "/office/progress")
    assert page.url.endswith("/office/login")
    assert page.locator("h1").inner_text() == "工作人员登录"
    page.context.close()


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
    _upload(kiosk, office, "110101200001011232", "张三")
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
    assert sorted(r["姓名"] for r in rows) == sorted(["李四", '\'=HYPERLINK("http://x")'])
    assert {r["学习中心"] for r in rows} == {"haidian"}

    page.click("text=English")
    assert page.locator("h1").inner_text().startswith("Missing list")
    assert page.locator("#missing tr td:first-child").count() == 2  # the same list
    # The toggle goes back to our own pages only.
    for target in ("https://evil.example/", "//evil.example/office/", "/office/\\evil"):
        reply = httpx.get(office.server.url + "/office/lang/en", params={"next": target},
                          follow_redirects=False)
        assert reply.headers["location"] == "/office/progress", target
    page.screenshot(path=str(shots / f"missing-en-{office.server.port}.png"), full_page=True)
    page.context.close()


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
    page.context.close()


def test_a_viewer_cannot_see_the_audit_log(office: Deployment, chrome: Any) -> None:
    page = _log_in(chrome, office, "viewer1")
    for path in ("/office/audit", "/office/audit.csv"):
        reply = page.request.get(office.server.url + path)
        assert reply.status == 403, path
    page.context.close()


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
    page.context.close()


def test_lockout_after_repeated_failures(office: Deployment, chrome: Any) -> None:
    for _ in range(5):
        page = _log_in(chrome, office, "locky", "wrong password!")
        assert page.url.endswith("/office/login?error=bad") or "locked" in page.url
        page.context.close()
    page = _log_in(chrome, office, "locky")  # the right password, but locked
    assert page.url.endswith("error=locked")
    assert "锁定" in page.locator("#login-error").inner_text()
    page.context.close()


def test_the_audit_log_records_and_is_append_only(office: Deployment, chrome: Any,
                                                  tmp_path: Path) -> None:
    page = _log_in(chrome, office, "admin1")
    page.goto(office.server.url + "/office/audit")
    text_ = page.locator("#audit").inner_text()
    assert "admin1" in text_ and "登录" in text_ and "locky" in text_
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"audit-{office.server.port}.png"),
                    full_page=True)
    page.context.close()
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
    result = office.cli_stdin("short\n", "add-user", "x1", "--role", "viewer")
    assert result.code == 1 and "at least 10" in result.err
    assert "Traceback" not in result.err and "short" not in result.err


# ---------------------------------------------------------------- review, corrections, export

def _valid_id(first17: str) -> str:
    from photo_wire.idnumber import check_character

    return first17 + check_character(first17)


ZHAO, QIAN, SUN = (_valid_id("11010519900307123"), _valid_id("11010519910408234"),
                   _valid_id("11010519920509345"))


@pytest.fixture(scope="module")
def chaoyang(office: Deployment, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A centre with three students, two of whom have been to the booth."""
    path = tmp_path_factory.mktemp("chaoyang") / "roster.csv"
    path.write_text("id_number,name,programme,centre,session\n"
                    f"{ZHAO},赵一,Law,Chaoyang,s1\n{QIAN},钱二,Law,Chaoyang,s1\n"
                    f"{SUN},孙三,Law,Chaoyang,s1\n", encoding="utf-8")
    assert office.cli("import-roster", str(path)).code == 0
    kiosk = office.enrol("Chaoyang")
    # 赵一 pressed 信息有误 at the booth (issue 22, item 6).
    return {"zhao": _upload(kiosk, office, ZHAO, "赵一", "s1", name_disputed=True),
            "qian": _upload(kiosk, office, QIAN, "钱二", "s1")}


def _missing_names(page: Any, dep: Deployment) -> list[str]:
    page.goto(dep.server.url + "/office/missing?centre=chaoyang&session=s1")
    return sorted(page.locator("#missing tr td:first-child").all_inner_texts())


def test_reject_a_photo_and_the_student_is_missing_again(office: Deployment, chrome: Any,
                                                         chaoyang: dict[str, str],
                                                         tmp_path: Path) -> None:
    page = _log_in(chrome, office, "reviewer1")
    assert _missing_names(page, office) == ["孙三"]
    page.goto(office.server.url + "/office/review")
    card = page.locator(f"#capture-{chaoyang['qian']}")
    assert card.locator(".name").inner_text() == "钱二"
    assert card.locator(".disputed").count() == 0
    assert "信息有误" in page.locator(f"#capture-{chaoyang['zhao']} .disputed").inner_text()
    assert QIAN not in card.inner_text() and QIAN[:6] in card.inner_text()  # masked
    # The photo is shown (decrypted in memory) and the view is audited.
    size = page.evaluate(f"""() => {{ const i = document.querySelector(
        '#capture-{chaoyang["qian"]} img'); return [i.naturalWidth, i.naturalHeight]; }}""")
    assert size == [480, 640]
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"review-{office.server.port}.png"),
                    full_page=True)
    card.locator("select[name=reason]").select_option("wrong_background")
    card.locator("button.reject").click()
    page.locator(f"#capture-{chaoyang['zhao']} button.approve").click()
    assert page.locator(f"#capture-{chaoyang['qian']}").count() == 0
    assert _missing_names(page, office) == ["孙三", "钱二"]
    page.goto(office.server.url + "/office/review?decision=rejected")
    assert "背景不合格" in page.locator(f"#capture-{chaoyang['qian']}").inner_text()
    page.context.close()


def test_a_rejected_student_is_a_retake_in_the_booths_roster(office: Deployment,
                                                             chaoyang: dict[str, str]) -> None:
    # (after the rejection above) The booth's next roster pull carries it, and why.
    with office.enrol("Chaoyang").client() as client:
        rows = {r["student_ref"]: (r["retake"], r["retake_reason"])
                for r in client.get("/api/v1/roster").json()["rows"]}
    # The roster is the whole school's (makeup shoots); Chaoyang's three as the office decided.
    chaoyang_refs = {student_ref(QIAN), student_ref(ZHAO), student_ref(SUN)}
    assert {ref: rows[ref] for ref in chaoyang_refs} == {
        student_ref(QIAN): (True, "wrong_background"),
        student_ref(ZHAO): (False, None), student_ref(SUN): (False, None)}
    assert not any(retake for ref, (retake, _) in rows.items() if ref not in chaoyang_refs)


def test_a_viewer_cannot_review_or_export(office: Deployment, chrome: Any,
                                          chaoyang: dict[str, str]) -> None:
    page = _log_in(chrome, office, "viewer1")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert page.request.get(office.server.url + "/office/review").status == 403
    assert page.request.get(office.server.url +
                            f"/office/review/{chaoyang['zhao']}/photo.jpg").status == 403
    reply = page.request.post(office.server.url + f"/office/review/{chaoyang['zhao']}",
                              form={"csrf": csrf, "decision": "rejected", "reason": "other"})
    assert reply.status == 403
    assert page.request.get(office.server.url + "/office/export").status == 403
    assert page.request.post(office.server.url + "/office/export",
                             form={"csrf": csrf}).status == 403
    assert "审核" not in page.locator("header").inner_text()  # no link either
    page.context.close()
    page = _log_in(chrome, office, "reviewer1")
    assert page.request.get(office.server.url + "/office/export").status == 403
    page.context.close()


def test_correct_a_name_then_export_the_zip(office: Deployment, chrome: Any,
                                            chaoyang: dict[str, str], tmp_path: Path) -> None:
    page = _log_in(chrome, office, "admin1")
    # Found by name, corrected on the student's history page.
    page.goto(office.server.url + "/office/search?q=赵")
    page.locator("#found a", has_text="赵一").click()
    form = page.locator(f"#capture-{chaoyang['zhao']} form.correct")
    form.locator("select[name=field]").select_option("name")
    form.locator("input[name=value]").fill("赵一鸣")
    form.locator("input[name=reason]").fill("证件姓名为三个字")
    form.locator("button").click()
    assert page.locator(f"#capture-{chaoyang['zhao']} .name").inner_text() == "赵一鸣"
    # A bad ID number is refused, with a message.
    form = page.locator(f"#capture-{chaoyang['zhao']} form.correct")
    form.locator("select[name=field]").select_option("id_number")
    form.locator("input[name=value]").fill(ZHAO[:17] + ("1" if ZHAO[17] != "1" else "2"))
    form.locator("input[name=reason]").fill("typo")
    form.locator("button").click()
    assert page.locator("#review-error").count() == 1
    page.goto(office.server.url + "/office/audit")
    audit_text = page.locator("#audit").inner_text()
    assert "姓名：赵一 → 赵一鸣；证件姓名为三个字" in audit_text
    assert "查看审核页" in audit_text and "已退回 (背景不合格)" in audit_text

    page.goto(office.server.url + "/office/export")
    page.locator("select[name=centre]").select_option("chaoyang")
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"export-{office.server.port}.png"),
                    full_page=True)
    with page.expect_download() as download:
        page.click("#export")
    with zipfile.ZipFile(download.value.path()) as zf:
        assert sorted(zf.namelist()) == sorted([f"{ZHAO}.jpg", "manifest.csv"])
        with Image.open(io.BytesIO(zf.read(f"{ZHAO}.jpg"))) as img:
            assert (img.format, img.size) == ("JPEG", (480, 640))
        rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
    assert [(r["id_number"], r["name"], r["photo"]) for r in rows] == [(ZHAO, "赵一鸣", f"{ZHAO}.jpg")]
    assert rows[0]["code_payload"] == "CHSI" + "7" * 20 and rows[0]["makeup"] == "0"
    assert rows[0]["session"] == "s1" and rows[0]["capture_id"] == chaoyang["zhao"]
    # The school's time (Asia/Shanghai by default) and the booth's verdict as columns.
    assert rows[0]["created_at"].endswith("+08:00") and "check_report" not in rows[0]
    assert (rows[0]["check_passed"], rows[0]["check_problems"]) == ("1", "")
    page.goto(office.server.url + "/office/audit")
    assert "按身份证号打包下载" in page.locator("#audit").inner_text()  # stored "zip by ID number"
    page.context.close()

    # The command line writes the same layout to a folder.
    out = tmp_path / "handover"
    result = office.cli("export", "--by-id", "--out", str(out), "--centre", "Chaoyang")
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{ZHAO}.jpg", "manifest.csv"])
    assert out.stat().st_mode & 0o077 == 0 and (out / f"{ZHAO}.jpg").stat().st_mode & 0o077 == 0
    assert ZHAO not in result.out + result.err


def test_pages_say_when_the_private_key_is_not_here(office: Deployment, chrome: Any,
                                                   chaoyang: dict[str, str]) -> None:
    key = office.data_dir / "server.key"
    kept = office.data_dir.parent / "server.key.away"
    key.rename(kept)
    try:
        _upload(office.enrol("Chaoyang"), office, SUN, "孙三", "s1")
        page = _log_in(chrome, office, "admin1")
        for path in ("/office/review", "/office/export", "/office/progress"):
            page.goto(office.server.url + path)
            assert "私钥不在本服务器上" in page.locator("#no-key").inner_text(), path
        assert page.locator("#export").count() == 0
        page.context.close()
    finally:
        kept.rename(key)
