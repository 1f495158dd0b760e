"""What of a period's service counts as the authorities count it (domain.md, "Hours"), for the reports and the
hours export: service counts only from the day both trainings are done (a new category's only after its
special training). The rule is handlers/awards/rules.count_start, the one the 時數 answer and the awards use;
this applies it to every volunteer who served in a period, without a query per volunteer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session

from handlers.awards.rules import CountStart, count_start
from handlers.service.counting import counts_on, first_trainings
from storage import report_store


@dataclass
class BeforeTraining:
    """Service of a period (counted, not balances) served before the day it counts from.

    starts: (volunteer, unit) → from when their service there counts, for the pairs with some service before
    it in the period; by_unit_month: (unit, month) → (records, minutes) left out; left_units: the pairs whose
    every service day of the period was left out (they did not serve, as the authority counts); left_people:
    the volunteers none of whose service of the period counts."""

    starts: dict[tuple[int, int], CountStart] = field(default_factory=dict)
    records: int = 0
    minutes: int = 0
    by_unit_month: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    left_units: set[tuple[int, int]] = field(default_factory=set)
    left_people: set[int] = field(default_factory=set)

    def counts(self, volunteer_id: int, unit_id: int, day: dt.date) -> bool:
        start = self.starts.get((volunteer_id, unit_id))
        return start is None or counts_on(start, day)


def before_training(session: Session, first: dt.date, last: dt.date, unit_id: int | None) -> BeforeTraining:
    """The service of [first, last] (one unit, or None: every unit) served before the volunteer's trainings."""
    found = BeforeTraining()
    for row in report_store.service_starts(session, first, last, unit_id):
        basic, specials = first_trainings(row.trainings)
        start = count_start(row.category, basic, specials, row.record_book_date, row.trained_on)
        if not counts_on(start, row.first_day):
            found.starts[(row.volunteer_id, row.unit_id)] = start
    if not found.starts:
        return found
    people = sorted({volunteer_id for volunteer_id, _unit in found.starts})
    counted_pairs: set[tuple[int, int]] = set()
    seen_pairs: set[tuple[int, int]] = set()
    for day in report_store.service_days_of(session, first, last, unit_id, people):
        pair = (day.volunteer_id, day.unit_id)
        seen_pairs.add(pair)
        if found.counts(day.volunteer_id, day.unit_id, day.service_date):
            counted_pairs.add(pair)
            continue
        found.records += day.records
        found.minutes += day.minutes
        key = (day.unit_id, day.service_date.month)
        records, minutes = found.by_unit_month.get(key, (0, 0))
        found.by_unit_month[key] = (records + day.records, minutes + day.minutes)
    found.left_units = seen_pairs - counted_pairs
    counting_people = {volunteer_id for volunteer_id, _unit in counted_pairs}
    found.left_people = set(people) - counting_people
    return found
