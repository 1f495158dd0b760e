"""期限 / deadlines: the coordinators' calendar, and which alerts are due on a day.

The deadlines are rows of data (storage/seeds/deadlines.toml, which a unit may change); a unit adds its own
dates with `unit_deadline`. Pure: rules and dates in, alerts out; no database, no platform, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.awards.rules import load_rules, on_day
from handlers.seed_tables import SeedRow, read_tables, text_in
from storage import SEEDS_DIR
from storage.vocabulary import CITIES

DEFAULT_DEADLINES = SEEDS_DIR / "deadlines.toml"
DEFAULT_REMIND = (14, 3, 1, 0)
REPORTS = ("half-year", "year")

_FIELDS = frozenset("code title what_to_do month day every opens cities material remind".split())


@dataclass(frozen=True)
class DeadlineRule:
    """One deadline; see the header of storage/seeds/deadlines.toml for what each field means.

    every: "year" (month and day), "month" (day only) or "once" (a unit's one-off date: year, month, day).
    """

    code: str
    titles: tuple[tuple[str, str], ...]
    every: str
    day: int
    month: int | None = None
    year: int | None = None
    what_to_do_texts: tuple[tuple[str, str], ...] = ()
    opens: tuple[int, int] | None = None  # (month, day)
    cities: frozenset[str] | None = None
    awards: tuple[str, ...] = ()
    report: str | None = None
    remind: tuple[int, ...] = DEFAULT_REMIND  # days before the deadline, largest first

    def title(self, locale: str) -> str:
        return text_in(self.titles, locale)

    def what_to_do(self, locale: str) -> str:
        return text_in(self.what_to_do_texts, locale) if self.what_to_do_texts else ""


@dataclass(frozen=True)
class Alert:
    """Tell the coordinators about the deadline of `code` on `occurrence`: the reminder `days_before` it."""

    code: str
    occurrence: dt.date
    days_before: int

    @property
    def alert_on(self) -> dt.date:
        return self.occurrence - dt.timedelta(days=self.days_before)


# ---- dates ------------------------------------------------------------------------------------------


def occurrence_on_or_after(rule: DeadlineRule, day: dt.date) -> dt.date | None:
    """The first deadline date on or after `day`; None only for a one-off date already past.

    A day the month lacks (29 February, the 31st) falls on the month's last day (awards.on_day).
    """
    if rule.every == "once":
        date = dt.date(rule.year, rule.month, rule.day)  # type: ignore[arg-type]
        return date if date >= day else None
    if rule.every == "month":
        date = on_day(day.year, day.month, rule.day)
        if date >= day:
            return date
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return on_day(year, month, rule.day)
    date = on_day(day.year, rule.month, rule.day)  # type: ignore[arg-type]
    return date if date >= day else on_day(day.year + 1, rule.month, rule.day)  # type: ignore[arg-type]


def opens_on(rule: DeadlineRule, occurrence: dt.date) -> dt.date | None:
    """The first day of the window that closes on `occurrence` (1 July for 10 July), or None."""
    if rule.opens is None:
        return None
    date = on_day(occurrence.year, *rule.opens)
    return date if date <= occurrence else on_day(occurrence.year - 1, *rule.opens)


def report_period(rule: DeadlineRule, occurrence: dt.date) -> tuple[dt.date, dt.date] | None:
    """The period whose figures the report covers: the half-year or year that ended before the deadline."""
    year = occurrence.year
    if rule.report == "year":
        return dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31)
    if rule.report == "half-year":
        if occurrence > dt.date(year, 6, 30):
            return dt.date(year, 1, 1), dt.date(year, 6, 30)
        return dt.date(year - 1, 7, 1), dt.date(year - 1, 12, 31)
    return None


def applies_to(rule: DeadlineRule, city: str) -> bool:
    """Whether a unit in `city` has this deadline: city rows (the Taipei platform) only there."""
    return rule.cities is None or city in rule.cities


# ---- alerts -----------------------------------------------------------------------------------------


def alerts_due(
    rule: DeadlineRule,
    today: dt.date,
    done: Collection[dt.date] = frozenset(),
    last_checked: dt.date | None = None,
) -> list[Alert]:
    """The alerts to send today: at most one per occurrence that is today or ahead and not done.

    last_checked: the last day whose alerts were already handled (the previous run). None means
    yesterday: only reminders falling on `today`. After downtime the caller passes the last run's day,
    and of each occurrence only the latest reminder missed since then is sent: one message that is
    still true ("3 days left"), not a backlog of stale ones. Occurrences already past get nothing.
    """
    since = last_checked if last_checked is not None else today - dt.timedelta(days=1)
    furthest = dt.timedelta(days=max(rule.remind))
    alerts = []
    occurrence = occurrence_on_or_after(rule, today)
    # More than one occurrence can be in reach when a reminder comes earlier than the previous
    # occurrence (monthly dates with a long notice).
    while occurrence is not None and occurrence - furthest <= today:
        if occurrence not in done:
            missed = [d for d in rule.remind if since < occurrence - dt.timedelta(days=d) <= today]
            if missed:
                alerts.append(Alert(rule.code, occurrence, min(missed)))
        occurrence = occurrence_on_or_after(rule, occurrence + dt.timedelta(days=1))
    return alerts


def alerts_due_all(
    rules: Iterable[DeadlineRule],
    city: str,
    today: dt.date,
    done: dict[str, Collection[dt.date]] | None = None,
    last_checked: dt.date | None = None,
) -> list[Alert]:
    """The alerts of one unit in `city`; done: code → the occurrences the unit marked done."""
    done = done or {}
    return [
        alert
        for rule in rules
        if applies_to(rule, city)
        for alert in alerts_due(rule, today, done.get(rule.code, frozenset()), last_checked)
    ]


# ---- a unit's own dates -----------------------------------------------------------------------------


def _check_remind(value: object, bad: Callable[[str, str], ValueError]) -> tuple[int, ...]:
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    ):
        raise bad("remind", "must be a non-empty list of whole days ≥ 0 (0 = on the day)")
    return tuple(sorted(set(value), reverse=True))


def unit_deadline(
    title: str,
    on: dt.date,
    remind: Iterable[int] = DEFAULT_REMIND,
    yearly: bool = False,
    *,
    code: str | None = None,
    locale: str = "zh_TW",
) -> DeadlineRule:
    """A unit's own deadline (a meeting, a training): once on `on`, or every year on its month and day.

    The title is kept in the language the coordinator wrote it in; text_in shows it to everyone.
    """

    def bad(name: str, problem: str) -> ValueError:
        return ValueError(f"unit deadline {title!r}: field {name!r}: {problem}")

    if not isinstance(title, str) or not title.strip():
        raise bad("title", "missing or empty")
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise bad("date", "must be a date")
    return DeadlineRule(
        code=code or title.strip(),
        titles=((locale, title.strip()),),
        every="year" if yearly else "once",
        day=on.day,
        month=on.month,
        year=None if yearly else on.year,
        remind=_check_remind(list(remind), bad),
    )


# ---- the table --------------------------------------------------------------------------------------


class _DeadlineRow(SeedRow):
    """One [[deadline]] table being read; errors name the deadline and the field."""

    TABLE = "deadline"

    def when(self) -> tuple[str, int | None, int]:
        every = self.raw.get("every", "year")
        if every == "month":
            if "month" in self.raw:
                raise self.bad("month", 'not with every = "month"')
            day = self.raw.get("day")
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
                raise self.bad("day", f"must be a day of the month 1–31, not {day!r}")
            return "month", None, day
        if every != "year":
            raise self.bad("every", f'must be "month" (or absent for every year), not {every!r}')
        month = self.raw.get("month")
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise self.bad("month", f"must be a month 1–12, not {month!r}")
        return "year", *self.month_day("day", month, self.raw.get("day"))

    def opens(self, every: str) -> tuple[int, int] | None:
        value = self.raw.get("opens")
        if value is None:
            return None
        if every != "year":
            raise self.bad("opens", "only for yearly deadlines")
        if not isinstance(value, dict) or set(value) != {"month", "day"}:
            raise self.bad("opens", "must be { month = M, day = D }")
        return self.month_day("opens", value["month"], value["day"])

    def material(self, award_codes: Collection[str]) -> tuple[tuple[str, ...], str | None]:
        value = self.raw.get("material")
        if value is None:
            return (), None
        if not isinstance(value, dict) or len(value) != 1 or not set(value) <= {"awards", "report"}:
            raise self.bad("material", 'must be { awards = [...] } or { report = "half-year" | "year" }')
        if "report" in value:
            if value["report"] not in REPORTS:
                raise self.bad("material.report", f"{value['report']!r}; known: {', '.join(REPORTS)}")
            return (), value["report"]
        awards = self.choices("material.awards", value["awards"], tuple(award_codes))
        return tuple(a for a in value["awards"] if a in awards), None  # the row's order, for the message

    def rule(self, award_codes: Collection[str]) -> DeadlineRule:
        if unknown := sorted(set(self.raw) - _FIELDS):
            raise self.bad(unknown[0], "unknown field (a typo?)")
        every, month, day = self.when()
        awards, report = self.material(award_codes)
        return DeadlineRule(
            code=self.text("code"),
            titles=self.texts("title"),
            what_to_do_texts=self.texts("what_to_do"),
            every=every,
            month=month,
            day=day,
            opens=self.opens(every),
            cities=self.optional_choices("cities", CITIES),
            awards=tuple(dict.fromkeys(awards)),
            report=report,
            remind=_check_remind(self.raw.get("remind", list(DEFAULT_REMIND)), self.bad),
        )


def read_deadline_rows(path: Path | str = DEFAULT_DEADLINES) -> list[dict[str, Any]]:
    """The raw [[deadline]] rows of a TOML file; `parse_deadlines` checks them."""
    return read_tables(path, "deadline")


def parse_deadlines(rows: Sequence[object], award_codes: Collection[str]) -> list[DeadlineRule]:
    """Deadline rules from raw rows, checked as a whole; award_codes: the award table the material names."""
    rules = [_DeadlineRow(raw, number).rule(award_codes) for number, raw in enumerate(rows, 1)]
    seen = set()
    for rule in rules:
        if rule.code in seen:
            raise ValueError(f"deadline {rule.code}: field 'code': used twice")
        seen.add(rule.code)
    return rules


def load_deadlines(
    path: Path | str = DEFAULT_DEADLINES, award_codes: Collection[str] | None = None
) -> list[DeadlineRule]:
    """The calendar, checked at start-up. Without award_codes, against the shipped award table."""
    if award_codes is None:
        award_codes = {rule.code for rule in load_rules()}
    return parse_deadlines(read_deadline_rows(path), award_codes)
