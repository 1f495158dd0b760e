"""The coordinator console: its sign-in links and browser sessions (hashes only), and the reads its pages
need that no chat word does. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    AuditEntry,
    ChatAccount,
    ConsoleLink,
    ConsoleSession,
    Event,
    Membership,
    Notification,
    ServiceRecord,
    Shift,
    TrainingRecord,
    Unit,
    Volunteer,
)
from storage.vocabulary import RecordStatus

# ---- sign-in links and sessions ----


def add_link(
    session: Session, token_hash: str, volunteer_id: int, now: dt.datetime, expires_at: dt.datetime
) -> None:
    session.add(
        ConsoleLink(token_hash=token_hash, volunteer_id=volunteer_id, created_at=now, expires_at=expires_at)
    )
    session.flush()


def usable_link(session: Session, token_hash: str, now: dt.datetime) -> int | None:
    """The person of an unused, unexpired link, without using it."""
    return session.exec(
        select(col(ConsoleLink.volunteer_id)).where(
            col(ConsoleLink.token_hash) == token_hash,
            col(ConsoleLink.used_at).is_(None),
            col(ConsoleLink.expires_at) > now,
        )
    ).first()


def claim_link(session: Session, token_hash: str, now: dt.datetime) -> int | None:
    """The person the link is for, marking it used; None when it is unknown, used or expired (atomic: a
    link opened twice at once works once)."""
    return session.execute(
        sa.update(ConsoleLink)
        .where(
            col(ConsoleLink.token_hash) == token_hash,
            col(ConsoleLink.used_at).is_(None),
            col(ConsoleLink.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(ConsoleLink.volunteer_id))
    ).scalar_one_or_none()


def add_session(session: Session, token_hash: str, volunteer_id: int, csrf: str, now: dt.datetime) -> None:
    session.add(
        ConsoleSession(
            token_hash=token_hash, volunteer_id=volunteer_id, csrf=csrf, created_at=now, last_seen_at=now
        )
    )
    session.flush()


def live_session(session: Session, token_hash: str, idle_since: dt.datetime) -> ConsoleSession | None:
    """The session of this cookie if it was not ended and was used after `idle_since`."""
    return session.exec(
        select(ConsoleSession).where(
            col(ConsoleSession.token_hash) == token_hash,
            col(ConsoleSession.ended_at).is_(None),
            col(ConsoleSession.last_seen_at) > idle_since,
        )
    ).first()


def touch_session(session: Session, token_hash: str, now: dt.datetime) -> None:
    session.execute(
        sa.update(ConsoleSession).where(col(ConsoleSession.token_hash) == token_hash).values(last_seen_at=now)
    )


def end_session(session: Session, token_hash: str, now: dt.datetime) -> None:
    session.execute(
        sa.update(ConsoleSession)
        .where(col(ConsoleSession.token_hash) == token_hash, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=now)
    )


# ---- what the pages read ----


def checked_in_now(session: Session, unit_ids: list[int]) -> list[tuple[ServiceRecord, str]]:
    """The units' open visits with the volunteer's name, earliest first."""
    if not unit_ids:
        return []
    rows = session.exec(
        select(ServiceRecord, col(Volunteer.name))
        .join(Volunteer, col(Volunteer.id) == col(ServiceRecord.volunteer_id))
        .where(col(ServiceRecord.unit_id).in_(unit_ids), col(ServiceRecord.status) == RecordStatus.OPEN)
        .order_by(col(ServiceRecord.check_in), col(ServiceRecord.id))
    ).all()
    return [(row, name) for row, name in rows]


def member_of_units(session: Session, volunteer_id: int, unit_ids: list[int]) -> Volunteer | None:
    """The volunteer, only if they are a member of one of these units."""
    if not unit_ids:
        return None
    return session.exec(
        select(Volunteer)
        .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
        .where(col(Volunteer.id) == volunteer_id, col(Membership.unit_id).in_(unit_ids))
    ).first()


def _filters(linked, month: tuple[dt.date, dt.date]) -> dict:
    trained = sa.exists().where(
        col(TrainingRecord.volunteer_id) == col(Volunteer.id), col(TrainingRecord.kind) == "basic"
    )
    return {
        "unlinked": ~linked,
        "no-book": col(Volunteer.record_book_no).is_(None),
        "no-training": sa.and_(col(Volunteer.trained_on).is_(None), ~trained),
        "insurance-ending": col(Volunteer.insured_until).between(*month),
    }


FILTERS = ("", "unlinked", "no-book", "no-training", "insurance-ending")


def search_members(
    session: Session,
    unit_ids: list[int],
    text: str,
    only: str,
    limit: int,
    today: dt.date,
    among: set[int] | sa.Select | None = None,
) -> list[tuple[Volunteer, int, str, bool]]:
    """Members of the units whose name, phone or record-book number holds `text`, with their unit, role and
    whether a chat account is linked. `only`, one of FILTERS: not yet linked, no record book, no basic
    training, accident insurance ending in today's month; `among`: only these volunteers (their ids, or a query
    that selects them)."""
    if not unit_ids:
        return []
    linked = sa.exists().where(col(ChatAccount.volunteer_id) == col(Volunteer.id))
    query = (
        select(Volunteer, col(Membership.unit_id), col(Membership.role), linked)
        .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
        .where(col(Membership.unit_id).in_(unit_ids))
    )
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                col(Volunteer.name).like(pattern, escape="\\"),
                col(Volunteer.phone).like(pattern, escape="\\"),
                col(Volunteer.record_book_no).like(pattern, escape="\\"),
            )
        )
    if among is not None:  # only these people (e.g. those within reach of an award: ids, or a query of them)
        query = query.where(col(Volunteer.id).in_(among if isinstance(among, sa.Select) else sorted(among)))
    if only:
        first = today.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        query = query.where(_filters(linked, (first, last))[only])
    rows = session.execute(query.order_by(col(Volunteer.name), col(Volunteer.id)).limit(limit)).all()
    return [(person, unit_id, role, bool(is_linked)) for person, unit_id, role, is_linked in rows]


def records_in_units(
    session: Session, volunteer_id: int, unit_ids: list[int], limit: int
) -> list[ServiceRecord]:
    """The volunteer's records in these units, newest first."""
    if not unit_ids:
        return []
    return list(
        session.exec(
            select(ServiceRecord)
            .where(col(ServiceRecord.volunteer_id) == volunteer_id, col(ServiceRecord.unit_id).in_(unit_ids))
            .order_by(col(ServiceRecord.service_date).desc(), col(ServiceRecord.id).desc())
            .limit(limit)
        ).all()
    )


def events_of(session: Session, unit_ids: list[int], limit: int) -> list[Event]:
    """The units' events, latest start first."""
    if not unit_ids:
        return []
    return list(
        session.exec(
            select(Event)
            .where(col(Event.unit_id).in_(unit_ids))
            .order_by(col(Event.starts_at).desc(), col(Event.id).desc())
            .limit(limit)
        ).all()
    )


def shifts_between(
    session: Session, unit_ids: list[int], first: dt.datetime, last: dt.datetime
) -> list[tuple[Shift, Event]]:
    """The units' shifts that start in [first, last), by start."""
    if not unit_ids:
        return []
    rows = session.exec(
        select(Shift, Event)
        .join(Event, col(Event.id) == col(Shift.event_id))
        .where(col(Event.unit_id).in_(unit_ids), col(Shift.starts_at) >= first, col(Shift.starts_at) < last)
        .order_by(col(Shift.starts_at), col(Shift.id))
    ).all()
    return [(shift, event) for shift, event in rows]


def names_of(session: Session, volunteer_ids: set[int]) -> dict[int, str]:
    if not volunteer_ids:
        return {}
    rows = session.execute(
        select(col(Volunteer.id), col(Volunteer.name)).where(col(Volunteer.id).in_(volunteer_ids))
    ).all()
    return {volunteer_id: name for volunteer_id, name in rows}


def audit_of_units(
    session: Session,
    unit_ids: list[int],
    actor: str | None,
    first: dt.datetime,
    last: dt.datetime,
    limit: int,
) -> list[AuditEntry]:
    """Audit entries made by or about the units' people, or about the units, in [first, last), newest first."""
    if not unit_ids:
        return []
    people = select(sa.literal("volunteer:") + sa.cast(col(Membership.volunteer_id), sa.String)).where(
        col(Membership.unit_id).in_(unit_ids)
    )
    units = [f"unit:{unit_id}" for unit_id in unit_ids]
    query = select(AuditEntry).where(
        sa.or_(
            col(AuditEntry.actor).in_(people),
            col(AuditEntry.target).in_(people),
            col(AuditEntry.target).in_(units),
        ),
        col(AuditEntry.at) >= first,
        col(AuditEntry.at) < last,
    )
    if actor:
        query = query.where(col(AuditEntry.actor) == actor)
    return list(
        session.exec(query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)).all()
    )


def unit_of(session: Session, unit_id: int, unit_ids: list[int]) -> Unit | None:
    return session.get(Unit, unit_id) if unit_id in unit_ids else None


def unlinked_members(session: Session, unit_id: int) -> list[Volunteer]:
    """The unit's members with no chat account linked, by name."""
    linked = sa.exists().where(col(ChatAccount.volunteer_id) == col(Volunteer.id))
    return list(
        session.exec(
            select(Volunteer)
            .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
            .where(col(Membership.unit_id) == unit_id, ~linked)
            .order_by(col(Volunteer.name), col(Volunteer.id))
        ).all()
    )


def pending_notifications_of_unit(
    session: Session, unit_id: int, until: dt.datetime
) -> list[tuple[str, int, dt.datetime]]:
    """(job, how many, first due) of the unit's stored reminders still to be sent and due before `until`."""

    rows = session.execute(
        select(col(Notification.job), sa.func.count(), sa.func.min(col(Notification.due_at)))
        .where(
            col(Notification.unit_id) == unit_id,
            col(Notification.status) == "pending",
            col(Notification.due_at) < until,
        )
        .group_by(col(Notification.job))
        .order_by(sa.func.min(col(Notification.due_at)))
    ).all()
    return [(job, int(count), first) for job, count, first in rows]
