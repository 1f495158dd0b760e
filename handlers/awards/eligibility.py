"""獎勵名單 / eligible: which volunteers of a unit have reached an award, or nearly, and what they still lack.

For a whole unit at once: a handful of grouped queries for all its members (storage/award_store.py, "awards of a
whole unit"), the facts built here in Python, then the same pure engine (handlers/awards.py) as 獎勵 uses.
Service is read summed per span between the days the awards' windows close, not day by day: the engine
only ever asks for sums up to those days, and for the first day served.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace

from sqlmodel import Session

from handlers.awards import standing
from handlers.awards.progress import requirement_name, round_name, rules_in_store
from handlers.awards.rules import (
    NEVER,
    AwardProgress,
    AwardRule,
    CountedMinutes,
    VolunteerFacts,
    anniversary,
    cannot_come_near,
    cut_off,
    facts_from_rows,
    hours_count_from,
    on_day,
    progress,
    text_in,
)
from handlers.context import Context
from handlers.formatting import hours_to_go
from handlers.i18n import Translator
from handlers.notifications import unreachable_line
from handlers.types import Reply
from storage import award_store, people_store, standing_store
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
    next_deadline: dt.date | None = None  # the volunteer's next date to apply by (the monthly nudge says it)
    round_year: int | None = None  # the award year of the round the row counts for (None: any time)
    counted_until: dt.date | None = None  # hours up to this day are counted

    @property
    def hours_needed(self) -> float:
        """Rounded up to a tenth: 1 minute short is 0.1 hours to go, never 0."""
        return -(-self.minutes_needed // 6) / 10

    def award_name(self, locale: str) -> str:
        return text_in(self.award_names, locale)

    def as_json(self) -> dict:
        return {
            "id": self.volunteer_id,
            "name": self.name,
            "award": self.award,
            "eligible": self.eligible,
            "hours_needed": self.hours_needed,
            "missing": list(self.missing),
            "round": self.round_year,
            "counted_until": self.counted_until.isoformat() if self.counted_until else None,
        }


def window_closes(rules: list[AwardRule], as_of: dt.date, round_year: int | None = None) -> list[dt.date]:
    """The days before `as_of` up to which some award's round counts hours: the cut-off of a round whose
    deadline is still ahead (or of `round_year`'s). The only sums the engine asks for besides the one up to
    `as_of`; each more is a sum per member and unit, so no others."""
    closes = set()
    for rule in rules:
        for year in range(as_of.year - 1, as_of.year + 2):
            close = cut_off(rule, year)
            if close is None or close >= as_of:
                continue
            if year == round_year or any(on_day(year, d.month, d.day) >= as_of for d in rule.deadlines):
                closes.add(close)
    return sorted(closes)


def unit_facts(
    session: Session,
    unit_id: int,
    rules: list[AwardRule],
    as_of: dt.date,
    round_year: int | None = None,
    only: list[int] | None = None,
) -> list[tuple[int, str, VolunteerFacts]]:
    """(id, name, facts) of every member of the unit (`only`: of these members of it), as
    handlers.awards.progress.facts_for builds them, in bulk, the unit being the one that applies (nominating)."""
    members = award_store.members_with_facts(session, unit_id, only)
    if not members:
        return []
    unit = people_store.unit(session, unit_id)
    city = unit.city if unit is not None else None
    units: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for volunteer_id, category, city in award_store.member_units(session, unit_id, only):
        units[volunteer_id].append((category, city))
    trainings: dict[int, list[tuple[str, str | None, dt.date]]] = defaultdict(list)
    for volunteer_id, kind, category, first in award_store.member_first_trainings(session, unit_id, only):
        trainings[volunteer_id].append((kind, category, first))
    grants: dict[int, list[tuple[str, dt.date]]] = defaultdict(list)
    for volunteer_id, code, granted_on in award_store.member_grants(session, unit_id, only):
        grants[volunteer_id].append((code, granted_on))
    facts = {
        m.volunteer_id: facts_from_rows(
            m, units[m.volunteer_id], trainings[m.volunteer_id], grants[m.volunteer_id]
        )
        for m in members
    }

    # A renewal counts only the hours after the award's last grant: that day is one more end of the member's
    # spans. Of the service before the training day only the hours entered by hand count, so a member's service
    # in a unit they served in before their training for it is read day by day with the day's sources apart
    # (a slower read: few need it).
    renewable = {rule.code for rule in rules if rule.renewal is not None}
    last_grants = {
        v: {max(days) for code, days in f.grants.items() if code in renewable and days}
        for v, f in facts.items()
    }
    summed = award_store.member_service_buckets(
        session,
        unit_id,
        window_closes(rules, as_of, round_year),
        as_of,
        own_ends={v: days for v, days in last_grants.items() if days},
        only=only,
    )
    before_training = {
        (b.volunteer_id, b.unit_id) for b in summed if _served_before_training(facts[b.volunteer_id], b)
    }

    records: dict[int, list[CountedMinutes]] = defaultdict(list)
    first_day: dict[tuple[int, str, str], dt.date] = {}
    for b in summed:
        if (b.volunteer_id, b.unit_id) in before_training:
            continue
        # The sum sits on the span's last day: counted by any window that ends on or after the span. Every
        # minute of it counts (nothing was served there before the training), hence no from_chat.
        records[b.volunteer_id].append(
            CountedMinutes(b.last_day, b.minutes, b.category, b.city, unit_id=b.unit_id)
        )
        key = (b.volunteer_id, b.category, b.city)
        first_day[key] = min(b.first_day, first_day.get(key, b.first_day))
    for (volunteer_id, category, city), day in first_day.items():
        # No minutes, only the first day served there (years counted from the first service in a city).
        records[volunteer_id].append(CountedMinutes(day, 0, category, city))
    # Where the category's own special training is not recorded at all (NEVER), nothing served there counts but
    # record-book balances: only those are read.
    never = {
        (b.volunteer_id, b.unit_id)
        for b in summed
        if hours_count_from(facts[b.volunteer_id], b.category) == NEVER
    }
    for pairs, balances_only in (
        (sorted(before_training - never), False),
        (sorted(before_training & never), True),
    ):
        for first in range(0, len(pairs), DETAIL_CHUNK):
            chunk = pairs[first : first + DETAIL_CHUNK]
            for b in award_store.member_service_buckets(
                session, unit_id, [], as_of, chunk, by_source=True, balances_only=balances_only
            ):
                records[b.volunteer_id].append(
                    CountedMinutes(
                        b.last_day, b.minutes, b.category, b.city, from_chat=b.from_chat, unit_id=b.unit_id
                    )
                )
    at_age = _first_service_at_ages(session, rules, facts, as_of)
    return [
        (
            m.volunteer_id,
            m.name,
            replace(
                facts[m.volunteer_id],
                records=tuple(records[m.volunteer_id]),
                nominating=(unit_id, city) if city is not None else None,
                first_service_at_age={age: days.get(m.volunteer_id) for age, days in at_age.items()},
            ),
        )
        for m in members
    ]


def _first_service_at_ages(
    session: Session, rules: list[AwardRule], facts: dict[int, VolunteerFacts], as_of: dt.date
) -> dict[int, dict[int, dt.date]]:
    """age → member → first service on or after that birthday, for the awards whose years run from it (the
    summed spans cannot tell it); only members of that age by `as_of` are read."""
    found = {}
    for age in {rule.min_age for rule in rules if rule.years_after_age}:
        since = {
            v: birthday
            for v, f in facts.items()
            if f.birth_date is not None and (birthday := anniversary(f.birth_date, age)) <= as_of
        }
        found[age] = award_store.first_service_on_or_after(session, since) if since else {}
    return found


def _served_before_training(facts: VolunteerFacts, bucket: award_store.ServiceBucket) -> bool:
    """Whether the member served in the bucket's unit before the day their chat-recorded hours there count."""
    start = hours_count_from(facts, bucket.category)
    return start is not None and bucket.first_day < start


def eligible_list(
    session: Session,
    unit_id: int,
    as_of: dt.date,
    award: str | None = None,
    within_hours: float = 0,
    rules: list[AwardRule] | None = None,
    round_year: int | None = None,
    *,
    from_scratch: bool = False,
) -> list[EligibleRow]:
    """Members of the unit who have reached an award they do not hold yet, or are within `within_hours` of it
    (with its years already served); one row per member and award. Eligible first, then the nearest.

    round_year: the round of that award year (the deadline alert for it asks), else the round open on `as_of`
    (as 獎勵 shows it).
    The same rows as filtering progress_all's answer (a test keeps them equal), without computing the awards
    a member's hours cannot reach even before any window: most of them, for most members.

    Read from the rows kept per member (handlers/awards/standing.py: this very computation, made again only for
    the members whose facts changed, or on a new day) when they cover the question: the round open on `as_of`,
    the award table in the store, within at most KEPT_WITHIN_HOURS. `from_scratch`: computed now for everyone.
    """
    in_store = rules_in_store(session)
    if (
        not from_scratch
        and round_year is None
        and (rules is None or rules == in_store)
        and standing.covers(within_hours)
    ):
        return kept_list(session, unit_id, as_of, award, within_hours, in_store)
    return computed_list(
        session, unit_id, as_of, award, within_hours, rules if rules is not None else in_store, round_year
    )


def computed_list(
    session: Session,
    unit_id: int,
    as_of: dt.date,
    award: str | None,
    within_hours: float,
    rules: list[AwardRule],
    round_year: int | None = None,
    *,
    only: list[int] | None = None,
) -> list[EligibleRow]:
    """eligible_list computed now by the award engine, for every member of the unit (`only`: these)."""
    if award is not None:
        ladders_wanted = {rule.ladder for rule in rules if rule.code == award}
        rules = [
            rule for rule in rules if rule.ladder in ladders_wanted
        ]  # the tiers below decide which one shows
    within = max(0, round(within_hours * 60))
    ladders: dict[str, list[AwardRule]] = {}
    for rule in rules:
        ladders.setdefault(rule.ladder, []).append(rule)
    for tiers in ladders.values():
        tiers.sort(key=lambda r: r.rank)
    rows = []
    for volunteer_id, name, facts in unit_facts(session, unit_id, rules, as_of, round_year, only):
        for step in near_steps(ladders, facts, as_of, within, round_year):
            if award is None or step.code == award:
                rows.append(
                    EligibleRow(
                        volunteer_id,
                        name,
                        step.code,
                        step.names,
                        step.eligible,
                        step.reached,
                        step.minutes_needed,
                        step.missing,
                        step.next_deadline,
                        step.round_year,
                        step.counted_until,
                    )
                )
    rows.sort(key=lambda r: (not r.eligible, not r.reached, r.minutes_needed, r.volunteer_id))
    return rows


# ---- the list kept (handlers/awards/standing.py): the whole of it, a summary, a page ----------------------


def _refresh(session: Session, unit_id: int, as_of: dt.date, rules: list[AwardRule]) -> int:
    """The unit's kept list brought up to date (the members made again: how many)."""

    def compute(within: float, rules: list[AwardRule], only: list[int] | None) -> list[EligibleRow]:
        return computed_list(session, unit_id, as_of, None, within, rules, only=only)

    return standing.refresh(session, unit_id, as_of, compute, rules)


def _as_row(
    name: str, row: standing_store.KeptRow, names: dict[str, tuple[tuple[str, str], ...]]
) -> EligibleRow:
    return EligibleRow(
        row.volunteer_id,
        name,
        row.award,
        names.get(row.award, ()),
        row.eligible,
        row.reached,
        row.minutes_needed,
        row.missing,
        row.next_deadline,
        row.round_year,
        row.counted_until,
    )


def kept_list(
    session: Session,
    unit_id: int,
    as_of: dt.date,
    award: str | None,
    within_hours: float,
    rules: list[AwardRule],
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[EligibleRow]:
    """eligible_list's rows (within at most standing.KEPT_WITHIN_HOURS), read from the kept rows brought up to
    date; `offset`/`limit`: a page of them."""
    _refresh(session, unit_id, as_of, rules)
    names = {rule.code: rule.names for rule in rules}
    return [
        _as_row(name, row, names)
        for name, row in standing_store.kept_rows(
            session, unit_id, standing.within_minutes(within_hours), award, offset, limit
        )
    ]


@dataclass(frozen=True)
class AwardCount:
    """One award's line of the list's summary: how many can apply now, have reached it but still lack
    something, are within the hours."""

    award: str
    names: tuple[tuple[str, str], ...]
    can_apply: int
    reached: int
    near: int

    @property
    def total(self) -> int:
        return self.can_apply + self.reached + self.near

    def award_name(self, locale: str) -> str:
        return text_in(self.names, locale)


def list_summary(session: Session, unit_id: int, as_of: dt.date, within_hours: float) -> list[AwardCount]:
    """Per award on the unit's list (eligible_list's rows), its counts, in the award table's order. From the kept
    rows when they cover `within_hours`, else from the list computed now."""
    rules = rules_in_store(session)
    if standing.covers(within_hours):
        _refresh(session, unit_id, as_of, rules)
        counts = standing_store.kept_counts(session, unit_id, standing.within_minutes(within_hours))
    else:
        counts = {}
        for row in computed_list(session, unit_id, as_of, None, within_hours, rules):
            a, b, c = counts.get(row.award, (0, 0, 0))
            counts[row.award] = (
                a + row.eligible,
                b + (row.reached and not row.eligible),
                c + (not row.reached),
            )
    return [AwardCount(rule.code, rule.names, *counts[rule.code]) for rule in rules if rule.code in counts]


def list_page(
    session: Session,
    unit_id: int,
    as_of: dt.date,
    award: str,
    within_hours: float,
    *,
    offset: int,
    limit: int,
) -> list[EligibleRow]:
    """One award's rows of the unit's list, `limit` of them from `offset`, in the list's order."""
    rules = rules_in_store(session)
    if standing.covers(within_hours):
        return kept_list(session, unit_id, as_of, award, within_hours, rules, offset=offset, limit=limit)
    return computed_list(session, unit_id, as_of, award, within_hours, rules)[offset : offset + limit]


def listed_members(
    session: Session, unit_id: int, as_of: dt.date, within_hours: float
) -> set[int] | standing_store.MemberQuery:
    """The members on the unit's list: reached an award, or within the hours of one (the Volunteers filter):
    their ids, or a query of them (the kept list's) to narrow another query with."""
    rules = rules_in_store(session)
    if standing.covers(within_hours):
        _refresh(session, unit_id, as_of, rules)
        return standing_store.kept_members(unit_id, standing.within_minutes(within_hours))
    return {row.volunteer_id for row in computed_list(session, unit_id, as_of, None, within_hours, rules)}


def keep_lists(session: Session, as_of: dt.date) -> int:
    """Every unit's kept list made for `as_of` (the nightly job, after the day turned); returns the members
    made again."""
    rules = rules_in_store(session)
    made = 0
    for unit in people_store.all_units(session):
        assert unit.id is not None
        made += _refresh(session, unit.id, as_of, rules)
    return made


def listed(step: AwardProgress, within_minutes: int) -> bool:
    """Reached and not held, or held but due for renewal; or this close, with the years already served and
    old enough. An unknown birth date does not hide a member: the list says it is missing."""
    if step.granted_on is not None and not step.renewal:
        return False
    years_done = (
        step.years_needed == 0
        or (step.years_met_on is not None and step.years_met_on <= step.counted_until)
        or (step.years_after_age and step.age_met_on is None)  # from an unknown birthday: say it is missing
    )
    too_young = step.age_met_on is not None and step.age_met_on > step.counted_until
    return step.reached or (years_done and not too_young and step.minutes_needed <= within_minutes)


def near_steps(
    ladders: dict[str, list[AwardRule]],
    facts: VolunteerFacts,
    as_of: dt.date,
    within: int,
    round_year: int | None = None,
):
    """The steps progress_all would show that `listed` keeps (ladders: tiers by rank)."""
    for tiers in ladders.values():
        visible = [r for r in tiers if r.cities is None or r.cities & facts.cities or r.code in facts.grants]
        if any(r.once for r in visible):
            yield from _tier_steps(visible, facts, as_of, within, round_year)
        else:
            yield from _separate_steps(visible, facts, as_of, within, round_year)


def _separate_steps(
    visible: list[AwardRule], facts: VolunteerFacts, as_of: dt.date, within: int, round_year: int | None
):
    """Awards of a ladder granted each on its own: every one not granted (or renewable) that comes near."""
    for rule in visible:
        if rule.code in facts.grants and rule.renewal is None:
            continue
        if not cannot_come_near(rule, facts, as_of, within):
            step = progress(rule, facts, as_of, round_year)
            if listed(step, within):
                yield step


def _tier_steps(
    visible: list[AwardRule], facts: VolunteerFacts, as_of: dt.date, within: int, round_year: int | None
):
    """Tiers granted once: the reached ones above the top granted tier, and one goal."""
    top = max((r.rank for r in visible if facts.grants.get(r.code)), default=0)
    goal_seen = False  # progress_all shows the reached tiers above the top granted one, and one goal
    for rule in visible:
        if rule.rank <= top or facts.grants.get(rule.code):
            continue
        if cannot_come_near(rule, facts, as_of, within):
            goal_seen = True
            continue
        step = progress(rule, facts, as_of, round_year)
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
    units = people_store.coordinated_units(ctx.session, ctx.volunteer_id)
    if not units:
        return [Reply(t("Only a unit's coordinator can see the award list."))]
    rules = rules_in_store(ctx.session)
    return [Reply(_unit_answer(ctx, unit, rules)) for unit in units]


def _unit_answer(ctx: Context, unit: Unit, rules) -> str:
    """One unit's list, and under it who blocked the bot: an award's news cannot reach them by chat."""
    assert unit.id is not None
    rows = eligible_list(ctx.session, unit.id, ctx.today, None, CHAT_WITHIN_HOURS, rules)
    return "\n\n".join(
        filter(None, [_unit_list(ctx, unit, rows), unreachable_line(ctx.t, ctx.session, [unit.id])])
    )


def row_line(t: Translator, row: EligibleRow) -> str:
    """One person and award of the list, in the reader's words: the chat's 獎勵名單 and `vbot awards eligible`."""
    status = [round_name(t, row.round_year)] if row.round_year is not None else []
    if row.eligible:
        status.append(t("can apply"))
    elif row.reached:
        status.append(t("reached"))
    if row.minutes_needed > 0:
        status.append(t("{hours} h to go", hours=hours_to_go(row.minutes_needed, t.locale)))
    if row.missing:
        items = t(", ").join(requirement_name(t, m) for m in row.missing)  # what stops it
        status.append(t("Still needed: {items}", items=items))
    return f"{row.name}｜{row.award_name(t.locale)}｜" + "；".join(status)


def _unit_list(ctx: Context, unit: Unit, rows: list[EligibleRow]) -> str:
    t = ctx.t
    if not rows:
        return t(
            "Nobody in {unit} has reached an award or is within {hours} hours of one.",
            unit=unit.name,
            hours=CHAT_WITHIN_HOURS,
        )
    lines = [t("Award list: {unit}", unit=unit.name)]
    lines += [f"• {row_line(t, row)}" for row in rows[:CHAT_MAX_ROWS]]
    if len(rows) > CHAT_MAX_ROWS:
        lines.append(t("…and {count} more.", count=len(rows) - CHAT_MAX_ROWS))
    return "\n".join(lines)
