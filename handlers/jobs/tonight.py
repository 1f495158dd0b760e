"""What reminders go out tonight (the console's Today): the reminders the jobs have stored for the unit's
people and not yet sent, and the training and shift reminders their jobs will store before midnight, by the
jobs' own notion of when each is due (before_start)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from handlers.context import Rules
from handlers.jobs.reminders import before_start
from handlers.notifications import local_moment_at
from storage import console_store, event_store
from storage import reminder_store as store

LOOK_AHEAD = dt.timedelta(hours=31)  # as the jobs look: an evening reminder is for the next day


@dataclass(frozen=True)
class Going:
    """Reminders of one kind (a job's name, e.g. `shift-evening`) due at `due_at`, to `people` people;
    `about` names the shift or training session when it is one, `stored` when the job has stored them."""

    job: str
    due_at: dt.datetime
    people: int
    about: str
    stored: bool


def reminders_tonight(session: Session, unit_id: int, now: dt.datetime, rules: Rules) -> list[Going]:
    """Until local midnight, earliest first."""
    today = now.astimezone(rules.timezone).date()
    midnight = local_moment_at(today + dt.timedelta(days=1), dt.time(0), rules)
    going = [
        Going(job, first, count, "", True)
        for job, count, first in console_store.pending_notifications_of_unit(session, unit_id, midnight)
    ]
    trainings = [
        c for c in store.training_classes_starting(session, now, now + LOOK_AHEAD) if c.unit_id == unit_id
    ]
    if trainings:
        members = len({r.volunteer_id for r in store.recipients_in_units(session, [unit_id], "training")})
        for training in trainings:
            going += [
                Going(f"training-{which}", due, members, training.title, False)
                for which, due, expires in before_start(training.starts_at, rules)
                if now < due < min(midnight, expires)
            ]
    shifts = [
        (s, e) for s, e in event_store.shifts_starting(session, now, now + LOOK_AHEAD) if e.unit_id == unit_id
    ]
    signed: dict[int, int] = {}
    for shift_id, _volunteer, _name in event_store.roster_of(session, [s.id for s, _ in shifts if s.id]):
        signed[shift_id] = signed.get(shift_id, 0) + 1
    for shift, event in shifts:
        going += [
            Going(f"shift-{which}", due, signed.get(shift.id or 0, 0), event.title, False)
            for which, due, expires in before_start(shift.starts_at, rules)
            if now < due < min(midnight, expires) and signed.get(shift.id or 0)
        ]
    return sorted(going, key=lambda g: (g.due_at, g.job))
