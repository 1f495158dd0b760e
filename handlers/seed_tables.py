"""Reading the shipped rule tables (storage/seeds/*.toml: awards, deadlines): [[table]] rows checked field by
field, with errors that name the row and the field, so a typo stops the bot at start-up and not in a chat."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

FALLBACK_LOCALES = ("zh_TW", "en")  # every row must name itself in these


def read_tables(path: Path | str, name: str) -> list[dict[str, Any]]:
    """The [[name]] tables of a TOML file of seed rows, which must hold those and nothing else."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    if set(data) != {name} or not isinstance(data[name], list) or not data[name]:
        raise ValueError(f"{path}: expected [[{name}]] tables and nothing else")
    tables: list[dict[str, Any]] = data[name]
    return tables


def text_in(texts: tuple[tuple[str, str], ...], locale: str) -> str:
    """The text in `locale`, else English, else the official Chinese: a newcomer more often reads English."""
    by_locale = dict(texts)
    return (
        by_locale.get(locale)
        or by_locale.get("en")
        or by_locale.get("zh_TW")
        or next(iter(by_locale.values()))
    )


class SeedRow:
    """One [[TABLE]] row being read; errors name the row (its code) and the field."""

    TABLE = "row"

    def __init__(self, raw: object, number: int):
        if not isinstance(raw, dict):
            raise ValueError(f"{self.TABLE} #{number}: not a table")
        self.raw = raw
        code = raw.get("code")
        self.code = code if isinstance(code, str) and code.strip() else f"#{number}"

    def bad(self, name: str, problem: str) -> ValueError:
        return ValueError(f"{self.TABLE} {self.code}: field {name!r}: {problem}")

    def text(self, name: str) -> str:
        value = self.raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(name, "missing or not a text")
        return value.strip()

    def integer(self, name: str, default: int | None, minimum: int) -> int | None:
        value = self.raw.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.bad(name, f"must be a whole number ≥ {minimum}")
        return value

    def number(self, name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
            raise self.bad(name, "must be a number ≥ 0")
        return value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            raise self.bad(name, "must be true or false")
        return value

    def texts(self, name: str) -> tuple[tuple[str, str], ...]:
        value = self.raw.get(name)
        if not isinstance(value, dict):
            raise self.bad(name, f"missing; give {name}.zh_TW and {name}.en")
        for locale in FALLBACK_LOCALES:
            if not isinstance(value.get(locale), str) or not value[locale].strip():
                raise self.bad(f"{name}.{locale}", "missing or empty")
        for locale, text in value.items():
            if not isinstance(text, str) or not text.strip():
                raise self.bad(f"{name}.{locale}", "must be a text")
        return tuple((locale, text.strip()) for locale, text in value.items())

    def choices(self, name: str, raw: object, allowed: tuple[str, ...] | None) -> frozenset[str]:
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
            raise self.bad(name, "must be a non-empty list of texts")
        if allowed is not None and (unknown := sorted(set(raw) - set(allowed))):
            raise self.bad(name, f"unknown {', '.join(unknown)}; known: {', '.join(allowed)}")
        return frozenset(raw)

    def optional_choices(self, name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
        return None if name not in self.raw else self.choices(name, self.raw[name], allowed)

    def month_day(self, name: str, month: object, day: object) -> tuple[int, int]:
        """29 February is allowed: in a common year it falls on the 28th (see on_day)."""
        if (
            isinstance(month, int)
            and isinstance(day, int)
            and not isinstance(month, bool)
            and not isinstance(day, bool)
        ):
            try:
                dt.date(2000, month, day)
                return month, day
            except ValueError:
                pass
        raise self.bad(name, f"not a day of the year: month {month!r}, day {day!r}")
