"""The audit log's stored forms read in the page's language (web/audit_words.py);
the pages themselves: test_review.py's test_the_audit_log_reads_in_the_pages_language."""

from __future__ import annotations

import pytest

from school_server.web.audit_words import detail_text, target_text
from school_server.web.texts import translator

ZH, EN = translator("zh_CN"), translator("en")
REFUSAL = "from 10.0.0.5; refusal 8 in this window (logged at the 1st, 2nd, 4th, 8th, ...)"


@pytest.mark.parametrize("action, stored, chinese", [
    ("login", "from 10.0.0.5", "来自 10.0.0.5"),
    ("login_throttled", REFUSAL, "来自 10.0.0.5；本时段第 8 次拒绝（第 1、2、4、8… 次时记录）"),
    ("user_added", "role admin", "角色：管理员"),
    ("review", "rejected expression", "已退回 (表情或姿势不合格)"),
    ("review", "approved", "已通过"),
    ("correction", "id_number: 110101******1234 -> 110101******4321; 抄错",
     "身份证号：110101******1234 → 110101******4321；抄错"),
    ("correction", "name: A -> B; x -> y; 改", "姓名：A → B；x -> y; 改"),  # the reason as typed
    ("export", "12 captures by capture id to /srv/out", "12 份采集按采集编号导出到 /srv/out"),
    ("import", "名单: 1.csv: 9 of 10 rows, 1 problems; centres a, b",
     "名单: 1.csv：10 行中 9 行无误，1 个问题；学习中心 a, b"),
    ("download_audit", "action=correction; since=2026-06-01", "操作：勘误；从：2026-06-01"),
    ("download_missing", "40 rows", "40 行"),
    ("retry_unopenable", "3 captures", "3 份采集"),
])
def test_each_stored_form_reads_in_chinese(action: str, stored: str, chinese: str) -> None:
    assert detail_text(action, stored, ZH) == chinese


def test_an_unknown_form_shows_as_stored() -> None:
    """An older or newer wording is never lost or half-translated."""
    assert detail_text("login", "from somewhere else entirely", ZH) == "from somewhere else entirely"
    assert detail_text("download_audit", "colour=blue", ZH) == "colour=blue"
    assert detail_text("review", "maybe", ZH) == "maybe"


def test_targets_in_both_languages() -> None:
    assert target_text("export", "all centres", ZH) == "全部学习中心"
    assert target_text("view_page", "review rejected", ZH) == "审核（已退回）"
    assert target_text("view_page", "review sideways", ZH) == "review sideways"
    assert target_text("import", "schedule", EN) == EN("import.kind.schedule")
    assert target_text("review", "0123abcd", ZH) == "0123abcd"  # a capture id as it is
    assert detail_text("user_added", "role viewer", EN) == "role: " + EN("role.viewer")
