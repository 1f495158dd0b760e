"""On the first days of a half-year report window, each unit's coordinators get the unit's figures, once."""

from __future__ import annotations

import datetime as dt
from functools import partial

from sqlmodel import Session

from handlers.awards.deadlines import applies_to
from handlers.context import Rules
from handlers.files.chat import last_half_year, left_out_lines, summary_text
from handlers.files.report import build_report
from handlers.i18n import Catalogs, Translator
from handlers.jobs.deadline_alerts import shipped_calendar
from handlers.notifications import Due, Translators, local_moment_at, store_new
from handlers.types import Button, Reply
from storage import people_store
from storage import reminder_store as store

SUMMARY_TIME = dt.time(9, 0)  # on the first day of a report window, local
WINDOW_DAYS = 10


def reports_half_yearly(city: str) -> bool:
    """The city's calendar has a half-year report (Taipei's platform; a city adds its own rows)."""
    return any(rule.report == "half-year" and applies_to(rule, city) for rule in shipped_calendar())


def report_summaries(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """On the first day of a report window, from 09:00: each unit's coordinators get its figures, once."""
    local = now.astimezone(rules.timezone)
    if local.month not in (1, 7) or local.day > WINDOW_DAYS:
        return 0
    if local.day == 1 and local.time() < SUMMARY_TIME:
        return 0
    period = last_half_year(local.date())
    if not store.claim_job_run(session, f"report-summary:{period.label}", now):
        return 0
    report = build_report(session, period, None)  # one grouped pass over every unit, not one per unit
    lines = {line.unit_id: line for line in report.units}
    units = people_store.all_units(session)
    names = {unit.id: unit.name for unit in units}
    cities = {unit.id: unit.city for unit in units}
    window_end = local_moment_at(local.date().replace(day=WINDOW_DAYS + 1), dt.time(0), rules)

    def words(unit_id: int, t: Translator) -> Reply:
        line = lines.get(unit_id)
        text = summary_text(
            t,
            names[unit_id],
            period,
            served=line.served if line else 0,
            person_times=line.person_times if line else 0,
            minutes=line.minutes if line else 0,
        )
        left_out = report.unit_left_out.get(unit_id)
        if left_out is not None:
            text = "\n".join([text, *left_out_lines(t, left_out)])
        return Reply(text, (Button(t("Full report"), t("report") + f" {unit_id} {period.label}"),))

    reporting = sorted(unit_id for unit_id, city in cities.items() if reports_half_yearly(city))
    coordinators = store.recipients_in_units(session, reporting, "deadlines", coordinators_only=True)
    found = [
        Due(
            "report-summary",
            f"{period.label}:{person.unit_id}",
            person,
            partial(words, person.unit_id),
            now,
            window_end,
            "deadlines",
        )
        for person in coordinators
    ]
    return store_new(session, now, found, Translators(catalogs, rules))
