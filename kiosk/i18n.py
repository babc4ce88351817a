"""Chinese and English texts, looked up by key.

Catalogs are gettext .po files whose msgids are keys ('state.attract.title',
'hint.MOVE_CLOSER', 'problem.card_expired.staff', ...), read at run time with
babel (no .mo compile step, so a catalog never goes stale). A missing text
falls back zh_CN -> en -> the key itself, with one warning per key.

Key families (see required_keys): state.<state>.title/.body, button.<b>,
hint.<H>, problem.<p> and problem.<p>.staff, status.<s>, device.<d>,
prompt.*, consent.*, ui.*, sync_problem.<p> and reject_reason.<r> (staff mode).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from kiosk.codes import (BackdropResult, Button, Device, Hint, KioskStatus, Problem, RejectReason, State,
                         SyncProblem, UsbResult, message_key)
from kiosk.session.spoken import spoken_keys

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kiosk"
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGES = ("zh_CN", "en")
FALLBACK = ("zh_CN", "en")  # after the current language, in this order

# Spoken and shown outside any enum: what the flow says on each screen
# (kiosk/session/spoken.py), and the call for staff.
PROMPT_KEYS = (*spoken_keys(), "prompt.call_staff")
# The consent text says what the booth does with its copies (KioskApp.consent_text).
OTHER_KEYS = ("consent.text", "consent.kept.sealed", "consent.kept.plain", "consent.deleted",
              "consent.deleted.now")


def catalog_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def _load(path: Path, mtime: float) -> dict[str, str]:
    with path.open("rb") as f:
        catalog = read_po(f)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def load_catalog(lang: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """key -> text for one language; {} when there is no catalog."""
    path = catalog_path(lang, locale_dir)
    try:
        return _load(path, path.stat().st_mtime)
    except FileNotFoundError:
        log.warning("no message catalog for %s at %s", lang, path)
        return {}


def required_keys() -> set[str]:
    """Every key the enums and the flow need a text for, in both languages."""
    keys: set[str] = set(PROMPT_KEYS) | set(OTHER_KEYS)
    for state in State:
        keys |= {f"{message_key(state)}.title", f"{message_key(state)}.body"}
    for problem in Problem:
        keys |= {message_key(problem), f"{message_key(problem)}.staff"}
    for enum in (Button, Hint, KioskStatus, Device, SyncProblem, RejectReason, BackdropResult, UsbResult):
        keys |= {message_key(m) for m in enum}
    return keys


def consent_text(t: "Translator", sealed: bool, retention_days: float) -> str:
    """The consent text as true for this booth: its copies sealed or not
    ([sync] server_public_key), kept retention_days once the school has them."""
    days = f"{retention_days:g}"
    return t("consent.text",
             kept=t("consent.kept.sealed" if sealed else "consent.kept.plain"),
             deleted=t("consent.deleted", days=days) if retention_days else t("consent.deleted.now"))


class Translator:
    """t(key, **fmt) in the current language; set_language switches it."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE, locale_dir: Path = LOCALE_DIR) -> None:
        self.locale_dir = locale_dir
        self._warned: set[str] = set()
        self.lang = DEFAULT_LANGUAGE
        self.set_language(lang)

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
        self.lang = lang

    def has(self, key: str) -> bool:
        return any(key in load_catalog(lang, self.locale_dir) for lang in self._chain())

    def t(self, key: str, **fmt: Any) -> str:
        for lang in self._chain():
            text = load_catalog(lang, self.locale_dir).get(key)
            if text is not None:
                break
        else:
            if key not in self._warned:
                self._warned.add(key)
                log.warning("no text for %r in any catalog", key)
            return key
        if not fmt:
            return text
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            log.warning("text for %r (%s) does not fit %s", key, lang, sorted(fmt))
            return text

    __call__ = t

    def _chain(self) -> list[str]:
        return [self.lang] + [lang for lang in FALLBACK if lang != self.lang]
