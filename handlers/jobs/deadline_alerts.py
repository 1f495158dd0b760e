"""Coordinators' deadline alerts: the shipped calendar (storage/seeds/deadlines.toml) and each unit's own dates,
14, 3 and 1 days before and on the day, with the material the bot knows, and a button to mark one done.

Which alerts are due is decided by handlers/deadlines.py (pure); this job words them and stores them as
notifications under keys naming the unit, the deadline, the occurrence and the reminder: each goes out once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache, partial
from typing import cast

from sqlmodel import Session

from handlers.awards.deadlines import (
    SENIOR_AGE,
    DeadlineRule,
    alerts_due,
    applies_to,
    load_deadlines,
    report_period,
    unit_deadline,
)
from handlers.awards.eligibility import eligible_list
from handlers.awards.progress import requirement_name, round_name
from handlers.awards.rules import anniversary
from handlers.context import Context, Rules
from handlers.files.chat import left_out_lines
from handlers.files.report import Period, build_report, period_label
from handlers.formatting import hours_from_minutes, local_date
from handlers.i18n import Catalogs, Translator
from handlers.notifications import Due, Translators, local_moment_at, store_new
from handlers.service.period import before_training
from handlers.types import Button, Reply
from storage import audit_store, people_store, report_store
from storage import reminder_store as store
from storage.models import Unit
from storage.report_store import LeftOut

MATERIAL_ROWS = 15  # names listed in an alert; the full list is `獎勵名單` or `vbot awards eligible`
CATCH_UP = dt.timedelta(
    days=366
)  # after any downtime, the latest reminder of each coming occurrence still goes


@lru_cache(maxsize=1)
def shipped_calendar() -> tuple[DeadlineRule, ...]:
    return tuple(load_deadlines())


def own_deadline_code(deadline_id: int) -> str:
    return f"unit-{deadline_id}"


def deadlines_of(unit: Unit, own: list) -> list[DeadlineRule]:
    """The shipped rows for the unit's city, then the unit's own dates."""
    shipped = [rule for rule in shipped_calendar() if applies_to(rule, unit.city)]
    return shipped + [
        unit_deadline(
            row.title,
            row.date,
            [int(d) for d in row.remind.split(",")],
            row.yearly,
            code=own_deadline_code(row.id),
            months=[int(m) for m in row.months.split(",")] if row.months else None,
        )
        for row in own
    ]


def deadline_alerts(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    today = now.astimezone(rules.timezone).date()
    units = store.units_with_coordinators(session)
    unit_ids = [unit.id for unit in units]
    own = defaultdict(list)
    for row in store.unit_deadlines(session, unit_ids):
        own[row.unit_id].append(row)
    done = defaultdict(set)
    for unit_id, code, occurrence in store.done_deadlines(session, unit_ids):
        done[unit_id, code].add(occurrence)
    materials: dict[tuple, Material] = {}  # computed once per alert, and only when some alert is new

    def words(unit: Unit, rule: DeadlineRule, occurrence: dt.date, t: Translator) -> Reply:
        if (unit.id, rule.code, occurrence) not in materials:
            materials[unit.id, rule.code, occurrence] = Material(session, unit, rule, occurrence, today)
        return alert_reply(t, unit, rule, occurrence, today, materials[unit.id, rule.code, occurrence])

    due = [
        (unit, rule, alert)
        for unit in units
        for rule in deadlines_of(unit, own[unit.id])
        for alert in alerts_due(rule, today, done[unit.id, rule.code], today - CATCH_UP)
    ]
    coordinators = defaultdict(list)  # read only for the units with an alert: most minutes there is none
    for person in store.recipients_in_units(
        session, sorted({unit.id for unit, _, _ in due}), "deadlines", coordinators_only=True
    ):
        coordinators[person.unit_id].append(person)
    found = []
    for unit, rule, alert in due:
        expires = local_moment_at(alert.occurrence + dt.timedelta(days=1), dt.time(0), rules)
        which = f"{unit.id}:{alert.code}:{alert.occurrence}:{alert.days_before}"
        found += [
            Due(
                "deadline",
                which,
                person,
                partial(words, unit, rule, alert.occurrence),
                now,
                expires,
                "deadlines",
                deadline=alert.code,
                occurrence=alert.occurrence,
            )
            for person in coordinators[unit.id]
        ]
    return store_new(session, now, found, Translators(catalogs, rules))


def senior_figures(session: Session, unit_id: int, first: dt.date, last: dt.date) -> tuple[int, int, int]:
    """(people, times, minutes) of the unit's volunteers aged 65+ at the period's end, counted as the report
    counts (no balances, nothing served before the trainings): Taichung's senior-participation figures."""
    seniors = store.unit_members_born_by(session, unit_id, anniversary(last, -SENIOR_AGE))
    early = before_training(session, first, last, unit_id)
    days = [
        day
        for day in report_store.service_days_of(session, first, last, unit_id, seniors)
        if early.counts(day.volunteer_id, day.unit_id, day.service_date)
    ]
    return len({day.volunteer_id for day in days}), sum(d.records for d in days), sum(d.minutes for d in days)


class Material:
    """What the bot attaches to an alert, computed once for all the unit's coordinators."""

    def __init__(self, session: Session, unit: Unit, rule: DeadlineRule, occurrence: dt.date, today: dt.date):
        self.eligible = []
        self.round_year = occurrence.year  # the award round whose deadline this is
        self.period = report_period(rule, occurrence)
        self.figures = None
        self.left_out = LeftOut()
        if rule.awards:
            self.eligible = [
                row
                for row in eligible_list(session, unit.id, today, round_year=self.round_year)
                if row.award in rule.awards and row.reached
            ]
        self.seniors: tuple[int, int, int] | None = None
        if self.period is not None:
            first, last = self.period
            # The report's own figures: what the authority counts (no balances, nothing before training).
            report = build_report(session, Period(period_label(first, last), first, last), unit.id)
            self.figures = (report.served, report.person_times, report.minutes)
            self.left_out = report.left_out
            if rule.report == "half-year-seniors":  # Taichung's senior-participation statistics
                self.seniors = senior_figures(session, cast(int, unit.id), first, last)
        self.insured_through: dt.date | None = None
        self.uninsured: list[tuple[str, dt.date | None]] = []
        if rule.uninsured:  # who is not covered through the whole month of the occurrence
            self.insured_through = month_end(occurrence)
            self.uninsured = store.uninsured_members(session, cast(int, unit.id), self.insured_through)

    def lines(self, t: Translator) -> list[str]:
        lines = []
        if self.period is not None:
            people, times, minutes = self.figures
            first, last = (local_date(day, t.locale) for day in self.period)
            lines.append(
                t(
                    "{first} – {last}: {people} volunteers served {times} times, {hours} hours in all.",
                    first=first,
                    last=last,
                    people=people,
                    times=times,
                    hours=hours_from_minutes(minutes, t.locale),
                )
            )
            lines += left_out_lines(t, self.left_out)
        if self.seniors is not None:
            people, times, minutes = self.seniors
            lines.append(
                t(
                    "Of them aged 65 and over: {people} volunteers, {times} times, {hours} hours.",
                    people=people,
                    times=times,
                    hours=hours_from_minutes(minutes, t.locale),
                )
            )
        if self.eligible:
            lines.append(
                t("Reached the hours and years for the {round}:", round=round_name(t, self.round_year))
            )
            for row in self.eligible[:MATERIAL_ROWS]:
                missing = ""
                if row.missing:
                    missing = "｜" + t(
                        "Still needed: {items}",
                        items=t(", ").join(requirement_name(t, m) for m in row.missing),
                    )
                lines.append(f"• {row.name}｜{row.award_name(t.locale)}{missing}")
            if len(self.eligible) > MATERIAL_ROWS:
                lines.append(t("…and {count} more.", count=len(self.eligible) - MATERIAL_ROWS))
        return lines + self.insurance_lines(t)

    def insurance_lines(self, t: Translator) -> list[str]:
        if self.insured_through is None:
            return []
        through = local_date(self.insured_through, t.locale)
        if not self.uninsured:
            return [t("Every volunteer is insured through {date}.", date=through)]
        lines = [t("Not insured through {date}:", date=through)]
        for name, until in self.uninsured[:MATERIAL_ROWS]:
            if until is None:
                lines.append(f"• {name}｜" + t("no insurance on record"))
            else:
                lines.append(f"• {name}｜" + t("insured until {date}", date=local_date(until, t.locale)))
        if len(self.uninsured) > MATERIAL_ROWS:
            lines.append(t("…and {count} more.", count=len(self.uninsured) - MATERIAL_ROWS))
        return lines


def month_end(day: dt.date) -> dt.date:
    """The last day of the month of `day`."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def alert_reply(
    t: Translator, unit: Unit, rule: DeadlineRule, occurrence: dt.date, today: dt.date, material: Material
) -> Reply:
    days = (occurrence - today).days
    when = local_date(occurrence, t.locale)
    if days == 0:
        head = t("📅 Today is the deadline: {title} ({unit})", title=rule.title(t.locale), unit=unit.name)
    else:
        head = t(
            "📅 {title} ({unit}): due {date}, {days} days left",
            title=rule.title(t.locale),
            unit=unit.name,
            date=when,
            days=days,
        )
    lines = [head]
    if rule.what_to_do(t.locale):
        lines.append(rule.what_to_do(t.locale))
    lines += material.lines(t)
    buttons = [Button(t("✅ Done"), t("done") + f" {unit.id} {rule.code} {occurrence.isoformat()}")]
    if material.period is not None:  # the report's figures and spreadsheet are one tap away (報表)
        buttons.append(Button(t("Report"), t("report") + f" {unit.id} {period_label(*material.period)}"))
    return Reply("\n".join(lines), tuple(buttons))


# ---- the button ------------------------------------------------------------------------------------


def mark_done(ctx: Context, argument: str) -> list[Reply]:
    """`完成 UNIT CODE DATE` (the alert's button): this occurrence is done, no more alerts until the next."""
    t = ctx.t
    parts = argument.split()
    try:
        unit_id, code, occurrence = int(parts[0]), parts[1], dt.date.fromisoformat(parts[2])
    except (IndexError, ValueError):
        return [Reply(t("Tap the ✅ Done button under a deadline alert to mark it done."))]
    units = {unit.id: unit for unit in people_store.coordinated_units(ctx.session, ctx.volunteer_id)}
    unit = units.get(unit_id)
    rule = None
    if unit is not None:
        own = [row for row in store.unit_deadlines(ctx.session, [unit.id])]
        rule = next((r for r in deadlines_of(unit, own) if r.code == code), None)
    if rule is None:
        return [Reply(t("Only a coordinator of the unit can mark its deadlines done."))]
    store.mark_deadline_done(ctx.session, ctx.now, unit.id, code, occurrence, ctx.volunteer_id)
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{ctx.volunteer_id}",
        "deadline.done",
        f"unit:{unit.id}",
        None,
        {"deadline": code, "occurrence": occurrence.isoformat()},
    )
    return [
        Reply(
            t(
                "✅ Marked done: {title}, {date}. No more alerts until the next one.",
                title=rule.title(ctx.locale),
                date=local_date(occurrence, ctx.locale),
            )
        )
    ]
