"""Pure rules about time and hours; no database, no platform."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from handlers.awards.rules import CountStart

MAX_MESSAGE_AGE = dt.timedelta(hours=24)
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=2)


def time_of_record(sent_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The platform's timestamp of the message, unless it is older than 24 hours or in the future."""
    if now - MAX_MESSAGE_AGE <= sent_at <= now + ALLOWED_CLOCK_SKEW:
        return min(sent_at, now)
    return now


def visit_minutes(check_in: dt.datetime, check_out: dt.datetime) -> int:
    """Whole minutes served; exact minutes, never negative (a check-out stamped before its check-in is 0)."""
    return max(0, int((check_out - check_in).total_seconds() // 60))


def split_at_midnight(
    start: dt.datetime, end: dt.datetime, timezone: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The stretches of [start, end] that fall on one local day each."""
    parts: list[tuple[dt.datetime, dt.datetime]] = []
    while True:
        next_midnight = dt.datetime.combine(
            start.astimezone(timezone).date() + dt.timedelta(days=1), dt.time(0), tzinfo=timezone
        )
        if end <= next_midnight:
            return [*parts, (start, end)]
        parts.append((start, next_midnight.astimezone(dt.UTC)))
        start = next_midnight.astimezone(dt.UTC)


def year_start(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def half_year_start(day: dt.date) -> dt.date:
    return day.replace(month=1 if day.month <= 6 else 7, day=1)


def first_trainings(
    trainings: Iterable[tuple[str, str | None, dt.date]],
) -> tuple[dt.date | None, dict[str | None, dt.date]]:
    """(the first basic training, category → the first special training) of (kind, category, day) rows;
    other kinds are ignored. What count_start (handlers/awards/rules.py) takes."""
    basic: dt.date | None = None
    specials: dict[str | None, dt.date] = {}
    for kind, category, day in trainings:
        if kind == "basic":
            basic = day if basic is None else min(basic, day)
        elif kind == "special":
            specials[category] = min(day, specials.get(category, day))
    return basic, specials


def counts_on(start: CountStart, day: dt.date) -> bool:
    """Whether service served on `day` counts, given from when service in its category counts."""
    return not start.missing_special and (start.day is None or day >= start.day)
