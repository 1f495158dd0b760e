"""Gettext catalogs from locales/ and the choice of a person's language.

Catalogs are read from the .po files with babel at start-up, so there is no compile step to forget.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SHIPPED = ("zh_TW", "en", "vi", "id", "th")

# Each language in its own words, as a person looks for it in a list or on a button.
NATIVE_NAMES = {"zh_TW": "中文", "en": "English", "vi": "Tiếng Việt", "id": "Bahasa Indonesia", "th": "ไทย"}


def native_name(locale: str) -> str:
    return NATIVE_NAMES.get(locale) or Locale.parse(locale).get_display_name(locale) or locale


def _folded(text: str) -> str:
    """Lower case without accents and with single spaces: `Tiếng  Việt` and `tieng viet` are the same word."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


# What people type after 語言 / language besides a language tag, and tags babel does not know.
_ALIASES = {
    _folded(word): language
    for language, words in {
        "zh": (
            "中文",
            "繁體中文",
            "華語",
            "國語",
            "chinese",
            "tiếng trung",
            "bahasa mandarin",
            "ภาษาจีน",
            "จีน",
        ),
        "en": ("英文", "英語", "english", "tiếng anh", "bahasa inggris", "ภาษาอังกฤษ", "อังกฤษ"),
        "vi": (
            "越南文",
            "越南語",
            "越南话",
            "vietnamese",
            "tiếng việt",
            "tiếng việt nam",
            "việt nam",
            "vietnam",
        ),
        "id": ("印尼文", "印尼語", "印尼话", "indonesian", "indonesia", "bahasa indonesia", "bahasa"),
        "th": ("泰文", "泰語", "泰国话", "thai", "ไทย", "ภาษาไทย", "thailand"),
    }.items()
    for word in words
}


@dataclass(frozen=True)
class Translator:
    locale: str
    messages: dict[str, str]

    def __call__(self, msgid: str, **params) -> str:
        text = self.messages.get(msgid) or msgid
        return text.format(**params) if params else text


class Catalogs:
    def __init__(self, directory: Path = LOCALES_DIR, locales: tuple[str, ...] = SHIPPED):
        self.locales = locales
        self._translators: dict[str, Translator] = {}
        self._matches: dict[str | None, str | None] = {}
        for locale in locales:
            with (directory / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
                catalog = read_po(po, locale=locale)
            messages = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
            self._translators[locale] = Translator(locale, messages)

    def translator(self, locale: str) -> Translator:
        return self._translators.get(locale) or self._translators[self.locales[0]]

    def names(self) -> list[tuple[str, str]]:
        """(locale, the language's own name) for every loaded locale, in the order they were given."""
        return [(locale, native_name(locale)) for locale in self.locales]

    def default_for(self, tag: str | None) -> str:
        """The locale of people who chose none: the one `tag` (VBOT_LOCALE) names, else the first loaded."""
        return self.match(tag) or self.locales[0]

    def match(self, tag: str | None) -> str | None:
        # Asked for every message; babel's parsing costs ~0.25 ms, so each tag is worked out once.
        if tag not in self._matches:
            if len(self._matches) > 1000:
                self._matches.clear()
            self._matches[tag] = self._match(tag)
        return self._matches[tag]

    def _match(self, tag: str | None) -> str | None:
        """The shipped locale for a platform or user language tag or a language's name.

        Tags: `zh-TW`, `zh-Hant`, `en-US`, `vi-VN`, `id-ID`, `in` (Android's old code for Indonesian), `th-TH`,
        `th-TH-u-nu-thai`; names: `中文`, `English`, `Tiếng Việt`, `tieng viet`, `印尼文`, `ไทย`, `thai`…
        babel's negotiate_locale does not map zh-TW to zh_Hant_TW, so we compare languages ourselves;
        any Chinese is served Traditional Chinese, the language of the bot's users in Taiwan.
        """
        if not tag:
            return None
        tag = tag.strip()
        language = _ALIASES.get(_folded(tag)) or self._language_of(tag)
        if language is None:
            return None
        for locale in self.locales:
            if Locale.parse(locale).language == language:
                return locale
        return None

    @staticmethod
    def _language_of(tag: str) -> str | None:
        parts = tag.replace("-", "_").split("_")
        # `th_TH_u_nu_thai`: BCP 47 extensions babel cannot parse; the language and region are enough.
        for candidate in ("_".join(parts), "_".join(parts[:2]), parts[0]):
            try:
                return Locale.parse(candidate).language
            except (ValueError, UnknownLocaleError):
                continue
        return None
