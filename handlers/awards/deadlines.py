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
from handlers.formatting import local_date
from handlers.i18n import Translator
from handlers.seed_tables import SeedRow, read_tables, text_in
from storage import SEEDS_DIR
from storage.vocabulary import CITIES

DEFAULT_DEADLINES = SEEDS_DIR / "deadlines.toml"
DEFAULT_REMIND = (14, 3, 1, 0)
REPORTS = ("half-year", "half-year-seniors", "year")
SENIOR_AGE = 65  # domain.md, Reports: the senior rate counts 65+

_FIELDS = frozenset("code title what_to_do month day every months opens cities material remind".split())
MATERIALS = ("awards", "report", "uninsured")
HONOR_CARD_NOTICE = (90, 30)  # days before an honor card ends: the holder and the coordinators hear


@dataclass(frozen=True)
class DeadlineRule:
    """One deadline; see the header of storage/seeds/deadlines.toml for what each field means.

    every: "year" (month and day), "month" (day only) or "once" (a unit's one-off date: year, month, day).
    months: with every "month", only in these months (招募 July–December: 7…12); None = every month.
    uninsured: the alert lists the unit's members not insured through the month of the occurrence.
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
    months: frozenset[int] | None = None
    uninsured: bool = False

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
        year, month = day.year, day.month
        for _ in range(13):  # within a year and a month every listed month comes
            date = on_day(year, month, rule.day)
            if date >= day and (rule.months is None or month in rule.months):
                return date
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None  # no month listed (a rule checked on reading never has none)
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
    if rule.report in ("half-year", "half-year-seniors"):
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
    months: Iterable[int] | None = None,
) -> DeadlineRule:
    """A unit's own deadline (a meeting, a training): once on `on`, or every year on its month and day, or,
    with `months` (1…12 for every month, 7…12 for 招募 July–December), on its day of each of those months.

    The title is kept in the language the coordinator wrote it in; text_in shows it to everyone.
    """

    def bad(name: str, problem: str) -> ValueError:
        return ValueError(f"unit deadline {title!r}: field {name!r}: {problem}")

    if not isinstance(title, str) or not title.strip():
        raise bad("title", "missing or empty")
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise bad("date", "must be a date")
    chosen = None if months is None else frozenset(months)
    if chosen is not None and (not chosen or not chosen <= set(range(1, 13))):
        raise bad("months", "must be months 1–12")
    if chosen is not None:
        every, month, year = "month", None, None
    else:
        every, month, year = ("year", on.month, None) if yearly else ("once", on.month, on.year)
    return DeadlineRule(
        code=code or title.strip(),
        titles=((locale, title.strip()),),
        every=every,
        day=on.day,
        month=month,
        year=year,
        remind=_check_remind(list(remind), bad),
        months=chosen,
    )


def parse_months(text: str) -> frozenset[int]:
    """`7-12` (July–December), `11-2` (November–February, across the new year), `1,7`, `3`: the months.

    Raises ValueError with a sentence for anything else."""
    months: set[int] = set()
    for part in text.replace("，", ",").split(","):
        bounds = [piece.strip() for piece in part.split("-")]
        if len(bounds) > 2 or not all(b.isdigit() and 1 <= int(b) <= 12 for b in bounds):
            raise ValueError(f"{text!r}: months are 1–12, as 7-12 or 1,7")
        first, last = int(bounds[0]), int(bounds[-1])
        span = (last - first) % 12
        months.update((first - 1 + step) % 12 + 1 for step in range(span + 1))
    return frozenset(months)


def months_text(months: Iterable[int]) -> str:
    """The stored form of a set of months: `7,8,9,10,11,12`."""
    return ",".join(str(m) for m in sorted(set(months)))


def honor_card_notice(valid_until: dt.date, code: str) -> DeadlineRule:
    """The end of an honor card as a one-off date, reminded 90 and 30 days before (alerts_due decides)."""
    return DeadlineRule(
        code=code,
        titles=(),
        every="once",
        day=valid_until.day,
        month=valid_until.month,
        year=valid_until.year,
        remind=HONOR_CARD_NOTICE,
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
        if "months" in self.raw:
            raise self.bad("months", 'only with every = "month"')
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

    def months(self) -> frozenset[int] | None:
        value = self.raw.get("months")
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return parse_months(value)
            except ValueError as error:
                raise self.bad("months", str(error)) from None
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in value)
        ):
            raise self.bad("months", 'must be a list of months 1–12 or a range "7-12"')
        return frozenset(value)

    def material(self, award_codes: Collection[str]) -> tuple[tuple[str, ...], str | None]:
        value = self.raw.get("material")
        if value is None:
            return (), None
        if not isinstance(value, dict) or len(value) != 1 or not set(value) <= set(MATERIALS):
            raise self.bad(
                "material",
                'must be { awards = [...] }, { report = "half-year" | "year" } or { uninsured = true }',
            )
        if "uninsured" in value:
            if value["uninsured"] is not True:
                raise self.bad("material.uninsured", "must be true")
            return (), None
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
            months=self.months(),
            uninsured=self.raw.get("material") == {"uninsured": True},
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


# ---- what a card shows ----------------------------------------------------------------------------


def valid_until_line(t: Translator, valid_until: dt.date, today: dt.date) -> str:
    """The honor card's "valid until" line (an award with valid_years): 有效期限, or that it has ended."""
    when = local_date(valid_until, t.locale)
    if valid_until < today:
        return t("🪪 Ended on {date}: renew it with the new years and hours.", date=when)
    return t("🪪 Valid until {date}", date=when)
