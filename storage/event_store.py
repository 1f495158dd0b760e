"""Reads and writes of events, shifts and rosters. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.models import Event, Membership, RosterEntry, ServiceRecord, Shift, Volunteer


def event_by_code(session: Session, code: str) -> Event | None:
    return session.exec(select(Event).where(Event.code == code)).first()


def rotating_events_during(session: Session, now: dt.datetime) -> list[Event]:
    """Events with a rotating code whose shifts could be checked into at `now` (a code names no event)."""
    return list(session.exec(
        select(Event).where(Event.rotating_code, Event.starts_at <= now + dt.timedelta(hours=2), Event.ends_at >= now)
    ).all())


def shifts_of(session: Session, event_id: int) -> list[Shift]:
    return list(session.exec(select(Shift).where(Shift.event_id == event_id).order_by(Shift.starts_at, Shift.id)).all())


def take_place(session: Session, shift_id: int) -> bool:
    """One place of the shift, only if one is free: a conditional update, so many sign-ups at once never
    exceed the capacity (on SQLite as on PostgreSQL)."""
    return bool(session.execute(
        sa.update(Shift).where(Shift.id == shift_id, Shift.taken < Shift.capacity).values(taken=Shift.taken + 1)
    ).rowcount)


def give_back_place(session: Session, shift_id: int) -> None:
    session.execute(sa.update(Shift).where(Shift.id == shift_id, Shift.taken > 0).values(taken=Shift.taken - 1))


def roster_entry(session: Session, shift_id: int, volunteer_id: int) -> RosterEntry | None:
    return session.exec(
        select(RosterEntry).where(RosterEntry.shift_id == shift_id, RosterEntry.volunteer_id == volunteer_id)
    ).first()


def signed_shift_ids(session: Session, volunteer_id: int, shift_ids: list[int]) -> set[int]:
    if not shift_ids:
        return set()
    return set(session.exec(
        select(RosterEntry.shift_id).where(RosterEntry.volunteer_id == volunteer_id, RosterEntry.status == "signed",
                                           RosterEntry.shift_id.in_(shift_ids))
    ).all())


def open_shifts_for(session: Session, volunteer_id: int, now: dt.datetime, limit: int) -> list[tuple[Shift, Event]]:
    """Shifts not yet over at events of the volunteer's units, soonest first."""
    units = select(Membership.unit_id).where(Membership.volunteer_id == volunteer_id)
    rows = session.exec(
        select(Shift, Event).join(Event, Event.id == Shift.event_id)
        .where(Event.unit_id.in_(units), Shift.ends_at > now)
        .order_by(Shift.starts_at, Shift.id).limit(limit)
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
        .where(ServiceRecord.shift_id.in_(shift_ids), ServiceRecord.status.in_(("open", "counted", "review")))
        .order_by(ServiceRecord.shift_id, Volunteer.id)
    ).all()
    return [tuple(row) for row in rows]


def events_of_units(session: Session, unit_ids: list[int], now: dt.datetime) -> list[Event]:
    """The units' events going on today or later (for 現場: today's first)."""
    if not unit_ids:
        return []
    return list(session.exec(
        select(Event).where(Event.unit_id.in_(unit_ids), Event.ends_at >= now - dt.timedelta(hours=12))
        .order_by(Event.starts_at, Event.id)
    ).all())


def shifts_starting(session: Session, after: dt.datetime, until: dt.datetime) -> list[tuple[Shift, Event]]:
    rows = session.exec(
        select(Shift, Event).join(Event, Event.id == Shift.event_id)
        .where(Shift.starts_at > after, Shift.starts_at <= until).order_by(Shift.starts_at, Shift.id)
    ).all()
    return [(shift, event) for shift, event in rows]


def awaiting_location(session: Session, volunteer_id: int, since: dt.datetime) -> ServiceRecord | None:
    """The person's latest check-in still waiting for a shared location, made after `since`."""
    return session.exec(
        select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == "location",
                                    ServiceRecord.created_at >= since)
        .order_by(ServiceRecord.id.desc())
    ).first()


def confirm_location(session: Session, record_id: int) -> bool:
    """The waiting check-in becomes an open session, once (the unique index allows one open session)."""
    try:
        with session.begin_nested():
            return bool(session.execute(
                sa.update(ServiceRecord).where(ServiceRecord.id == record_id, ServiceRecord.status == "location")
                .values(status="open")
            ).rowcount)
    except sa.exc.IntegrityError:
        return False
