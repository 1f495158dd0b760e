"""時數 / hours: one answer to "how many hours" — what the awards count (in total, this year, this half-year, per
unit when there are several) and, apart, what does not count yet and why: served before the training, served
in a category without its special training, waiting for a coordinator's review (domain.md, "Hours").

A record-book balance counts in the total but is no service of the year or half-year it is dated in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session

from handlers.awards.rules import CountStart, count_start
from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_date, local_moment
from handlers.service.counting import counts_on, first_trainings, half_year_start, year_start
from handlers.types import Button, Reply
from storage import award_store, people_store, service_store
from storage.models import ServiceRecord
from storage.vocabulary import RecordKind, RecordSource, RecordStatus


@dataclass
class HoursStanding:
    """A volunteer's service minutes, sorted by whether they count. counted includes balance."""

    counted: int = 0
    balance: int = 0
    this_year: int = 0
    this_half: int = 0
    per_unit: dict[str, int] = field(default_factory=dict)  # unit name → counted minutes
    before_training: int = 0
    counts_from: dt.date | None = None  # the latest day from which the before-training minutes would count
    without_special: dict[str, int] = field(default_factory=dict)  # unit name → minutes
    review: int = 0


def count_starts(session: Session, volunteer_id: int) -> dict[str, CountStart]:
    """Per service category of the volunteer's units: from which day their service there counts."""
    person = people_store.volunteer(session, volunteer_id)
    basic, specials = first_trainings(
        (training.kind, training.category, training.date)
        for training in award_store.trainings_of(session, volunteer_id)
    )
    categories = {unit.category for unit, _role in people_store.units_of(session, volunteer_id)}
    record_book_on = person.record_book_date if person else None
    trained_on = person.trained_on if person else None
    return {c: count_start(c, basic, specials, record_book_on, trained_on) for c in categories}


def hours_standing(session: Session, volunteer_id: int, today: dt.date) -> HoursStanding:
    standing = HoursStanding()
    starts = count_starts(session, volunteer_id)
    year, half = year_start(today), half_year_start(today)
    for day in service_store.service_days(session, volunteer_id):
        start = starts.get(day.category) or count_start(day.category, None, {}, None, None)
        if day.status == RecordStatus.REVIEW:
            standing.review += day.minutes
        elif day.balance:
            standing.counted += day.minutes
            standing.balance += day.minutes
            standing.per_unit[day.unit_name] = standing.per_unit.get(day.unit_name, 0) + day.minutes
        elif start.missing_special:
            standing.without_special[day.unit_name] = (
                standing.without_special.get(day.unit_name, 0) + day.minutes
            )
        elif start.day is not None and day.service_date < start.day:
            standing.before_training += day.minutes
            standing.counts_from = max(start.day, standing.counts_from or start.day)
        else:
            standing.counted += day.minutes
            standing.this_year += day.minutes if day.service_date >= year else 0
            standing.this_half += day.minutes if day.service_date >= half else 0
            standing.per_unit[day.unit_name] = standing.per_unit.get(day.unit_name, 0) + day.minutes
    return standing


def hand_entry_counts_from(session: Session, record: ServiceRecord) -> CountStart | None:
    """For service entered by hand (not a balance): the rule that keeps it from counting yet — dated before the
    volunteer's trainings, or in a category without its special training; None when it counts."""
    if record.kind != RecordKind.SERVICE or record.source == RecordSource.BALANCE:
        return None
    unit = people_store.unit(session, record.unit_id)
    start = count_starts(session, record.volunteer_id).get(unit.category) if unit else None
    if start is None:
        return None
    return None if counts_on(start, record.service_date) else start


def my_hours(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    today = ctx.today
    standing = hours_standing(ctx.session, ctx.volunteer_id, today)

    def h(minutes: int) -> str:
        return hours_from_minutes(minutes, ctx.locale)

    half = t("January–June") if today.month <= 6 else t("July–December")
    lines = [
        t("Your service hours"),
        t("Total: {hours} hours", hours=h(standing.counted)),
        t("This year: {hours} hours", hours=h(standing.this_year)),
        t("This half-year ({half}): {hours} hours", half=half, hours=h(standing.this_half)),
    ]
    if standing.balance:
        lines.append(
            t("Of the total, {hours} hours are your record-book balance.", hours=h(standing.balance))
        )
    if len(standing.per_unit) > 1:
        lines += [t("{unit}: {hours} hours", unit=unit, hours=h(m)) for unit, m in standing.per_unit.items()]
    lines += _not_counted_lines(ctx, standing, h)

    current = service_store.open_visit_of(ctx.session, ctx.volunteer_id)
    if current is not None:
        since = local_moment(current.check_in, ctx.rules.timezone, ctx.locale, today)
        lines.append(t("Checked in now since {time}.", time=since))
        button = Button(t("Check out"), t("check out"))
    else:
        button = Button(t("Check in"), t("check in"))
    return [Reply("\n".join(lines), (button,))]


def _not_counted_lines(ctx: Context, standing: HoursStanding, h) -> list[str]:
    t = ctx.t
    lines = []
    if standing.before_training and standing.counts_from is not None:
        lines.append(
            t(
                "· {hours} hours served before your training (hours count from {date})",
                hours=h(standing.before_training),
                date=local_date(standing.counts_from, ctx.locale),
            )
        )
    for unit, minutes in standing.without_special.items():
        lines.append(
            t(
                "· {hours} hours at {unit}: its special training is not recorded yet",
                hours=h(minutes),
                unit=unit,
            )
        )
    if standing.review:
        lines.append(t("· {hours} hours waiting for a coordinator's review", hours=h(standing.review)))
    return [t("Not counted yet:"), *lines] if lines else []
