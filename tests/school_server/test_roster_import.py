"""The office's import page on a real server (issue 21 item 1): a GBK file
with Chinese headers and bad rows changes nothing and lists every problem
(row, column, what) on the page and in a CSV; the admin's confirmation
imports the clean rows; XLSX; an unterminated quote; cancel while hashing;
only admins may upload; the schedule the same way; audited."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import select

from photo_wire.ids import student_ref
from school_server import db as dbm
from school_server.models import AuditEntry, RosterRow
from school_server.settings import load_settings

from server.harness import Deployment
from server.office_data import _rows, valid_id
from server.office_http import login_csrf, post_login

PASSWORD = "correct horse battery"


A, B, C, D = valid_id(1), valid_id(2), valid_id(3), valid_id(4)
BAD_CHECK = A[:17] + ("0" if A[17] != "0" else "1")


def _audit(dep: Deployment) -> list[tuple[str, str, str]]:
    engine = dbm.make_engine(load_settings(dep.data_dir).db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(AuditEntry.username, AuditEntry.target, AuditEntry.detail)
                .where(AuditEntry.action == "import").order_by(AuditEntry.id))]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def office(deployment: Deployment) -> Deployment:
    for user, role in (("imp-admin", "admin"), ("imp-viewer", "viewer")):
        assert deployment.cli_stdin(PASSWORD + "\n", "add-user", user, "--role", role).code == 0
    return deployment


@pytest.fixture
def admin(office: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.server.url, timeout=60) as client:
        assert post_login(client, login_csrf(client), "imp-admin", PASSWORD).status_code == 303
        yield client


def _csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/office/imports").text)
    assert found
    return found.group(1)


def upload(client: httpx.Client, name: str, data: bytes, kind: str = "roster",
           **form: str) -> str:
    """Upload a file; the job page's path."""
    reply = client.post("/office/imports", data={"kind": kind, "csrf": _csrf(client), **form},
                        files={"file": (name, data, "application/octet-stream")})
    assert reply.status_code == 303, reply.text[:300]
    return reply.headers["location"]


def wait_state(client: httpx.Client, job: str, *states: str, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get(job).text
        state = re.search(r'data-state="(\w+)"', page)
        assert state, page[-500:]
        if state.group(1) in states:
            return page
        assert state.group(1) != "failed", page[-800:]
        time.sleep(0.2)
    raise AssertionError(f"{job} never reached {states}")


def test_bad_rows_change_nothing_and_are_listed_then_the_clean_rows_on_confirmation(
        office: Deployment, admin: httpx.Client) -> None:
    text = ("姓名,身份证号,学习中心,场次,专业,手机号\n"
            f"张三,{A},朝阳,12月7日 上午,法学,138 0013 8000\n"
            f"李四,{BAD_CHECK[:17]},朝阳,12月7日 上午,法学,\n"   # 17 digits
            f"王五,{B},朝阳,12月7日 上午,法学,\n"
            f"赵六,{B},朝阳,12月7日 下午,法学,\n"                # B under another name
            f"钱七,{BAD_CHECK},朝阳,12月7日 下午,法学,\n"       # wrong check character
            f"孙八,{C},朝阳,12月7日 下午,法学,\n")
    job = upload(admin, "名单.csv", text.encode("gbk"))
    page = wait_state(admin, job, "checked")
    assert "共 6 行，无误 2 行，问题 4 处" in page
    problems = re.findall(r'<td class="n">(\d+)</td><td>([^<]+)</td><td[^>]*>([^<]+)</td>',
                          page)
    assert problems == [("3", "身份证号", "位数不足（身份证号为 18 位）"),
                        ("4", "身份证号", "与第 5 行相同，但姓名不同"),
                        ("5", "身份证号", "与第 4 行相同，但姓名不同"),
                        ("6", "身份证号", "校验位（最后一位）不对，可能输错了")]
    assert A not in page and B not in page  # never the values
    assert _rows(office, "朝阳") == []  # nothing changed yet
    download = admin.get(job + "/problems.csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["行号"], r["列"]) for r in rows] == [("3", "身份证号"), ("4", "身份证号"),
                                                    ("5", "身份证号"), ("6", "身份证号")]
    # Confirmed: the two clean rows, hashed, with the masked number and the phone.
    confirm = admin.post(job + "/confirm", data={"csrf": _csrf(admin)})
    assert confirm.status_code == 303
    assert "已导入 2 行" in wait_state(admin, job, "done")
    assert _rows(office, "朝阳") == sorted([
        ("张三", student_ref(A), A[:6] + "********" + A[-4:], "138 0013 8000"),
        ("孙八", student_ref(C), C[:6] + "********" + C[-4:], None)])
    assert _audit(office)[-1] == ("imp-admin", "roster",
                                  "名单.csv: 2 of 6 rows, 4 problems; centres 朝阳")


def test_a_clean_xlsx_imports_without_asking(office: Deployment, admin: httpx.Client) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "ID Number", "Centre", "Session", "Student_No"])
    sheet.append(["周一", A, "Xlsx", "s1", "2026001"])
    sheet.append(["吴二", D.lower(), "Xlsx", "s1", 2026002])  # a number cell for the student number
    out = io.BytesIO()
    book.save(out)
    job = upload(admin, "roster.xlsx", out.getvalue())
    assert "已导入 2 行" in wait_state(admin, job, "done", "checked")
    assert [r[0] for r in _rows(office, "xlsx")] == ["吴二", "周一"]


def test_an_unterminated_quote_is_named_not_swallowed(office: Deployment,
                                                      admin: httpx.Client) -> None:
    text = f'name,id_number,centre,session\n"甲,{A},Quote,s1\n乙,{C},Quote,s1\n'
    page = wait_state(admin, upload(admin, "q.csv", text.encode()), "failed")
    assert "未闭合的引号" in page
    assert _rows(office, "quote") == []


def test_cancel_while_hashing_changes_nothing(office: Deployment, admin: httpx.Client) -> None:
    lines = ["name,id_number,centre,session"] + [f"学生{i},{valid_id(100 + i)},Cancel,s1"
                                                for i in range(120)]
    job = upload(admin, "big.csv", ("\n".join(lines) + "\n").encode())
    page = wait_state(admin, job, "hashing", "done")
    assert 'id="import-bar"' in page and '<meta http-equiv="refresh"' in page
    assert admin.post(job + "/cancel", data={"csrf": _csrf(admin)}).status_code == 303
    assert "已取消" in wait_state(admin, job, "cancelled")
    assert _rows(office, "cancel") == []
    assert not list((office.data_dir / "spool" / "imports").glob("roster-*.db"))


def test_only_an_admin_may_upload(office: Deployment) -> None:
    with httpx.Client(base_url=office.server.url, timeout=60) as viewer:
        assert post_login(viewer, login_csrf(viewer), "imp-viewer", PASSWORD).status_code == 303
        assert viewer.get("/office/imports").status_code == 403
        # A body past a form's size is refused before it is read (the body guard).
        big = viewer.post("/office/imports", files={"file": ("r.csv", b"x" * 200_000)})
        assert big.status_code == 403
    anonymous = httpx.post(office.server.url + "/office/imports",
                           files={"file": ("r.csv", b"x" * 200_000)})
    assert anonymous.status_code == 403


def test_the_schedule_with_chinese_headers_and_a_bad_time(office: Deployment,
                                                          admin: httpx.Client) -> None:
    text = ("学习中心,场次,开始时间,结束时间\n"
            "朝阳,12月7日 上午,2026/12/7 8:30,2026/12/7 12:00\n"
            "朝阳,12月7日 下午,2026-12-07 14:00,2026-12-07 13:00\n")
    job = upload(admin, "场次.csv", text.encode(), kind="schedule")
    page = wait_state(admin, job, "checked")
    assert "不晚于开始时间" in page
    admin.post(job + "/confirm", data={"csrf": _csrf(admin)})
    assert "已导入 1 行" in wait_state(admin, job, "done")


def test_the_cli_names_each_bad_row_and_imports_nothing(office: Deployment,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(("\ufeff姓名,身份证号,学习中心,场次\n"
                      f"甲,{A},Cli,s1\n乙,{A},Cli,s1\n丙,{BAD_CHECK},Cli,s1\n丁,{C},Cli,s1\n"
                      ).encode("utf-8"))
    result = office.cli("import-roster", str(path))
    assert (result.code, result.out) == (1, "")
    said = f"photo-server import-roster: {path}: "
    assert result.err.splitlines() == [
        said + "line 2: id_number is also on row 3 under another name",
        said + "line 3: id_number is also on row 2 under another name",
        said + "line 4: id_number has a wrong check character (the last one): a typing error?",
        said + "3 of 4 rows have a problem; nothing imported "
        "(fix them, or --skip-bad-rows imports the 1 others)"]
    assert A not in result.err and BAD_CHECK not in result.err
    assert _rows(office, "cli") == []
    path.write_text(f'姓名,身份证号,学习中心,场次\n"丁,{C},Cli,s1\n戊,{D},Cli,s1\n',
                    encoding="utf-8")
    result = office.cli("import-roster", str(path))
    assert result.code == 1
    assert result.err == (f"photo-server import-roster: {path}: line 3: unexpected end of data "
                          "(a quote \" opened and never closed?); nothing imported\n")
    assert _rows(office, "cli") == []
