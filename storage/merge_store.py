"""Two rows of one person made one (the console's 合併): what the handler needs to find the pairs and to move
everything of the one removed onto the one kept. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    AwardGrant,
    ChatAccount,
    CityAdministrator,
    ConsoleLink,
    ConsoleSession,
    DeadlineDone,
    InviteCode,
    Membership,
    Notification,
    ReminderOptOut,
    RosterEntry,
    ServiceRecord,
    Shift,
    TrainingRecord,
    Volunteer,
)
from storage.vocabulary import RecordStatus, Role


def unit_members(session: Session, unit_id: int) -> list[Volunteer]:
    """Every member of the unit (a few thousand rows at most), by id."""
    return list(
        session.exec(
            select(Volunteer)
            .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
            .where(col(Membership.unit_id) == unit_id)
            .order_by(col(Volunteer.id))
        ).all()
    )


def has_open_visit(session: Session, volunteer_id: int) -> bool:
    return (
        session.exec(
            select(col(ServiceRecord.id)).where(
                col(ServiceRecord.volunteer_id) == volunteer_id,
                col(ServiceRecord.status) == RecordStatus.OPEN,
            )
        ).first()
        is not None
    )


def _move(session: Session, model, column, removed: int, kept: int) -> int:
    done = session.execute(sa.update(model).where(column == removed).values({column.key: kept}))
    return int(cast(sa.CursorResult, done).rowcount or 0)


def _delete(session: Session, model, *where) -> int:
    done = session.execute(sa.delete(model).where(*where))
    return int(cast(sa.CursorResult, done).rowcount or 0)


def move_person(session: Session, removed: int, kept: int) -> dict[str, int]:
    """Everything of `removed` becomes `kept`'s: records, trainings, awards, chat accounts, shifts, units,
    reminders; where `kept` has the same already (a unit, a shift, an award on that day), `removed`'s copy
    goes (a shift's place given back). Then `removed`'s row is deleted. The counts moved, by kind."""
    moved = {
        "records": _move(session, ServiceRecord, col(ServiceRecord.volunteer_id), removed, kept),
        "trainings": _move(session, TrainingRecord, col(TrainingRecord.volunteer_id), removed, kept),
        "accounts": _move(session, ChatAccount, col(ChatAccount.volunteer_id), removed, kept),
    }
    kept_units = select(col(Membership.unit_id)).where(col(Membership.volunteer_id) == kept)
    # Where both were members of one unit, the one kept coordinates it if either did: a merge never takes a
    # coordinator's role away.
    coordinated = select(col(Membership.unit_id)).where(
        col(Membership.volunteer_id) == removed, col(Membership.role) == Role.COORDINATOR
    )
    session.execute(
        sa.update(Membership)
        .where(col(Membership.volunteer_id) == kept, col(Membership.unit_id).in_(coordinated))
        .values(role=Role.COORDINATOR)
    )
    _delete(
        session, Membership, col(Membership.volunteer_id) == removed, col(Membership.unit_id).in_(kept_units)
    )
    moved["units"] = _move(session, Membership, col(Membership.volunteer_id), removed, kept)
    kept_shifts = select(col(RosterEntry.shift_id)).where(col(RosterEntry.volunteer_id) == kept)
    doubled = session.exec(
        select(col(RosterEntry.shift_id)).where(
            col(RosterEntry.volunteer_id) == removed,
            col(RosterEntry.status) == "signed",
            col(RosterEntry.shift_id).in_(kept_shifts),
        )
    ).all()
    for shift_id in doubled:  # on the same shift twice: one place is given back
        session.execute(
            sa.update(Shift)
            .where(col(Shift.id) == shift_id, col(Shift.taken) > 0)
            .values(taken=col(Shift.taken) - 1)
        )
    _delete(
        session,
        RosterEntry,
        col(RosterEntry.volunteer_id) == removed,
        col(RosterEntry.shift_id).in_(kept_shifts),
    )
    moved["shifts"] = _move(session, RosterEntry, col(RosterEntry.volunteer_id), removed, kept)
    kept_grants = sa.select(col(AwardGrant.award_code), col(AwardGrant.granted_on)).where(
        col(AwardGrant.volunteer_id) == kept
    )
    same = sa.tuple_(col(AwardGrant.award_code), col(AwardGrant.granted_on)).in_(kept_grants)
    _delete(session, AwardGrant, col(AwardGrant.volunteer_id) == removed, same)
    moved["awards"] = _move(session, AwardGrant, col(AwardGrant.volunteer_id), removed, kept)
    _move(session, Notification, col(Notification.volunteer_id), removed, kept)
    _move(session, DeadlineDone, col(DeadlineDone.done_by), removed, kept)
    kept_cities = select(col(CityAdministrator.city)).where(col(CityAdministrator.volunteer_id) == kept)
    _delete(
        session,
        CityAdministrator,
        col(CityAdministrator.volunteer_id) == removed,
        col(CityAdministrator.city).in_(kept_cities),
    )
    _move(session, CityAdministrator, col(CityAdministrator.volunteer_id), removed, kept)
    for model in (InviteCode, ReminderOptOut, ConsoleLink, ConsoleSession):
        _delete(session, model, model.volunteer_id == removed)
    _delete(session, Volunteer, col(Volunteer.id) == removed)
    session.expire_all()
    return moved
