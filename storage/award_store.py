"""Awards and training: the award table, a person's counted service, trainings and grants, and the same for a whole unit in bulk. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.driver import Prepared
from storage.models import (
    AwardChange,
    AwardGrant,
    AwardHeadroom,
    AwardRule,
    Membership,
    ServiceMonth,
    ServiceRecord,
    ServiceTotal,
    TrainingClass,
    TrainingRecord,
    Unit,
    Volunteer,
)
from storage.vocabulary import RecordKind, RecordSource, RecordStatus


def seed_award_rules(session: Session, definitions: dict[str, str], now: dt.datetime) -> None:
    """Writes the shipped award rows (code → JSON). A row someone changed since the last seed is kept as it is."""
    stored = {row.code: row for row in session.exec(select(AwardRule)).all()}
    for code, definition in definitions.items():
        row = stored.get(code)
        if row is None:
            session.add(
                AwardRule(code=code, definition=definition, seeded_definition=definition, updated_at=now)
            )
        elif row.definition == row.seeded_definition and row.definition != definition:
            row.definition = row.seeded_definition = definition
            row.updated_at = now
            session.add(row)


_RULES = AwardRule.__table__  # type: ignore[attr-defined]
_DEFINITIONS_READ = "award_rule_definitions"  # session.info: (the transaction, the rows it read)
_AWARD_RULE_DEFINITIONS = Prepared(sa.select(_RULES.c.definition).order_by(_RULES.c.code))


def award_rule_definitions(session: Session) -> tuple[str, ...]:
    """The award table's rows, read once a transaction: every check-out of a worker's batch asks for them.
    A row changed in the same transaction (through the session) is read again (_forget_definitions)."""
    read = session.info.get(_DEFINITIONS_READ)
    if read is not None and read[0] is session.get_transaction():
        return read[1]
    definitions = tuple(definition for (definition,) in _AWARD_RULE_DEFINITIONS.rows(session))
    session.info[_DEFINITIONS_READ] = (session.get_transaction(), definitions)  # begun by the read
    return definitions


_TOTALS = ServiceTotal.__table__  # type: ignore[attr-defined]
# All of a member's counted minutes (`volunteer`); service_store's check-out read asks it beside the day's.
COUNTED_MINUTES = sa.select(sa.func.coalesce(sa.func.sum(_TOTALS.c.minutes), 0)).where(
    _TOTALS.c.volunteer_id == sa.bindparam("volunteer")
)
_COUNTED_MINUTES_OF = Prepared(COUNTED_MINUTES)


@sa.event.listens_for(Session, "before_flush")
def _forget_definitions(session: Session, _context, _instances) -> None:
    if any(isinstance(row, AwardRule) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_DEFINITIONS_READ, None)


def counted_minutes_of(session: Session, volunteer_id: int) -> int:
    """All of a member's counted service minutes, every unit and day together: one read of the sums the
    triggers keep (storage/totals_store.py), current within the transaction."""
    return int(_COUNTED_MINUTES_OF.scalar(session, volunteer=volunteer_id))


_CHANGES = AwardChange.__table__  # type: ignore[attr-defined]
_HEADROOM = AwardHeadroom.__table__  # type: ignore[attr-defined]
# The kept headroom while it holds (its version is the member's change count now). On PostgreSQL the change count
# stays locked until the transaction ends: another transaction's change of the member's facts (hours entered by
# hand, a training) cannot slip in between this read and the check-out's own, and be kept as seen.
_HEADROOM_HELD = Prepared(
    sa.select(_HEADROOM.c.minutes, _HEADROOM.c.since, _HEADROOM.c.rules)
    .join(_CHANGES, _CHANGES.c.volunteer_id == _HEADROOM.c.volunteer_id)
    .where(_HEADROOM.c.volunteer_id == sa.bindparam("volunteer"), _HEADROOM.c.version == _CHANGES.c.version)
    .with_for_update(of=_CHANGES)
)
_CHANGE_COUNT = (
    sa.select(_CHANGES.c.version)
    .where(_CHANGES.c.volunteer_id == sa.bindparam("volunteer"))
    .scalar_subquery()
)
_SPEND_HEADROOM = Prepared(
    sa.update(_HEADROOM)
    .where(_HEADROOM.c.volunteer_id == sa.bindparam("volunteer"))
    .values(version=_CHANGE_COUNT, minutes=_HEADROOM.c.minutes - sa.bindparam("spent"))
)


def _keep_headroom(dialect) -> sa.Executable:
    """The member's headroom replaced, at their change count now (no count: no row, nothing kept)."""
    fields = ["volunteer_id", "version", "minutes", "since", "rules"]
    insert = dialect.insert(_HEADROOM).from_select(
        fields,
        sa.select(
            _CHANGES.c.volunteer_id,
            _CHANGES.c.version,
            sa.bindparam("minutes", type_=sa.Integer),
            sa.bindparam("since", type_=sa.Date),
            sa.bindparam("rules", type_=sa.String),
        ).where(_CHANGES.c.volunteer_id == sa.bindparam("volunteer")),
    )
    return insert.on_conflict_do_update(
        index_elements=["volunteer_id"], set_={name: insert.excluded[name] for name in fields[1:]}
    )


_KEEP_HEADROOM = Prepared({"postgresql": _keep_headroom(postgresql), "sqlite": _keep_headroom(sqlite)})


@dataclass(frozen=True)
class Headroom:
    """A member's kept headroom (models.AwardHeadroom) while their facts are as they were when it was kept."""

    minutes: int
    since: dt.date
    rules: str


def headroom_held(session: Session, volunteer_id: int) -> Headroom | None:
    """Read before a check-out records its minutes: the member's kept headroom, if their award facts have not
    changed since it was kept; PostgreSQL holds their change count until the transaction ends."""
    row = _HEADROOM_HELD.first(session, volunteer=volunteer_id)
    return None if row is None else Headroom(int(row[0]), row[1], row[2])


def spend_headroom(session: Session, volunteer_id: int, minutes: int) -> None:
    """After a check-out that headroom_held allowed: the new minutes are spent of it, and it holds at the change
    count the check-out left (which counted the check-out alone: the count was held, or SQLite's write lock)."""
    _SPEND_HEADROOM.run(session, volunteer=volunteer_id, spent=minutes)


def keep_headroom(session: Session, volunteer_id: int, minutes: int, since: dt.date, rules: str) -> None:
    """The headroom worked out from the facts this transaction read, at the change count it left: call it only
    after changing the member's facts in the same transaction (a check-out), whose change holds the count until
    the end on PostgreSQL (a change made elsewhere meanwhile then counts after it, and voids this headroom)."""
    _KEEP_HEADROOM.run(session, volunteer=volunteer_id, minutes=minutes, since=since, rules=rules)


_RECORDS = ServiceRecord.__table__  # type: ignore[attr-defined]
_UNITS = Unit.__table__  # type: ignore[attr-defined]
# One person's counted service per day, unit and source: a check-out of someone with years of service reads a
# row a day served (a thousand and more), so the statement is prebuilt and its rows are plain tuples.
_COUNTED_SERVICE_BY_DAY = Prepared(
    sa.select(
        _RECORDS.c.service_date,
        sa.func.sum(_RECORDS.c.minutes),
        _UNITS.c.category,
        _UNITS.c.city,
        _RECORDS.c.source,
        _UNITS.c.id,
    )
    .join(_UNITS, _UNITS.c.id == _RECORDS.c.unit_id)
    .where(
        _RECORDS.c.volunteer_id == sa.bindparam("volunteer"),
        _RECORDS.c.status == RecordStatus.COUNTED,
        _RECORDS.c.kind == RecordKind.SERVICE,
    )
    .group_by(_RECORDS.c.service_date, _UNITS.c.id, _UNITS.c.category, _UNITS.c.city, _RECORDS.c.source)
)


def counted_service_by_day(
    session: Session, volunteer_id: int
) -> list[tuple[dt.date, int, str, str, bool, int]]:
    """(service date, minutes, unit category, unit city, served, unit id) of counted service, summed per day,
    unit and source. `served` (the engine's from_chat): service recorded at a check-out or entered by hand, which
    counts only from the training day; False for a record-book balance, which always counts (domain.md)."""
    return [
        (day, int(minutes), category, city, source != RecordSource.BALANCE, unit_id)
        for day, minutes, category, city, source, unit_id in _COUNTED_SERVICE_BY_DAY.rows(
            session, volunteer=volunteer_id
        )
    ]


def first_service_on_or_after(session: Session, since: dict[int, dt.date]) -> dict[int, dt.date]:
    """volunteer id → their first day of counted service (any unit) on or after their own date in `since`;
    members without such service are left out. Chunked: one condition per member."""
    found: dict[int, dt.date] = {}
    members = sorted(since)
    for first in range(0, len(members), 500):
        chunk = members[first : first + 500]
        rows = session.execute(
            select(ServiceRecord.volunteer_id, sa.func.min(ServiceRecord.service_date))
            .where(
                ServiceRecord.status == RecordStatus.COUNTED,
                ServiceRecord.kind == RecordKind.SERVICE,
                ServiceRecord.minutes > 0,
                sa.or_(
                    *(
                        sa.and_(
                            col(ServiceRecord.volunteer_id) == v, col(ServiceRecord.service_date) >= since[v]
                        )
                        for v in chunk
                    )
                ),
            )
            .group_by(col(ServiceRecord.volunteer_id))
        ).all()
        found.update({volunteer_id: day for volunteer_id, day in rows})
    return found


def trainings_of(session: Session, volunteer_id: int) -> list[TrainingRecord]:
    return list(
        session.exec(
            select(TrainingRecord)
            .where(TrainingRecord.volunteer_id == volunteer_id)
            .order_by(TrainingRecord.date)
        ).all()
    )


def grants_of(session: Session, volunteer_id: int) -> list[AwardGrant]:
    return list(
        session.exec(
            select(AwardGrant).where(AwardGrant.volunteer_id == volunteer_id).order_by(AwardGrant.granted_on)
        ).all()
    )


@dataclass(frozen=True)
class MemberFacts:
    """A member's record-book fields, as the award engine needs them."""

    volunteer_id: int
    name: str
    trained_on: dt.date | None
    record_book_no: str | None
    record_book_date: dt.date | None
    english_name: str | None
    first_service_date: dt.date | None
    birth_date: dt.date | None


def _members_of(unit_id: int, only: list[int] | None = None):
    """The unit's members; `only`: just these of them (some members' standing made again)."""
    query = select(Membership.volunteer_id).where(Membership.unit_id == unit_id)
    return query if only is None else query.where(col(Membership.volunteer_id).in_(only))


def members_with_facts(session: Session, unit_id: int, only: list[int] | None = None) -> list[MemberFacts]:
    """The unit's members (any role), by id."""
    rows = session.execute(
        select(
            Volunteer.id,
            Volunteer.name,
            Volunteer.trained_on,
            Volunteer.record_book_no,
            Volunteer.record_book_date,
            Volunteer.english_name,
            Volunteer.first_service_date,
            Volunteer.birth_date,
        )
        .join(Membership, Membership.volunteer_id == Volunteer.id)
        .where(Membership.unit_id == unit_id, *([col(Volunteer.id).in_(only)] if only is not None else []))
        .order_by(Volunteer.id)
    ).all()
    return [MemberFacts(*row) for row in rows]


def member_units(session: Session, unit_id: int, only: list[int] | None = None) -> list[tuple[int, str, str]]:
    """(volunteer id, unit category, unit city) of every unit the unit's members belong to."""
    rows = session.execute(
        select(Membership.volunteer_id, Unit.category, Unit.city)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.volunteer_id.in_(_members_of(unit_id, only)))
    ).all()
    return [tuple(row) for row in rows]


def member_first_trainings(
    session: Session, unit_id: int, only: list[int] | None = None
) -> list[tuple[int, str, str | None, dt.date]]:
    """(volunteer id, kind, category, first date) of the basic and special trainings of the unit's members."""
    rows = session.execute(
        select(
            TrainingRecord.volunteer_id,
            TrainingRecord.kind,
            TrainingRecord.category,
            sa.func.min(TrainingRecord.date),
        )
        .where(
            TrainingRecord.volunteer_id.in_(_members_of(unit_id, only)),
            TrainingRecord.kind.in_(("basic", "special")),
        )
        .group_by(TrainingRecord.volunteer_id, TrainingRecord.kind, TrainingRecord.category)
    ).all()
    return [tuple(row) for row in rows]


def member_grants(
    session: Session, unit_id: int, only: list[int] | None = None
) -> list[tuple[int, str, dt.date]]:
    """(volunteer id, award code, granted on) of the unit's members, oldest first."""
    rows = session.execute(
        select(AwardGrant.volunteer_id, AwardGrant.award_code, AwardGrant.granted_on)
        .where(AwardGrant.volunteer_id.in_(_members_of(unit_id, only)))
        .order_by(AwardGrant.granted_on)
    ).all()
    return [tuple(row) for row in rows]


@dataclass(frozen=True, slots=True)  # slots: a unit's members have a great many of these
class ServiceBucket:
    """Counted service minutes of one member in one unit's kind (category, city), in a span of days.

    first_day: the earliest service day of that member in that unit (of all spans); last_day: the span's end.
    from_chat: recorded in chat, so counted only from the member's training day. Only a day-by-day read keeps
    the sources apart; a span's sum holds both and says False.
    """

    volunteer_id: int
    category: str
    city: str
    first_day: dt.date
    last_day: dt.date
    minutes: int
    from_chat: bool = False
    unit_id: int | None = None


def member_service_buckets(
    session: Session,
    unit_id: int,
    boundaries: list[dt.date],
    until: dt.date,
    pairs: list[tuple[int, int]] | None = None,
    *,
    by_source: bool = False,
    balances_only: bool = False,
    own_ends: dict[int, set[dt.date]] | None = None,
    only: list[int] | None = None,
) -> list[ServiceBucket]:
    """Counted service of the unit's members (in all their units) up to `until`, summed per member, unit and
    span: up to the first boundary, then up to each next one, then up to `until` (each span ends on its day).

    Read from the kept sums (storage/totals_store.py; `_summed_buckets`), not from the records; a member's own
    ends (`own_ends`: the day of their last grant of a renewable award) split their spans there too.
    `pairs` (member, unit) narrows it to some members' service in some units, day by day (boundaries ignored):
    where a member served before the training day; `balances_only`: only record-book balances (where nothing
    else can count yet). `by_source` also keeps a day's
    chat-recorded and hand-entered minutes apart; it costs a read of every record (the index has no source),
    so the sums leave it out.
    """
    day, minutes = ServiceRecord.service_date, ServiceRecord.minutes
    counted = (
        ServiceRecord.status == RecordStatus.COUNTED,
        ServiceRecord.kind == RecordKind.SERVICE,
        day <= until,
    )
    if pairs is None:
        return _summed_buckets(session, unit_id, boundaries, until, own_ends, only)
    sources = [ServiceRecord.source] if by_source else []
    totals = (
        select(
            ServiceRecord.volunteer_id,
            ServiceRecord.unit_id,
            day.label("first"),
            day.label("last"),
            (ServiceRecord.source != RecordSource.BALANCE if by_source else sa.false()).label("from_chat"),
            sa.func.sum(minutes).label("m0"),
        )
        .where(
            sa.tuple_(ServiceRecord.volunteer_id, ServiceRecord.unit_id).in_(pairs),
            *counted,
            *([ServiceRecord.source == RecordSource.BALANCE] if balances_only else []),
        )
        .group_by(ServiceRecord.volunteer_id, ServiceRecord.unit_id, day, *sources)
    )
    totals = totals.subquery()
    rows = session.execute(
        select(
            totals.c.volunteer_id,
            totals.c.unit_id,
            Unit.category,
            Unit.city,
            totals.c.first,
            totals.c.last,
            totals.c.from_chat,
            totals.c.m0,
        ).join(Unit, Unit.id == totals.c.unit_id)
    ).all()
    return [
        ServiceBucket(v, category, city, first, last, int(m), bool(from_chat), unit_id)
        for v, unit_id, category, city, first, last, from_chat, m in rows
    ]


def _summed_buckets(
    session: Session,
    unit_id: int,
    boundaries: list[dt.date],
    until: dt.date,
    own_ends: dict[int, set[dt.date]] | None = None,
    only: list[int] | None = None,
) -> list[ServiceBucket]:
    """member_service_buckets' spans from the kept sums (storage/totals_store.py), not from the records: each
    member's total less the minutes of the months after a span's end, summed in the database; a month that an
    end cuts in two (only when some of its records are dated after that end) is read from its records.
    `own_ends`: more ends for some members (the day they were last granted a renewable award).

    Reads one row per member and unit (and, in the database, their months after the earliest end)."""
    ends = [*(b for b in sorted(set(boundaries)) if b < until), until]
    members = _members_of(unit_id, only)
    month, first, last = col(ServiceMonth.month), col(ServiceMonth.first_day), col(ServiceMonth.last_day)
    later = (
        sa.select(
            col(ServiceMonth.volunteer_id),
            col(ServiceMonth.unit_id),
            *(
                sa.func.sum(sa.case((first > end, col(ServiceMonth.minutes)), else_=0)).label(f"after{n}")
                for n, end in enumerate(ends)
            ),
            *(
                sa.func.max(sa.case((sa.and_(first <= end, last > end), 1), else_=0)).label(f"cut{n}")
                for n, end in enumerate(ends)
            ),
        )
        .where(month >= ends[0].replace(day=1), last > ends[0], col(ServiceMonth.volunteer_id).in_(members))
        .group_by(col(ServiceMonth.volunteer_id), col(ServiceMonth.unit_id))
        .subquery()
    )
    joined = sa.and_(
        later.c.volunteer_id == col(ServiceTotal.volunteer_id), later.c.unit_id == col(ServiceTotal.unit_id)
    )
    rows = session.execute(
        sa.select(
            col(ServiceTotal.volunteer_id),
            col(ServiceTotal.unit_id),
            col(Unit.category),
            col(Unit.city),
            col(ServiceTotal.first_day),
            col(ServiceTotal.minutes),
            *(later.c[f"after{n}"] for n in range(len(ends))),
            *(later.c[f"cut{n}"] for n in range(len(ends))),
        )
        .join(Unit, col(Unit.id) == col(ServiceTotal.unit_id))
        .outerjoin(later, joined)
        .where(col(ServiceTotal.volunteer_id).in_(members), col(ServiceTotal.first_day) <= until)
    ).all()
    count = len(ends)
    # (member, unit) → end → minutes dated after it
    after: dict[tuple[int, int], dict[dt.date, int]] = {}
    cuts: list[tuple[int, int, dt.date]] = []
    for row in rows:
        key = (row[0], row[1])
        after[key] = {end: row[6 + n] or 0 for n, end in enumerate(ends)}
        cuts += [(*key, end) for n, end in enumerate(ends) if row[6 + count + n]]
    own = {v: {end for end in days if end < until} - set(ends) for v, days in (own_ends or {}).items()}
    own = {v: days for v, days in own.items() if days}
    cuts += _after_own_ends(session, own, after)
    for (volunteer_id, unit, end), minutes in _minutes_after_in_month(session, cuts).items():
        after[volunteer_id, unit][end] += minutes
    found = []
    for volunteer_id, unit, category, city, first_day, total, *_rest in rows:
        before = 0
        spans = after[volunteer_id, unit]
        for end in sorted(spans):
            upto = total - spans[end]
            if upto != before or end == until:
                found.append(
                    ServiceBucket(volunteer_id, category, city, first_day, end, upto - before, False, unit)
                )
            before = upto
    return found


def _after_own_ends(
    session: Session, own: dict[int, set[dt.date]], after: dict[tuple[int, int], dict[dt.date, int]]
) -> list[tuple[int, int, dt.date]]:
    """Adds the members' own ends to `after` from their months; returns the months those ends cut in two."""
    cuts = []
    members = sorted(own)
    for first in range(0, len(members), 1000):
        for volunteer_id, unit, minutes, first_day, last_day in session.execute(
            sa.select(
                col(ServiceMonth.volunteer_id),
                col(ServiceMonth.unit_id),
                col(ServiceMonth.minutes),
                col(ServiceMonth.first_day),
                col(ServiceMonth.last_day),
            ).where(col(ServiceMonth.volunteer_id).in_(members[first : first + 1000]))
        ).all():
            spans = after.get((volunteer_id, unit))
            if spans is None:  # all of it after `until`
                continue
            for end in own[volunteer_id]:
                spans[end] = spans.get(end, 0) + (minutes if first_day > end else 0)
                if first_day <= end < last_day:
                    cuts.append((volunteer_id, unit, end))
    return cuts


def _minutes_after_in_month(
    session: Session, cuts: list[tuple[int, int, dt.date]]
) -> dict[tuple[int, int, dt.date], int]:
    """(member, unit, end) → counted minutes dated after the end within the end's month, from the records."""
    by_end: dict[dt.date, set[int]] = {}
    for volunteer_id, _unit, end in cuts:
        by_end.setdefault(end, set()).add(volunteer_id)
    wanted: dict[tuple[int, int], list[dt.date]] = {}
    for volunteer_id, unit, end in cuts:
        wanted.setdefault((volunteer_id, unit), []).append(end)
    found: dict[tuple[int, int, dt.date], int] = {}
    ends = sorted(by_end)
    for first in range(0, len(ends), 200):
        chunk = ends[first : first + 200]
        in_chunk = set(chunk)
        for volunteer_id, unit, day, minutes in session.execute(
            sa.select(
                col(ServiceRecord.volunteer_id),
                col(ServiceRecord.unit_id),
                col(ServiceRecord.service_date),
                sa.func.sum(ServiceRecord.minutes),
            )
            .where(
                col(ServiceRecord.status) == RecordStatus.COUNTED,
                col(ServiceRecord.kind) == RecordKind.SERVICE,
                sa.or_(
                    *(
                        sa.and_(
                            col(ServiceRecord.volunteer_id).in_(sorted(by_end[end])),
                            col(ServiceRecord.service_date) > end,
                            col(ServiceRecord.service_date) <= _month_end(end),
                        )
                        for end in chunk
                    )
                ),
            )
            .group_by(
                col(ServiceRecord.volunteer_id), col(ServiceRecord.unit_id), col(ServiceRecord.service_date)
            )
        ).all():
            # another unit's month past the end is counted whole, and each day once per end it follows
            for end in wanted.get((volunteer_id, unit), ()):
                if end in in_chunk and end < day <= _month_end(end):
                    found[volunteer_id, unit, end] = found.get((volunteer_id, unit, end), 0) + int(minutes)
    return found


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def upcoming_training_classes(
    session: Session, unit_ids: list[int], now: dt.datetime, limit: int
) -> list[tuple]:
    """The units' training sessions (TrainingClass, Unit) starting at `now` or later, soonest first."""
    if not unit_ids:
        return []
    rows = session.exec(
        select(TrainingClass, Unit)
        .join(Unit, Unit.id == TrainingClass.unit_id)
        .where(TrainingClass.unit_id.in_(unit_ids), TrainingClass.starts_at >= now)
        .order_by(TrainingClass.starts_at, TrainingClass.id)
        .limit(limit)
    ).all()
    return [(row, unit) for row, unit in rows]


# --- hand-entered hours, trainings, grants and training sessions ----------------------------------


def counted_minutes_in_unit(session: Session, volunteer_id: int, unit_id: int, kind: str) -> int:
    """A volunteer's counted minutes of one kind (service, training, meeting) in one unit, all time."""
    return session.exec(
        select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.unit_id == unit_id,
            ServiceRecord.kind == kind,
            ServiceRecord.status == RecordStatus.COUNTED,
        )
    ).one()


def add_hand_entered_hours(
    session: Session,
    *,
    volunteer_id: int,
    unit_id: int,
    kind: str,
    minutes: int,
    service_date: dt.date,
    recorded_by: str,
    note: str | None,
    created_at: dt.datetime,
    source: str = RecordSource.MANUAL,
) -> ServiceRecord:
    """Counted minutes entered by hand (source manual, or balance for a record book's balance), flushed so that
    the record has its id."""
    record = ServiceRecord(
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        kind=kind,
        source=source,
        status=RecordStatus.COUNTED,
        minutes=minutes,
        service_date=service_date,
        recorded_by=recorded_by,
        note=note,
        created_at=created_at,
    )
    session.add(record)
    session.flush()
    return record


def has_hand_entered_hours(
    session: Session, volunteer_id: int, unit_id: int, service_date: dt.date, minutes: int, note: str
) -> bool:
    """Whether these very minutes, with this note, were already entered for the volunteer in the unit that day."""
    return (
        session.exec(
            select(ServiceRecord.id).where(
                ServiceRecord.volunteer_id == volunteer_id,
                ServiceRecord.unit_id == unit_id,
                ServiceRecord.service_date == service_date,
                ServiceRecord.note == note,
                ServiceRecord.minutes == minutes,
            )
        ).first()
        is not None
    )


def add_training_record(
    session: Session,
    *,
    volunteer_id: int,
    kind: str,
    category: str | None,
    course: str | None,
    date: dt.date,
    minutes: int,
    recorded_by: str,
    created_at: dt.datetime,
) -> TrainingRecord:
    """A training the volunteer completed, flushed so that it has its id."""
    record = TrainingRecord(
        volunteer_id=volunteer_id,
        kind=kind,
        category=category,
        course=course,
        date=date,
        minutes=minutes,
        recorded_by=recorded_by,
        created_at=created_at,
    )
    session.add(record)
    session.flush()
    return record


def has_training_on(session: Session, volunteer_id: int, kind: str, day: dt.date) -> bool:
    """Whether a training of this kind on this day is already recorded for the volunteer."""
    return (
        session.exec(
            select(TrainingRecord.id).where(
                TrainingRecord.volunteer_id == volunteer_id,
                TrainingRecord.kind == kind,
                TrainingRecord.date == day,
            )
        ).first()
        is not None
    )


def add_award_grant(
    session: Session,
    volunteer_id: int,
    award_code: str,
    granted_on: dt.date,
    recorded_by: str,
    created_at: dt.datetime,
) -> AwardGrant:
    """An award granted, flushed so that it has its id."""
    grant = AwardGrant(
        volunteer_id=volunteer_id,
        award_code=award_code,
        granted_on=granted_on,
        recorded_by=recorded_by,
        created_at=created_at,
    )
    session.add(grant)
    session.flush()
    return grant


def add_training_class(
    session: Session,
    *,
    unit_id: int,
    title: str,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None,
    created_at: dt.datetime,
) -> TrainingClass:
    """A training the unit will hold, flushed so that it has its id."""
    row = TrainingClass(
        unit_id=unit_id,
        title=title,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        created_at=created_at,
    )
    session.add(row)
    session.flush()
    return row
