"""How numbers, dates and times look to a person in their language."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal


@lru_cache(maxsize=32)
def babel_locale(locale: str) -> Locale:
    """Parsed once: babel parses a locale name on every call otherwise (181 → 13 µs per number)."""
    return Locale.parse(locale)


@lru_cache(maxsize=4096)
def hours_from_minutes(minutes: int, locale: str) -> str:
    """Hours with at most one decimal: 150 → `2.5`, 120 → `2`, 25 → `0.4`. Remembered: every check-out
    says two of them, and babel reads the number pattern anew on every call."""
    return format_decimal(round(minutes / 60, 1), format="#,##0.#", locale=babel_locale(locale))


def hours_to_go(minutes: int, locale: str) -> str:
    """Hours still needed, rounded up to a tenth: 1 minute short is `0.1`, never `0`."""
    return format_decimal(-(-minutes // 6) / 10, format="#,##0.#", locale=babel_locale(locale))


def hours_done(minutes: int, locale: str) -> str:
    """Hours counted towards a goal, rounded down to a tenth: 149 h 59 min is `149.9`, not the goal's `150`."""
    return format_decimal(minutes // 6 / 10, format="#,##0.#", locale=babel_locale(locale))


def local_date(date: dt.date, locale: str) -> str:
    """zh_TW uses the ROC year (Gregorian − 1911) as government papers do: `115年3月25日`.

    Every other language has babel's medium date of its locale, Gregorian: `Mar 25, 2026`, `25 thg 3, 2026`,
    `25 Mar 2026`, `25 มี.ค. 2026` (not the Buddhist era: the bot's dates are Taiwan's, in AD).
    """
    if locale == "zh_TW":
        return f"{date.year - 1911}年{date.month}月{date.day}日"
    return babel_format_date(date, format="medium", locale=babel_locale(locale))


_WRITTEN_DATE = re.compile(r"(?:民國)?\s*(\d{1,4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_ROC_DATE = re.compile(r"(\d{3})(\d{2})(\d{2})")


def read_date(text: str) -> dt.date | None:
    """A date as people in Taiwan write it: ISO 2026-03-25, 2026/3/25, the ROC (民國) year of government
    papers 115/03/25, 115-03-25, 115.3.25, 115年3月25日, 民國115年3月25日, or 1150325; a year under 1000 is ROC
    (+1911). Empty → None; anything else, or a day that does not exist (115/02/30), → ValueError."""
    text = text.strip()
    if not text:
        return None
    match = _WRITTEN_DATE.fullmatch(text) or _COMPACT_ROC_DATE.fullmatch(text)
    if not match:
        raise ValueError(f"not a date: {text!r}")
    year, month, day = (int(part) for part in match.groups())
    if year < 1000:
        if year == 0:
            raise ValueError(f"not a date: {text!r}")
        year += 1911  # the ROC year (民國) of government papers
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"there is no such day: {text!r} ({year}-{month:02d}-{day:02d})") from None


def local_moment(moment: dt.datetime, timezone: ZoneInfo, locale: str, today: dt.date) -> str:
    """`14:05` today, else the date and the time."""
    local = moment.astimezone(timezone)
    if local.date() == today:
        return local.strftime("%H:%M")
    return f"{local_date(local.date(), locale)} {local.strftime('%H:%M')}"


# A cell that starts with one of these is run as a formula by spreadsheet programs (CSV injection): a name
# `=HYPERLINK(…)` would become a live link in a coordinator's export. Numbers (a negative correction) stay.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def spreadsheet_safe(value: object) -> object:
    """A text a spreadsheet would read as a formula gets a leading apostrophe, which makes it plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[object]) -> list[object]:
    return [spreadsheet_safe(value) for value in values]


# One phone screen at a large font size, for an answer that is text (Telegram, the terminal): at most
# SCREEN_LINES lines of SCREEN_COLUMNS columns, where a Chinese character takes two columns, a Latin or Thai
# letter one, and a Thai or Vietnamese mark above or below a letter none; a longer line wraps.
SCREEN_LINES, SCREEN_COLUMNS = 15, 40


def screen_lines(text: str, columns: int = SCREEN_COLUMNS) -> int:
    """How many lines of a phone screen the text takes, its own lines wrapped at `columns`."""
    import unicodedata

    def width(line: str) -> int:
        return sum(
            0
            if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf")
            else 2
            if unicodedata.east_asian_width(char) in "WF"
            else 1
            for char in line
        )

    return sum(max(1, -(-width(line) // columns)) for line in text.splitlines())
