"""The office pages' texts, Chinese first, English on a toggle.

gettext .po catalogs with keys as msgids (as the kiosk's), read at run time
with babel: school_server/locale/<lang>/LC_MESSAGES/office.po (and any other
.po file there, so page modules keep their own texts)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent.parent / "locale"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """office.po, then the pages' own catalogs beside it (review.po, ...)."""
    texts: dict[str, str] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for path in [folder / "office.po", *sorted(set(folder.glob("*.po")) - {folder / "office.po"})]:
        with path.open("rb") as f:
            texts.update({str(m.id): str(m.string) for m in read_po(f) if m.id and m.string})
    return texts


def translator(lang: str):  # type: ignore[no-untyped-def]
    """t(key, **fmt): the text in lang, else Chinese, else the key itself."""
    texts, fallback = catalog(lang), catalog(DEFAULT_LANGUAGE)

    def t(key: str, **fmt: object) -> str:
        text = texts.get(key) or fallback.get(key) or key
        return text.format(**fmt) if fmt else text
    return t
