"""Pure rules about time and hours; no database, no platform."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

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


@dataclass(frozen=True)
class CountStart:
    """From which day the service a volunteer served in a unit of one category counts (domain.md, "Hours").

    day: the first day that counts; None with missing_special False: nothing known, every hour counts.
    missing_special: the volunteer has special training for other categories but not this one, so nothing
    served in this category counts until it is recorded ("a new category counts only after its training").
    """

    day: dt.date | None
    missing_special: bool = False


def hours_count_from(
    category: str,
    basic_on: dt.date | None,
    specials: Mapping[str | None, dt.date],
    record_book_on: dt.date | None,
    trained_on: dt.date | None,
) -> CountStart:
    """The day from which service in `category` counts: the later of the basic training and that category's
    special training (a special training without a category counts for every one); without those, the record
    book's issue date or the roster's training date. The award engine (handlers/awards) keeps its own copy
    of this rule for the awards; this one answers 時數 and the warning of hours entered by hand.

    specials: category → the first special training in it (the key None: recorded without a category)."""
    own = [day for key, day in specials.items() if key is None or key == category]
    if own and basic_on:
        return CountStart(max(basic_on, min(own)))
    if specials and not own:
        return CountStart(None, missing_special=True)
    return CountStart(record_book_on or trained_on)


def first_trainings(
    trainings: Iterable[tuple[str, str | None, dt.date]],
) -> tuple[dt.date | None, dict[str | None, dt.date]]:
    """(the first basic training, category → the first special training) of (kind, category, day) rows;
    other kinds are ignored. What hours_count_from takes."""
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
