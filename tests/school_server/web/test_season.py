"""The season's pages in a real browser (issue 21 items 1, 4, 5): progress in
the schedule's order with totals, pending review and finished sessions; the
missing list picked from the schedule, with masked ID number and phone, whose
CSV imports back as the makeup roster; the import page. Screenshots at desk
and phone width (OFFICE_SCREENSHOTS=DIR keeps them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.harness import Deployment
from server.office_browser import browser, screenshot_dir
from server.office_data import PASSWORD, _rows, _upload, valid_id

E, F, G, H = valid_id(11), valid_id(12), valid_id(13), valid_id(14)
WIDTHS = {"desk": 1280, "phone": 390}
SCHEDULES: dict[str, str] = {}  # deployment data dir -> its schedule file's text


@pytest.fixture(scope="module")
def season(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """海淀: a session over (yesterday) and one to come (tomorrow); a booth's capture."""
    folder = tmp_path_factory.mktemp("season")
    local = datetime.now(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0, microsecond=0)
    yesterday, tomorrow = local - timedelta(days=1), local + timedelta(days=1)
    schedule = SCHEDULES[str(deployment.data_dir)] = (
        "学习中心,场次,开始时间,结束时间\n"
        f"海淀,明天上午,{tomorrow:%Y-%m-%d %H:%M},{tomorrow + timedelta(hours=3):%Y-%m-%d %H:%M}\n"
        f"海淀,昨天上午,{yesterday:%Y-%m-%d %H:%M},{yesterday + timedelta(hours=3):%Y-%m-%d %H:%M}\n")
    (folder / "schedule.csv").write_text(schedule, encoding="utf-8")
    assert deployment.cli("import-schedule", str(folder / "schedule.csv")).code == 0
    (folder / "roster.csv").write_text(
        "姓名,身份证号,学习中心,场次,专业,学号,手机号\n"
        f"周一,{E},海淀,昨天上午,法学,2026001,13800000001\n"
        f"吴二,{F},海淀,昨天上午,法学,2026002,13800000002\n"
        f"郑三,{G},海淀,明天上午,会计学,2026003,\n"
        f"王四,{H},海淀,明天上午,会计学,,13800000004\n", encoding="utf-8")
    result = deployment.cli("import-roster", str(folder / "roster.csv"))
    assert result.code == 0, result.err
    assert deployment.cli_stdin(PASSWORD + "\n", "add-user", "head", "--role", "admin").code == 0
    assert deployment.cli_stdin(PASSWORD + "\n", "add-user", "clerk", "--role", "viewer").code == 0
    _upload(deployment.enrol("海淀"), deployment, E, "周一", "昨天上午")
    return deployment


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


def _page(chrome: Any, dep: Deployment, user: str, width: int = 1280) -> Any:
    page = chrome.new_context(viewport={"width": width, "height": 800}).new_page()
    page.goto(dep.server.url + "/office/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    return page


def _fits(page: Any) -> None:
    """Nothing wider than the window but the tables' own scrolling boxes."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_progress_in_schedule_order_with_totals_pending_and_over(
        season: Deployment, chrome: Any, tmp_path: Path, width: str) -> None:
    page = _page(chrome, season, "clerk", WIDTHS[width])
    page.goto(season.server.url + "/office/progress")
    rows = page.locator("#progress tr[data-centre]")
    assert [rows.nth(i).get_attribute("data-session") for i in range(rows.count())] == \
        ["昨天上午", "明天上午"]  # by start, not by name
    over = page.locator('#progress tr[data-session="昨天上午"]')
    assert "已结束" in over.inner_text() and "over" in over.get_attribute("class")
    assert "已结束" not in page.locator('#progress tr[data-session="明天上午"]').inner_text()
    assert over.locator("td.pending").inner_text() == "1"  # opened, not yet reviewed
    total = page.locator("#progress-total").locator("th")
    assert [total.nth(i).inner_text() for i in range(1, 8)] == ["4", "1", "0", "0", "3", "1",
                                                                "25%"]
    _fits(page)
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"progress-{width}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_missing_list_from_the_schedule_with_masked_ids_and_phones(
        season: Deployment, chrome: Any, tmp_path: Path, width: str) -> None:
    page = _page(chrome, season, "clerk", WIDTHS[width])
    page.goto(season.server.url + "/office/missing")
    page.select_option("#pick-centre", "海淀")
    page.click("#missing-show")
    groups = page.locator("#pick-session optgroup")
    assert [groups.nth(i).get_attribute("label") for i in range(groups.count())] == \
        ["未开始或进行中", "已结束"]
    page.select_option("#pick-session", "昨天上午")
    page.click("#missing-show")
    assert page.locator("#missing-count").inner_text().startswith("共 1 人未采集")
    cells = page.locator("#missing tr td").all_inner_texts()
    assert cells[:4] == ["吴二", F[:6] + "********" + F[-4:], "2026002", "13800000002"]
    assert F not in page.content()
    _fits(page)
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"missing-{width}.png"), full_page=True)
    # A session the centre does not have is said so, not "0 missing".
    page.goto(season.server.url + "/office/missing?centre=海淀&session=12月7日 上午")
    assert page.locator("#missing-unknown").is_visible()
    assert page.locator("#missing-count").count() == 0
    page.context.close()


def test_the_missing_csv_imports_back_as_the_makeup_roster(season: Deployment, chrome: Any,
                                                           tmp_path: Path) -> None:
    before = _rows(season, "海淀")
    page = _page(chrome, season, "head")
    page.goto(season.server.url + "/office/missing?centre=海淀")
    with page.expect_download() as download:
        page.click("#missing-csv")
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["姓名", "身份证号", "学号", "手机号", "专业", "学习中心", "场次",
                             "学生编号"]
    assert sorted(r["姓名"] for r in rows) == ["吴二", "王四", "郑三"]
    # The makeup roster: the same file with its session changed, imported beside the others.
    makeup = tmp_path / "makeup.csv"
    makeup.write_text(text.replace("昨天上午", "补拍").replace("明天上午", "补拍"),
                      encoding="utf-8-sig")
    schedule = tmp_path / "makeup-schedule.csv"
    # A schedule file replaces the centre's sessions: the makeup one is added to the rest.
    schedule.write_text(SCHEDULES[str(season.data_dir)]
                        + "海淀,补拍,2030-01-05 09:00,2030-01-05 12:00\n", encoding="utf-8")
    assert season.cli("import-schedule", str(schedule)).code == 0
    result = season.cli("import-roster", str(makeup), "--only-sessions")
    assert result.code == 0, result.err
    # The other sessions stay, and the makeup rows are the missing students'
    # own: the same refs, masked numbers and phones.
    missing = [r for r in before if r[0] in ("吴二", "王四", "郑三")]
    assert _rows(season, "海淀") == sorted(before + missing)
    page.context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_import_page_lists_the_problems(season: Deployment, chrome: Any, tmp_path: Path,
                                        width: str) -> None:
    page = _page(chrome, season, "head", WIDTHS[width])
    page.goto(season.server.url + "/office/imports")
    bad = tmp_path / "名单.csv"
    bad.write_text("姓名,身份证号,学习中心,场次\n"
                   f"甲,{E[:17]},海淀,明天上午\n乙,{F},海淀,后天\n丙,{F},海淀,明天上午\n"
                   f"丁,{G},海淀,明天上午\n",
                   encoding="gbk")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#import-submit")
    page.wait_for_selector('#job-state[data-state="checked"]', timeout=60_000)
    assert page.locator("#problems tr").count() == 1 + 4
    assert page.locator("#import-confirm").is_visible()
    body = page.locator("main").inner_text()
    for english in ("id_number", "session", "line", "row"):
        assert english not in body
    _fits(page)
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"import-{width}.png"), full_page=True)
    page.click("text=English")
    body = page.locator("main").inner_text()
    assert "4 problems found" in body and "has a wrong" not in body
    assert "is too short (an ID number has 18 characters)" in body
    _fits(page)
    page.screenshot(path=str(screenshot_dir(tmp_path) / f"import-en-{width}.png"), full_page=True)
    page.context.close()
