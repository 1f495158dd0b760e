"""Gettext catalogs from locales/ and the choice of a person's language.

Catalogs are read from the .po files with babel at start-up, so there is no compile step to forget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SHIPPED = ("zh_TW", "en")


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

    def match(self, tag: str | None) -> str | None:
        # Asked for every message; babel's parsing costs ~0.25 ms, so each tag is worked out once.
        if tag not in self._matches:
            if len(self._matches) > 1000:
                self._matches.clear()
            self._matches[tag] = self._match(tag)
        return self._matches[tag]

    def _match(self, tag: str | None) -> str | None:
        """The shipped locale for a platform or user language tag (`zh-TW`, `zh-Hant`, `en-US`, `en`, `中文`).

        babel's negotiate_locale does not map zh-TW to zh_Hant_TW, so we compare languages ourselves;
        any Chinese is served Traditional Chinese, the language of the bot's users in Taiwan.
        """
        if not tag:
            return None
        tag = tag.strip()
        aliases = {"中文": "zh", "繁體中文": "zh", "英文": "en", "english": "en"}
        tag = aliases.get(tag.lower(), tag)
        try:
            language = Locale.parse(tag.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            return None
        for locale in self.locales:
            if Locale.parse(locale).language == language:
                return locale
        return None
