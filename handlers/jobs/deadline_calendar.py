"""A unit's coming deadlines, shipped and its own, each with whether it was marked done: the console's
Today and Calendar pages (the alerts themselves are deadline_alerts')."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from handlers.awards.deadlines import DeadlineRule, occurrence_on_or_after
from handlers.jobs.deadline_alerts import deadlines_of
from storage import reminder_store
from storage.models import Unit


@dataclass(frozen=True)
class Coming:
    rule: DeadlineRule
    occurrence: dt.date
    done: bool
    own: bool  # the unit's own date (changeable), not the shipped calendar's


def coming_deadlines(session: Session, unit: Unit, today: dt.date, count: int) -> list[Coming]:
    assert unit.id is not None
    own = reminder_store.unit_deadlines(session, [unit.id])
    done = {(code, day) for _, code, day in reminder_store.done_deadlines(session, [unit.id])}
    found = []
    for rule in deadlines_of(unit, own):
        occurrence = occurrence_on_or_after(rule, today)
        if occurrence is not None:
            found.append(
                Coming(rule, occurrence, (rule.code, occurrence) in done, rule.code.startswith("unit-"))
            )
    return sorted(found, key=lambda coming: (coming.occurrence, coming.rule.code))[:count]
