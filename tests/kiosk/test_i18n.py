"""Message catalogs: complete in both languages, zh_CN first, read at run time."""

from __future__ import annotations

import logging
import re
import string
from pathlib import Path

import pytest

from kiosk.codes import (BackdropResult, Button, Device, Hint, KioskStatus, Problem, RejectReason, State, SyncProblem,
                         UsbResult, message_key)
from kiosk.i18n import (LANGUAGES, LOCALE_DIR, Translator, catalog_path, consent_text, load_catalog,
                        required_keys)

ROOT = Path(__file__).resolve().parents[2]
KIOSK = ROOT / "kiosk"
# A quoted string that is a catalog key, e.g. 'button.agree' or "ui.staff.queue".
KEY_LITERAL = re.compile(
    r"""["']((?:state|button|hint|problem|status|device|prompt|consent|ui|check|sync_problem|reject_reason|usb|doctor)\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)["']"""
)
# The photo engine's check codes on the final photo: each needs check.<CODE>.
CHECK_CODE = re.compile(r"""(?:problems\.append|_band)\(\s*["']([A-Z0-9_]+)["']""")
CJK = re.compile(r"[\u4e00-\u9fff]")


def keys_used_in_sources() -> dict[str, list[str]]:
    """Every key literal in kiosk/**/*.py and kiosk/screens/*.kv, with where it was seen."""
    found: dict[str, list[str]] = {}
    files = list(KIOSK.rglob("*.py")) + list(KIOSK.rglob("*.kv"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        for key in KEY_LITERAL.findall(text):
            found.setdefault(key, []).append(str(path.relative_to(ROOT)))
        for code in CHECK_CODE.findall(text):
            found.setdefault(f"check.{code}", []).append(str(path.relative_to(ROOT)))
    return found


def test_sources_are_scanned() -> None:
    used = keys_used_in_sources()
    # a few keys each kind of file is known to use: the scan itself works
    assert "button.start" in used and any(p.endswith(".kv") for p in used["button.start"])
    assert "prompt.countdown" in used
    assert "check.FACE_TOO_SMALL" in used
    assert "check.CLOTHING_MATCHES_BACKGROUND" in used  # measures.py's _band(...) codes


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_needed_key_has_a_text(lang: str) -> None:
    catalog = load_catalog(lang)
    needed = required_keys() | set(keys_used_in_sources())
    missing = sorted(k for k in needed if not catalog.get(k, "").strip())
    assert not missing, f"{catalog_path(lang)} lacks: {missing}"


def test_enum_members_have_texts() -> None:
    """Spelled out, so a new enum member fails here with a clear name."""
    for lang in LANGUAGES:
        catalog = load_catalog(lang)
        for state in State:
            assert f"state.{state.value}.title" in catalog and f"state.{state.value}.body" in catalog, (lang, state)
        for enum in (Button, Hint, KioskStatus, Device, Problem, SyncProblem, RejectReason, BackdropResult, UsbResult):
            for member in enum:
                assert message_key(member) in catalog, (lang, member)
        for problem in Problem:
            assert f"problem.{problem.value}.staff" in catalog, (lang, problem)


def test_no_unused_texts() -> None:
    """A text nothing shows is clutter (or a typo in a key)."""
    needed = required_keys() | set(keys_used_in_sources())
    for lang in LANGUAGES:
        unused = sorted(set(load_catalog(lang)) - needed)
        assert not unused, f"{lang}: nothing uses {unused}"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = load_catalog("zh_CN"), load_catalog("en")
    assert set(zh) == set(en), f"only zh: {sorted(set(zh) - set(en))}; only en: {sorted(set(en) - set(zh))}"
    for key in zh:
        fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (zh[key], en[key])]
        assert fields[0] == fields[1], f"{key}: placeholders differ {fields}"


def test_chinese_texts_are_chinese() -> None:
    zh = load_catalog("zh_CN")
    for key, text in zh.items():
        if key in ("button.language", "ui.list_separator"):
            continue  # the language button names the other language
        assert CJK.search(text), f"{key} has no Chinese: {text!r}"
    assert zh["hint.MOVE_CLOSER"] == "请靠近一点"
    assert "采集码" in zh["state.scan_code.title"]


def test_consent_text_says_what_why_how_long_and_may_decline() -> None:
    # As a sealing booth shows it (kiosk.i18n.consent_text).
    zh = consent_text(Translator("zh_CN"), sealed=True, retention_days=7)
    for word in ("姓名", "身份证号", "照片", "采集码", "学历电子注册", "授权", "加密", "删除", "不同意"):
        assert word in zh, word
    en = consent_text(Translator("en"), sealed=True, retention_days=7).lower()
    for word in ("name", "id number", "photo", "electronic registration", "authorised", "encrypted", "deleted", "decline"):
        assert word in en, word


def test_chinese_is_the_default_and_switching_works() -> None:
    t = Translator()
    assert t.lang == "zh_CN"
    assert t.t("button.agree") == "同意并继续"
    t.set_language("en")
    assert t("button.agree") == "Agree and continue"
    assert t.t("ui.retake_n", n=2) == "Retake (2 left)"
    t.set_language("zh_CN")
    assert t.t("ui.retake_n", n=2) == "重拍（剩 2 次）"
    with pytest.raises(ValueError):
        t.set_language("fr")


def _write_po(path: Path, entries: dict[str, str], lang: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['msgid ""', 'msgstr ""', f'"Language: {lang}\\n"', '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for key, text in entries.items():
        lines += [f'msgid "{key}"', f'msgstr "{text}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def test_fallback_zh_then_en_then_key_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write_po(catalog_path("zh_CN", tmp_path), {"a.both": "中", "a.zh": "只有中文"}, "zh_CN")
    _write_po(catalog_path("en", tmp_path), {"a.both": "EN", "a.en": "only english"}, "en")
    t = Translator("en", locale_dir=tmp_path)
    assert t.t("a.both") == "EN"
    assert t.t("a.zh") == "只有中文"  # en lacks it: zh_CN
    t.set_language("zh_CN")
    assert t.t("a.en") == "only english"  # zh lacks it: en
    with caplog.at_level(logging.WARNING, logger="kiosk.i18n"):
        assert t.t("a.nowhere") == "a.nowhere"
        assert t.t("a.nowhere") == "a.nowhere"
    assert sum("a.nowhere" in r.getMessage() for r in caplog.records) == 1


def test_catalogs_are_read_at_run_time(tmp_path: Path) -> None:
    """No compile step: an edited .po is what the kiosk shows next."""
    po = catalog_path("zh_CN", tmp_path)
    _write_po(po, {"x.y": "旧"}, "zh_CN")
    t = Translator(locale_dir=tmp_path)
    assert t.t("x.y") == "旧"
    _write_po(po, {"x.y": "新的"}, "zh_CN")
    import os

    st = po.stat()
    os.utime(po, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert t.t("x.y") == "新的"


def test_shipped_catalogs_live_in_the_package() -> None:
    for lang in LANGUAGES:
        assert catalog_path(lang).is_file()
        assert catalog_path(lang).is_relative_to(LOCALE_DIR)
    assert not list(LOCALE_DIR.rglob("*.mo")), "no compiled catalogs: the .po files are read directly"


def test_the_consent_text_says_what_the_booth_does_with_its_copies() -> None:
    # It said "deleted after sync" while the booth kept them retention_days (issue 22, item 7).
    zh = Translator("zh_CN")
    text = consent_text(zh, sealed=True, retention_days=7)
    assert "加密保存" in text and "保留 7 天" in text and "同步至学校服务器后即从本机删除" not in text
    assert "{" not in text
    plain = consent_text(zh, sealed=False, retention_days=0)
    assert "加密" not in plain and "即从本机删除" in plain
    en = consent_text(Translator("en"), sealed=True, retention_days=2.5)
    assert "2.5 more days" in en and "encrypted" in en
