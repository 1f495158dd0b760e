"""Reminders for volunteers, and the pass that sends what is due: jobs as plain functions of `now`.

Each job looks at the store and stores the notifications due at `now` under unique keys (what, for whom,
which occurrence), so running it twice, after a restart or in two processes at once adds nothing. Then
`dispatch` turns the due notifications into outbox messages in one transaction: one message per person
for what is due at once (a digest), one LINE multicast for the same words to many, nothing during the
unit's quiet hours (it waits for the morning), nothing that has lost its point (dropped), and nudges held
back when LINE's monthly push quota runs low.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from sqlmodel import Session

from handlers.awards.training import session_lines
from handlers.context import Rules
from handlers.formatting import hours_from_minutes, local_date, local_moment
from handlers.i18n import Catalogs, Translator
from handlers.types import Button, Reply, replies_from_json, replies_to_json
from storage import reminder_store as store
from storage import repo
from storage.reminder_store import Recipient

EVENING_BEFORE = dt.time(18, 0)
HOUR_BEFORE = dt.timedelta(hours=1)
STILL_SERVING_AFTER = dt.timedelta(hours=8)
NUDGE_TIME = dt.time(10, 0)  # on the first of the month, local
NUDGE_WITHIN_HOURS = 20
DEFAULT_QUIET_HOURS = "21:00-08:00"
MULTICAST_LIMIT = 500  # LINE's limit of recipients per multicast call
LOW_QUOTA_SHARE = 0.2  # below this share of the month's pushes left, nudges wait and coordinators hear of it
URGENT, NUDGE = 0, 1

# Categories a person can turn off (`提醒 關 訓練`); deadlines are the coordinators'.
CATEGORIES = ("training", "checkout", "awards", "deadlines")


@dataclass(frozen=True)
class LineQuota:
    """LINE's pushes this month: `limit` (None = unlimited) and `used`."""

    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def low(self) -> bool:
        return self.limit is not None and self.remaining < self.limit * LOW_QUOTA_SHARE


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
    job: str, which: str, recipient: Recipient, replies: list[Reply], due_at: dt.datetime,
    expires_at: dt.datetime | None, now: dt.datetime, *, category: str, priority: int = URGENT,
    subject: int | None = None, **extra,
) -> dict:
    """A notification row; its key is what (the job, and which occurrence) and for whom (the chat account)."""
    return {
        "key": notice_key(job, which, recipient),
        "job": job, "category": category, "priority": priority, "volunteer_id": recipient.volunteer_id,
        "unit_id": recipient.unit_id, "platform": recipient.platform, "recipient": recipient.user_id,
        "payload": replies_to_json(replies), "due_at": due_at, "expires_at": expires_at, "status": "pending",
        "subject": subject, "created_at": now, **extra,
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
        notice(d.job, d.which, d.person, [d.words(words(d.person.locale))], d.due_at, d.expires_at, now,
               category=d.category, priority=d.priority, subject=d.subject, deadline=d.deadline,
               occurrence=d.occurrence)
        for key, d in zip(keys, found, strict=True) if key not in stored
    ]
    return store.add_notifications(session, rows)


def tell_coordinators(
    ctx, unit_ids: list[int], job: str, which: str, words: Callable[[Translator], Reply],
    expires_at: dt.datetime | None = None,
) -> int:
    """Something a person did that the units' coordinators should hear (a walk-up, a leave request), sent by
    the reminder pass so quiet hours hold; the person is not told of their own doing."""
    coordinators = [c for c in store.recipients_in_units(ctx.session, unit_ids, "deadlines", coordinators_only=True)
                    if c.volunteer_id != ctx.account.volunteer_id]
    found = [Due(job, which, c, words, ctx.now, expires_at, "deadlines") for c in coordinators]
    return store_new(ctx.session, ctx.now, found, Translators(ctx.catalogs, ctx.rules))


def local_moment_at(day: dt.date, time: dt.time, rules: Rules) -> dt.datetime:
    return dt.datetime.combine(day, time, rules.timezone).astimezone(dt.UTC)


# ---- the jobs -----------------------------------------------------------------------------------------


def training_reminders(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """The unit's training sessions: at 18:00 the evening before, and one hour before, with time and place.

    The evening reminder says "tomorrow", so it is useful only until midnight before the day (and not once
    the hour-before one is due); the hour-before one only until the start. Late is fine; pointless is dropped.
    """
    soon = store.training_sessions_starting(session, now, now + dt.timedelta(hours=31))
    units = store.units_by_id(session, {row.unit_id for row in soon})
    members = defaultdict(list)
    for person in store.recipients_in_units(session, sorted(units), "training"):
        members[person.unit_id].append(person)
    found = []
    for training in soon:
        start_day = training.starts_at.astimezone(rules.timezone).date()
        hour_before = training.starts_at - HOUR_BEFORE
        evening = local_moment_at(start_day - dt.timedelta(days=1), EVENING_BEFORE, rules)
        midnight = local_moment_at(start_day, dt.time(0, 0), rules)
        plans = (
            ("training-evening", evening, min(midnight, hour_before)),
            ("training-hour", hour_before, training.starts_at),
        )
        for job, due, expires in plans:
            if due <= now < expires:
                words = partial(training_reply, job, training, units[training.unit_id], rules)
                found += [Due(job, str(training.id), person, words, due, expires, "training", subject=training.id)
                          for person in members[training.unit_id]]
    return store_new(session, now, found, Translators(catalogs, rules))


def training_reply(job: str, training, unit, rules: Rules, t: Translator) -> Reply:
    head = t("🔔 Training tomorrow") if job == "training-evening" else t("🔔 Training in one hour")
    text = "\n".join([head, *session_lines(t, rules.timezone, training, unit)])
    return Reply(text, (Button(t("My training"), t("training")),))


def still_serving_questions(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """A session still open after 8 hours: ask whether the person is still serving (never invent hours).

    At the maximum (12 h) the session goes to review anyway (jobs.close_overlong_sessions), so the question
    is pointless from then on; questions about sessions closed meanwhile are dropped by the pass.
    """
    today = now.astimezone(rules.timezone).date()
    # Sessions at an event shift are asked about after the shift's end (handlers/shift_reminders.py).
    records = [r for r in store.sessions_open_since(session, now - rules.max_session, now - STILL_SERVING_AFTER)
               if r.shift_id is None]
    accounts: dict[int, list[Recipient]] = defaultdict(list)
    for person in store.recipients_of(session, sorted({r.volunteer_id for r in records}), "checkout"):
        accounts[person.volunteer_id].append(person)

    def question(check_in: dt.datetime, t: Translator) -> Reply:
        since = local_moment(check_in, rules.timezone, t.locale, today)
        text = t("You checked in at {since} and have not checked out. Are you still serving?", since=since)
        return Reply(text, (Button(t("Check out now"), t("check out")), Button(t("Still serving"), t("still serving"))))

    found = [
        Due("still-serving", str(record.id), replace(person, unit_id=record.unit_id), partial(question, record.check_in),
            record.check_in + STILL_SERVING_AFTER, record.check_in + rules.max_session, "checkout", subject=record.id)
        for record in records for person in accounts[record.volunteer_id]
    ]
    return store_new(session, now, found, Translators(catalogs, rules))


def award_nudges(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Once a month (the first pass from 10:00 on the 1st): people within reach of an award hear how close."""
    from handlers.awards.eligibility import eligible_list  # the coordinators' list, computed per unit in bulk

    local = now.astimezone(rules.timezone)
    if local.time() < NUDGE_TIME:
        return 0
    month = f"{local:%Y-%m}"
    if not store.claim_job_run(session, f"award-nudge:{month}", now):
        return 0
    month_end = local_moment_at((local.replace(day=28) + dt.timedelta(days=4)).replace(day=1).date(), dt.time(0), rules)
    nearest = {}
    for unit in repo.all_units(session):
        for row in eligible_list(session, unit.id, local.date(), within_hours=NUDGE_WITHIN_HOURS):
            if row.reached or row.minutes_needed <= 0:
                continue
            best = nearest.get(row.volunteer_id)
            if best is None or row.minutes_needed < best.minutes_needed:
                nearest[row.volunteer_id] = row

    def nudge(row, t: Translator) -> Reply:
        text = t("{hours} h to go for your {award}.", hours=hours_from_minutes(row.minutes_needed, t.locale),
                 award=row.award_name(t.locale))
        if row.next_deadline is not None:
            text += " " + t("Apply by {date}", date=local_date(row.next_deadline, t.locale))
        return Reply(text, (Button(t("My awards"), t("awards")),))

    found = [
        Due("award-nudge", f"{month}:{nearest[person.volunteer_id].award}", person,
            partial(nudge, nearest[person.volunteer_id]), now, month_end, "awards", priority=NUDGE)
        for person in store.recipients_of(session, sorted(nearest), "awards")
    ]
    return store_new(session, now, found, Translators(catalogs, rules))


# ---- the pass: from due notifications to outbox messages ----------------------------------------------


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


@dataclass
class DispatchResult:
    messages: int = 0  # outbox messages written (a multicast is one)
    notifications: int = 0  # notifications they carry
    dropped: int = 0
    waiting: int = 0  # quiet hours, or held back by the quota


def dispatch(
    session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs, line_quota: LineQuota | None = None
) -> DispatchResult:
    """Turns the notifications due at `now` into outbox messages, in the caller's one transaction."""
    result = DispatchResult()
    if line_quota is not None and line_quota.low:
        warn_quota_low(session, now, rules, catalogs, line_quota)
    ready = sendable(session, store.claim_due_notifications(session, now), now, rules, result)
    digests = within_quota(ready, line_quota, result)
    queue_digests(session, now, digests, result)
    store.settle_notifications(session, [i for _payload, ids in digests.values() for i in ids], "queued", now)
    return result


def sendable(session: Session, due: list, now: dt.datetime, rules: Rules, result: DispatchResult) -> list:
    """Drops what has lost its point; holds what falls in its unit's quiet hours; returns the rest."""
    is_obsolete = obsolete_check(session, due)
    dropped = {n.id for n in due if (n.expires_at is not None and n.expires_at <= now) or is_obsolete(n)}
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


def within_quota(ready: list, line_quota: LineQuota | None, result: DispatchResult) -> dict:
    """One digest per person, {(platform, recipient): (payload, notification ids)}, as far as LINE's quota
    goes: a digest costs one push per person; when the quota runs low only urgent reminders go."""
    by_person: dict[tuple[str, str], list] = defaultdict(list)
    for n in ready:  # in priority order, then by due time
        by_person[n.platform, n.recipient].append(n)
    budget = line_quota.remaining if line_quota is not None else None
    digests = {}
    for (platform, recipient), notes in by_person.items():
        if platform == "line" and line_quota is not None:
            if line_quota.low:
                result.waiting += sum(n.priority > URGENT for n in notes)
                notes = [n for n in notes if n.priority == URGENT]
            if not notes:
                continue
            if budget <= 0:  # out of pushes this month: the rest waits (and drops when pointless)
                result.waiting += len(notes)
                continue
            budget -= 1
        digests[platform, recipient] = (digest([n.payload for n in notes]), [n.id for n in notes])
    return digests


def queue_digests(session: Session, now: dt.datetime, digests: dict, result: DispatchResult) -> None:
    """The same words to many LINE users go as one multicast per 500; everything else one message each."""
    line_groups: dict[str, list[str]] = defaultdict(list)
    for (platform, recipient), (payload, ids) in digests.items():
        if platform == "line":
            line_groups[payload].append(recipient)
        else:
            repo.queue_message(session, now, platform, recipient, payload)
            result.messages += 1
        result.notifications += len(ids)
    for payload, recipients in line_groups.items():
        for first in range(0, len(recipients), MULTICAST_LIMIT):
            chunk = recipients[first:first + MULTICAST_LIMIT]
            if len(chunk) == 1:
                repo.queue_message(session, now, "line", chunk[0], payload)
            else:
                repo.queue_multicast(session, now, "line", chunk, payload)
            result.messages += 1


def digest(payloads: list[str]) -> str:
    """Several reminders for one person at one time, as one message: their texts, then their buttons."""
    if len(payloads) == 1:
        return payloads[0]
    replies = [reply for payload in payloads for reply in replies_from_json(payload)]
    buttons = tuple(dict.fromkeys(button for reply in replies for button in reply.buttons))
    return replies_to_json([Reply("\n\n".join(reply.text for reply in replies), buttons[:13])])


def obsolete_check(session: Session, due: list) -> Callable[[object], bool]:
    """Whether a due notification has lost its point: a still-serving question about a closed session."""
    asked = [n.subject for n in due if n.job == "still-serving" and n.subject is not None]
    still_open = repo.open_session_ids(session, asked) if asked else set()
    return lambda n: n.job == "still-serving" and n.subject not in still_open


def warn_quota_low(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs, quota: LineQuota) -> None:
    """Once a month, every coordinator hears that LINE's pushes are running out."""
    month = f"{now.astimezone(rules.timezone):%Y-%m}"
    words = Translators(catalogs, rules)
    coordinators = store.recipients_in_units(session, [u.id for u in repo.all_units(session)], "deadlines",
                                             coordinators_only=True)
    rows, seen = [], set()
    for person in coordinators:
        if (person.platform, person.user_id) in seen:
            continue
        seen.add((person.platform, person.user_id))
        t = words(person.locale)
        text = t("⚠️ Only {left} of this month's {limit} LINE pushes are left. Reminders about awards wait "
                 "until next month; deadline and training reminders go first.", left=quota.remaining,
                 limit=quota.limit)
        rows.append(notice("quota-low", month, person, [Reply(text)], now, None, now, category="deadlines"))
    store.add_notifications(session, rows)
