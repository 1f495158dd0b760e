"""The inbox (platform events stored before the webhook answers) and the outbox (answers to send). Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_duplicates
from storage.models import (
    InboxEvent,
    OutboxMessage,
)


def store_inbox_events(session: Session, events: list[tuple[str, str, str, str, dt.datetime]]) -> None:
    """Stores (platform, key, sender, payload, received_at) rows in one statement; a key seen before
    (a redelivery) is ignored."""
    rows = [
        {
            "platform": platform,
            "event_key": key,
            "sender": sender,
            "payload": payload,
            "received_at": received_at,
            "attempts": 0,
        }
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


def claim_inbox_events(
    session: Session, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[InboxEvent]:
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


def finish_inbox_event(
    session: Session, event: InboxEvent, now: dt.datetime, error: str | None = None
) -> bool:
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
    return session.exec(
        select(sa.func.count()).select_from(InboxEvent).where(InboxEvent.processed_at.is_(None))
    ).one()


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


def queue_multicast(
    session: Session, now: dt.datetime, platform: str, recipients: list[str], payload: str
) -> None:
    """One message to many people in one call (LINE multicast)."""
    session.add(
        OutboxMessage(
            platform=platform,
            recipient="",
            recipients=json.dumps(recipients),
            payload=payload,
            retry_key=str(uuid.uuid4()),
            next_attempt_at=now,
            created_at=now,
        )
    )


def claim_outbox_messages(
    session: Session, now: dt.datetime, lease: dt.timedelta, limit: int, platforms: list[str]
) -> list[OutboxMessage]:
    due = sa.and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.platform.in_(platforms),
    )
    # A lease that ran out without an outcome: the process died (or stalled) with the message in flight, so
    # whether the platform took it is unknown.
    session.execute(
        sa.update(OutboxMessage)
        .where(due, col(OutboxMessage.claimed_until).is_not(None), col(OutboxMessage.claimed_until) < now)
        .values(in_doubt=True)
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
    *,
    progress: dict | None = None,
) -> None:
    """Records the outcome of one delivery attempt, if this worker still holds the message. `progress`: what
    the attempt learnt (`parts_sent`, `in_doubt`, a spent `reply_token` as None)."""
    values: dict = {"status": status, "last_error": error, "claimed_until": None, **(progress or {})}
    if status == "sent":
        values |= {"sent_at": now, "sent_by": worker}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(**values)
    )


def prune_delivered(session: Session, inbox_before: dt.datetime, outbox_before: dt.datetime) -> int:
    """Forgets processed events and settled messages once they are old: they only served delivery."""
    removed = session.execute(
        sa.delete(InboxEvent).where(
            InboxEvent.processed_at.is_not(None), InboxEvent.processed_at < inbox_before
        )
    ).rowcount
    removed += session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.status != "pending", OutboxMessage.created_at < outbox_before
        )
    ).rowcount
    return removed


def queue_figures(session: Session) -> tuple[int, dt.datetime | None, list[tuple[str, str, int]]]:
    """For /metrics: events not yet processed, when the oldest of them arrived, and the outbox's messages
    counted by platform and status (pending, sent, failed)."""
    waiting, oldest = session.exec(
        select(sa.func.count(), sa.func.min(InboxEvent.received_at)).where(
            col(InboxEvent.processed_at).is_(None)
        )
    ).one()
    by_status = session.exec(
        select(OutboxMessage.platform, OutboxMessage.status, sa.func.count()).group_by(
            OutboxMessage.platform, OutboxMessage.status
        )
    ).all()
    return waiting, oldest, [(platform, status, count) for platform, status, count in by_status]
