"""What the calendar tells about people rather than dates: an honor card about to end (90 and 30 days before,
to the holder and the coordinators, with the renewal's progress), both trainings in and no record book yet
(the coordinators apply for it), and a check-in by someone whose accident insurance is missing or ended
(the coordinators hear the same day).

Each is stored under a key naming the person and the occurrence, so it goes out once however often the
reminder pass runs (handlers/notifications.py).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from functools import partial

from sqlmodel import Session

from handlers.awards.deadlines import alerts_due, honor_card_notice
from handlers.awards.progress import facts_for, rules_in_store
from handlers.awards.rules import AwardProgress, AwardRule, anniversary, progress
from handlers.context import Rules
from handlers.formatting import hours_from_minutes, local_date
from handlers.i18n import Catalogs, Translator
from handlers.notifications import Due, Translators, local_moment_at, store_new
from handlers.types import Button, Reply
from storage import reminder_store as store

CATCH_UP = dt.timedelta(days=366)  # after downtime, the latest notice still true goes (alerts_due)
RECORD_BOOK_KEPT = dt.timedelta(days=14)  # a record-book reminder not sent within two weeks is dropped


def hours_to_go(minutes: int, locale: str) -> str:
    """Hours still needed, rounded UP to a tenth: 1 minute short reads 0.1, never 0."""
    return hours_from_minutes(math.ceil(minutes / 6) * 6, locale)


# ---- the honor card ---------------------------------------------------------------------------------


def renewal_lines(t: Translator, rule: AwardRule, step: AwardProgress, today: dt.date) -> list[str]:
    """How far the holder is towards renewing: new years and new hours since the last grant."""
    renewal = rule.renewal
    if renewal is None or step.granted_on is None:
        return []
    lines = [
        t(
            "To renew: {years} new years and {hours} new hours since {date} (hours are not counted twice).",
            years=renewal.years,
            hours=hours_from_minutes(round(renewal.hours * 60), t.locale),
            date=local_date(step.granted_on, t.locale),
        )
    ]
    counted = hours_from_minutes(step.counted_minutes, t.locale)
    if step.minutes_needed > 0:
        lines.append(
            "• "
            + t(
                "{hours} h, {missing} h to go",
                hours=counted,
                missing=hours_to_go(step.minutes_needed, t.locale),
            )
        )
    else:
        lines.append("• " + t("{hours} h", hours=counted) + " ✅")
    if step.years_met_on is not None and step.years_met_on > today:
        years = t(
            "{years} years on {date}", years=renewal.years, date=local_date(step.years_met_on, t.locale)
        )
    else:
        years = t("{years} years: done", years=renewal.years)
    lines.append("• " + years)
    return lines


class CardNotice:
    """One card's notice, worded for the holder or for a coordinator; the progress computed once."""

    def __init__(self, session: Session, rule: AwardRule, volunteer_id: int, name: str, today: dt.date):
        self.session, self.rule, self.volunteer_id, self.name, self.today = (
            session,
            rule,
            volunteer_id,
            name,
            today,
        )
        self._step: AwardProgress | None = None

    def step(self) -> AwardProgress:
        if self._step is None:
            self._step = progress(self.rule, facts_for(self.session, self.volunteer_id), self.today)
        return self._step

    def words(self, valid_until: dt.date, holder: bool, t: Translator) -> Reply:
        days = (valid_until - self.today).days
        values = {
            "award": self.rule.name(t.locale),
            "date": local_date(valid_until, t.locale),
            "days": days,
        }
        if holder:
            head = t("🪪 Your {award} is valid until {date}: {days} days left.", **values)
            buttons: tuple[Button, ...] = (Button(t("My awards"), t("awards")),)
        else:
            head = t("🪪 {name}: {award} valid until {date}, {days} days left.", name=self.name, **values)
            buttons = ()
        return Reply("\n".join([head, *renewal_lines(t, self.rule, self.step(), self.today)]), buttons)


def expiring_awards(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """An award valid for some years (the honor card, 3): its holder and the coordinators of the holder's
    units hear 90 and 30 days before it ends, once each, with the renewal's progress."""
    today = now.astimezone(rules.timezone).date()
    due: list[tuple[AwardRule, int, str, dt.date, int]] = []
    for rule in rules_in_store(session):
        if not rule.valid_years:
            continue
        for volunteer_id, name, granted in store.last_grants(session, rule.code):
            valid_until = anniversary(granted, rule.valid_years)  # as progress() says on the card
            notice = honor_card_notice(valid_until, rule.code)
            for alert in alerts_due(notice, today, (), today - CATCH_UP):
                due.append((rule, volunteer_id, name, valid_until, alert.days_before))
    if not due:
        return 0
    people = sorted({volunteer_id for _, volunteer_id, *_ in due})
    holders = defaultdict(list)
    for person in store.recipients_of(session, people, "awards"):
        holders[person.volunteer_id].append(person)
    units = store.member_units(session, people)
    coordinators = defaultdict(list)
    for person in store.recipients_in_units(
        session, sorted({u for ids in units.values() for u in ids}), "deadlines", coordinators_only=True
    ):
        coordinators[person.unit_id].append(person)
    found = []
    for rule, volunteer_id, name, valid_until, days_before in due:
        card = CardNotice(session, rule, volunteer_id, name, today)
        which = f"{rule.code}:{volunteer_id}:{valid_until}:{days_before}"
        expires = local_moment_at(valid_until + dt.timedelta(days=1), dt.time(0), rules)
        found += [
            Due("award-ends", which, p, partial(card.words, valid_until, True), now, expires, "awards")
            for p in holders[volunteer_id]
        ]
        seen = set()  # a coordinator of two of the holder's units hears it once
        for unit_id in units.get(volunteer_id, []):
            for p in coordinators[unit_id]:
                if (p.platform, p.user_id) in seen or p.volunteer_id == volunteer_id:
                    continue
                seen.add((p.platform, p.user_id))
                found.append(
                    Due(
                        "award-ends",
                        which,
                        p,
                        partial(card.words, valid_until, False),
                        now,
                        expires,
                        "deadlines",
                    )
                )
    return store_new(session, now, found, Translators(catalogs, rules))


# ---- the record book --------------------------------------------------------------------------------


def record_book_words(name: str, t: Translator) -> Reply:
    return Reply(
        t(
            "📘 {name} has finished both trainings and has no record book yet: please apply for it "
            "(a photo and both training certificates).",
            name=name,
        )
    )


def record_book_prompts(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Both trainings in and no record book recorded: the person's coordinators are told to apply, once."""
    waiting = store.trained_without_record_book(session)
    if not waiting:
        return 0
    coordinators = defaultdict(list)
    for person in store.recipients_in_units(
        session, sorted({unit_id for _, _, unit_id in waiting}), "deadlines", coordinators_only=True
    ):
        coordinators[person.unit_id].append(person)
    found = [
        Due(
            "record-book",
            str(volunteer_id),
            p,
            partial(record_book_words, name),
            now,
            now + RECORD_BOOK_KEPT,
            "deadlines",
        )
        for volunteer_id, name, unit_id in waiting
        for p in coordinators[unit_id]
        if p.volunteer_id != volunteer_id
    ]
    return store_new(session, now, found, Translators(catalogs, rules))


# ---- accident insurance -----------------------------------------------------------------------------


def uninsured_words(name: str, unit: str, until: dt.date | None, t: Translator) -> Reply:
    if until is None:
        text = t(
            "⚠️ {name} checked in at {unit} today and has no accident insurance on record.",
            name=name,
            unit=unit,
        )
    else:
        text = t(
            "⚠️ {name} checked in at {unit} today; their accident insurance ended on {date}.",
            name=name,
            unit=unit,
            date=local_date(until, t.locale),
        )
    return Reply(text + "\n" + t("Please insure them before they serve again."))


def uninsured_check_ins(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Today's check-ins by people whose accident insurance is missing or ended: the coordinators of the unit
    hear the same day, once per person and day (a second check-in adds nothing)."""
    local = now.astimezone(rules.timezone)
    today = local.date()
    midnight = local_moment_at(today, dt.time(0), rules)
    rows = store.uninsured_check_ins(session, midnight, now, today)
    if not rows:
        return 0
    coordinators = defaultdict(list)
    for person in store.recipients_in_units(
        session, sorted({unit_id for _, _, unit_id, _ in rows}), "deadlines", coordinators_only=True
    ):
        coordinators[person.unit_id].append(person)
    names = {unit.id: unit.name for unit in store.units_by_id(session, {r[2] for r in rows}).values()}
    expires = local_moment_at(today + dt.timedelta(days=1), dt.time(0), rules)
    found = [
        Due(
            "uninsured",
            f"{volunteer_id}:{today}",
            p,
            partial(uninsured_words, name, names[unit_id], until),
            now,
            expires,
            "deadlines",
        )
        for volunteer_id, name, unit_id, until in rows
        for p in coordinators[unit_id]
        if p.volunteer_id != volunteer_id
    ]
    return store_new(session, now, found, Translators(catalogs, rules))
