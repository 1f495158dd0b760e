"""Reads and writes named for what the bot means by them. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.models import (
    AuditEntry,
    AwardGrant,
    AwardRule,
    ChatAccount,
    CityAdministrator,
    InboxEvent,
    InviteCode,
    Membership,
    OutboxMessage,
    ServiceRecord,
    TrainingRecord,
    TrainingSession,
    Unit,
    Volunteer,
)


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], unique_columns: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING for many rows: one statement, compiled once and cached, run for
    every row (a multi-row VALUES would be compiled anew for each batch size)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).on_conflict_do_nothing(index_elements=unique_columns), rows)


# --- people and units ---------------------------------------------------------------------------


def account_for(session: Session, platform: str, platform_user_id: str) -> ChatAccount | None:
    return session.exec(
        select(ChatAccount).where(
            ChatAccount.platform == platform, ChatAccount.platform_user_id == platform_user_id
        )
    ).first()


def ensure_account(session: Session, platform: str, platform_user_id: str) -> ChatAccount:
    """The person's account row, created if this is their first time (safe when two arrive at once)."""
    insert_ignoring_duplicates(
        session,
        ChatAccount,
        [{"platform": platform, "platform_user_id": platform_user_id}],
        ["platform", "platform_user_id"],
    )
    account = account_for(session, platform, platform_user_id)
    assert account is not None
    return account


def units_of(session: Session, volunteer_id: int) -> list[tuple[Unit, str]]:
    """The units a volunteer belongs to, with their role in each, in a stable order."""
    rows = session.exec(
        select(Unit, Membership.role)
        .join(Membership, Membership.unit_id == Unit.id)
        .where(Membership.volunteer_id == volunteer_id)
        .order_by(Unit.id)
    ).all()
    return [(unit, role) for unit, role in rows]


def coordinated_units(session: Session, volunteer_id: int) -> list[Unit]:
    """The units a person may see and change: those they coordinate, and every unit of a city they administer."""
    cities = select(CityAdministrator.city).where(CityAdministrator.volunteer_id == volunteer_id)
    coordinates = select(Membership.unit_id).where(
        Membership.volunteer_id == volunteer_id, Membership.role == "coordinator")
    return list(session.exec(
        select(Unit).where(sa.or_(Unit.id.in_(coordinates), Unit.city.in_(cities))).order_by(Unit.id)).all())


def all_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.id)).all())


def linked_accounts(session: Session, volunteer_id: int) -> list[ChatAccount]:
    return list(session.exec(select(ChatAccount).where(ChatAccount.volunteer_id == volunteer_id)).all())


# --- invite codes -------------------------------------------------------------------------------


def use_invite_code(session: Session, code: str, account_id: int, now: dt.datetime) -> InviteCode | None:
    """Marks the code used by this account if it is still unused and unexpired; atomic, so a code works once."""
    claimed = session.execute(
        sa.update(InviteCode)
        .where(InviteCode.code == code, InviteCode.used_at.is_(None), InviteCode.expires_at > now)
        .values(used_at=now, used_by_account_id=account_id)
    ).rowcount
    if not claimed:
        return None
    return session.get(InviteCode, code)


# --- service records ----------------------------------------------------------------------------


def open_session_of(session: Session, volunteer_id: int) -> ServiceRecord | None:
    return session.exec(
        select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == "open")
    ).first()


def finish_session(
    session: Session, record_id: int, check_out: dt.datetime, minutes: int, status: str, note: str | None = None
) -> bool:
    """Closes a session only if it is still open; False when someone else closed it first."""
    values = {"check_out": check_out, "minutes": minutes, "status": status}
    if note:
        values["note"] = note
    return bool(
        session.execute(
            sa.update(ServiceRecord)
            .where(ServiceRecord.id == record_id, ServiceRecord.status == "open")
            .values(**values)
        ).rowcount
    )


def open_session_ids(session: Session, record_ids: list[int]) -> set[int]:
    """Which of these service records are still open sessions."""
    return set(
        session.exec(
            select(ServiceRecord.id).where(ServiceRecord.id.in_(record_ids), ServiceRecord.status == "open")
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
            ServiceRecord.status == "counted",
            ServiceRecord.kind == "service",
        )
        .group_by(ServiceRecord.unit_id)
        .subquery()
    )
    rows = session.execute(
        select(totals, Unit.name).join(Unit, Unit.id == totals.c.unit_id).order_by(totals.c.unit_id)
    ).all()
    return [
        UnitMinutes(row.unit_id, row.name, int(row.total), int(row.year), int(row.half))
        for row in rows
    ]


def counted_service_minutes_on(session: Session, volunteer_id: int, day: dt.date) -> int:
    """Counted service minutes of one day, all units together."""
    return session.exec(
        select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == "counted",
            ServiceRecord.kind == "service",
            ServiceRecord.service_date == day,
        )
    ).one()


def record_audit(
    session: Session, now: dt.datetime, actor: str, action: str, target: str, reason: str | None, details: dict
) -> None:
    session.add(
        AuditEntry(
            at=now, actor=actor, action=action, target=target, reason=reason, details=json.dumps(details, default=str)
        )
    )


# --- inbox and outbox ---------------------------------------------------------------------------


def store_inbox_events(session: Session, events: list[tuple[str, str, str, str, dt.datetime]]) -> None:
    """Stores (platform, key, sender, payload, received_at) rows in one statement; a key seen before
    (a redelivery) is ignored."""
    rows = [
        {"platform": platform, "event_key": key, "sender": sender, "payload": payload, "received_at": received_at,
         "attempts": 0}
        for platform, key, sender, payload, received_at in events
    ]
    insert_ignoring_duplicates(session, InboxEvent, rows, ["platform", "event_key"])


def _claim(session: Session, model, due, now: dt.datetime, lease: dt.timedelta, limit: int) -> list:
    """Takes up to `limit` due rows for this worker alone until the lease ends.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows.
    SQLite: the transaction began IMMEDIATE, so claims are serialised anyway.
    """
    free = sa.or_(model.claimed_until.is_(None), model.claimed_until < now)
    ids = session.exec(
        select(model.id).where(due, free).order_by(model.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    session.execute(
        sa.update(model)
        .where(model.id.in_(ids))
        .values(claimed_until=now + lease, claim_token=uuid.uuid4().hex, attempts=model.attempts + 1)
    )
    return list(session.exec(select(model).where(model.id.in_(ids)).order_by(model.id)).all())


def claim_inbox_events(session: Session, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[InboxEvent]:
    return _claim(session, InboxEvent, InboxEvent.processed_at.is_(None), now, lease, limit)


def has_earlier_pending_event(session: Session, event: InboxEvent) -> bool:
    """True while an earlier event of the same sender is not done: a person's messages are handled in order,
    also when several processes share the inbox (check-out must not overtake its check-in)."""
    if not event.sender:
        return False
    earlier = select(InboxEvent.id).where(
        InboxEvent.platform == event.platform,
        InboxEvent.sender == event.sender,
        InboxEvent.processed_at.is_(None),
        InboxEvent.id < event.id,
    )
    return session.exec(earlier.limit(1)).first() is not None


def finish_inbox_event(session: Session, event: InboxEvent, now: dt.datetime, error: str | None = None) -> bool:
    """Marks the event done if this worker still holds its claim; False means another worker took it over."""
    return bool(
        session.execute(
            sa.update(InboxEvent)
            .where(InboxEvent.id == event.id, InboxEvent.claim_token == event.claim_token)
            .values(processed_at=now, error=error, claimed_until=None)
        ).rowcount
    )


def release_inbox_event(session: Session, event: InboxEvent, retry_at: dt.datetime, error: str) -> None:
    session.execute(
        sa.update(InboxEvent)
        .where(InboxEvent.id == event.id, InboxEvent.claim_token == event.claim_token)
        .values(claimed_until=retry_at, error=error)
    )


def defer_inbox_event(session: Session, event: InboxEvent) -> None:
    """Gives the claim back untouched (the attempt does not count): the event waits for its turn."""
    session.execute(
        sa.update(InboxEvent)
        .where(InboxEvent.id == event.id, InboxEvent.claim_token == event.claim_token)
        .values(claimed_until=None, attempts=InboxEvent.attempts - 1)
    )


def pending_inbox_count(session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(InboxEvent).where(InboxEvent.processed_at.is_(None))).one()


def queue_message(
    session: Session,
    now: dt.datetime,
    platform: str,
    recipient: str,
    payload: str,
    reply_token: str | None = None,
    reply_token_expires_at: dt.datetime | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        platform=platform,
        recipient=recipient,
        reply_token=reply_token,
        reply_token_expires_at=reply_token_expires_at,
        payload=payload,
        retry_key=str(uuid.uuid4()),
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def queue_multicast(session: Session, now: dt.datetime, platform: str, recipients: list[str], payload: str) -> None:
    """One message to many people in one call (LINE multicast)."""
    session.add(OutboxMessage(
        platform=platform, recipient="", recipients=json.dumps(recipients), payload=payload,
        retry_key=str(uuid.uuid4()), next_attempt_at=now, created_at=now,
    ))


def claim_outbox_messages(
    session: Session, now: dt.datetime, lease: dt.timedelta, limit: int, platforms: list[str]
) -> list[OutboxMessage]:
    due = sa.and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.platform.in_(platforms),
    )
    return _claim(session, OutboxMessage, due, now, lease, limit)


def settle_outbox_message(
    session: Session,
    message: OutboxMessage,
    status: str,
    now: dt.datetime,
    worker: str,
    error: str | None = None,
    retry_at: dt.datetime | None = None,
) -> None:
    """Records the outcome of one delivery attempt, if this worker still holds the message."""
    values: dict = {"status": status, "last_error": error, "claimed_until": None}
    if status == "sent":
        values |= {"sent_at": now, "sent_by": worker}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(**values)
    )


def volunteer(session: Session, volunteer_id: int) -> Volunteer | None:
    return session.get(Volunteer, volunteer_id)


def prune_delivered(session: Session, inbox_before: dt.datetime, outbox_before: dt.datetime) -> int:
    """Forgets processed events and settled messages once they are old: they only served delivery."""
    removed = session.execute(
        sa.delete(InboxEvent).where(InboxEvent.processed_at.is_not(None), InboxEvent.processed_at < inbox_before)
    ).rowcount
    removed += session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.status != "pending", OutboxMessage.created_at < outbox_before)
    ).rowcount
    return removed


# --- awards and training ------------------------------------------------------------------------


def seed_award_rules(session: Session, definitions: dict[str, str], now: dt.datetime) -> None:
    """Writes the shipped award rows (code → JSON). A row someone changed since the last seed is kept as it is."""
    stored = {row.code: row for row in session.exec(select(AwardRule)).all()}
    for code, definition in definitions.items():
        row = stored.get(code)
        if row is None:
            session.add(AwardRule(code=code, definition=definition, seeded_definition=definition, updated_at=now))
        elif row.definition == row.seeded_definition and row.definition != definition:
            row.definition = row.seeded_definition = definition
            row.updated_at = now
            session.add(row)


def award_rule_definitions(session: Session) -> list[str]:
    return list(session.exec(select(AwardRule.definition).order_by(AwardRule.code)).all())


def counted_service_by_day(session: Session, volunteer_id: int) -> list[tuple[dt.date, int, str, str, bool]]:
    """(service date, minutes, unit category, unit city, recorded in chat) of counted service, summed per day,
    kind of unit and source: hours recorded at a check-out count only from the training day, hand-entered ones
    always."""
    rows = session.execute(
        select(
            ServiceRecord.service_date, sa.func.sum(ServiceRecord.minutes), Unit.category, Unit.city,
            ServiceRecord.source,
        )
        .join(Unit, Unit.id == ServiceRecord.unit_id)
        .where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == "counted",
            ServiceRecord.kind == "service",
        )
        .group_by(ServiceRecord.service_date, Unit.category, Unit.city, ServiceRecord.source)
    ).all()
    return [
        (day, int(minutes), category, city, source == "chat") for day, minutes, category, city, source in rows
    ]


def trainings_of(session: Session, volunteer_id: int) -> list[TrainingRecord]:
    return list(
        session.exec(
            select(TrainingRecord).where(TrainingRecord.volunteer_id == volunteer_id).order_by(TrainingRecord.date)
        ).all()
    )


def grants_of(session: Session, volunteer_id: int) -> list[AwardGrant]:
    return list(
        session.exec(
            select(AwardGrant).where(AwardGrant.volunteer_id == volunteer_id).order_by(AwardGrant.granted_on)
        ).all()
    )


# --- awards of a whole unit (bulk: a few queries for all its members, not a few per member) --------------


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


def _members_of(unit_id: int):
    return select(Membership.volunteer_id).where(Membership.unit_id == unit_id)


def members_with_facts(session: Session, unit_id: int) -> list[MemberFacts]:
    """The unit's members (any role), by id."""
    rows = session.execute(
        select(
            Volunteer.id, Volunteer.name, Volunteer.trained_on, Volunteer.record_book_no, Volunteer.record_book_date,
            Volunteer.english_name, Volunteer.first_service_date, Volunteer.birth_date,
        )
        .join(Membership, Membership.volunteer_id == Volunteer.id)
        .where(Membership.unit_id == unit_id)
        .order_by(Volunteer.id)
    ).all()
    return [MemberFacts(*row) for row in rows]


def member_units(session: Session, unit_id: int) -> list[tuple[int, str, str]]:
    """(volunteer id, unit category, unit city) of every unit the unit's members belong to."""
    rows = session.execute(
        select(Membership.volunteer_id, Unit.category, Unit.city)
        .join(Unit, Unit.id == Membership.unit_id)
        .where(Membership.volunteer_id.in_(_members_of(unit_id)))
    ).all()
    return [tuple(row) for row in rows]


def member_first_trainings(session: Session, unit_id: int) -> list[tuple[int, str, str | None, dt.date]]:
    """(volunteer id, kind, category, first date) of the basic and special trainings of the unit's members."""
    rows = session.execute(
        select(TrainingRecord.volunteer_id, TrainingRecord.kind, TrainingRecord.category, sa.func.min(TrainingRecord.date))
        .where(
            TrainingRecord.volunteer_id.in_(_members_of(unit_id)),
            TrainingRecord.kind.in_(("basic", "special")),
        )
        .group_by(TrainingRecord.volunteer_id, TrainingRecord.kind, TrainingRecord.category)
    ).all()
    return [tuple(row) for row in rows]


def member_grants(session: Session, unit_id: int) -> list[tuple[int, str, dt.date]]:
    """(volunteer id, award code, granted on) of the unit's members, oldest first."""
    rows = session.execute(
        select(AwardGrant.volunteer_id, AwardGrant.award_code, AwardGrant.granted_on)
        .where(AwardGrant.volunteer_id.in_(_members_of(unit_id)))
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


def member_service_buckets(
    session: Session, unit_id: int, boundaries: list[dt.date], until: dt.date, volunteer_ids: list[int] | None = None,
    by_source: bool = False,
) -> list[ServiceBucket]:
    """Counted service of the unit's members (in all their units) up to `until`, summed per member, unit and
    span: up to the first boundary, then up to each next one, then up to `until` (each span ends on its day).

    One grouped query along the covering index, the spans as conditional sums (no join per record).
    `volunteer_ids` narrows it to some members, day by day (boundaries ignored): for those whose spans are their
    own (the day an award was last granted, service before the training day). `by_source` also keeps a day's
    chat-recorded and hand-entered minutes apart; it costs a read of every record (the index has no source),
    so the sums leave it out.
    """
    day, minutes = ServiceRecord.service_date, ServiceRecord.minutes
    counted = (ServiceRecord.status == "counted", ServiceRecord.kind == "service", day <= until)
    if volunteer_ids is not None:
        sources = [ServiceRecord.source] if by_source else []
        totals = (
            select(ServiceRecord.volunteer_id, ServiceRecord.unit_id, day.label("first"), day.label("last"),
                   (ServiceRecord.source == "chat" if by_source else sa.false()).label("from_chat"),
                   sa.func.sum(minutes).label("m0"))
            .where(ServiceRecord.volunteer_id.in_(volunteer_ids), *counted)
            .group_by(ServiceRecord.volunteer_id, ServiceRecord.unit_id, day, *sources)
        )
        ends = []
    else:
        ends = [b for b in sorted(set(boundaries)) if b < until]
        sums = [sa.func.sum(sa.case((day <= end, minutes), else_=0)).label(f"m{n}") for n, end in enumerate(ends)]
        totals = (
            select(ServiceRecord.volunteer_id, ServiceRecord.unit_id, sa.func.min(day).label("first"),
                   sa.literal(until).label("last"), sa.false().label("from_chat"), *sums,
                   sa.func.sum(minutes).label(f"m{len(ends)}"))
            .where(ServiceRecord.volunteer_id.in_(_members_of(unit_id)), *counted)
            .group_by(ServiceRecord.volunteer_id, ServiceRecord.unit_id)
        )
    totals = totals.subquery()
    spans = [totals.c[f"m{n}"] for n in range(len(ends) + 1)]
    rows = session.execute(
        select(totals.c.volunteer_id, Unit.category, Unit.city, totals.c.first, totals.c.last, totals.c.from_chat,
               *spans)
        .join(Unit, Unit.id == totals.c.unit_id)
    ).all()
    if not ends:  # one span a row (day by day, or no window closes): nothing to take apart, no list per row
        return [ServiceBucket(v, category, city, first, last, int(m), bool(from_chat))
                for v, category, city, first, last, from_chat, m in rows]
    found = []
    for volunteer_id, category, city, first, last, from_chat, *cumulative in rows:
        before = 0
        for end, upto in zip([*ends, last], cumulative, strict=True):
            upto = int(upto)
            if upto != before or end == last:
                found.append(ServiceBucket(volunteer_id, category, city, first, end, upto - before, bool(from_chat)))
            before = upto
    return found


def upcoming_training_sessions(
    session: Session, unit_ids: list[int], now: dt.datetime, limit: int
) -> list[tuple]:
    """The units' training sessions (TrainingSession, Unit) starting at `now` or later, soonest first."""
    if not unit_ids:
        return []
    rows = session.exec(
        select(TrainingSession, Unit)
        .join(Unit, Unit.id == TrainingSession.unit_id)
        .where(TrainingSession.unit_id.in_(unit_ids), TrainingSession.starts_at >= now)
        .order_by(TrainingSession.starts_at, TrainingSession.id)
        .limit(limit)
    ).all()
    return [(row, unit) for row, unit in rows]
