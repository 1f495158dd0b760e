"""What a handler or a job tells people later: found due, worded once in each person's language, stored under
a key (what, for whom, which occurrence) so that a second pass, a restart or a second process adds nothing,
and sent by the reminder pass (handlers/jobs/dispatch.py), which keeps the units' quiet hours.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from handlers.context import Rules
from handlers.i18n import Catalogs, Translator
from handlers.types import Reply, replies_to_json
from storage import people_store
from storage import reminder_store as store
from storage.reminder_store import Recipient

DEFAULT_QUIET_HOURS = "21:00-08:00"
URGENT, NUDGE = 0, 1

# Categories a person can turn off (`提醒 關 訓練`); deadlines are the coordinators'.
REMINDER_CATEGORIES = ("training", "checkout", "awards", "deadlines")


class Translators:
    """One translator per locale for a whole job: a job words the same reminder for thousands of people."""

    def __init__(self, catalogs: Catalogs, rules: Rules):
        self.catalogs, self.default = catalogs, rules.default_locale
        self._made: dict[str, Translator] = {}

    def __call__(self, locale: str | None) -> Translator:
        locale = locale or self.default
        if locale not in self._made:
            self._made[locale] = self.catalogs.translator(locale)
        return self._made[locale]


def notice(
    job: str,
    which: str,
    recipient: Recipient,
    replies: list[Reply],
    due_at: dt.datetime,
    expires_at: dt.datetime | None,
    now: dt.datetime,
    *,
    category: str,
    priority: int = URGENT,
    subject: int | None = None,
    **extra,
) -> dict:
    """A notification row; its key is what (the job, and which occurrence) and for whom (the chat account)."""
    return {
        "key": notice_key(job, which, recipient),
        "job": job,
        "category": category,
        "priority": priority,
        "volunteer_id": recipient.volunteer_id,
        "unit_id": recipient.unit_id,
        "platform": recipient.platform,
        "recipient": recipient.user_id,
        "payload": replies_to_json(replies),
        "due_at": due_at,
        "expires_at": expires_at,
        "status": "pending",
        "subject": subject,
        "created_at": now,
        **extra,
    }


def notice_key(job: str, which: str, recipient: Recipient) -> str:
    return f"{job}:{which}:{recipient.platform}:{recipient.user_id}"


@dataclass(frozen=True)
class Due:
    """A reminder a job found due, not yet worded: `words` writes it in a person's language."""

    job: str
    which: str  # the occurrence: a training session's id, a month and award …
    person: Recipient
    words: Callable[[Translator], Reply]
    due_at: dt.datetime
    expires_at: dt.datetime | None
    category: str
    priority: int = URGENT
    subject: int | None = None
    deadline: str | None = None
    occurrence: dt.date | None = None


def store_new(session: Session, now: dt.datetime, found: list[Due], words: Translators) -> int:
    """Stores the reminders whose keys are new, worded only then: a job runs every minute while a reminder
    is due, and wording it again for thousands of people only to find the key taken would cost seconds."""
    keys = [notice_key(d.job, d.which, d.person) for d in found]
    stored = store.known_keys(session, keys)
    rows = [
        notice(
            d.job,
            d.which,
            d.person,
            [d.words(words(d.person.locale))],
            d.due_at,
            d.expires_at,
            now,
            category=d.category,
            priority=d.priority,
            subject=d.subject,
            deadline=d.deadline,
            occurrence=d.occurrence,
        )
        for key, d in zip(keys, found, strict=True)
        if key not in stored
    ]
    return store.add_notifications(session, rows)


def tell_coordinators(
    ctx,
    unit_ids: list[int],
    job: str,
    which: str,
    words: Callable[[Translator], Reply],
    expires_at: dt.datetime | None = None,
) -> int:
    """Something a person did that the units' coordinators should hear (a walk-up, a leave request), sent by
    the reminder pass so quiet hours hold; the person is not told of their own doing."""
    coordinators = [
        c
        for c in store.recipients_in_units(ctx.session, unit_ids, "deadlines", coordinators_only=True)
        if c.volunteer_id != ctx.volunteer_id
    ]
    found = [Due(job, which, c, words, ctx.now, expires_at, "deadlines") for c in coordinators]
    return store_new(ctx.session, ctx.now, found, Translators(ctx.catalogs, ctx.rules))


@dataclass(frozen=True)
class Unreachable:
    """A member who blocked the bot on a platform: nothing reaches them there until they follow it again."""

    volunteer_id: int
    name: str
    platform: str
    since: dt.datetime


def unreachable_people(session: Session, unit_id: int) -> list[Unreachable]:
    """The unit's members who cannot be reached on a chat account (they blocked the bot), by name: for the
    coordinators' 現場, `vbot volunteer unreachable` and the console."""
    return [Unreachable(*row) for row in people_store.unreachable_members(session, [unit_id])]


def unreachable_line(t: Translator, session: Session, unit_ids: list[int]) -> str:
    """One line naming the members of these units who blocked the bot, or "" when everyone can be reached."""
    names = dict.fromkeys(name for _v, name, _p, _s in people_store.unreachable_members(session, unit_ids))
    if not names:
        return ""
    return t("🔕 Blocked the bot, reminders cannot reach them: {names}", names="、".join(names))


def local_moment_at(day: dt.date, time: dt.time, rules: Rules) -> dt.datetime:
    return dt.datetime.combine(day, time, rules.timezone).astimezone(dt.UTC)


def in_quiet_hours(moment: dt.datetime, quiet_hours: str, rules: Rules) -> bool:
    """`21:00-08:00` spans midnight; `13:00-14:00` does not; an unreadable value means no quiet hours."""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in quiet_hours.split("-"))
    except ValueError:
        return False
    local = moment.astimezone(rules.timezone).time()
    return (start <= local < end) if start <= end else (local >= start or local < end)


def parse_quiet_hours(text: str) -> str:
    """`21:00-08:00` (or `21:00-8:00`) as stored; ValueError on anything else (for the command line)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    try:
        if not match:
            raise ValueError
        start, end = dt.time(int(match[1]), int(match[2])), dt.time(int(match[3]), int(match[4]))
    except ValueError:
        raise ValueError(f"quiet hours {text!r}: give them as HH:MM-HH:MM, e.g. 21:00-08:00") from None
    return f"{start:%H:%M}-{end:%H:%M}"
