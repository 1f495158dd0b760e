"""The reminder pass: the notifications due at `now` into outbox messages, in one transaction.

One message per person for what is due at once (a digest), one multicast for the same words to many where
the platform has it, nothing during the unit's quiet hours (it waits for the morning), nothing that has lost
its point (dropped), and nudges held back when a platform's monthly push quota runs low. What each platform
allows (its quota, its multicast limit) the caller says, as PushTerms per platform (bot/app.py asks the
channels).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlmodel import Session

from handlers.context import Rules
from handlers.i18n import Catalogs
from handlers.notifications import DEFAULT_QUIET_HOURS, URGENT, Translators, in_quiet_hours, notice
from handlers.types import PushTerms, Reply, replies_from_json, replies_to_json
from storage import people_store, queue_store, service_store
from storage import reminder_store as store

LOW_QUOTA_SHARE = 0.2  # below this share of the month's pushes left, nudges wait and coordinators hear of it
NO_TERMS = PushTerms()  # a platform nobody described: no quota, no multicast


def quota_low(terms: PushTerms) -> bool:
    return terms.quota_limit is not None and terms.quota_left < terms.quota_limit * LOW_QUOTA_SHARE


@dataclass
class DispatchResult:
    messages: int = 0  # outbox messages written (a multicast is one)
    notifications: int = 0  # notifications they carry
    dropped: int = 0
    waiting: int = 0  # quiet hours, or held back by the quota


def dispatch(
    session: Session,
    now: dt.datetime,
    rules: Rules,
    catalogs: Catalogs,
    terms: Mapping[str, PushTerms] | None = None,
) -> DispatchResult:
    """Turns the notifications due at `now` into outbox messages, in the caller's one transaction.
    `terms`: what each platform allows (by platform name); a platform not named has no quota and no multicast."""
    result = DispatchResult()
    terms = terms or {}
    for platform_terms in terms.values():
        if quota_low(platform_terms):
            warn_quota_low(session, now, rules, catalogs, platform_terms)
    ready = sendable(session, store.claim_due_notifications(session, now), now, rules, result)
    digests = within_quota(ready, terms, result)
    queue_digests(session, now, digests, terms, result)
    store.settle_notifications(session, [i for _payload, ids in digests.values() for i in ids], "queued", now)
    return result


def sendable(session: Session, due: list, now: dt.datetime, rules: Rules, result: DispatchResult) -> list:
    """Drops what has lost its point or goes to a person who blocked the bot since it was stored (LINE would
    count the push against the month's quota, Telegram refuse it); holds what falls in its unit's quiet
    hours; returns the rest."""
    is_obsolete = obsolete_check(session, due)
    blocked = store.unreachable_accounts(session, {(n.platform, n.recipient) for n in due})
    dropped = {
        n.id
        for n in due
        if (n.expires_at is not None and n.expires_at <= now)
        or is_obsolete(n)
        or (n.platform, n.recipient) in blocked
    }
    store.settle_notifications(session, sorted(dropped), "dropped", now)
    result.dropped = len(dropped)
    quiet = store.quiet_hours_of(session, {n.unit_id for n in due if n.unit_id is not None})
    ready = []
    for n in due:
        if n.id in dropped:
            continue
        if in_quiet_hours(now, quiet.get(n.unit_id, DEFAULT_QUIET_HOURS), rules):
            result.waiting += 1
        else:
            ready.append(n)
    return ready


def within_quota(ready: list, terms: Mapping[str, PushTerms], result: DispatchResult) -> dict:
    """One digest per person, {(platform, recipient): (payload, notification ids)}, as far as each platform's
    quota goes: a digest costs one push per person; when the quota runs low only urgent reminders go."""
    by_person: dict[tuple[str, str], list] = defaultdict(list)
    for n in ready:  # in priority order, then by due time
        by_person[n.platform, n.recipient].append(n)
    budgets = {platform: t.quota_left for platform, t in terms.items() if t.quota_limit is not None}
    digests = {}
    for (platform, recipient), notes in by_person.items():
        if platform in budgets:
            if quota_low(terms[platform]):
                result.waiting += sum(n.priority > URGENT for n in notes)
                notes = [n for n in notes if n.priority == URGENT]
            if not notes:
                continue
            if budgets[platform] <= 0:  # out of pushes this month: the rest waits (and drops when pointless)
                result.waiting += len(notes)
                continue
            budgets[platform] -= 1
        digests[platform, recipient] = (digest([n.payload for n in notes]), [n.id for n in notes])
    return digests


def queue_digests(
    session: Session, now: dt.datetime, digests: dict, terms: Mapping[str, PushTerms], result: DispatchResult
) -> None:
    """The same words to many people of a platform that multicasts go as one multicast per its limit of
    recipients; everything else one message each."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (platform, recipient), (payload, ids) in digests.items():
        if terms.get(platform, NO_TERMS).multicast_limit:
            groups[platform, payload].append(recipient)
        else:
            queue_store.queue_message(session, now, platform, recipient, payload)
            result.messages += 1
        result.notifications += len(ids)
    for (platform, payload), recipients in groups.items():
        limit = terms[platform].multicast_limit
        for first in range(0, len(recipients), limit):
            chunk = recipients[first : first + limit]
            if len(chunk) == 1:
                queue_store.queue_message(session, now, platform, chunk[0], payload)
            else:
                queue_store.queue_multicast(session, now, platform, chunk, payload)
            result.messages += 1


def digest(payloads: list[str]) -> str:
    """Several reminders for one person at one time, as one message: their texts, then all their buttons
    (each channel shows as many as its platform allows and lists the words of the others: none is cut)."""
    if len(payloads) == 1:
        return payloads[0]
    replies = [reply for payload in payloads for reply in replies_from_json(payload)]
    buttons = tuple(dict.fromkeys(button for reply in replies for button in reply.buttons))
    return replies_to_json([Reply("\n\n".join(reply.text for reply in replies), buttons)])


def obsolete_check(session: Session, due: list) -> Callable[[object], bool]:
    """Whether a due notification has lost its point: a still-serving question about a closed session."""
    asked = [n.subject for n in due if n.job == "still-serving" and n.subject is not None]
    still_open = service_store.open_visit_ids(session, asked) if asked else set()
    return lambda n: n.job == "still-serving" and n.subject not in still_open


def warn_quota_low(
    session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs, quota: PushTerms
) -> None:
    """Once a month, every coordinator hears that the platform's pushes are running out."""
    month = f"{now.astimezone(rules.timezone):%Y-%m}"
    words = Translators(catalogs, rules)
    coordinators = store.recipients_in_units(
        session, [u.id for u in people_store.all_units(session)], "deadlines", coordinators_only=True
    )
    rows, seen = [], set()
    for person in coordinators:
        if (person.platform, person.user_id) in seen:
            continue
        seen.add((person.platform, person.user_id))
        t = words(person.locale)
        text = t(
            "⚠️ Only {left} of this month's {limit} LINE pushes are left. Reminders about awards wait "
            "until next month; deadline and training reminders go first.",
            left=quota.quota_left,
            limit=quota.quota_limit,
        )
        rows.append(notice("quota-low", month, person, [Reply(text)], now, None, now, category="deadlines"))
    store.add_notifications(session, rows)
