"""The inbox (platform events stored before the webhook answers) and the outbox (answers to send). Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.db import insert_new_keys
from storage.driver import Prepared, inserting
from storage.models import (
    InboxEvent,
    OutboxMessage,
)


def store_inbox_events(
    session: Session, events: list[tuple[str, str, str, str, dt.datetime]]
) -> list[tuple[int | None, str]]:
    """Stores (platform, key, sender, payload, received_at) rows in one statement; a key seen before
    (a redelivery) is ignored. Returns (inbox id of the event stored before, platform) for each event so
    dropped: the insert gives the keys it stored (storage/db.py insert_new_keys), and only when fewer than
    given are the others looked up."""
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
    inserted = insert_new_keys(session, _INBOX, rows, ["platform", "event_key"])
    if len(inserted) == len(rows):
        return []
    # A key stored before, or given twice here (LINE redelivering while the first is being stored).
    given = Counter((platform, key) for platform, key, *_ in events)
    dropped = given - Counter((platform, key) for platform, key in inserted)
    looked_up = sa.select(_INBOX.c.platform, _INBOX.c.event_key, _INBOX.c.id).where(
        sa.tuple_(_INBOX.c.platform, _INBOX.c.event_key).in_(list(dropped))
    )
    stored: dict[tuple[str, str], int] = {
        (platform, key): inbox_id for platform, key, inbox_id in session.execute(looked_up)
    }
    # (None only if the row stored before was deleted meanwhile: the retention job keeps events for days.)
    return [(stored.get(key), key[0]) for key, times in sorted(dropped.items()) for _ in range(times)]


# PostgreSQL's channels between processes sharing the inbox (SQLite's worker runs in the webhook's own
# process, which is told directly).
INBOX_CHANNEL = "vbot_inbox"  # events were stored: the workers LISTEN on it
CLAIMED_CHANNEL = "vbot_claimed"  # a worker claimed events: webhook processes LISTEN (bot/backlog_gate.py)


def announce_new_events(session: Session) -> None:
    """Wakes the workers of other processes as this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"NOTIFY {INBOX_CHANNEL}"))


_INBOX = InboxEvent.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def _claim_statement(table: sa.Table, *due, in_order=None, also: dict | None = None) -> sa.Update:
    """A queue's claim as one statement, built once: the due rows nobody holds (`due`, and no lease or one
    that ran out; FOR UPDATE SKIP LOCKED on PostgreSQL), the first `limit` of them by id, are given to one
    claimant for a lease (`b_until`, `b_token`), an attempt counted, and returned as they are now (RETURNING:
    no second read). `in_order(candidates)`: which of the candidates may be taken; `also`: more columns to
    set (from the row as it was before the claim). The inbox and the outbox are claimed the same way."""
    free = sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < sa.bindparam("now"))
    candidates = (
        sa.select(*(column for column in table.c if column.name in ("id", "platform", "sender")))
        .where(*due, free)
        .order_by(table.c.id)
        .limit(sa.bindparam("limit"))
        .with_for_update(skip_locked=True)
        .cte(f"{table.name}_due")
    )
    taken = sa.select(candidates.c.id)
    if in_order is not None:
        taken = taken.where(in_order(candidates))
    return (
        sa.update(table)
        .where(table.c.id.in_(taken))
        .values(
            claimed_until=sa.bindparam("b_until"),
            claim_token=sa.bindparam("b_token"),
            attempts=table.c.attempts + 1,
            **(also or {}),
        )
        .returning(*table.c)
    )


def _no_earlier_event_left_out(candidates):
    """A person's events are handled in order, also when several processes share the inbox (a check-out must
    not overtake its check-in): a candidate waits while an earlier event of its sender, not among the
    candidates, is not done (held by another worker, or waiting for a retry)."""
    earlier = _INBOX.alias("earlier")
    return sa.or_(
        candidates.c.sender == "",
        ~sa.exists().where(
            earlier.c.platform == candidates.c.platform,
            earlier.c.sender == candidates.c.sender,
            earlier.c.processed_at.is_(None),
            earlier.c.id < candidates.c.id,
            earlier.c.id.not_in(sa.select(candidates.c.id)),
        ),
    )


# The worker's claim: it runs for every batch, and for every event when they come one by one. On PostgreSQL
# it also tells the webhook processes, as it commits, that events were claimed (bot/backlog_gate.py): the
# notification is asked for with each row returned, so only a claim that took something sends it, and
# PostgreSQL delivers one however many rows asked (the same channel and payload in one transaction).
_CLAIM_EVENTS_ANYWHERE = _claim_statement(
    _INBOX, _INBOX.c.processed_at.is_(None), in_order=_no_earlier_event_left_out
)
_CLAIM_EVENTS = Prepared(
    {
        "sqlite": _CLAIM_EVENTS_ANYWHERE,
        "postgresql": _CLAIM_EVENTS_ANYWHERE.returning(
            sa.func.pg_notify(CLAIMED_CHANNEL, "").label("announced")
        ),
    }
)


def claim_inbox_events(session: Session, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Any]:
    """Takes up to `limit` due events for this worker alone until the lease ends, one claim token for all;
    returns them in id order, as rows with InboxEvent's fields.

    An event is left for later while an earlier event of its sender, not among those taken, is not done;
    earlier events of the same sender taken together are worked off in id order. On PostgreSQL the webhook
    processes that LISTEN on CLAIMED_CHANNEL hear of a claim that took any, as it commits."""
    claimed = _CLAIM_EVENTS.rows(session, now=now, limit=limit, b_until=now + lease, b_token=uuid.uuid4().hex)
    return sorted(claimed, key=lambda event: event.id)  # RETURNING keeps no order


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


# The events of one claim share its token and are worked off in id order: those taken in one transaction are
# the claim's events between the first and the last of them (no id list: a statement on the driver's cursor).
_FINISH_CLAIMED = Prepared(
    sa.update(_INBOX)
    .where(
        _INBOX.c.claim_token == sa.bindparam("token"),
        _INBOX.c.id.between(sa.bindparam("first"), sa.bindparam("last")),
    )
    .values(processed_at=sa.bindparam("now"), error=None, claimed_until=None)
)


def finish_claimed_events(session: Session, events: list[InboxEvent], now: dt.datetime) -> bool:
    """Marks events of one claim done in one statement: `events` is a run of the claim's events, in id order,
    none left out between the first and the last. False when another worker took any of them over (then the
    caller must not commit)."""
    if not events:
        return True
    done = _FINISH_CLAIMED.run(
        session, token=events[0].claim_token, first=events[0].id, last=events[-1].id, now=now
    )
    return done == len(events)


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


# How far the workers are behind: events stored and waiting for one to take them (never claimed, or their
# lease ran out). Those a worker holds, and those waiting for their retry time, are not counted.
_WAITING_EVENTS = Prepared(
    sa.select(sa.func.count())
    .select_from(_INBOX)
    .where(
        _INBOX.c.processed_at.is_(None),
        sa.or_(_INBOX.c.claimed_until.is_(None), _INBOX.c.claimed_until < sa.bindparam("now")),
    )
)


def waiting_inbox_count(session: Session, now: dt.datetime) -> int:
    return _WAITING_EVENTS.scalar(session, now=now)


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


_QUEUE_ANSWER = Prepared(
    inserting(
        _OUTBOX,
        "platform recipient reply_token reply_token_expires_at payload recipients retry_key status attempts "
        "parts_sent in_doubt next_attempt_at created_at".split(),
    )
)


def answer(
    now: dt.datetime,
    platform: str,
    recipient: str,
    payload: str,
    reply_token: str | None,
    reply_token_expires_at: dt.datetime | None,
) -> dict[str, Any]:
    """The outbox row of the worker's answer to an event, for queue_answers."""
    return {
        "platform": platform,
        "recipient": recipient,
        "reply_token": reply_token,
        "reply_token_expires_at": reply_token_expires_at,
        "payload": payload,
        "recipients": None,
        "retry_key": str(uuid.uuid4()),
        "status": "pending",
        "attempts": 0,
        "parts_sent": 0,
        "in_doubt": False,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_answers(session: Session, answers: list[dict[str, Any]]) -> None:
    """The worker's answers to the events of one transaction (`answer`), in the events' order: one prebuilt
    INSERT for all (the hot path: on PostgreSQL one round trip, not one an event), after whatever was queued
    before them (messages to one person go out in the order they were written)."""
    if answers:
        _QUEUE_ANSWER.run_many(session, answers)


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


# The sender's claim, built once like the worker's (it runs for every answer when they come one by one), for
# the platforms the process sends to: the due messages nobody holds (FOR UPDATE SKIP LOCKED on PostgreSQL, so
# concurrent senders take disjoint rows; on SQLite the transaction began IMMEDIATE) are given to this sender
# and read. One taken whose lease ran out without an outcome is marked in doubt as it is taken (the process
# died, or stalled, with it in flight, so whether the platform took it is unknown): a free row with a lease
# is one whose lease ran out, and the claim's SET reads the row as it was.
@functools.cache
def _claim_messages(platforms: tuple[str, ...]) -> Prepared:
    due = (
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.next_attempt_at <= sa.bindparam("now"),
        sa.or_(sa.false(), *(_OUTBOX.c.platform == platform for platform in platforms)),
    )
    ran_out = {"in_doubt": sa.or_(_OUTBOX.c.in_doubt, _OUTBOX.c.claimed_until.is_not(None))}
    return Prepared(_claim_statement(_OUTBOX, *due, also=ran_out))


def claim_outbox_messages(
    session: Session, now: dt.datetime, lease: dt.timedelta, limit: int, platforms: list[str]
) -> list[Any]:
    """Takes up to `limit` due messages of `platforms` for this sender alone until the lease ends; returns
    them in id order (the order they were written), as rows with OutboxMessage's fields."""
    claimed = _claim_messages(tuple(sorted(platforms))).rows(
        session, now=now, limit=limit, b_until=now + lease, b_token=uuid.uuid4().hex
    )
    return sorted(claimed, key=lambda message: message.id)  # RETURNING keeps no order


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


_MARK_SENT = Prepared(
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("b_id"), _OUTBOX.c.claim_token == sa.bindparam("b_token"))
    .values(
        status="sent",
        last_error=None,
        claimed_until=None,
        sent_at=sa.bindparam("b_now"),
        sent_by=sa.bindparam("b_worker"),
        parts_sent=sa.bindparam("b_parts"),
        in_doubt=sa.bindparam("b_in_doubt"),
    )
)


def mark_sent(
    session: Session, sent: list[tuple[OutboxMessage, dict]], now: dt.datetime, worker: str
) -> list[tuple[OutboxMessage, dict]]:
    """Records many deliveries as sent in one statement (run for each message), where this worker still holds
    them; `dict` is what each attempt learnt (settle_outbox_message's `progress`). Returns those it cannot
    record so (a spent reply token to forget): the caller settles them one by one."""
    plain = [(m, p) for m, p in sent if "reply_token" not in p]
    if plain:
        _MARK_SENT.run_many(
            session,
            [
                {
                    "b_id": message.id,
                    "b_token": message.claim_token,
                    "b_now": now,
                    "b_worker": worker,
                    "b_parts": progress.get("parts_sent", message.parts_sent),
                    "b_in_doubt": progress.get("in_doubt", message.in_doubt),
                }
                for message, progress in plain
            ],
        )
    return [(m, p) for m, p in sent if "reply_token" in p]


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
