"""獎勵 / awards: which awards a volunteer can work towards, and how far along they are.

The awards are rows of data (storage/seeds/awards.toml, which a unit may change); nothing here knows a
particular award. Pure: rules and facts in, progress out; no database, no platform.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from handlers.seed_tables import SeedRow, read_tables, text_in
from storage import SEEDS_DIR
from storage.vocabulary import CATEGORIES, CITIES  # a typo in a row must fail loudly, not count no hours

DEFAULT_RULES = SEEDS_DIR / "awards.toml"

# Requirements the volunteer's own facts answer; an award row may add more with `satisfies`.
FACT_REQUIREMENTS = ("record_book", "basic_training", "special_training", "english_name", "birth_date")
WHO = ("volunteer", "unit", "authority")

_FIELDS = frozenset(
    "code ladder rank name how_to_apply hours years min_age cities categories count_cities years_in_cities"
    " count_until count_until_year once valid_years renewal requires satisfies deadlines source"
    " city_categories years_after_age unit_hours not_same_year_as".split()
)


# ---- dates ------------------------------------------------------------------------------------------


def on_day(year: int, month: int, day: int) -> dt.date:
    """That month and day in `year`; a day the month lacks (29 February) becomes the month's last day."""
    if day <= 28:  # every month has it (the common case, and this is called for every award and volunteer)
        return dt.date(year, month, day)
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def anniversary(start: dt.date, years: int) -> dt.date:
    """The day on which `years` whole years since `start` are complete: the same month and day.

    A 29 February start completes its year on 28 February of a common year, because the Civil Code
    (art. 121 II) ends a period of years whose last month has no corresponding day on that month's last day.
    """
    return on_day(start.year + years, start.month, start.day)


# ---- the rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A yearly date. who: `volunteer` (papers to the unit), `unit` (to the city), `authority` (to MOHW)."""

    month: int
    day: int
    who: str
    cities: frozenset[str] | None = None  # only for units in these cities; None = everywhere

    def first_on_or_after(self, day: dt.date) -> dt.date:
        date = on_day(day.year, self.month, self.day)
        return date if date >= day else on_day(day.year + 1, self.month, self.day)


@dataclass(frozen=True)
class Renewal:
    years: int
    hours: float


@dataclass(frozen=True)
class AwardRule:
    """One row of the award table; see the header of storage/seeds/awards.toml for what each field means."""

    code: str
    ladder: str
    rank: int
    names: tuple[tuple[str, str], ...]
    how_to_apply: tuple[tuple[str, str], ...] = ()
    hours: float = 0
    years: int = 0
    min_age: int = 0  # 0 = no age limit
    cities: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    count_cities: frozenset[str] | None = None
    years_in_cities: bool = False
    count_until: tuple[int, int] | None = None  # (month, day)
    count_until_year: int = 0  # the cut-off's year relative to the round's (award) year: -1 = the year before
    once: bool = False
    valid_years: int | None = None
    renewal: Renewal | None = None
    requires: tuple[str, ...] = ()
    satisfies: str | None = None
    deadlines: tuple[Deadline, ...] = ()
    # (requirement, award code) pairs: holding that award fulfils the requirement. load_rules fills it
    # from the rows' `satisfies`, so that progress() needs no other row.
    satisfied_by: tuple[tuple[str, str], ...] = ()
    source: str = ""  # the notice or seed the row follows (for whoever maintains the table)
    city_categories: tuple[tuple[str, frozenset[str]], ...] = ()  # city → more categories its units count
    years_after_age: bool = False  # the years run from the first service on or after the min_age birthday
    unit_hours: float = 0  # hours needed at the nominating unit itself (0 = none)
    not_same_year_as: tuple[str, ...] = ()  # awards that, granted in the round's year, rule this one out

    def name(self, locale: str) -> str:
        return text_in(self.names, locale)


class _AwardRow(SeedRow):
    """One [[award]] table being read; errors name the award and the field."""

    TABLE = "award"

    def count_until(self) -> tuple[int, int] | None:
        value = self.raw.get("count_until")
        if value is None:
            return None
        if not isinstance(value, str) or not (match := re.fullmatch(r"(\d\d)-(\d\d)", value)):
            raise self.bad("count_until", 'must be "MM-DD", e.g. "05-31"')
        return self.month_day("count_until", int(match[1]), int(match[2]))

    def count_until_year(self) -> int:
        value = self.raw.get("count_until_year", 0)
        if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 0:
            raise self.bad("count_until_year", "must be 0 (the award year) or -1 (the year before)")
        if value and "count_until" not in self.raw:
            raise self.bad("count_until_year", "needs count_until")
        return value

    def city_categories(self) -> tuple[tuple[str, frozenset[str]], ...]:
        value = self.raw.get("city_categories", {})
        if not isinstance(value, dict):
            raise self.bad("city_categories", "must be { city = [categories] }")
        found = []
        for city, categories in value.items():
            self.choices("city_categories", [city], CITIES)
            found.append((city, self.choices("city_categories." + city, categories, CATEGORIES)))
        return tuple(found)

    def codes(self, name: str) -> tuple[str, ...]:
        value = self.raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
            raise self.bad(name, "must be a list of codes")
        return tuple(dict.fromkeys(value))

    def renewal(self) -> Renewal | None:
        value = self.raw.get("renewal")
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"years", "hours"}:
            raise self.bad("renewal", "must be { years = N, hours = N }")
        years = value["years"]
        if isinstance(years, bool) or not isinstance(years, int) or years < 0:
            raise self.bad("renewal.years", "must be a whole number ≥ 0")
        return Renewal(years, self.number("renewal.hours", value["hours"]))

    def deadlines(self) -> tuple[Deadline, ...]:
        value = self.raw.get("deadlines", [])
        if not isinstance(value, list):
            raise self.bad("deadlines", "must be a list of { month, day, who }")
        found = []
        for item in value:
            if not isinstance(item, dict) or not {"month", "day", "who"} <= set(item) <= {
                "month",
                "day",
                "who",
                "cities",
            }:
                raise self.bad("deadlines", f"{item!r} must be {{ month, day, who[, cities] }}")
            month, day = self.month_day("deadlines", item["month"], item["day"])
            if item["who"] not in WHO:
                raise self.bad("deadlines", f"who {item['who']!r}; known: {', '.join(WHO)}")
            cities = self.choices("deadlines.cities", item["cities"], CITIES) if "cities" in item else None
            found.append(Deadline(month, day, item["who"], cities))
        return tuple(found)

    def rule(self) -> AwardRule:
        if unknown := sorted(set(self.raw) - _FIELDS):
            raise self.bad(unknown[0], "unknown field (a typo?)")
        requires = self.codes("requires")
        source = self.raw.get("source", "")
        if not isinstance(source, str):
            raise self.bad("source", "must be a text")
        satisfies = self.raw.get("satisfies")
        if satisfies is not None and (not isinstance(satisfies, str) or not satisfies.strip()):
            raise self.bad("satisfies", "must be a requirement code")
        if "rank" not in self.raw:
            raise self.bad("rank", "missing")
        rule = AwardRule(
            code=self.text("code"),
            ladder=self.text("ladder"),
            rank=self.integer("rank", None, 1) or 1,
            names=self.texts("name"),
            how_to_apply=self.texts("how_to_apply"),
            hours=self.number("hours", self.raw.get("hours", 0)),
            years=self.integer("years", 0, 0) or 0,
            min_age=self.integer("min_age", 0, 0) or 0,
            cities=self.optional_choices("cities", CITIES),
            categories=self.optional_choices("categories", CATEGORIES),
            count_cities=self.optional_choices("count_cities", CITIES),
            years_in_cities=self.flag("years_in_cities"),
            count_until=self.count_until(),
            count_until_year=self.count_until_year(),
            once=self.flag("once"),
            valid_years=self.integer("valid_years", None, 1),
            renewal=self.renewal(),
            requires=requires,
            satisfies=satisfies,
            deadlines=self.deadlines(),
            source=source,
            city_categories=self.city_categories(),
            years_after_age=self.flag("years_after_age"),
            unit_hours=self.number("unit_hours", self.raw.get("unit_hours", 0)),
            not_same_year_as=self.codes("not_same_year_as"),
        )
        if rule.once and rule.renewal:
            raise self.bad("renewal", "an award given once cannot be renewed")
        if rule.years_in_cities and rule.count_cities is None:
            raise self.bad("years_in_cities", "needs count_cities")
        if rule.years_after_age and not rule.min_age:
            raise self.bad("years_after_age", "needs min_age")
        return rule


def read_rule_rows(path: Path | str = DEFAULT_RULES) -> list[dict[str, Any]]:
    """The raw [[award]] rows of a TOML file; `parse_rules` checks them."""
    return read_tables(path, "award")


def load_rules(path: Path | str = DEFAULT_RULES) -> list[AwardRule]:
    """The award table, checked as a whole: a bad row stops the bot at start-up, not in a volunteer's chat."""
    return parse_rules(read_rule_rows(path))


def parse_rules(rows: Sequence[object]) -> list[AwardRule]:
    """Award rules from raw rows (from the TOML file or from the store), checked as a whole."""
    rules = [_AwardRow(raw, number).rule() for number, raw in enumerate(rows, 1)]

    seen: dict[str, AwardRule] = {}
    tiers: dict[tuple[str, int], str] = {}
    for rule in rules:
        if rule.code in seen:
            raise ValueError(f"award {rule.code}: field 'code': used twice")
        seen[rule.code] = rule
        if (rule.ladder, rule.rank) in tiers:
            raise ValueError(
                f"award {rule.code}: field 'rank': {tiers[rule.ladder, rule.rank]} has the same rank"
            )
        tiers[rule.ladder, rule.rank] = rule.code
        first = next(r for r in rules if r.ladder == rule.ladder)
        if rule.once != first.once:
            raise ValueError(
                f"award {rule.code}: field 'once': differs from {first.code} in ladder {rule.ladder}"
            )
    granting = {}
    for rule in rules:
        if rule.satisfies is not None:
            if rule.satisfies in FACT_REQUIREMENTS or rule.satisfies in granting:
                raise ValueError(f"award {rule.code}: field 'satisfies': {rule.satisfies} is already defined")
            granting[rule.satisfies] = rule.code
    for rule in rules:
        if unknown := [r for r in rule.requires if r not in FACT_REQUIREMENTS and r not in granting]:
            known = ", ".join([*FACT_REQUIREMENTS, *granting])
            raise ValueError(
                f"award {rule.code}: field 'requires': unknown {', '.join(unknown)}; known: {known}"
            )
    return [
        replace(rule, satisfied_by=tuple((r, granting[r]) for r in rule.requires if r in granting))
        for rule in rules
    ]


def applicable(rules: Iterable[AwardRule], cities: Iterable[str]) -> list[AwardRule]:
    """The awards a volunteer sees: city awards where one of their units is; national and MOHW ones everywhere."""
    cities = frozenset(cities)
    return [rule for rule in rules if rule.cities is None or rule.cities & cities]


# ---- the volunteer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)  # slots: the eligible list holds a great many of these
class CountedMinutes:
    """Counted minutes of one record, with its unit's category and city. Only kind `service` counts.

    from_chat: recorded by the bot at a check-out, so it counts only from the day the volunteer was trained
    for that category (hours_count_from). Hours entered by hand (a record book's balance, a coordinator's
    correction) were checked by whoever entered them and always count.
    """

    service_date: dt.date
    minutes: int
    category: str
    city: str
    kind: str = "service"
    from_chat: bool = False
    unit_id: int | None = None  # the unit served at (an award may need hours at the nominating unit)


@dataclass(frozen=True)
class VolunteerFacts:
    """What the awards depend on. grants: award code → the dates it was granted.

    special_trainings: service category → the first special training in it; the key None is a special
    training recorded without a category, which counts for every category.
    categories: the service categories of the volunteer's units.
    """

    basic_training_on: dt.date | None = None
    special_trainings: Mapping[str | None, dt.date] = field(default_factory=dict)
    categories: frozenset[str] = frozenset()
    record_book_no: str | None = None
    record_book_on: dt.date | None = None
    trained_on: dt.date | None = None  # both trainings done by then (from a roster)
    first_service_on: dt.date | None = None  # from a record-book balance
    english_name: str | None = None
    birth_date: dt.date | None = None
    cities: frozenset[str] = frozenset()
    grants: Mapping[str, tuple[dt.date, ...]] = field(default_factory=dict)
    records: tuple[CountedMinutes, ...] = ()
    # age → the first service day on or after that birthday, where the records are summed over spans (the
    # unit's list) and cannot tell it; absent: read from the records (one volunteer's, day by day).
    first_service_at_age: Mapping[int, dt.date | None] = field(default_factory=dict)
    nominating: tuple[int, str] | None = None  # (unit id, city) of the unit applying for the volunteer

    def first_special_training(self, categories: Collection[str]) -> dt.date | None:
        """The first special training that counts for one of these categories."""
        return min(
            (
                day
                for category, day in self.special_trainings.items()
                if category is None or category in categories
            ),
            default=None,
        )

    @property
    def special_training_on(self) -> dt.date | None:
        """The first special training for the category of one of the volunteer's units."""
        return self.first_special_training(self.categories)


class RecordBookFields(Protocol):
    """A volunteer's own fields the awards read: a storage.models.Volunteer, or a row of a bulk query."""

    @property
    def birth_date(self) -> dt.date | None: ...
    @property
    def trained_on(self) -> dt.date | None: ...
    @property
    def record_book_no(self) -> str | None: ...
    @property
    def record_book_date(self) -> dt.date | None: ...
    @property
    def english_name(self) -> str | None: ...
    @property
    def first_service_date(self) -> dt.date | None: ...


def facts_from_rows(
    person: RecordBookFields,
    units: Iterable[tuple[str, str]],
    trainings: Iterable[tuple[str, str | None, dt.date]],
    grants: Iterable[tuple[str, dt.date]],
    records: Iterable[CountedMinutes] = (),
) -> VolunteerFacts:
    """A volunteer's facts from plain rows: the one place both 獎勵 (one volunteer) and the unit's eligible list
    (every member at once) build them, so that the two cannot disagree.

    units: (category, city) of each unit the volunteer serves in; trainings: (kind, category, date), kinds
    other than basic and special ignored; grants: (award code, granted on).
    """
    units = list(units)
    basic: dt.date | None = None
    special: dict[str | None, dt.date] = {}
    for kind, category, day in trainings:
        if kind == "basic":
            basic = day if basic is None else min(basic, day)
        elif kind == "special":
            special[category] = min(day, special.get(category, day))
    granted: dict[str, tuple[dt.date, ...]] = {}
    for code, day in grants:
        granted[code] = (*granted.get(code, ()), day)
    return VolunteerFacts(
        basic_training_on=basic,
        special_trainings=special,
        categories=frozenset(category for category, _city in units),
        record_book_no=person.record_book_no,
        record_book_on=person.record_book_date,
        trained_on=person.trained_on,
        first_service_on=person.first_service_date,
        english_name=person.english_name,
        birth_date=person.birth_date,
        cities=frozenset(city for _category, city in units),
        grants=granted,
        records=tuple(records),
    )


def seniority_start(facts: VolunteerFacts) -> dt.date | None:
    """The day seniority runs from: the later training (domain.md), else the best date the bot has."""
    special = facts.special_training_on
    if facts.basic_training_on and special:
        return max(facts.basic_training_on, special)
    return facts.record_book_on or facts.trained_on or facts.first_service_on


@dataclass(frozen=True)
class CountStart:
    """From which day the service a volunteer served in a unit of one category counts (domain.md, "Hours").

    day: the first day that counts; None with missing_special False: nothing known, every hour counts.
    missing_special: the volunteer has special training for other categories but not this one, so nothing
    served in this category counts until it is recorded ("a new category counts only after its training").
    """

    day: dt.date | None
    missing_special: bool = False


def count_start(
    category: str,
    basic_on: dt.date | None,
    specials: Mapping[str | None, dt.date],
    record_book_on: dt.date | None,
    trained_on: dt.date | None,
) -> CountStart:
    """THE rule of when service counts, written once for the awards, 時數, the reports and the export: the later
    of the basic training and that category's special training (a special training without a category
    counts for every one), so serving in a new category counts only after its own special training; without
    those, the record book's issue date or the roster's training date; nothing known: every hour counts
    (the awards list the missing training anyway).

    specials: category → the first special training in it (the key None: recorded without a category)."""
    own = [day for key, day in specials.items() if key is None or key == category]
    if own and basic_on:
        return CountStart(max(basic_on, min(own)))
    if specials and not own:
        return CountStart(None, missing_special=True)
    return CountStart(record_book_on or trained_on)


def hours_count_from(facts: VolunteerFacts, category: str) -> dt.date | None:
    """count_start for the award engine's facts, as a day: NEVER while the category's own special training is
    missing, None when nothing is known (every hour counts)."""
    start = count_start(
        category, facts.basic_training_on, facts.special_trainings, facts.record_book_on, facts.trained_on
    )
    return NEVER if start.missing_special else start.day


NEVER = dt.date.max  # hours_count_from: the category's own special training is not recorded yet


def untrained_categories(facts: VolunteerFacts, categories: Collection[str] | None = None) -> list[str]:
    """The volunteer's unit categories (of `categories`, None = all) whose special training is missing while
    that of another category is recorded: serving there counts only after it (domain.md)."""
    return sorted(
        c
        for c in facts.categories
        if (categories is None or c in categories) and hours_count_from(facts, c) == NEVER
    )


def applying_cities(facts: VolunteerFacts) -> frozenset[str]:
    """The city of the unit that applies (the unit's list), else every city the volunteer serves in."""
    return frozenset((facts.nominating[1],)) if facts.nominating else facts.cities


def counted_categories(rule: AwardRule, facts: VolunteerFacts) -> frozenset[str] | None:
    """The service categories whose hours count (None = all): the rule's, and those its applying city adds
    (Taipei's MOHW round also counts 綜合類 general units)."""
    if rule.categories is None:
        return None
    cities = applying_cities(facts)
    extra = [categories for city, categories in rule.city_categories if city in cities]
    return rule.categories.union(*extra)


def counted_records(
    rule: AwardRule, facts: VolunteerFacts, after: dt.date | None = None
) -> list[CountedMinutes]:
    """The records whose minutes count towards `rule`: service, in its categories and cities, recorded in chat
    only from the training day (hours_count_from), and served after `after` (a renewal's last grant: hours
    are never counted twice)."""
    # One comprehension, no call per record: the eligible list runs this for every award and member.
    starts = {c: hours_count_from(facts, c) for c in {r.category for r in facts.records if r.from_chat}}
    categories, cities = counted_categories(rule, facts), rule.count_cities
    return [
        r
        for r in facts.records
        if r.kind == "service"
        and (categories is None or r.category in categories)
        and (cities is None or r.city in cities)
        and (after is None or r.service_date > after)
        and (not r.from_chat or (start := starts[r.category]) is None or r.service_date >= start)
    ]


def _has(requirement: str, facts: VolunteerFacts, rule: AwardRule) -> bool:
    """Whether a requirement is met. The record book is issued only after both trainings, so its date vouches for them."""
    vouched = facts.trained_on is not None or facts.record_book_on is not None
    if requirement == "record_book":
        return bool(facts.record_book_no and facts.record_book_no.strip()) or facts.record_book_on is not None
    if requirement == "basic_training":
        return facts.basic_training_on is not None or vouched
    if requirement == "special_training":
        return facts.special_training_on is not None or vouched
    if requirement == "english_name":
        return bool(facts.english_name and facts.english_name.strip())
    if requirement == "birth_date":
        return facts.birth_date is not None
    return any(facts.grants.get(code) for need, code in rule.satisfied_by if need == requirement)


# ---- progress ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardProgress:
    """How far a volunteer is towards one award, as of a day.

    counted_until: hours served up to this day are counted (the award's window).
    years_met_on: the day the years are complete; None when the award needs none (years_needed 0)
    or the start is unknown. renewal: this is progress towards renewing a granted award.
    age_met_on: the birthday on which the volunteer is age_needed years old; None when the award sets no
    age (age_needed 0) or the birth date is unknown.
    round_year: the award year of the round this counts for (its deadlines fall in it; None: the award has
    no rounds, one applies any time). this_round: that round is the one open now (the earliest whose
    deadline is still ahead); False for the next year's round, after this round's window closed without the
    volunteer: then nothing is `eligible`, and no milestone is announced.
    cut_off: the last day the round counts hours of (None: up to the application).
    """

    code: str
    ladder: str
    rank: int
    names: tuple[tuple[str, str], ...]
    how_to_apply: tuple[tuple[str, str], ...]
    reached: bool
    eligible: bool
    granted_on: dt.date | None
    counted_minutes: int
    minutes_needed: int
    years_needed: int
    years_met_on: dt.date | None
    missing: tuple[str, ...]
    next_deadline: dt.date | None
    hours_fraction: float
    years_fraction: float
    counted_until: dt.date
    renewal: bool = False
    valid_until: dt.date | None = None
    age_needed: int = 0
    age_met_on: dt.date | None = None
    round_year: int | None = None
    this_round: bool = True
    cut_off: dt.date | None = None
    years_after_age: bool = False

    def name(self, locale: str) -> str:
        return text_in(self.names, locale)


def _fraction(part: float, whole: float) -> float:
    return 1.0 if whole <= 0 else min(1.0, max(0.0, part / whole))


# ---- rounds -----------------------------------------------------------------------------------------


def _own_deadlines(rule: AwardRule, facts: VolunteerFacts) -> list[Deadline]:
    """The volunteer's own dates where the rule has some for their cities, else the unit's: the papers
    must reach the unit before the unit sends them on."""
    here = [d for d in rule.deadlines if d.cities is None or d.cities & facts.cities]
    return [d for d in here if d.who == "volunteer"] or [d for d in here if d.who == "unit"]


def cut_off(rule: AwardRule, round_year: int) -> dt.date | None:
    """The last day whose hours count for the round of `round_year` (None: every day up to the application):
    31 May of the award year for the national medals, 31 December of the year before for MOHW's."""
    if rule.count_until is None:
        return None
    return on_day(round_year + rule.count_until_year, *rule.count_until)


def _round_dates(rule: AwardRule, facts: VolunteerFacts, round_year: int) -> list[dt.date]:
    dates = [on_day(round_year, d.month, d.day) for d in _own_deadlines(rule, facts)]
    if not dates and (close := cut_off(rule, round_year)) is not None:
        dates = [close]  # no deadline in the table: the round ends with its window
    return dates


def current_round(rule: AwardRule, facts: VolunteerFacts, as_of: dt.date) -> int | None:
    """The round open on `as_of`: the earliest whose last date (to apply, else to count) is not past.
    None: the award has no rounds (no deadline and no cut-off; one applies any time)."""
    for year in range(as_of.year - 1, as_of.year + 3):
        dates = _round_dates(rule, facts, year)
        if not dates:
            return None
        if max(dates) >= as_of:
            return year
    return None  # unreachable: every round has a date each year


def _next_deadline(
    rule: AwardRule, facts: VolunteerFacts, round_year: int | None, as_of: dt.date
) -> dt.date | None:
    """The volunteer's next date to apply by in that round: the earliest not past."""
    if round_year is None:
        return None
    dates = [on_day(round_year, d.month, d.day) for d in _own_deadlines(rule, facts)]
    return min((date for date in dates if date >= as_of), default=None)


def first_service_at_age(facts: VolunteerFacts, age: int) -> dt.date | None:
    """The first day of service on or after the volunteer's `age`th birthday (the Taipei lifetime award counts
    its five years from it), in any unit; None without a birth date or such service."""
    if age in facts.first_service_at_age:
        return facts.first_service_at_age[age]
    if facts.birth_date is None:
        return None
    birthday = anniversary(facts.birth_date, age)
    return min(
        (
            r.service_date
            for r in facts.records
            if r.kind == "service" and r.minutes > 0 and r.service_date >= birthday
        ),
        default=None,
    )


def _unit_hours_short(
    rule: AwardRule, facts: VolunteerFacts, counted: list[CountedMinutes], end: dt.date
) -> bool:
    """Fewer than the rule's hours at the nominating unit (the volunteer's own card: at any one unit)."""
    if not rule.unit_hours:
        return False
    per_unit: dict[int | None, int] = {}
    for r in counted:
        if r.service_date <= end:
            per_unit[r.unit_id] = per_unit.get(r.unit_id, 0) + r.minutes
    if facts.nominating is not None:
        best = per_unit.get(facts.nominating[0], 0)
    else:
        best = max(per_unit.values(), default=0)
    return best < round(rule.unit_hours * 60)


def _missing(rule: AwardRule, facts: VolunteerFacts) -> tuple[str, ...]:
    # An age limit needs the birth date: without it the volunteer is told it is missing.
    needs = (
        (*rule.requires, "birth_date")
        if rule.min_age and "birth_date" not in rule.requires
        else rule.requires
    )
    missing = [requirement for requirement in needs if not _has(requirement, facts, rule)]
    if "special_training" in rule.requires and "special_training" not in missing:
        # A new category's hours count only after its own special training: say which one is missing.
        missing += [
            f"special_training:{c}" for c in untrained_categories(facts, counted_categories(rule, facts))
        ]
    return tuple(missing)


def _start(
    rule: AwardRule,
    facts: VolunteerFacts,
    counted: list[CountedMinutes],
    as_of: dt.date,
    renew_from: dt.date | None,
) -> dt.date | None:
    """The day the award's years run from."""
    if renew_from is not None:
        return renew_from
    if rule.years_after_age:
        return first_service_at_age(facts, rule.min_age)
    start = seniority_start(facts)
    if rule.years_in_cities and start is not None:
        here = [r.service_date for r in counted if r.service_date <= as_of]
        start = max(start, min(here)) if here else None
    return start


def progress(
    rule: AwardRule, facts: VolunteerFacts, as_of: dt.date, round_year: int | None = None
) -> AwardProgress:
    """One award for one volunteer on `as_of`, for the round open then (or for `round_year`'s, as the
    coordinators' alert about that round's deadline asks).

    With a cut-off (national medals: hours to 31 May; MOHW: to 31 December of the year before), the round
    open on `as_of` counts the hours up to the earlier of the two. After the cut-off, a volunteer who had
    reached the award by then sees it reached for this round while its deadline is ahead; everyone else sees
    next year's round (not this one: never eligible now, no milestone), whose window holds every hour so far.
    """
    grants = sorted(facts.grants.get(rule.code, ()))
    last_grant = grants[-1] if grants else None
    renewing = last_grant is not None and rule.renewal is not None
    need_minutes = round((rule.renewal.hours if renewing else rule.hours) * 60)  # type: ignore[union-attr]
    need_years = rule.renewal.years if renewing else rule.years  # type: ignore[union-attr]
    valid_until = anniversary(last_grant, rule.valid_years) if last_grant and rule.valid_years else None
    # A 29 February birthday: the age is reached on 28 February of a common year, as anniversary() says.
    age_met_on = anniversary(facts.birth_date, rule.min_age) if rule.min_age and facts.birth_date else None

    counted = counted_records(rule, facts, last_grant if renewing else None)
    start = _start(rule, facts, counted, as_of, last_grant if renewing else None)
    years_met_on = anniversary(start, need_years) if start is not None and need_years > 0 else None
    missing = _missing(rule, facts)

    def at(window_end: dt.date, year: int | None, this_round: bool) -> AwardProgress:
        minutes = sum(r.minutes for r in counted if r.service_date <= window_end)
        years_met = need_years == 0 or (years_met_on is not None and years_met_on <= window_end)
        # Old enough by the window's end; an unknown birth date is not (and is listed as missing).
        age_met = rule.min_age == 0 or (age_met_on is not None and age_met_on <= window_end)
        reached = minutes >= need_minutes and years_met and age_met
        lacking = missing
        if minutes >= need_minutes and _unit_hours_short(rule, facts, counted, window_end):
            lacking = (*lacking, "unit_hours")
        award_year = year if year is not None else as_of.year
        if any(g.year == award_year for code in rule.not_same_year_as for g in facts.grants.get(code, ())):
            lacking = (*lacking, "same_year_award")
        if need_years == 0:
            years_fraction = 1.0
        elif start is None or years_met_on is None:
            years_fraction = 0.0
        else:
            years_fraction = _fraction((as_of - start).days, (years_met_on - start).days)
        return AwardProgress(
            code=rule.code,
            ladder=rule.ladder,
            rank=rule.rank,
            names=rule.names,
            how_to_apply=rule.how_to_apply,
            reached=reached,
            eligible=reached and not lacking and this_round,
            granted_on=last_grant,
            counted_minutes=minutes,
            minutes_needed=max(0, need_minutes - minutes),
            years_needed=need_years,
            years_met_on=years_met_on,
            missing=lacking,
            next_deadline=_next_deadline(rule, facts, year, as_of),
            hours_fraction=_fraction(minutes, need_minutes),
            years_fraction=years_fraction,
            counted_until=window_end,
            renewal=renewing,
            valid_until=valid_until,
            age_needed=rule.min_age,
            age_met_on=age_met_on,
            round_year=year,
            this_round=this_round,
            cut_off=cut_off(rule, year) if year is not None else None,
            years_after_age=rule.years_after_age,
        )

    if last_grant is not None and rule.once:
        return replace(
            at(as_of, None, True),
            reached=True,
            eligible=False,
            minutes_needed=0,
            missing=(),
            next_deadline=None,
            hours_fraction=1.0,
            years_fraction=1.0,
        )
    now_open = current_round(rule, facts, as_of)
    if now_open is None:
        return at(as_of, None, True)
    if round_year is not None:  # that round, as far as it has come by `as_of`
        close = cut_off(rule, round_year)
        return at(as_of if close is None else min(as_of, close), round_year, round_year == now_open)
    close = cut_off(rule, now_open)
    if close is None or as_of <= close:
        return at(as_of, now_open, True)
    closed = at(close, now_open, True)
    if closed.reached:
        return closed
    return at(as_of, now_open + 1, False)


def progress_all(rules: Iterable[AwardRule], facts: VolunteerFacts, as_of: dt.date) -> list[AwardProgress]:
    """Every award the volunteer sees, ladder by ladder (in the table's order), tier by tier.

    In a ladder whose tiers are given once, the granted tiers show as granted; above the highest granted
    tier come the tiers already reached (one may apply for a higher tier directly) and then the next goal.
    Tiers below a granted one and goals beyond the next are left out: short messages.
    An award granted in a city the volunteer no longer serves in still shows as granted.
    """
    rules = list(rules)
    seen = {rule.code for rule in applicable(rules, facts.cities)} | set(facts.grants)
    ladders: dict[str, list[AwardRule]] = {}
    for rule in rules:
        if rule.code in seen:
            ladders.setdefault(rule.ladder, []).append(rule)
    shown: list[AwardProgress] = []
    for tiers in ladders.values():
        steps = [progress(rule, facts, as_of) for rule in sorted(tiers, key=lambda r: r.rank)]
        if not any(rule.once for rule in tiers):
            shown += steps
            continue
        granted = [p for p in steps if p.granted_on is not None]
        top = max((p.rank for p in granted), default=0)
        above = [p for p in steps if p.rank > top and p.granted_on is None]
        goal = next((p for p in above if not p.reached), None)
        shown += granted + [p for p in above if p.reached] + ([goal] if goal else [])
    return shown


def next_goal(rule: AwardRule, facts: VolunteerFacts) -> tuple[int, dt.date | None]:
    """The counted minutes the rule's next grant needs, and the day after which they count: its last grant's
    when it is renewed (hours are never counted twice), else None."""
    grants = facts.grants.get(rule.code, ())
    if grants and rule.renewal is not None:
        return round(rule.renewal.hours * 60), max(grants)
    return round(rule.hours * 60), None


def cannot_come_near(rule: AwardRule, facts: VolunteerFacts, as_of: dt.date, within: int) -> bool:
    """Even every counted minute up to `as_of` falls more than `within` short of the rule: no progress needed
    (the eligible list skips such awards; a check-out's milestone does not ask about them)."""
    need, last = next_goal(rule, facts)
    # At most: chat hours before the training count here too. An upper bound is all this needs, and the loop
    # stays cheap (it runs for every award and member); progress() leaves those hours out.
    most = 0
    categories = counted_categories(rule, facts)
    for r in facts.records:
        if (
            r.service_date <= as_of
            and (categories is None or r.category in categories)
            and (rule.count_cities is None or r.city in rule.count_cities)
            and (last is None or r.service_date > last)
        ):
            most += r.minutes
    return most + within < need


# headroom_minutes when no award can be newly reached while the facts stand (the largest a column's int holds)
NO_AWARD_AHEAD = 2**31 - 1


def headroom_minutes(rules: Iterable[AwardRule], facts: VolunteerFacts, since: dt.date) -> int:
    """The fewest more counted minutes that could make any award the volunteer sees newly reached on `since` or
    a later day, while their facts (trainings, grants, units, the other records) stay as they are (0: any
    could). A check-out whose minutes stay under it reaches nothing new.

    Why it holds: new minutes move no award's years, age or round (newly_reached_awards), only its counted
    minutes. An award whose hours the records dated before `since` reach already is not newly reached on any
    later day: the step progress() shows then counts every record up to that day (the round open, or the next
    one once the cut-off has passed), except a closed round's, shown only when reached; so its hours are met
    before the new minutes as after, and whether it is reached depends on its years and age alone. Any other
    award is reached after the new minutes only when they bring all its counted records, every day, to its
    hours."""
    rules = list(rules)
    seen = {rule.code for rule in applicable(rules, facts.cities)} | set(facts.grants)
    fewest = NO_AWARD_AHEAD
    for rule in rules:
        if rule.code not in seen or (rule.once and facts.grants.get(rule.code)):
            continue  # not shown, or given once and granted: reached for good
        need, last = next_goal(rule, facts)
        counted = counted_records(rule, facts, last)
        if sum(r.minutes for r in counted if r.service_date < since) >= need:
            continue
        fewest = min(fewest, max(0, need - sum(r.minutes for r in counted)))
    return fewest


def newly_reached(before: list[AwardProgress], after: list[AwardProgress]) -> list[str]:
    """Awards reached by what happened between the two (a check-out): the milestone to congratulate on.
    Only for the round open now: hours after a round's cut-off never announce that round (nor the next)."""
    had = {p.code for p in before if p.reached}
    return [p.code for p in after if p.reached and p.this_round and p.code not in had]
