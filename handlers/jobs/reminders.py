"""Reminders for volunteers: trainings, a check-out forgotten, an award within reach; jobs as plain
functions of `now`.

Each job looks at the store and stores the notifications due at `now` under unique keys (what, for whom,
which occurrence), so running it twice, after a restart or in two processes at once adds nothing; the
pass of handlers/jobs/dispatch.py sends them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from functools import partial

from sqlmodel import Session

from handlers.awards.training import class_lines
from handlers.context import Rules
from handlers.formatting import hours_to_go, local_date, local_moment
from handlers.i18n import Catalogs, Translator
from handlers.notifications import NUDGE, Due, Translators, local_moment_at, store_new
from handlers.types import Button, Reply
from storage import people_store
from storage import reminder_store as store
from storage.reminder_store import Recipient

EVENING_BEFORE = dt.time(18, 0)
HOUR_BEFORE = dt.timedelta(hours=1)
STILL_SERVING_AFTER = dt.timedelta(hours=8)
NUDGE_TIME = dt.time(10, 0)  # on the first of the month, local
NUDGE_WITHIN_HOURS = 20


def before_start(starts_at: dt.datetime, rules: Rules) -> tuple[tuple[str, dt.datetime, dt.datetime], ...]:
    """The two reminders of a training session or a shift, (which, due, expires): `evening` at 18:00 the
    evening before, useful until midnight before the day (and not once the other is due), and `hour` one hour
    before, useful until the start."""
    start_day = starts_at.astimezone(rules.timezone).date()
    hour_before = starts_at - HOUR_BEFORE
    evening = local_moment_at(start_day - dt.timedelta(days=1), EVENING_BEFORE, rules)
    midnight = local_moment_at(start_day, dt.time(0, 0), rules)
    return (("evening", evening, min(midnight, hour_before)), ("hour", hour_before, starts_at))


# ---- the jobs -----------------------------------------------------------------------------------------


def training_reminders(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """The unit's training sessions: at 18:00 the evening before, and one hour before, with time and place.

    The evening reminder says "tomorrow", so it is useful only until midnight before the day (and not once
    the hour-before one is due); the hour-before one only until the start. Late is fine; pointless is dropped.
    """
    soon = store.training_classes_starting(session, now, now + dt.timedelta(hours=31))
    units = store.units_by_id(session, {row.unit_id for row in soon})
    members = defaultdict(list)
    for person in store.recipients_in_units(session, sorted(units), "training"):
        members[person.unit_id].append(person)
    found = []
    for training in soon:
        for which, due, expires in before_start(training.starts_at, rules):
            job = f"training-{which}"
            if due <= now < expires:
                words = partial(training_reply, job, training, units[training.unit_id], rules)
                found += [
                    Due(job, str(training.id), person, words, due, expires, "training", subject=training.id)
                    for person in members[training.unit_id]
                ]
    return store_new(session, now, found, Translators(catalogs, rules))


def training_reply(job: str, training, unit, rules: Rules, t: Translator) -> Reply:
    head = t("🔔 Training tomorrow") if job == "training-evening" else t("🔔 Training in one hour")
    text = "\n".join([head, *class_lines(t, rules.timezone, training, unit)])
    return Reply(text, (Button(t("My training"), t("training")),))


def still_serving_questions(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """A session still open after 8 hours: ask whether the person is still serving (never invent hours).

    At the maximum (12 h) the session goes to review anyway (jobs.close_overlong_sessions), so the question
    is pointless from then on; questions about sessions closed meanwhile are dropped by the pass.
    """
    today = now.astimezone(rules.timezone).date()
    # Sessions at an event shift are asked about after the shift's end (handlers/shift_reminders.py).
    records = [
        r
        for r in store.visits_open_since(session, now - rules.max_visit, now - STILL_SERVING_AFTER)
        if r.shift_id is None
    ]
    accounts: dict[int, list[Recipient]] = defaultdict(list)
    for person in store.recipients_of(session, sorted({r.volunteer_id for r in records}), "checkout"):
        accounts[person.volunteer_id].append(person)

    def question(check_in: dt.datetime, t: Translator) -> Reply:
        since = local_moment(check_in, rules.timezone, t.locale, today)
        text = t("You checked in at {since} and have not checked out. Are you still serving?", since=since)
        return Reply(
            text, (Button(t("Check out now"), t("check out")), Button(t("Still serving"), t("still serving")))
        )

    found = [
        Due(
            "still-serving",
            str(record.id),
            replace(person, unit_id=record.unit_id),
            partial(question, record.check_in),
            record.check_in + STILL_SERVING_AFTER,
            record.check_in + rules.max_visit,
            "checkout",
            subject=record.id,
        )
        for record in records
        for person in accounts[record.volunteer_id]
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
    month_end = local_moment_at(
        (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1).date(), dt.time(0), rules
    )
    nearest = {}
    for unit in people_store.all_units(session):
        for row in eligible_list(session, unit.id, local.date(), within_hours=NUDGE_WITHIN_HOURS):
            if row.reached or row.minutes_needed <= 0:
                continue
            best = nearest.get(row.volunteer_id)
            if best is None or row.minutes_needed < best.minutes_needed:
                nearest[row.volunteer_id] = row

    def nudge(row, t: Translator) -> Reply:
        text = t(
            "{hours} h to go for your {award}.",
            hours=hours_to_go(row.minutes_needed, t.locale),  # 1 minute short is 0.1, never 0
            award=row.award_name(t.locale),
        )
        if row.next_deadline is not None:
            text += " " + t("Apply by {date}", date=local_date(row.next_deadline, t.locale))
        return Reply(text, (Button(t("My awards"), t("awards")),))

    found = [
        Due(
            "award-nudge",
            f"{month}:{nearest[person.volunteer_id].award}",
            person,
            partial(nudge, nearest[person.volunteer_id]),
            now,
            month_end,
            "awards",
            priority=NUDGE,
        )
        for person in store.recipients_of(session, sorted(nearest), "awards")
    ]
    return store_new(session, now, found, Translators(catalogs, rules))
