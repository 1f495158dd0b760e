"""Event shifts in the reminder pass: the roster's reminders, missing volunteers, forgotten check-outs.

Same rules as handlers/reminders.py: each job stores what is due at `now` under unique keys; the pass sends.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from functools import partial

from sqlmodel import Session

from handlers.context import Rules
from handlers.formatting import local_date, local_moment
from handlers.i18n import Catalogs, Translator
from handlers.jobs.reminders import before_start
from handlers.notifications import Due, Translators, store_new
from handlers.types import Button, Reply
from storage import event_store
from storage import reminder_store as store
from storage.models import Event, Shift

MISSING_AFTER = dt.timedelta(
    minutes=15
)  # a shift's missing volunteers are reported this long after its start
ASK_AFTER_END = dt.timedelta(
    minutes=30
)  # a session still open this long after its shift's end is asked about


def shift_words(t: Translator, rules: Rules, shift: Shift, event: Event) -> list[str]:
    start, end = shift.starts_at.astimezone(rules.timezone), shift.ends_at.astimezone(rules.timezone)
    lines = [
        f"📅 {local_date(start.date(), t.locale)} {start:%H:%M}–{end:%H:%M}",
        event.title + (f"｜{shift.post}" if shift.post else ""),
    ]
    if event.place:
        lines.append("📍 " + event.place)
    return lines


def shift_reminders(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """The volunteers on a shift's roster: 18:00 the evening before and an hour before, as for trainings."""
    soon = event_store.shifts_starting(session, now, now + dt.timedelta(hours=31))
    roster = defaultdict(set)
    for shift_id, volunteer_id, _name in event_store.roster_of(session, [shift.id for shift, _ in soon]):
        roster[shift_id].add(volunteer_id)
    people = defaultdict(list)
    for person in store.recipients_of(
        session, sorted({v for ids in roster.values() for v in ids}), "training"
    ):
        people[person.volunteer_id].append(person)

    def words(job: str, shift: Shift, event: Event, t: Translator) -> Reply:
        head = (
            t("🔔 Your shift is tomorrow")
            if job == "shift-evening"
            else t("🔔 Your shift starts in one hour")
        )
        return Reply(
            "\n".join([head, *shift_words(t, rules, shift, event)]), (Button(t("Shifts"), t("shifts")),)
        )

    found = []
    for shift, event in soon:
        for which, due, expires in before_start(shift.starts_at, rules):
            job = f"shift-{which}"
            if due <= now < expires:
                found += [
                    Due(
                        job,
                        str(shift.id),
                        replace_unit(person, event.unit_id),
                        partial(words, job, shift, event),
                        due,
                        expires,
                        "training",
                        subject=shift.id,
                    )
                    for volunteer_id in sorted(roster[shift.id])
                    for person in people[volunteer_id]
                ]
    return store_new(session, now, found, Translators(catalogs, rules))


def replace_unit(person, unit_id: int):
    """The person as a member of the event's unit: its quiet hours apply."""
    return replace(person, unit_id=unit_id)


def missing_volunteers(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Fifteen minutes after a shift starts, its coordinators hear who on the roster has not checked in (once)."""
    started = event_store.shifts_starting(session, now - dt.timedelta(hours=2), now - MISSING_AFTER)
    ids = [shift.id for shift, _ in started]
    expected = defaultdict(dict)
    for shift_id, volunteer_id, name in event_store.roster_of(session, ids):
        expected[shift_id][volunteer_id] = name
    present = defaultdict(set)
    for shift_id, volunteer_id, _name, _walk_up in event_store.attendance_of(session, ids):
        present[shift_id].add(volunteer_id)
    coordinators = defaultdict(list)
    for person in store.recipients_in_units(
        session, sorted({e.unit_id for _, e in started}), "deadlines", coordinators_only=True
    ):
        coordinators[person.unit_id].append(person)

    def words(shift: Shift, event: Event, names: list[str], t: Translator) -> Reply:
        text = t("⚠️ Not checked in 15 minutes after the start: {names}", names="、".join(names))
        return Reply("\n".join([text, *shift_words(t, rules, shift, event)]), (Button(t("Live"), t("live")),))

    found = []
    for shift, event in started:
        names = [name for v, name in expected[shift.id].items() if v not in present[shift.id]]
        if names:
            found += [
                Due(
                    "missing",
                    str(shift.id),
                    c,
                    partial(words, shift, event, names),
                    now,
                    shift.ends_at,
                    "deadlines",
                    subject=shift.id,
                )
                for c in coordinators[event.unit_id]
            ]
    return store_new(session, now, found, Translators(catalogs, rules))


def shift_checkout_questions(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """A session at a shift still open 30 minutes after the shift's end: still serving, or check out then?"""
    records = [
        r for r in store.visits_open_since(session, now - rules.max_visit, now) if r.shift_id is not None
    ]
    shifts = {r.shift_id: event_store.shift(session, r.shift_id) for r in records}
    asked = [r for r in records if shifts[r.shift_id].ends_at + ASK_AFTER_END <= now]
    people = defaultdict(list)
    for person in store.recipients_of(session, sorted({r.volunteer_id for r in asked}), "checkout"):
        people[person.volunteer_id].append(person)
    today = now.astimezone(rules.timezone).date()

    def words(shift: Shift, t: Translator) -> Reply:
        end = local_moment(shift.ends_at, rules.timezone, t.locale, today)
        text = t("Your shift ended at {end} and you have not checked out. Are you still serving?", end=end)
        return Reply(
            text,
            (
                Button(t("Check out at {end}", end=end), t("check out") + " " + t("shift end")),
                Button(t("Check out now"), t("check out")),
                Button(t("Still serving"), t("still serving")),
            ),
        )

    found = [
        Due(
            "still-serving",
            str(r.id),
            replace_unit(person, r.unit_id),
            partial(words, shifts[r.shift_id]),
            shifts[r.shift_id].ends_at + ASK_AFTER_END,
            r.check_in + rules.max_visit,
            "checkout",
            subject=r.id,
        )
        for r in asked
        for person in people[r.volunteer_id]
    ]
    return store_new(session, now, found, Translators(catalogs, rules))
