"""Reads and writes of the reminders: who gets them, the notifications stored under their keys, deadlines.

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_duplicates
from storage.models import (
    AwardGrant,
    ChatAccount,
    DeadlineDone,
    JobRun,
    Membership,
    Notification,
    ReminderOptOut,
    ServiceRecord,
    TrainingClass,
    TrainingRecord,
    Unit,
    UnitDeadline,
    Volunteer,
)
from storage.vocabulary import Platform, RecordStatus, Role

PUSH_PLATFORMS = (Platform.LINE, Platform.TELEGRAM)
KEYS_PER_QUERY = 1000  # keys per IN (…): well inside every driver's parameter limit


@dataclass(frozen=True)
class Recipient:
    """One chat account of a unit's member that reminders can be pushed to."""

    volunteer_id: int
    unit_id: int
    role: str
    platform: str
    user_id: str
    locale: str | None


def recipients_in_units(
    session: Session, unit_ids: list[int], category: str, coordinators_only: bool = False
) -> list[Recipient]:
    """The linked push accounts of the units' members who have not turned `category` off."""
    if not unit_ids:
        return []
    turned_off = select(ReminderOptOut.volunteer_id).where(
        ReminderOptOut.volunteer_id == Membership.volunteer_id, ReminderOptOut.category == category
    )
    query = (
        select(
            Membership.volunteer_id,
            Membership.unit_id,
            Membership.role,
            ChatAccount.platform,
            ChatAccount.platform_user_id,
            ChatAccount.chosen_locale,
            ChatAccount.unreachable_since,
        )
        .join(ChatAccount, ChatAccount.volunteer_id == Membership.volunteer_id)
        .where(Membership.unit_id.in_(unit_ids), ~sa.exists(turned_off))
        .order_by(Membership.unit_id, Membership.volunteer_id, ChatAccount.id)
    )
    if coordinators_only:
        query = query.where(Membership.role == Role.COORDINATOR)
    return pushable(session.execute(query).all())


def pushable(rows) -> list[Recipient]:
    """Only platforms that can push, and accounts that have not blocked the bot (the last column: since when
    they have). Filtered here, not in SQL: a condition on the platform makes SQLite walk every chat account
    by its (platform, user) index instead of the unit's members (measured: 3.1 s → ms)."""
    return [Recipient(*row[:-1]) for row in rows if row[-1] is None and row[3] in PUSH_PLATFORMS]


def recipients_of(session: Session, volunteer_ids: list[int], category: str) -> list[Recipient]:
    """The linked push accounts of these volunteers (each with their first unit), unless `category` is off."""
    found: list[Recipient] = []
    for first in range(0, len(volunteer_ids), KEYS_PER_QUERY):
        chunk = volunteer_ids[first : first + KEYS_PER_QUERY]
        turned_off = select(ReminderOptOut.volunteer_id).where(
            ReminderOptOut.volunteer_id == ChatAccount.volunteer_id, ReminderOptOut.category == category
        )
        first_unit = (
            select(sa.func.min(Membership.unit_id)).where(Membership.volunteer_id == ChatAccount.volunteer_id)
        ).scalar_subquery()
        rows = session.execute(
            select(
                ChatAccount.volunteer_id,
                first_unit,
                sa.literal(Role.VOLUNTEER.value),
                ChatAccount.platform,
                ChatAccount.platform_user_id,
                ChatAccount.chosen_locale,
                ChatAccount.unreachable_since,
            )
            .where(ChatAccount.volunteer_id.in_(chunk), ~sa.exists(turned_off))
            .order_by(ChatAccount.volunteer_id, ChatAccount.id)
        ).all()
        found += pushable(rows)
    return found


# --- notifications ------------------------------------------------------------------------------


def known_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these notification keys are stored already."""
    known: set[str] = set()
    for first in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[first : first + KEYS_PER_QUERY]
        known.update(session.exec(select(Notification.key).where(Notification.key.in_(chunk))).all())
    return known


def add_notifications(session: Session, rows: list[dict]) -> int:
    """Stores the notifications whose keys are new; returns how many were new. A key already stored, by
    this pass or another process, is left alone: that is what makes every reminder go out once."""
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Notification).on_conflict_do_nothing(index_elements=["key"]).returning(Notification.key)
    )
    return len(session.execute(statement, rows).all())  # RETURNING names only the rows really inserted


def claim_due_notifications(session: Session, now: dt.datetime) -> list[Notification]:
    """The pending notifications due by `now`, locked for this transaction (PostgreSQL: rows another
    pass holds are skipped; SQLite: the transaction began IMMEDIATE, so passes run one after another)."""
    return list(
        session.exec(
            select(Notification)
            .where(Notification.status == "pending", Notification.due_at <= now)
            .order_by(Notification.priority, Notification.due_at, Notification.id)
            .with_for_update(skip_locked=True)
        ).all()
    )


def settle_notifications(session: Session, ids: list[int], status: str, now: dt.datetime) -> None:
    for first in range(0, len(ids), KEYS_PER_QUERY):
        session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(ids[first : first + KEYS_PER_QUERY]))
            .values(status=status, settled_at=now)
            .execution_options(synchronize_session=False)  # the pass reads no notification after this
        )


def unreachable_accounts(session: Session, accounts: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (platform, user id) accounts have blocked the bot: nothing is pushed to them."""
    found: set[tuple[str, str]] = set()
    users = sorted({user for _platform, user in accounts})
    for first in range(0, len(users), KEYS_PER_QUERY):
        rows = session.execute(
            select(ChatAccount.platform, ChatAccount.platform_user_id).where(
                col(ChatAccount.platform_user_id).in_(users[first : first + KEYS_PER_QUERY]),
                col(ChatAccount.unreachable_since).is_not(None),
            )
        ).all()
        found.update((platform, user) for platform, user in rows if (platform, user) in accounts)
    return found


def quiet_hours_of(session: Session, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    return dict(session.execute(select(Unit.id, Unit.quiet_hours).where(Unit.id.in_(unit_ids))).all())


def claim_job_run(session: Session, key: str, now: dt.datetime) -> bool:
    """True the first time a periodic job's occurrence asks (the costly monthly work runs once)."""
    if session.get(JobRun, key) is not None:
        return False
    insert_ignoring_duplicates(session, JobRun, [{"key": key, "ran_at": now}], ["key"])
    return True


# --- what the jobs look at ----------------------------------------------------------------------


def training_classes_starting(
    session: Session, after: dt.datetime, until: dt.datetime
) -> list[TrainingClass]:
    return list(
        session.exec(
            select(TrainingClass)
            .where(TrainingClass.starts_at > after, TrainingClass.starts_at <= until)
            .order_by(TrainingClass.starts_at, TrainingClass.id)
        ).all()
    )


def units_by_id(session: Session, unit_ids: set[int]) -> dict[int, Unit]:
    if not unit_ids:
        return {}
    return {unit.id: unit for unit in session.exec(select(Unit).where(Unit.id.in_(unit_ids))).all()}


def visits_open_since(session: Session, earliest: dt.datetime, latest: dt.datetime) -> list[ServiceRecord]:
    """Open sessions that began between the two moments."""
    return list(
        session.exec(
            select(ServiceRecord).where(
                ServiceRecord.status == RecordStatus.OPEN,
                ServiceRecord.check_in > earliest,
                ServiceRecord.check_in <= latest,
            )
        ).all()
    )


def units_with_coordinators(session: Session) -> list[Unit]:
    has_coordinator = select(Membership.id).where(
        Membership.unit_id == Unit.id, Membership.role == Role.COORDINATOR
    )
    return list(session.exec(select(Unit).where(sa.exists(has_coordinator)).order_by(Unit.id)).all())


def unit_members_born_by(session: Session, unit_id: int, born_by: dt.date) -> list[int]:
    """The unit's members born on or before `born_by` (aged 65+ at a period's end), by id."""
    query = (
        select(col(Membership.volunteer_id))
        .join(Volunteer, col(Volunteer.id) == col(Membership.volunteer_id))
        .where(col(Membership.unit_id) == unit_id, col(Volunteer.birth_date) <= born_by)
        .order_by(col(Membership.volunteer_id))
    )
    return list(session.exec(query).all())


def unit_deadlines(session: Session, unit_ids: list[int]) -> list[UnitDeadline]:
    if not unit_ids:
        return []
    return list(session.exec(select(UnitDeadline).where(UnitDeadline.unit_id.in_(unit_ids))).all())


def add_unit_deadline(
    session: Session,
    now: dt.datetime,
    unit_id: int,
    title: str,
    date: dt.date,
    remind: tuple[int, ...],
    yearly: bool,
    *,
    months: str | None = None,
) -> UnitDeadline:
    row = UnitDeadline(
        unit_id=unit_id,
        title=title,
        date=date,
        remind=",".join(map(str, remind)),
        yearly=yearly,
        months=months,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def done_deadlines(session: Session, unit_ids: list[int]) -> set[tuple[int, str, dt.date]]:
    """(unit id, deadline, occurrence) of every occurrence marked done."""
    if not unit_ids:
        return set()
    rows = session.execute(
        select(DeadlineDone.unit_id, DeadlineDone.deadline, DeadlineDone.occurrence).where(
            DeadlineDone.unit_id.in_(unit_ids)
        )
    ).all()
    return {tuple(row) for row in rows}


def mark_deadline_done(
    session: Session,
    now: dt.datetime,
    unit_id: int,
    deadline: str,
    occurrence: dt.date,
    volunteer_id: int | None,
) -> None:
    """Marks the occurrence done (a second tap changes nothing) and drops its alerts still waiting."""
    insert_ignoring_duplicates(
        session,
        DeadlineDone,
        [
            {
                "unit_id": unit_id,
                "deadline": deadline,
                "occurrence": occurrence,
                "done_by": volunteer_id,
                "done_at": now,
            }
        ],
        ["unit_id", "deadline", "occurrence"],
    )
    session.execute(
        sa.update(Notification)
        .where(
            Notification.unit_id == unit_id,
            Notification.deadline == deadline,
            Notification.occurrence == occurrence,
            Notification.status == "pending",
        )
        .values(status="dropped", settled_at=now)
    )


# --- turning reminders off and on ---------------------------------------------------------------


def turned_off(session: Session, volunteer_id: int) -> set[str]:
    return set(
        session.exec(select(ReminderOptOut.category).where(ReminderOptOut.volunteer_id == volunteer_id)).all()
    )


def turn_off(session: Session, volunteer_id: int, categories: list[str], now: dt.datetime) -> None:
    insert_ignoring_duplicates(
        session,
        ReminderOptOut,
        [{"volunteer_id": volunteer_id, "category": category, "created_at": now} for category in categories],
        ["volunteer_id", "category"],
    )


def turn_on(session: Session, volunteer_id: int, categories: list[str]) -> None:
    session.execute(
        sa.delete(ReminderOptOut).where(
            ReminderOptOut.volunteer_id == volunteer_id, ReminderOptOut.category.in_(categories)
        )
    )


# --- the card and the calendar: honor cards, record books, insurance ------------------------------------


def last_grants(session: Session, award_code: str) -> list[tuple[int, str, dt.date]]:
    """(volunteer id, name, last granted on) of everyone holding `award_code`."""
    rows = session.execute(
        select(col(AwardGrant.volunteer_id), col(Volunteer.name), sa.func.max(col(AwardGrant.granted_on)))
        .join(Volunteer, col(Volunteer.id) == col(AwardGrant.volunteer_id))
        .where(col(AwardGrant.award_code) == award_code)
        .group_by(col(AwardGrant.volunteer_id), col(Volunteer.name))
        .order_by(col(AwardGrant.volunteer_id))
    ).all()
    return [(volunteer_id, name, granted) for volunteer_id, name, granted in rows]


def member_units(session: Session, volunteer_ids: list[int]) -> dict[int, list[int]]:
    """volunteer id → the units they are a member of."""
    found: dict[int, list[int]] = {}
    for first in range(0, len(volunteer_ids), KEYS_PER_QUERY):
        chunk = volunteer_ids[first : first + KEYS_PER_QUERY]
        for volunteer_id, unit_id in session.execute(
            select(col(Membership.volunteer_id), col(Membership.unit_id))
            .where(col(Membership.volunteer_id).in_(chunk))
            .order_by(col(Membership.unit_id))
        ).all():
            found.setdefault(volunteer_id, []).append(unit_id)
    return found


def trained_without_record_book(session: Session) -> list[tuple[int, str, int]]:
    """(volunteer id, name, unit id) of members with both trainings in (a basic and a special training
    recorded, or the roster's date of both) and no record book (neither its number nor its date)."""

    def has(kind: str):
        return sa.exists(
            select(col(TrainingRecord.id)).where(
                col(TrainingRecord.volunteer_id) == col(Volunteer.id), col(TrainingRecord.kind) == kind
            )
        )

    rows = session.execute(
        select(col(Volunteer.id), col(Volunteer.name), col(Membership.unit_id))
        .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
        .where(
            col(Volunteer.record_book_no).is_(None),
            col(Volunteer.record_book_date).is_(None),
            sa.or_(col(Volunteer.trained_on).is_not(None), sa.and_(has("basic"), has("special"))),
        )
        .order_by(col(Volunteer.id), col(Membership.unit_id))
    ).all()
    return [(volunteer_id, name, unit_id) for volunteer_id, name, unit_id in rows]


def uninsured_check_ins(
    session: Session, since: dt.datetime, until: dt.datetime, day: dt.date
) -> list[tuple[int, str, int, dt.date | None]]:
    """(volunteer id, name, unit id, insured until) of check-ins between the two moments by people whose
    accident insurance is missing or ended before `day`."""
    rows = session.execute(
        select(
            col(Volunteer.id), col(Volunteer.name), col(ServiceRecord.unit_id), col(Volunteer.insured_until)
        )
        .join(Volunteer, col(Volunteer.id) == col(ServiceRecord.volunteer_id))
        .where(
            col(ServiceRecord.check_in) >= since,
            col(ServiceRecord.check_in) <= until,
            col(ServiceRecord.status).in_([RecordStatus.OPEN, RecordStatus.COUNTED, RecordStatus.REVIEW]),
            sa.or_(col(Volunteer.insured_until).is_(None), col(Volunteer.insured_until) < day),
        )
        .order_by(col(ServiceRecord.check_in), col(ServiceRecord.id))
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def uninsured_members(session: Session, unit_id: int, through: dt.date) -> list[tuple[str, dt.date | None]]:
    """(name, insured until) of the unit's volunteers whose accident insurance does not reach `through`
    (its coordinators, often staff insured otherwise, are not listed)."""
    rows = session.execute(
        select(col(Volunteer.name), col(Volunteer.insured_until))
        .join(Membership, col(Membership.volunteer_id) == col(Volunteer.id))
        .where(
            col(Membership.unit_id) == unit_id,
            col(Membership.role) == Role.VOLUNTEER,
            sa.or_(col(Volunteer.insured_until).is_(None), col(Volunteer.insured_until) < through),
        )
        .order_by(col(Volunteer.name), col(Volunteer.id))
    ).all()
    return [(name, until) for name, until in rows]
