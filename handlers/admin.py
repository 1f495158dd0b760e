"""Operators' and coordinators' changes to the roster and the record, each one audited."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from handlers.linking import new_invite_code
from storage import repo
from storage.models import InviteCode, Membership, ServiceRecord, Unit, Volunteer

CATEGORIES = ("social-welfare", "health", "education", "culture", "environment", "police", "fire", "traffic", "general")
CITIES = ("taipei", "taichung", "other")
GENDERS = ("female", "male", "other")
ROLES = ("volunteer", "coordinator")
KINDS = ("service", "training", "meeting")


class InputError(ValueError):
    """Bad input from a person: shown to them as one line, nothing changed."""


def add_unit(session: Session, now: dt.datetime, actor: str, name: str, category: str, city: str) -> Unit:
    if not name.strip():
        raise InputError("the unit needs a name")
    unit = Unit(name=name.strip(), category=category, city=city, created_at=now)
    session.add(unit)
    session.flush()
    repo.record_audit(session, now, actor, "unit.add", f"unit:{unit.id}", None, {"name": unit.name})
    return unit


def add_volunteer(
    session: Session,
    now: dt.datetime,
    actor: str,
    unit_id: int,
    name: str,
    invite_valid_for: dt.timedelta,
    birth_date: dt.date | None = None,
    gender: str | None = None,
    trained_on: dt.date | None = None,
    role: str = "volunteer",
) -> tuple[Volunteer, InviteCode]:
    if session.get(Unit, unit_id) is None:
        raise InputError(f"there is no unit {unit_id}")
    if not name.strip():
        raise InputError("the volunteer needs a name")
    person = Volunteer(name=name.strip(), birth_date=birth_date, gender=gender, trained_on=trained_on, created_at=now)
    session.add(person)
    session.flush()
    session.add(Membership(volunteer_id=person.id, unit_id=unit_id, role=role))
    invite = InviteCode(code=new_invite_code(), volunteer_id=person.id, expires_at=now + invite_valid_for)
    while session.get(InviteCode, invite.code) is not None:  # eight digits rarely collide; never reuse one
        invite.code = new_invite_code()
    session.add(invite)
    repo.record_audit(
        session, now, actor, "volunteer.add", f"volunteer:{person.id}", None, {"unit": unit_id, "role": role}
    )
    return person, invite


def add_hours(
    session: Session,
    now: dt.datetime,
    actor: str,
    volunteer_id: int,
    unit_id: int,
    day: dt.date,
    hours: float,
    kind: str = "service",
    note: str | None = None,
) -> ServiceRecord:
    """Hours entered by hand: a record-book balance, or a correction (negative, with a reason)."""
    if session.get(Volunteer, volunteer_id) is None:
        raise InputError(f"there is no volunteer {volunteer_id}")
    if session.get(Unit, unit_id) is None:
        raise InputError(f"there is no unit {unit_id}")
    if hours == 0 or abs(hours) > 100_000:
        raise InputError("hours must be a non-zero number of at most 100000")
    if hours < 0 and not (note and note.strip()):
        raise InputError("a negative correction needs --note with the reason")
    record = ServiceRecord(
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        kind=kind,
        source="manual",
        status="counted",
        minutes=round(hours * 60),
        service_date=day,
        recorded_by=actor,
        note=note,
        created_at=now,
    )
    session.add(record)
    session.flush()
    repo.record_audit(
        session, now, actor, "hours.add", f"service_record:{record.id}", note,
        {"volunteer": volunteer_id, "unit": unit_id, "date": day.isoformat(), "minutes": record.minutes, "kind": kind},
    )
    return record
