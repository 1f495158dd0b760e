"""What erasing a person and the retention periods touch, table by table. Nothing here commits: the caller's
unit of work does. Which values are the person's, and how a text is scrubbed of them, the caller decides
(handlers/people/erasure.py); here are only the statements that find and change the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    AuditEntry,
    AwardGrant,
    ChatAccount,
    InboxEvent,
    Notification,
    OutboxMessage,
    RosterEntry,
    ServiceRecord,
    TrainingRecord,
)


def _like_forms(values: Iterable[str]) -> list[str]:
    """A value as it is written in a column: as typed, and as json.dumps escapes it (audit details, inbox)."""
    forms = set()
    for value in values:
        forms.add(value)
        forms.add(json.dumps(value)[1:-1])
    return sorted(forms)


def _count(result) -> int:
    return int(cast(sa.CursorResult, result).rowcount)


def _mentions(column, values: Iterable[str]) -> sa.ColumnElement[bool]:
    forms = _like_forms(values)
    return sa.or_(sa.false(), *(column.contains(form, autoescape=True) for form in forms))


def chat_actors(session: Session, volunteer_id: int) -> list[tuple[str, str]]:
    """(platform, user id) of every chat account the person has or had: their accounts, and who linked."""
    found = {
        (a.platform, a.platform_user_id)
        for a in session.exec(select(ChatAccount).where(col(ChatAccount.volunteer_id) == volunteer_id)).all()
    }
    for actor in session.exec(
        select(col(AuditEntry.actor)).where(
            col(AuditEntry.action) == "link", col(AuditEntry.target) == f"volunteer:{volunteer_id}"
        )
    ).all():
        platform, _, user_id = actor.partition(":")
        if user_id:
            found.add((platform, user_id))
    return sorted(found)


def audit_details_about(session: Session, volunteer_id: int) -> list[tuple[str, str]]:
    """(action, details) of the audit entries about the person (their adding, naming, setting, import)."""
    rows = session.exec(
        select(col(AuditEntry.action), col(AuditEntry.details)).where(
            col(AuditEntry.target) == f"volunteer:{volunteer_id}"
        )
    ).all()
    return [(action, details) for action, details in rows]


def rename_actor(session: Session, actors: list[str], pseudonym: str) -> None:
    """Every 'who did it' column that names one of the person's chat accounts names the pseudonym instead."""
    if not actors:
        return
    for table, name in (
        (AuditEntry, "actor"),
        (ServiceRecord, "recorded_by"),
        (ServiceRecord, "checked_in_by"),
        (RosterEntry, "added_by"),
        (TrainingRecord, "recorded_by"),
        (AwardGrant, "recorded_by"),
    ):
        column = sa.inspect(table).columns[name]
        session.execute(sa.update(table).where(column.in_(actors)).values({name: pseudonym}))


def forget_messages(session: Session, volunteer_id: int, platform_ids: list[tuple[str, str]], now) -> None:
    """Stored messages to and from the person, and the notices about them (their leave, their feedback, their
    request to be deleted): removed. Their own events in the inbox stay as bare keys (a late redelivery is
    still recognised) with nothing of what they said."""
    session.execute(
        sa.delete(Notification).where(
            sa.or_(
                col(Notification.volunteer_id) == volunteer_id,
                *(
                    col(Notification.key).like(f"{job}:{volunteer_id}:%")
                    for job in ("leave", "feedback", "delete-request")
                ),
            )
        )
    )
    for platform, user_id in platform_ids:
        session.execute(
            sa.delete(OutboxMessage).where(
                col(OutboxMessage.platform) == platform, col(OutboxMessage.recipient) == user_id
            )
        )
        session.execute(
            sa.update(InboxEvent)
            .where(col(InboxEvent.platform) == platform, col(InboxEvent.sender) == user_id)
            .values(
                sender="",
                payload="{}",
                processed_at=sa.func.coalesce(col(InboxEvent.processed_at), now),
                error=sa.case(
                    (col(InboxEvent.processed_at).is_(None), "erased"), else_=col(InboxEvent.error)
                ),
            )
        )


def multicasts_to(session: Session, user_ids: list[str]) -> list[OutboxMessage]:
    """The multicast messages whose list of recipients holds one of these ids."""
    if not user_ids:
        return []
    return list(
        session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.recipients).is_not(None), _mentions(col(OutboxMessage.recipients), user_ids)
            )
        ).all()
    )


def set_recipients(session: Session, message: OutboxMessage, recipients: list[str]) -> None:
    session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id)
        .values(recipients=json.dumps(recipients))
    )


def delete_outbox_mentioning(session: Session, values: list[str]) -> int:
    """Messages whose words name the person (a coordinator's answer about them, a list of the missing)."""
    if not values:
        return 0
    return _count(
        session.execute(sa.delete(OutboxMessage).where(_mentions(col(OutboxMessage.payload), values)))
    )


# The free-text columns a value of the person may stand in, and the rows that are theirs for certain.
SCRUBBED_COLUMNS: tuple[tuple[type, str, str | None], ...] = (
    (Notification, "payload", None),
    (InboxEvent, "payload", None),
    (AuditEntry, "details", "target"),
    (AuditEntry, "reason", "target"),
    (ServiceRecord, "note", "volunteer_id"),
    (TrainingRecord, "course", "volunteer_id"),
)


def scrub_columns(
    session: Session, volunteer_id: int, anywhere: list[str], theirs: list[str], scrub: Callable
) -> int:
    """Rewrites every text that holds one of the person's values: `anywhere` values (names, chat ids, phone,
    record-book number) in any row, `theirs` (dates as well) only in the rows about the person.
    `scrub(text, values)` returns the text without them. Returns how many texts changed."""
    changed = 0
    for table, name, owner in SCRUBBED_COLUMNS:
        columns: sa.ColumnCollection = sa.inspect(table).columns
        column = columns[name]
        own: sa.ColumnElement[bool] = sa.false()
        if owner is not None:
            own = columns[owner] == (f"volunteer:{volunteer_id}" if owner == "target" else volunteer_id)
        found = session.execute(
            sa.select(columns["id"], column, own.label("own")).where(
                sa.or_(_mentions(column, anywhere), sa.and_(own, _mentions(column, theirs)))
            )
        ).all()
        for row_id, text, is_own in found:
            if text is None:
                continue
            new = scrub(text, theirs if is_own else anywhere)
            if new != text:
                session.execute(sa.update(table).where(columns["id"] == row_id).values({name: new}))
                changed += 1
    return changed


# --- retention ----------------------------------------------------------------------------------------


def prune_notifications(session: Session, settled_before: dt.datetime, keep_jobs: tuple[str, ...]) -> int:
    """Notifications settled (sent, dropped) before the instant go; those of `keep_jobs` stay (a request to
    delete, kept until it is done)."""
    deleted = session.execute(
        sa.delete(Notification).where(
            col(Notification.status) != "pending",
            sa.func.coalesce(col(Notification.settled_at), col(Notification.created_at)) < settled_before,
            col(Notification.job).not_in(keep_jobs),
        )
    )
    return _count(deleted)


def clear_old_audit_texts(session: Session, before: dt.datetime) -> int:
    """Audit entries older than the instant keep who, what, when and on what (actor, action, target, at);
    their reason and details (names, numbers typed, free text) go."""
    cleared = session.execute(
        sa.update(AuditEntry)
        .where(
            col(AuditEntry.at) < before,
            sa.or_(col(AuditEntry.reason).is_not(None), col(AuditEntry.details) != "{}"),
        )
        .values(reason=None, details="{}")
    )
    return _count(cleared)
