"""Reads and writes of events, shifts and rosters. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
from typing import cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Event, Membership, RosterEntry, ServiceRecord, Shift, Volunteer
from storage.service_store import chat_visit
from storage.vocabulary import RecordStatus


def event(session: Session, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def shift(session: Session, shift_id: int) -> Shift | None:
    return session.get(Shift, shift_id)


def add_event(session: Session, **fields) -> Event:
    """A new event with these fields, flushed so that it has its id."""
    row = Event(**fields)
    session.add(row)
    session.flush()
    return row


def add_shift(session: Session, **fields) -> Shift:
    """A new shift with these fields, flushed so that it has its id."""
    row = Shift(**fields)
    session.add(row)
    session.flush()
    return row


def event_by_code(session: Session, code: str) -> Event | None:
    return session.exec(select(Event).where(Event.code == code)).first()


def rotating_events_during(session: Session, now: dt.datetime) -> list[Event]:
    """Events with a rotating code whose shifts could be checked into at `now` (a code names no event)."""
    return list(
        session.exec(
            select(Event).where(
                Event.rotating_code, Event.starts_at <= now + dt.timedelta(hours=2), Event.ends_at >= now
            )
        ).all()
    )


def shifts_of(session: Session, event_id: int) -> list[Shift]:
    return list(
        session.exec(
            select(Shift).where(Shift.event_id == event_id).order_by(Shift.starts_at, Shift.id)
        ).all()
    )


def take_place(session: Session, shift_id: int) -> bool:
    """One place of the shift, only if one is free: a conditional update, so many sign-ups at once never
    exceed the capacity (on SQLite as on PostgreSQL)."""
    return bool(
        session.execute(
            sa.update(Shift)
            .where(Shift.id == shift_id, Shift.taken < Shift.capacity)
            .values(taken=Shift.taken + 1)
        ).rowcount
    )


def give_back_place(session: Session, shift_id: int) -> None:
    session.execute(
        sa.update(Shift).where(Shift.id == shift_id, Shift.taken > 0).values(taken=Shift.taken - 1)
    )


def roster_entry(session: Session, shift_id: int, volunteer_id: int) -> RosterEntry | None:
    return session.exec(
        select(RosterEntry).where(RosterEntry.shift_id == shift_id, RosterEntry.volunteer_id == volunteer_id)
    ).first()


def sign_on(
    session: Session,
    entry: RosterEntry | None,
    shift_id: int,
    volunteer_id: int,
    added_by: str,
    now: dt.datetime,
) -> RosterEntry | None:
    """Puts the volunteer on the shift's roster: a new entry, or their cancelled `entry` signed again. None when
    the unique index says a sign-up of the same person at the same instant got there first."""
    if entry is None:
        entry = RosterEntry(shift_id=shift_id, volunteer_id=volunteer_id, added_by=added_by, created_at=now)
    else:
        entry.status, entry.cancelled_at, entry.added_by = "signed", None, added_by
    try:
        with session.begin_nested():
            session.add(entry)
    except sa.exc.IntegrityError:
        return None
    return entry


def cancel_roster_entry(session: Session, entry_id: int, now: dt.datetime) -> bool:
    """Cancels the entry only if it is still signed; False when another cancellation got there first."""
    return bool(
        session.execute(
            sa.update(RosterEntry)
            .where(RosterEntry.id == entry_id, RosterEntry.status == "signed")
            .values(status="cancelled", cancelled_at=now)
        ).rowcount
    )


def signed_shift_ids(session: Session, volunteer_id: int, shift_ids: list[int]) -> set[int]:
    if not shift_ids:
        return set()
    return set(
        session.exec(
            select(RosterEntry.shift_id).where(
                RosterEntry.volunteer_id == volunteer_id,
                RosterEntry.status == "signed",
                RosterEntry.shift_id.in_(shift_ids),
            )
        ).all()
    )


def open_shifts_for(
    session: Session, volunteer_id: int, now: dt.datetime, limit: int
) -> list[tuple[Shift, Event]]:
    """Shifts not yet over at events of the volunteer's units, soonest first."""
    units = select(Membership.unit_id).where(Membership.volunteer_id == volunteer_id)
    rows = session.exec(
        select(Shift, Event)
        .join(Event, Event.id == Shift.event_id)
        .where(Event.unit_id.in_(units), Shift.ends_at > now)
        .order_by(Shift.starts_at, Shift.id)
        .limit(limit)
    ).all()
    return [(shift, event) for shift, event in rows]


def roster_of(session: Session, shift_ids: list[int]) -> list[tuple[int, int, str]]:
    """(shift id, volunteer id, name) of everyone signed on these shifts."""
    if not shift_ids:
        return []
    rows = session.execute(
        select(RosterEntry.shift_id, Volunteer.id, Volunteer.name)
        .join(Volunteer, Volunteer.id == RosterEntry.volunteer_id)
        .where(RosterEntry.shift_id.in_(shift_ids), RosterEntry.status == "signed")
        .order_by(RosterEntry.shift_id, Volunteer.id)
    ).all()
    return [tuple(row) for row in rows]


def attendance_of(session: Session, shift_ids: list[int]) -> list[tuple[int, int, str, bool]]:
    """(shift id, volunteer id, name, walk-up) of everyone checked in on these shifts (open or finished)."""
    if not shift_ids:
        return []
    rows = session.execute(
        select(ServiceRecord.shift_id, Volunteer.id, Volunteer.name, ServiceRecord.walk_up)
        .join(Volunteer, Volunteer.id == ServiceRecord.volunteer_id)
        .where(
            ServiceRecord.shift_id.in_(shift_ids),
            ServiceRecord.status.in_((RecordStatus.OPEN, RecordStatus.COUNTED, RecordStatus.REVIEW)),
        )
        .order_by(ServiceRecord.shift_id, Volunteer.id)
    ).all()
    return [tuple(row) for row in rows]


def events_of_units(session: Session, unit_ids: list[int], now: dt.datetime) -> list[Event]:
    """The units' events going on today or later (for 現場: today's first)."""
    if not unit_ids:
        return []
    return list(
        session.exec(
            select(Event)
            .where(Event.unit_id.in_(unit_ids), Event.ends_at >= now - dt.timedelta(hours=12))
            .order_by(Event.starts_at, Event.id)
        ).all()
    )


def shifts_starting(session: Session, after: dt.datetime, until: dt.datetime) -> list[tuple[Shift, Event]]:
    rows = session.exec(
        select(Shift, Event)
        .join(Event, Event.id == Shift.event_id)
        .where(Shift.starts_at > after, Shift.starts_at <= until)
        .order_by(Shift.starts_at, Shift.id)
    ).all()
    return [(shift, event) for shift, event in rows]


def wait_for_location(
    session: Session,
    *,
    volunteer_id: int,
    unit_id: int,
    check_in: dt.datetime,
    service_date: dt.date,
    recorded_by: str,
    created_at: dt.datetime,
    **fields,
) -> ServiceRecord:
    """A check-in at an event that waits for the person's location (`fields`: shift_id, walk_up); it counts
    nothing until confirm_location makes it an open session."""
    record = chat_visit(
        RecordStatus.AWAITING_LOCATION,
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        check_in=check_in,
        service_date=service_date,
        recorded_by=recorded_by,
        created_at=created_at,
        **fields,
    )
    session.add(record)
    return record


def awaiting_location(session: Session, volunteer_id: int, since: dt.datetime) -> ServiceRecord | None:
    """The person's latest check-in still waiting for a shared location, made after `since`."""
    return session.exec(
        select(ServiceRecord)
        .where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == RecordStatus.AWAITING_LOCATION,
            ServiceRecord.created_at >= since,
        )
        .order_by(ServiceRecord.id.desc())
    ).first()


def confirm_location(session: Session, record_id: int) -> bool:
    """The waiting check-in becomes an open session, once (the unique index allows one open session)."""
    try:
        with session.begin_nested():
            return bool(
                session.execute(
                    sa.update(ServiceRecord)
                    .where(
                        ServiceRecord.id == record_id, ServiceRecord.status == RecordStatus.AWAITING_LOCATION
                    )
                    .values(status=RecordStatus.OPEN)
                ).rowcount
            )
    except sa.exc.IntegrityError:
        return False


def set_shift_capacity(session: Session, shift_id: int, capacity: int) -> bool:
    """Sets the shift's places unless more people are on its roster already (a conditional update, as
    take_place: a sign-up at the same instant cannot be squeezed out)."""
    done = session.execute(
        sa.update(Shift)
        .where(col(Shift.id) == shift_id, col(Shift.taken) <= capacity)
        .values(capacity=capacity)
    )
    return bool(cast(sa.CursorResult, done).rowcount)
