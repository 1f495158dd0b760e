"""Service records: open visits, closing them, the minutes they count. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage import award_store
from storage.driver import Prepared, inserting
from storage.models import (
    AwardHeadroom,
    ServiceRecord,
    Unit,
    Volunteer,
)
from storage.vocabulary import RecordKind, RecordSource, RecordStatus


def record(session: Session, record_id: int) -> ServiceRecord | None:
    return session.get(ServiceRecord, record_id)


def chat_visit(status: RecordStatus, **columns) -> ServiceRecord:
    """A visit recorded from the chat, not yet added: service hours, in `status`."""
    return ServiceRecord(kind=RecordKind.SERVICE, source=RecordSource.CHAT, status=status, **columns)


_RECORDS = ServiceRecord.__table__  # type: ignore[attr-defined]
# Per dialect: opens a visit unless the unique index says one is open already (no row back).
_OPEN_VISIT = Prepared(
    {
        name: inserting(_RECORDS, insert=dialect.insert).on_conflict_do_nothing().returning(_RECORDS.c.id)
        for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
    }
)


def open_visit(
    session: Session,
    *,
    volunteer_id: int,
    unit_id: int,
    check_in: dt.datetime,
    service_date: dt.date,
    recorded_by: str,
    created_at: dt.datetime,
    **fields,
) -> int | None:
    """Opens a chat-recorded service session (`fields`: shift_id, walk_up, checked_in_by) and returns its id;
    None when the unique index says the person is already checked in (two check-ins at the same instant: the
    other got there first). One statement: no savepoint, no ORM object."""
    values = {
        "volunteer_id": volunteer_id,
        "unit_id": unit_id,
        "kind": RecordKind.SERVICE,
        "source": RecordSource.CHAT,
        "status": RecordStatus.OPEN,
        "check_in": check_in,
        "check_out": None,
        "minutes": 0,
        "service_date": service_date,
        "recorded_by": recorded_by,
        "note": None,
        "created_at": created_at,
        "shift_id": None,
        "walk_up": False,
        "checked_in_by": None,
        "late_after": None,
        **fields,
    }
    return _OPEN_VISIT.scalar(session, **values)


def add_visit_part(
    session: Session,
    visit: ServiceRecord,
    check_in: dt.datetime,
    check_out: dt.datetime,
    minutes: int,
    service_date: dt.date,
    created_at: dt.datetime,
) -> ServiceRecord:
    """The part of a closed visit that fell on a later day, counted on that day, as its own record."""
    part = ServiceRecord(
        volunteer_id=visit.volunteer_id,
        unit_id=visit.unit_id,
        kind=RecordKind.SERVICE,
        source=RecordSource.CHAT,
        status=RecordStatus.COUNTED,
        check_in=check_in,
        check_out=check_out,
        minutes=minutes,
        service_date=service_date,
        recorded_by=visit.recorded_by,
        note=f"continues service record {visit.id}",
        created_at=created_at,
    )
    session.add(part)
    return part


SETTLED = (RecordStatus.COUNTED, RecordStatus.REVIEW)  # closed sessions: counted, or waiting for review


# The check-in's and check-out's statements run on the driver's cursor (storage/driver.py): every event
# runs them.
_VOLUNTEERS = Volunteer.__table__  # type: ignore[attr-defined]
_HOLD_PERSON = Prepared(
    sa.select(_VOLUNTEERS.c.id).where(_VOLUNTEERS.c.id == sa.bindparam("volunteer")).with_for_update()
)
_LATEST_CLOSED_VISIT = Prepared(
    sa.select(_RECORDS.c.unit_id, _RECORDS.c.check_out)
    .where(
        _RECORDS.c.volunteer_id == sa.bindparam("volunteer"),
        sa.or_(*(_RECORDS.c.status == status for status in SETTLED)),
        _RECORDS.c.check_out.is_not(None),
    )
    .order_by(_RECORDS.c.check_out.desc(), _RECORDS.c.id.desc())
    .limit(1)
)
_UNITS = Unit.__table__  # type: ignore[attr-defined]
_HEADROOM = AwardHeadroom.__table__  # type: ignore[attr-defined]
# The open visit with its unit's category and city (what its minutes count for at the check-out), and whether an
# award headroom is kept for the person (the check-out reads it only then: most people have none).
_OPEN_VISIT_COLUMNS = (
    *_RECORDS.c,
    _UNITS.c.category.label("unit_category"),
    _UNITS.c.city.label("unit_city"),
    sa.exists().where(_HEADROOM.c.volunteer_id == _RECORDS.c.volunteer_id).label("headroom_kept"),
)
_IS_OPEN_VISIT = sa.and_(
    _RECORDS.c.volunteer_id == sa.bindparam("volunteer"), _RECORDS.c.status == RecordStatus.OPEN
)
_OPEN_VISIT_OF = Prepared(
    sa.select(*_OPEN_VISIT_COLUMNS).join(_UNITS, _UNITS.c.id == _RECORDS.c.unit_id).where(_IS_OPEN_VISIT)
)


def _latest_closed(column: sa.ColumnElement) -> sa.ScalarSelect:
    return _LATEST_CLOSED_VISIT.statement.with_only_columns(column).scalar_subquery()  # type: ignore[union-attr]


_VISIT_STATE = Prepared(
    sa.select(
        sa.select(_RECORDS.c.id).where(_IS_OPEN_VISIT).limit(1).scalar_subquery().label("open_visit_id"),
        _latest_closed(_RECORDS.c.unit_id).label("unit_id"),
        _latest_closed(_RECORDS.c.check_out).label("check_out"),
    )
)


def visit_state(session: Session, volunteer_id: int) -> Any:
    """What a check-in asks first, in one read: whether the person has an open visit (`open_visit_id`, or
    None), and the unit and end of their latest closed one (`unit_id`, `check_out`: latest_closed_visit's, None
    when there is none)."""
    return _VISIT_STATE.first(session, volunteer=volunteer_id)


def hold_person(session: Session, volunteer_id: int) -> None:
    """One check-in or check-out decision at a time per person, across processes, until the transaction ends.

    PostgreSQL: the person's row is locked (SELECT … FOR UPDATE), so a second decision waits, then reads what
    the first committed: in statements after this one (a statement that waited for the lock reads the other
    tables as they were when it began, so the open visit is never read in the same statement). SQLite: every
    transaction began IMMEDIATE (storage/db.py) and holds the database's write lock already: nothing to do."""
    if session.get_bind().dialect.name != "sqlite":
        _HOLD_PERSON.first(session, volunteer=volunteer_id)


def latest_closed_visit(session: Session, volunteer_id: int) -> sa.Row | None:
    """The unit and end (`unit_id`, `check_out`) of the person's counted or reviewed session that ended last:
    no check-in may open before its end."""
    return _LATEST_CLOSED_VISIT.first(
        session, volunteer=volunteer_id
    )  # after the parts added in this session


def covers(session: Session, volunteer_id: int, moment: dt.datetime) -> bool:
    """Whether a counted or reviewed session of the person covers `moment` (begun at or before, ended after)."""
    found = session.exec(
        select(ServiceRecord.id)
        .where(
            col(ServiceRecord.volunteer_id) == volunteer_id,
            col(ServiceRecord.status).in_(SETTLED),
            col(ServiceRecord.check_in) <= moment,
            col(ServiceRecord.check_out) > moment,
        )
        .limit(1)
    ).first()
    return found is not None


def next_time_recorded(session: Session, volunteer_id: int, moment: dt.datetime) -> dt.datetime | None:
    """The first check-in or check-out of the person's sessions (open, counted or reviewed) at or after
    `moment`: where a stretch of time no session covers ends."""
    mine = col(ServiceRecord.volunteer_id) == volunteer_id
    starts = session.exec(
        select(sa.func.min(col(ServiceRecord.check_in))).where(
            mine,
            col(ServiceRecord.status).in_((*SETTLED, RecordStatus.OPEN)),
            col(ServiceRecord.check_in) >= moment,
        )
    ).one()
    ends = session.exec(
        select(sa.func.min(col(ServiceRecord.check_out))).where(
            mine, col(ServiceRecord.status).in_(SETTLED), col(ServiceRecord.check_out) >= moment
        )
    ).one()
    found = [_aware(value) for value in (starts, ends) if value is not None]
    return min(found) if found else None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def add_late_event(
    session: Session,
    *,
    volunteer_id: int,
    unit_id: int,
    check_in: dt.datetime,
    check_out: dt.datetime,
    minutes: int,
    late_after: dt.datetime,
    service_date: dt.date,
    recorded_by: str,
    created_at: dt.datetime,
    note: str,
) -> ServiceRecord:
    """A check-in or check-out that arrived after a later one, kept for review (it counts nothing until
    approved); flushed so that it has its id."""
    late = chat_visit(
        RecordStatus.REVIEW,
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        check_in=check_in,
        check_out=check_out,
        minutes=minutes,
        late_after=late_after,
        service_date=service_date,
        recorded_by=recorded_by,
        created_at=created_at,
        note=note,
    )
    session.add(late)
    session.flush()
    return late


def move_visit_start(
    session: Session, visit: ServiceRecord, check_in: dt.datetime, service_date: dt.date
) -> bool:
    """An open session begins earlier (its own check-in, redelivered late); False if it is no longer open."""
    moved = session.execute(
        sa.update(ServiceRecord)
        .where(col(ServiceRecord.id) == visit.id, col(ServiceRecord.status) == RecordStatus.OPEN)
        .values(check_in=check_in, service_date=service_date)
    )
    return bool(cast("sa.CursorResult[Any]", moved).rowcount)


def note_check_in_while_open(session: Session, visit: ServiceRecord, at: dt.datetime) -> None:
    """A check-in at `at` came while the visit was open: kept on it (the latest such), so that a check-out
    older than it, arriving later, closes the visit and checks the person in again at `at`."""
    session.execute(
        sa.update(ServiceRecord)
        .where(
            col(ServiceRecord.id) == visit.id,
            col(ServiceRecord.status) == RecordStatus.OPEN,
            sa.or_(col(ServiceRecord.late_after).is_(None), col(ServiceRecord.late_after) < at),
        )
        .values(late_after=at)
    )


def open_visit_of(session: Session, volunteer_id: int) -> Any | None:
    """The person's open visit, as a row with ServiceRecord's fields, its unit's (`unit_category`, `unit_city`)
    and `headroom_kept` (award_store.headroom_held has a row to read); not an object the session keeps: the
    statements below change the visit."""
    return _OPEN_VISIT_OF.first(session, volunteer=volunteer_id)


def open_visits_begun_before(session: Session, moment: dt.datetime) -> list[ServiceRecord]:
    """Open sessions checked in before `moment`."""
    return list(
        session.exec(
            select(ServiceRecord).where(
                ServiceRecord.status == RecordStatus.OPEN, ServiceRecord.check_in < moment
            )
        ).all()
    )


_FINISH_VISIT = Prepared(
    sa.update(_RECORDS)
    .where(_RECORDS.c.id == sa.bindparam("b_id"), _RECORDS.c.status == RecordStatus.OPEN)
    .values(
        check_out=sa.bindparam("b_check_out"),
        minutes=sa.bindparam("b_minutes"),
        status=sa.bindparam("b_status"),
        late_after=None,
        note=sa.func.coalesce(sa.bindparam("b_note", type_=sa.String), _RECORDS.c.note),
    )
)


def finish_visit(
    session: Session,
    visit: Any,
    check_out: dt.datetime,
    minutes: int,
    status: str,
    note: str | None = None,
) -> bool:
    """Closes a session only if it is still open; False when someone else closed it first. One prebuilt
    statement; `visit`, when a ServiceRecord the session keeps, then says what its row says (a row of
    open_visit_of says what it read)."""
    closed = _FINISH_VISIT.run(
        session,
        b_id=visit.id,
        b_check_out=check_out,
        b_minutes=minutes,
        b_status=status,
        b_note=note or None,
    )
    if not closed:
        return False
    if not isinstance(visit, ServiceRecord):
        return True
    changed = {"check_out": check_out, "minutes": minutes, "status": status, "late_after": None}
    for name, value in (changed | ({"note": note} if note else {})).items():
        set_committed_value(visit, name, value)
    return True


def settle_record(session: Session, record_id: int, from_statuses: tuple[str, ...], status: str) -> bool:
    """Gives the record `status` only if it is still in one of `from_statuses`; False when someone else
    settled it first."""
    return bool(
        session.execute(
            sa.update(ServiceRecord)
            .where(ServiceRecord.id == record_id, ServiceRecord.status.in_(from_statuses))
            .values(status=status)
        ).rowcount
    )


def add_correction(
    session: Session,
    original: ServiceRecord,
    minutes: int,
    recorded_by: str,
    note: str,
    created_at: dt.datetime,
) -> ServiceRecord:
    """The counted record that replaces `original` with these minutes, flushed so that it has its id. A corrected
    balance stays a balance (no period's service); any other correction is entered by hand."""
    fixed = ServiceRecord(
        volunteer_id=original.volunteer_id,
        unit_id=original.unit_id,
        kind=original.kind,
        source=RecordSource.BALANCE if original.source == RecordSource.BALANCE else RecordSource.MANUAL,
        status=RecordStatus.COUNTED,
        check_in=original.check_in,
        check_out=original.check_out,
        minutes=minutes,
        service_date=original.service_date,
        recorded_by=recorded_by,
        note=note,
        created_at=created_at,
        shift_id=original.shift_id,
    )
    session.add(fixed)
    session.flush()
    return fixed


def records_to_review(
    session: Session, unit_ids: list[int], limit: int
) -> list[tuple[ServiceRecord, Volunteer]]:
    """The units' sessions waiting for review, with their volunteers, oldest first."""
    rows = session.exec(
        select(ServiceRecord, Volunteer)
        .join(Volunteer, Volunteer.id == ServiceRecord.volunteer_id)
        .where(ServiceRecord.unit_id.in_(unit_ids), ServiceRecord.status == RecordStatus.REVIEW)
        .order_by(ServiceRecord.check_in, ServiceRecord.id)
        .limit(limit)
    ).all()
    return [(row, person) for row, person in rows]


def records_with_unit_names(
    session: Session, volunteer_id: int, statuses: tuple[str, ...]
) -> list[tuple[ServiceRecord, str]]:
    """The volunteer's records in these statuses with their unit's name, by service date."""
    rows = session.exec(
        select(ServiceRecord, Unit.name)
        .join(Unit, Unit.id == ServiceRecord.unit_id)
        .where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status.in_(statuses))
        .order_by(ServiceRecord.service_date, ServiceRecord.id)
    ).all()
    return [(row, unit_name) for row, unit_name in rows]


def open_visit_ids(session: Session, record_ids: list[int]) -> set[int]:
    """Which of these service records are still open sessions."""
    return set(
        session.exec(
            select(ServiceRecord.id).where(
                ServiceRecord.id.in_(record_ids), ServiceRecord.status == RecordStatus.OPEN
            )
        ).all()
    )


@dataclass(frozen=True)
class UnitMinutes:
    unit_id: int
    unit_name: str
    total: int
    since_year_start: int
    since_half_start: int


def counted_service_minutes(
    session: Session, volunteer_id: int, year_start: dt.date, half_start: dt.date
) -> list[UnitMinutes]:
    """Counted service minutes per unit: all time, this year and this half-year — one indexed query."""

    def since(start: dt.date):
        return sa.func.coalesce(
            sa.func.sum(sa.case((ServiceRecord.service_date >= start, ServiceRecord.minutes), else_=0)), 0
        )

    totals = (
        select(
            ServiceRecord.unit_id,
            sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0).label("total"),
            since(year_start).label("year"),
            since(half_start).label("half"),
        )
        .where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == RecordStatus.COUNTED,
            ServiceRecord.kind == RecordKind.SERVICE,
        )
        .group_by(ServiceRecord.unit_id)
        .subquery()
    )
    rows = session.execute(
        select(totals, Unit.name).join(Unit, Unit.id == totals.c.unit_id).order_by(totals.c.unit_id)
    ).all()
    return [UnitMinutes(row.unit_id, row.name, int(row.total), int(row.year), int(row.half)) for row in rows]


_COUNTED_MINUTES_ON = Prepared(
    sa.select(sa.func.coalesce(sa.func.sum(_RECORDS.c.minutes), 0)).where(
        _RECORDS.c.volunteer_id == sa.bindparam("volunteer"),
        _RECORDS.c.status == RecordStatus.COUNTED,
        _RECORDS.c.kind == RecordKind.SERVICE,
        _RECORDS.c.service_date == sa.bindparam("day"),
    )
)


def counted_service_minutes_on(session: Session, volunteer_id: int, day: dt.date) -> int:
    """Counted service minutes of one day, all units together (what this session added so far included)."""
    return int(_COUNTED_MINUTES_ON.scalar(session, volunteer=volunteer_id, day=day))


_DAY_AND_ALL = Prepared(
    sa.select(
        _COUNTED_MINUTES_ON.statement.scalar_subquery(),  # type: ignore[union-attr]
        award_store.COUNTED_MINUTES.scalar_subquery(),
    )
)


def counted_minutes_on_and_in_all(session: Session, volunteer_id: int, day: dt.date) -> tuple[int, int]:
    """What a check-out says and asks: the person's counted service minutes of one day, and all their counted
    minutes (the kept sums, every unit and day: award_store.counted_minutes_of), in one read."""
    day_minutes, all_minutes = _DAY_AND_ALL.first(session, volunteer=volunteer_id, day=day)
    return int(day_minutes), int(all_minutes)


@dataclass(frozen=True)
class ServiceDay:
    """A volunteer's service minutes of one day in one unit, of one status, a balance or served."""

    unit_id: int
    unit_name: str
    category: str
    status: str
    balance: bool  # a record-book balance brought in (source balance), not service of its day
    service_date: dt.date
    minutes: int


def service_days(session: Session, volunteer_id: int) -> list[ServiceDay]:
    """Service minutes per unit, day, status (counted, or waiting for review) and balance-or-served: what 時數
    sorts into what counts and what does not yet (a person has a few thousand days at most)."""
    record, unit = ServiceRecord.__table__.c, Unit.__table__.c  # type: ignore[attr-defined]
    balance = record.source == RecordSource.BALANCE
    keys = (record.unit_id, unit.name, unit.category, record.status, balance, record.service_date)
    rows = session.execute(
        sa.select(*keys, sa.func.coalesce(sa.func.sum(record.minutes), 0))
        .join_from(ServiceRecord.__table__, Unit.__table__, unit.id == record.unit_id)  # type: ignore[attr-defined]
        .where(
            record.volunteer_id == volunteer_id,
            record.kind == RecordKind.SERVICE,
            record.status.in_((RecordStatus.COUNTED, RecordStatus.REVIEW)),
        )
        .group_by(*keys)
        .order_by(record.unit_id, record.service_date)
    ).all()
    return [ServiceDay(u, n, c, s, bool(b), d, int(m)) for u, n, c, s, b, d, m in rows]
