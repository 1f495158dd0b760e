"""The half-year and yearly report's reads: every figure is a grouped query, none per volunteer.

Scope: one unit (`unit_id`) or every unit (`unit_id=None`). Only `counted` records of kind `service` that were
served count: a record-book balance (source `balance`) counts toward a person's totals and awards but is no
service of the period it is dated in (uploaded, it would be filed twice), so the reports leave it out and
`left_out` says how much they left out. A volunteer is "served" in a period when a counted record falls on a
service date in [first, last].
Results are small (a row per sex and age band, per unit, per unit and month): memory stays flat however
many records there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import AwardGrant, ServiceRecord, TrainingRecord, Unit, Volunteer
from storage.vocabulary import RecordKind, RecordSource, RecordStatus

# (label, lowest age in the band), oldest first; "unknown" when there is no birth date.
AGE_BANDS = (
    ("65+", 65),
    ("55-64", 55),
    ("50-54", 50),
    ("30-49", 30),
    ("18-29", 18),
    ("12-17", 12),
    ("under 12", 0),
)
BAND_ORDER = tuple(label for label, _ in reversed(AGE_BANDS)) + ("unknown",)
GENDER_ORDER = ("female", "male", "other", "unknown")
HONOR_CARD = "honor-card"
HONOR_CARD_YEARS = 3  # an honor card is valid for three years from the day it was granted

_sr = ServiceRecord.__table__
_vol = Volunteer.__table__
_grant = AwardGrant.__table__
_unit = Unit.__table__
_training = TrainingRecord.__table__  # type: ignore[attr-defined]
BATCH = 1000  # rows fetched at a time by the streamed reads
ID_CHUNK = 500  # volunteer ids per IN list


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _counted(first: dt.date, last: dt.date, unit_id: int | None):
    conditions = [
        _sr.c.status == RecordStatus.COUNTED,
        _sr.c.kind == RecordKind.SERVICE,
        _sr.c.source != RecordSource.BALANCE,
        _sr.c.service_date.between(first, last),
    ]
    if unit_id is not None:
        conditions.append(_sr.c.unit_id == unit_id)
    return sa.and_(*conditions)


def age_band(birth_date, as_of: dt.date):
    """A SQL expression: the age band at `as_of` (someone born on as_of's day 65 years before is 65)."""
    whens = [(birth_date.is_(None), "unknown")]
    whens += [(birth_date <= years_before(as_of, low), label) for label, low in AGE_BANDS if low > 0]
    return sa.case(*whens, else_="under 12")


@dataclass(frozen=True)
class GroupRow:
    gender: str
    band: str
    served: int
    insured: int
    record_books: int
    honor_cards: int


def served_by_group(
    session: Session,
    first: dt.date,
    last: dt.date,
    unit_id: int | None,
    only: list[int] | None = None,
) -> list[GroupRow]:
    """Distinct volunteers who served, by sex and age band at `last`, with the insured, record-book and
    honor-card holders among them (all as of `last`). only: just these volunteers (few: an IN list)."""
    if only is not None and len(only) > ID_CHUNK:
        found: dict[tuple[str, str], list[int]] = {}
        for start in range(0, len(only), ID_CHUNK):
            for row in served_by_group(session, first, last, unit_id, only[start : start + ID_CHUNK]):
                sums = found.setdefault((row.gender, row.band), [0, 0, 0, 0])
                for i, value in enumerate((row.served, row.insured, row.record_books, row.honor_cards)):
                    sums[i] += value
        return [GroupRow(g, b, *sums) for (g, b), sums in found.items()]
    condition = _counted(first, last, unit_id)
    if only is not None:
        condition = sa.and_(condition, _sr.c.volunteer_id.in_(only))
    served = sa.select(_sr.c.volunteer_id).where(condition).distinct().subquery("served")
    honor = (
        sa.select(_grant.c.volunteer_id)
        .where(
            _grant.c.award_code == HONOR_CARD,
            _grant.c.granted_on <= last,
            _grant.c.granted_on > years_before(last, HONOR_CARD_YEARS),
        )
        .distinct()
        .subquery("honor")
    )
    gender = sa.case((_vol.c.gender.in_(("female", "male", "other")), _vol.c.gender), else_="unknown")
    band = age_band(_vol.c.birth_date, last)
    one_if = lambda condition: sa.func.sum(sa.case((condition, 1), else_=0))  # noqa: E731
    book = sa.and_(
        _vol.c.record_book_no.is_not(None),
        _vol.c.record_book_no != "",
        sa.or_(_vol.c.record_book_date.is_(None), _vol.c.record_book_date <= last),
    )
    query = (
        sa.select(
            gender.label("gender"),
            band.label("band"),
            sa.func.count().label("served"),
            one_if(_vol.c.insured_until >= last),
            one_if(book),
            one_if(honor.c.volunteer_id.is_not(None)),
        )
        .select_from(
            served.join(_vol, _vol.c.id == served.c.volunteer_id).outerjoin(
                honor, honor.c.volunteer_id == served.c.volunteer_id
            )
        )
        .group_by(gender, band)
    )
    return [
        GroupRow(g, b, int(n), int(i or 0), int(r or 0), int(h or 0))
        for g, b, n, i, r, h in session.execute(query)
    ]


@dataclass(frozen=True)
class UnitMonthRow:
    unit_id: int
    month: int
    person_times: int
    minutes: int


def by_unit_and_month(
    session: Session, first: dt.date, last: dt.date, unit_id: int | None
) -> list[UnitMonthRow]:
    """Counted service records and their minutes per unit and calendar month (first and last in one year)."""
    if first.year != last.year:
        raise ValueError("a report period lies within one calendar year")
    month = sa.extract("month", _sr.c.service_date)
    query = (
        sa.select(
            _sr.c.unit_id,
            month.label("month"),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(_sr.c.minutes), 0),
        )
        .where(_counted(first, last, unit_id))
        .group_by(_sr.c.unit_id, month)
    )
    return [UnitMonthRow(u, int(m), int(n), int(s)) for u, m, n, s in session.execute(query)]


def served_by_unit(session: Session, first: dt.date, last: dt.date, unit_id: int | None) -> dict[int, int]:
    """Distinct volunteers who served, per unit (one person in two units counts in each)."""
    query = (
        sa.select(_sr.c.unit_id, sa.func.count(sa.distinct(_sr.c.volunteer_id)))
        .where(_counted(first, last, unit_id))
        .group_by(_sr.c.unit_id)
    )
    return {u: int(n) for u, n in session.execute(query)}


@dataclass(frozen=True)
class Totals:
    served: int
    person_times: int
    minutes: int


def totals(session: Session, first: dt.date, last: dt.date, unit_id: int | None) -> Totals:
    """Distinct volunteers who served, counted records and minutes: for the year-before comparison."""
    query = sa.select(
        sa.func.count(sa.distinct(_sr.c.volunteer_id)),
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(_sr.c.minutes), 0),
    ).where(_counted(first, last, unit_id))
    served, person_times, minutes = session.execute(query).one()
    return Totals(int(served), int(person_times), int(minutes))


def unit_names(session: Session, unit_ids: list[int] | None = None) -> dict[int, str]:
    query = sa.select(_unit.c.id, _unit.c.name)
    if unit_ids is not None:
        query = query.where(_unit.c.id.in_(unit_ids))
    return dict(session.execute(query).all())


def unit_exists(session: Session, unit_id: int) -> bool:
    return session.execute(sa.select(_unit.c.id).where(_unit.c.id == unit_id)).first() is not None


@dataclass(frozen=True)
class LeftOut:
    """Service records dated in the period that a report or an export leaves out, by reason."""

    balance_records: int = 0  # record-book balances brought in: counted in totals, no service of the period
    balance_minutes: int = 0
    review_records: int = 0  # waiting for a coordinator's review: they count once approved
    review_minutes: int = 0
    before_training_records: int = 0  # served before the day it counts from (domain.md, "Hours")
    before_training_minutes: int = 0


def left_out(session: Session, first: dt.date, last: dt.date, unit_id: int | None) -> LeftOut:
    """Balances and records waiting for review dated in [first, last]: one grouped query."""
    found = left_out_by_unit(session, first, last, unit_id).values()
    return LeftOut(
        *(
            sum(getattr(one, name) for one in found)
            for name in ("balance_records", "balance_minutes", "review_records", "review_minutes")
        )
    )


def left_out_by_unit(
    session: Session, first: dt.date, last: dt.date, unit_id: int | None
) -> dict[int, LeftOut]:
    """Per unit: balances and records waiting for review dated in [first, last] (one grouped query)."""
    balance = sa.and_(_sr.c.status == RecordStatus.COUNTED, _sr.c.source == RecordSource.BALANCE)
    review = _sr.c.status == RecordStatus.REVIEW
    conditions = [
        _sr.c.kind == RecordKind.SERVICE,
        _sr.c.service_date.between(first, last),
        sa.or_(balance, review),
    ]
    if unit_id is not None:
        conditions.append(_sr.c.unit_id == unit_id)

    def count_and_sum(condition):
        return (
            sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((condition, _sr.c.minutes), else_=0)), 0),
        )

    query = (
        sa.select(_sr.c.unit_id, *count_and_sum(balance), *count_and_sum(review))
        .where(*conditions)
        .group_by(_sr.c.unit_id)
    )
    return {row[0]: LeftOut(*(int(value) for value in row[1:])) for row in session.execute(query)}


@dataclass(frozen=True)
class ServiceStart:
    """A volunteer's first counted service day in one unit in a period, with what decides from which day it
    counts: the person's record-book fields and the first basic and special trainings (kind, category, day)."""

    volunteer_id: int
    unit_id: int
    category: str
    first_day: dt.date
    record_book_date: dt.date | None
    trained_on: dt.date | None
    trainings: tuple[tuple[str, str | None, dt.date], ...]


def service_starts(
    session: Session, first: dt.date, last: dt.date, unit_id: int | None
) -> Iterator[ServiceStart]:
    """Per volunteer and unit with counted service (not balances) in [first, last] that may have served before
    the day it counts from: one ServiceStart, first_day the first such service day. The rule itself is the
    caller's (handlers/service/counting.py); here only a cheap necessary condition keeps the rows few: records
    dated before one of the person's dates (their latest basic or special training, the record book, the
    roster's training date), or all of a person's records in a unit when they have a special training of
    another category. Whatever the rule chooses, service after every such date counts.

    Streamed (BATCH rows at a time; a server-side cursor on PostgreSQL): one row per pair and training, put
    together here, so memory holds one volunteer at a time. Consume it while `session` is open.
    """
    trained = _training.c.kind.in_(("basic", "special"))
    special_category = sa.case(
        (sa.and_(_training.c.kind == "special", _training.c.category.is_not(None)), _training.c.category)
    )
    facts = (  # per volunteer: the latest training date, the first and last category of a special training
        sa.select(
            _training.c.volunteer_id,
            sa.func.max(_training.c.date).label("latest"),
            sa.func.min(special_category).label("low"),
            sa.func.max(special_category).label("high"),
        )
        .where(trained)
        .group_by(_training.c.volunteer_id)
        .subquery("facts")
    )
    may_be_early = sa.or_(  # this record may be before the day; or another category's special training
        _sr.c.service_date < facts.c.latest,
        _sr.c.service_date < _vol.c.record_book_date,
        _sr.c.service_date < _vol.c.trained_on,
        facts.c.low != _unit.c.category,
        facts.c.high != _unit.c.category,
    )
    candidates = (
        sa.select(
            _sr.c.volunteer_id,
            _sr.c.unit_id,
            _unit.c.category,
            sa.func.min(_sr.c.service_date).label("first_day"),
            _vol.c.record_book_date,
            _vol.c.trained_on,
        )
        .select_from(
            _sr.join(_unit, _unit.c.id == _sr.c.unit_id)
            .join(_vol, _vol.c.id == _sr.c.volunteer_id)
            .outerjoin(facts, facts.c.volunteer_id == _sr.c.volunteer_id)
        )
        .where(_counted(first, last, unit_id), may_be_early)
        .group_by(
            _sr.c.volunteer_id, _sr.c.unit_id, _unit.c.category, _vol.c.record_book_date, _vol.c.trained_on
        )
        .subquery("candidates")
    )
    trainings = (
        sa.select(
            _training.c.volunteer_id,
            _training.c.kind,
            _training.c.category,
            sa.func.min(_training.c.date).label("day"),
        )
        .where(trained)
        .group_by(_training.c.volunteer_id, _training.c.kind, _training.c.category)
        .subquery("trainings")
    )
    query = (
        sa.select(
            candidates.c.volunteer_id,
            candidates.c.unit_id,
            candidates.c.category,
            candidates.c.first_day,
            candidates.c.record_book_date,
            candidates.c.trained_on,
            trainings.c.kind,
            trainings.c.category,
            trainings.c.day,
        )
        .select_from(candidates.outerjoin(trainings, trainings.c.volunteer_id == candidates.c.volunteer_id))
        .order_by(candidates.c.volunteer_id, candidates.c.unit_id)
        .execution_options(yield_per=BATCH)
    )
    current: ServiceStart | None = None
    for v, u, category, first_day, book, trained, kind, t_category, day in session.execute(query):
        if current is None or (current.volunteer_id, current.unit_id) != (v, u):
            if current is not None:
                yield current
            current = ServiceStart(v, u, category, first_day, book, trained, ())
        if kind is not None:
            current = replace(current, trainings=(*current.trainings, (kind, t_category, day)))
    if current is not None:
        yield current


@dataclass(frozen=True)
class ServiceDayRow:
    volunteer_id: int
    unit_id: int
    service_date: dt.date
    records: int
    minutes: int


def service_days_of(
    session: Session, first: dt.date, last: dt.date, unit_id: int | None, volunteer_ids: list[int]
) -> list[ServiceDayRow]:
    """Counted service (not balances) of these volunteers in [first, last], per unit and day (few people)."""
    found = []
    for start in range(0, len(volunteer_ids), ID_CHUNK):
        chunk = volunteer_ids[start : start + ID_CHUNK]
        query = (
            sa.select(
                _sr.c.volunteer_id,
                _sr.c.unit_id,
                _sr.c.service_date,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(_sr.c.minutes), 0),
            )
            .where(_counted(first, last, unit_id), _sr.c.volunteer_id.in_(chunk))
            .group_by(_sr.c.volunteer_id, _sr.c.unit_id, _sr.c.service_date)
        )
        found += [ServiceDayRow(v, u, d, int(n), int(m)) for v, u, d, n, m in session.execute(query)]
    return found
