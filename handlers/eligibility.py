"""獎勵名單 / eligible: which volunteers of a unit have reached an award, or nearly, and what they still lack.

For a whole unit at once: a handful of grouped queries for all its members (storage/repo.py, "awards of a
whole unit"), the facts built here in Python, then the same pure engine (handlers/awards.py) as 獎勵 uses.
Service is read summed per span between the days the awards' windows close, not day by day: the engine
only ever asks for sums up to those days, and for the first day served.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session

from handlers.award_progress import requirement_name, rules_in_store
from handlers.awards import (
    AwardProgress,
    AwardRule,
    CountedMinutes,
    VolunteerFacts,
    on_day,
    progress,
    text_in,
)
from handlers.context import Context
from handlers.formatting import hours_from_minutes
from handlers.types import Reply
from storage import repo
from storage.models import Unit

CHAT_WITHIN_HOURS = 20  # in chat, a coordinator also sees who is this close to an award
CHAT_MAX_ROWS = 30  # per unit: a chat message stays readable; the command line lists everyone
DETAIL_CHUNK = 1000  # ids per IN (…) for the members read day by day


@dataclass(frozen=True)
class EligibleRow:
    volunteer_id: int
    name: str
    award: str  # the award's code
    award_names: tuple[tuple[str, str], ...]
    eligible: bool  # reached, and nothing missing: can apply now
    reached: bool
    minutes_needed: int
    missing: tuple[str, ...]

    @property
    def hours_needed(self) -> float:
        return round(self.minutes_needed / 60, 1)

    def award_name(self, locale: str) -> str:
        return text_in(self.award_names, locale)

    def as_json(self) -> dict:
        return {"id": self.volunteer_id, "name": self.name, "award": self.award, "eligible": self.eligible,
                "hours_needed": self.hours_needed, "missing": list(self.missing)}


def window_closes(rules: list[AwardRule], as_of: dt.date) -> list[dt.date]:
    """The days before `as_of` up to which some award counts hours: the only sums the engine asks for
    besides the one up to `as_of`."""
    closes = {on_day(as_of.year, *rule.count_until) for rule in rules if rule.count_until is not None}
    return sorted(day for day in closes if day < as_of)


def unit_facts(session: Session, unit_id: int, rules: list[AwardRule], as_of: dt.date) -> list[tuple[int, str, VolunteerFacts]]:
    """(id, name, facts) of every member of the unit, as handlers.award_progress.facts_for builds them, in bulk."""
    members = repo.members_with_facts(session, unit_id)
    if not members:
        return []
    cities: dict[int, set[str]] = defaultdict(set)
    categories: dict[int, set[str]] = defaultdict(set)
    for volunteer_id, category, city in repo.member_units(session, unit_id):
        cities[volunteer_id].add(city)
        categories[volunteer_id].add(category)

    basic: dict[int, dt.date] = {}
    special: dict[int, dt.date] = {}
    for volunteer_id, kind, category, first in repo.member_first_trainings(session, unit_id):
        if kind == "basic":
            basic[volunteer_id] = min(first, basic.get(volunteer_id, first))
        elif category is None or category in categories[volunteer_id]:
            special[volunteer_id] = min(first, special.get(volunteer_id, first))

    grants: dict[int, dict[str, tuple[dt.date, ...]]] = defaultdict(dict)
    for volunteer_id, code, granted_on in repo.member_grants(session, unit_id):
        grants[volunteer_id][code] = (*grants[volunteer_id].get(code, ()), granted_on)

    # A renewal counts only hours after the last grant, a day of its own: those members are read day by day.
    renewable = {rule.code for rule in rules if rule.renewal is not None}
    by_day = sorted(v for v, held in grants.items() if renewable & set(held))
    closes = window_closes(rules, as_of)
    day_by_day = set(by_day)
    buckets = [b for b in repo.member_service_buckets(session, unit_id, closes, as_of) if b.volunteer_id not in day_by_day]
    for first in range(0, len(by_day), DETAIL_CHUNK):
        buckets += repo.member_service_buckets(session, unit_id, [], as_of, by_day[first:first + DETAIL_CHUNK])

    records: dict[int, list[CountedMinutes]] = defaultdict(list)
    first_day: dict[tuple[int, str, str], dt.date] = {}
    for b in buckets:
        # The sum sits on the span's last day: counted by any window that ends on or after the span.
        records[b.volunteer_id].append(CountedMinutes(b.last_day, b.minutes, b.category, b.city))
        key = (b.volunteer_id, b.category, b.city)
        first_day[key] = min(b.first_day, first_day.get(key, b.first_day))
    for (volunteer_id, category, city), day in first_day.items():
        # No minutes, only the first day served there (years counted from the first service in a city).
        records[volunteer_id].append(CountedMinutes(day, 0, category, city))

    return [
        (m.volunteer_id, m.name, VolunteerFacts(
            basic_training_on=basic.get(m.volunteer_id),
            special_training_on=special.get(m.volunteer_id),
            record_book_no=m.record_book_no,
            record_book_on=m.record_book_date,
            trained_on=m.trained_on,
            first_service_on=m.first_service_date,
            english_name=m.english_name,
            cities=frozenset(cities[m.volunteer_id]),
            grants=grants.get(m.volunteer_id, {}),
            records=tuple(records.get(m.volunteer_id, ())),
        ))
        for m in members
    ]


def eligible_list(
    session: Session, unit_id: int, as_of: dt.date, award: str | None = None, within_hours: float = 0,
    rules: list[AwardRule] | None = None,
) -> list[EligibleRow]:
    """Members of the unit who have reached an award they do not hold yet, or are within `within_hours` of it
    (with its years already served); one row per member and award. Eligible first, then the nearest.

    The same rows as filtering progress_all's answer (a test keeps them equal), without computing the awards
    a member's hours cannot reach even before any window: most of them, for most members.
    """
    rules = rules if rules is not None else rules_in_store(session)
    if award is not None:
        ladders_wanted = {rule.ladder for rule in rules if rule.code == award}
        rules = [rule for rule in rules if rule.ladder in ladders_wanted]  # the tiers below decide which one shows
    within = max(0, round(within_hours * 60))
    ladders: dict[str, list[AwardRule]] = {}
    for rule in rules:
        ladders.setdefault(rule.ladder, []).append(rule)
    for tiers in ladders.values():
        tiers.sort(key=lambda r: r.rank)
    rows = []
    for volunteer_id, name, facts in unit_facts(session, unit_id, rules, as_of):
        for step in near_steps(ladders, facts, as_of, within):
            if award is None or step.code == award:
                rows.append(EligibleRow(volunteer_id, name, step.code, step.names, step.eligible, step.reached,
                                        step.minutes_needed, step.missing))
    rows.sort(key=lambda r: (not r.eligible, not r.reached, r.minutes_needed, r.volunteer_id))
    return rows


def listed(step: AwardProgress, within_minutes: int) -> bool:
    """Reached and not held, or held but due for renewal; or this close, with the years already served."""
    if step.granted_on is not None and not step.renewal:
        return False
    years_done = step.years_needed == 0 or (step.years_met_on is not None and step.years_met_on <= step.counted_until)
    return step.reached or (years_done and step.minutes_needed <= within_minutes)


def _cannot_come_near(rule: AwardRule, facts: VolunteerFacts, as_of: dt.date, within: int) -> bool:
    """Even every counted minute up to `as_of` falls more than `within` short: no progress needed."""
    grants = facts.grants.get(rule.code)
    renewing = bool(grants) and rule.renewal is not None
    need = round((rule.renewal.hours if renewing else rule.hours) * 60)  # type: ignore[union-attr]
    last = max(grants) if renewing else None
    most = 0
    for r in facts.records:
        if (
            r.service_date <= as_of
            and (rule.categories is None or r.category in rule.categories)
            and (rule.count_cities is None or r.city in rule.count_cities)
            and (last is None or r.service_date > last)
        ):
            most += r.minutes
    return most + within < need


def near_steps(ladders: dict[str, list[AwardRule]], facts: VolunteerFacts, as_of: dt.date, within: int):
    """The steps progress_all would show that `listed` keeps (ladders: tiers by rank)."""
    for tiers in ladders.values():
        visible = [r for r in tiers if r.cities is None or r.cities & facts.cities or r.code in facts.grants]
        if not any(r.once for r in visible):
            for rule in visible:
                if rule.code in facts.grants and rule.renewal is None:
                    continue
                if not _cannot_come_near(rule, facts, as_of, within):
                    step = progress(rule, facts, as_of)
                    if listed(step, within):
                        yield step
            continue
        top = max((r.rank for r in visible if facts.grants.get(r.code)), default=0)
        goal_seen = False  # progress_all shows the reached tiers above the top granted one, and one goal
        for rule in visible:
            if rule.rank <= top or facts.grants.get(rule.code):
                continue
            if _cannot_come_near(rule, facts, as_of, within):
                goal_seen = True
                continue
            step = progress(rule, facts, as_of)
            if step.reached:
                yield step
            elif not goal_seen:
                goal_seen = True
                if listed(step, within):
                    yield step


# ---- chat ---------------------------------------------------------------------------------------------


def eligible_chat(ctx: Context, _argument: str) -> list[Reply]:
    """獎勵名單 for a coordinator: their own units' members who can apply, or nearly."""
    t = ctx.t
    units = [unit for unit, role in repo.units_of(ctx.session, ctx.account.volunteer_id) if role == "coordinator"]
    if not units:
        return [Reply(t("Only a unit's coordinator can see the award list."))]
    rules = rules_in_store(ctx.session)
    return [Reply(_unit_list(ctx, unit, eligible_list(ctx.session, unit.id, ctx.today, None, CHAT_WITHIN_HOURS, rules)))
            for unit in units]


def _unit_list(ctx: Context, unit: Unit, rows: list[EligibleRow]) -> str:
    t = ctx.t
    if not rows:
        return t("Nobody in {unit} has reached an award or is within {hours} hours of one.",
                 unit=unit.name, hours=CHAT_WITHIN_HOURS)
    lines = [t("Award list: {unit}", unit=unit.name)]
    for row in rows[:CHAT_MAX_ROWS]:
        status = []
        if row.eligible:
            status.append(t("can apply"))
        if row.minutes_needed > 0:
            status.append(t("{hours} h to go", hours=hours_from_minutes(row.minutes_needed, ctx.locale)))
        if row.missing:
            items = t(", ").join(requirement_name(t, m) for m in row.missing)
            status.append(t("Still needed: {items}", items=items))
        lines.append(f"• {row.name}｜{row.award_name(ctx.locale)}｜" + "；".join(status))
    if len(rows) > CHAT_MAX_ROWS:
        lines.append(t("…and {count} more.", count=len(rows) - CHAT_MAX_ROWS))
    return "\n".join(lines)
