"""獎勵 / awards: where a volunteer stands towards every award that applies, and the milestone after a check-out.

The rules themselves are data (storage/seeds/awards.toml, copied into the store by `vbot init`);
handlers/awards.py computes progress; this module reads the volunteer's facts and words the answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace

from sqlmodel import Session

from handlers.awards.deadlines import valid_until_line
from handlers.awards.rules import (
    AwardProgress,
    AwardRule,
    CountedMinutes,
    VolunteerFacts,
    cannot_come_near,
    counted_categories,
    facts_from_rows,
    headroom_minutes,
    newly_reached,
    parse_rules,
    progress_all,
    read_rule_rows,
    text_in,
)
from handlers.context import Context
from handlers.formatting import SCREEN_LINES, hours_done, hours_to_go, local_date, screen_lines
from handlers.i18n import Translator
from handlers.types import Bar, Button, Card, Reply
from storage import award_store, people_store

BAR_CELLS = 10


def seed_award_rules(session: Session, now: dt.datetime) -> None:
    """Copies the shipped award table into the store, leaving rows a unit has changed as they are."""
    rows = read_rule_rows()
    parse_rules(rows)  # a bad shipped table stops `vbot init`, not a volunteer's chat
    definitions = {row["code"]: json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows}
    award_store.seed_award_rules(session, definitions, now)


@dataclass(frozen=True)
class AwardTable:
    """The award table's rules, nearest goals first; the fewest counted minutes any award needs (a renewal's
    hours where it has one); and a digest of its rows (a kept headroom holds for these rows only)."""

    rules: tuple[AwardRule, ...]
    fewest: int
    digest: str


# The table's rows → the table: parsed once a process (again when the rows change).
_parsed: dict[tuple[str, ...], AwardTable] = {}


def _award_table(session: Session) -> AwardTable:
    """The award table (read each time: a unit may change a row), parsed only when its rows differ from the last
    ones parsed."""
    definitions = tuple(award_store.award_rule_definitions(session))
    table = _parsed.get(definitions)
    if table is None:
        parsed = parse_rules([json.loads(definition) for definition in definitions])
        rules = tuple(sorted(parsed, key=lambda rule: (rule.hours, rule.years, rule.code)))
        fewest = min(
            (round(min(r.hours, r.renewal.hours if r.renewal else r.hours) * 60) for r in rules), default=0
        )
        digest = hashlib.sha256("\0".join(definitions).encode()).hexdigest()[:32]
        table = AwardTable(rules, fewest, digest)
        _parsed.clear()
        _parsed[definitions] = table
    return table


def rules_in_store(session: Session) -> list[AwardRule]:
    """The award table, nearest goals first (by the hours they need). Read each time (a unit may change a row),
    parsed only when the rows differ from the last ones parsed."""
    return list(_award_table(session).rules)


def facts_for(session: Session, volunteer_id: int) -> VolunteerFacts:
    """One volunteer's facts: their service day by day, each day's chat-recorded and hand-entered minutes apart."""
    return facts_from_rows(
        people_store.volunteer(session, volunteer_id),
        [(unit.category, unit.city) for unit, _role in people_store.units_of(session, volunteer_id)],
        [
            (training.kind, training.category, training.date)
            for training in award_store.trainings_of(session, volunteer_id)
        ],
        [(grant.award_code, grant.granted_on) for grant in award_store.grants_of(session, volunteer_id)],
        [
            CountedMinutes(day, minutes, category, city, from_chat=from_chat, unit_id=unit_id)
            for day, minutes, category, city, from_chat, unit_id in award_store.counted_service_by_day(
                session, volunteer_id
            )
        ],
    )


def bar(fraction: float) -> str:
    filled = round(fraction * BAR_CELLS)
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def category_name(t: Translator, category: str) -> str:
    """A unit's service category in plain words (domain.md)."""
    names = {
        "social-welfare": t("social welfare"),
        "health": t("health"),
        "education": t("education"),
        "culture": t("culture"),
        "environment": t("environment"),
        "police": t("police"),
        "fire": t("fire services"),
        "traffic": t("traffic"),
        "general": t("general"),
    }
    return names.get(category, category)


def requirement_name(t: Translator, code: str) -> str:
    if code.startswith("special_training:"):  # a new category's own special training
        return t("special training for {category}", category=category_name(t, code.split(":", 1)[1]))
    names = {
        "record_book": t("record book"),
        "basic_training": t("basic training"),
        "special_training": t("special training"),
        "english_name": t("English name"),
        "birth_date": t("birth date"),
        "performance_certificate": t("performance certificate"),
        "unit_hours": t("enough hours at the nominating unit"),
        "same_year_award": t("not another award of this kind in the same year"),
    }
    return names.get(code, code)


def round_name(t: Translator, year: int) -> str:
    """An award's round by its award year: `115年度` (the ROC year in zh_TW), `2026 round`."""
    return t("{year} round", year=year - 1911 if t.locale == "zh_TW" else year)


def round_line(t: Translator, step: AwardProgress) -> str | None:
    """Which round the progress counts for, and its cut-off: `115年度：時數計算至115年5月31日`."""
    if step.round_year is None:
        return None
    name = round_name(t, step.round_year)
    if step.cut_off is None:
        return name
    return t("{round}: hours counted to {date}", round=name, date=local_date(step.cut_off, t.locale))


def heading_lines(t: Translator, step: AwardProgress, today: dt.date) -> list[str]:
    """The round the card is about, and how long a held card is valid."""
    lines = [line] if (line := round_line(t, step)) else []
    if step.valid_until is not None:
        lines.append(valid_until_line(t, step.valid_until, today))
    return lines


def award_card(t: Translator, step: AwardProgress, today: dt.date) -> Card:
    """One award: its status, an hours bar, a years bar, what is missing, the deadline."""
    locale = t.locale
    name = step.name(locale)
    if step.granted_on is not None and not step.renewal:
        return Card(t("✅ {award}: granted on {date}", award=name, date=local_date(step.granted_on, locale)))
    head = t("🎉 {award}: reached!", award=name) if step.reached else f"▫️ {name}"
    if step.renewal:
        head += " " + t("(renewal)")
    counted = hours_done(step.counted_minutes, locale)
    if step.minutes_needed > 0:
        hours_label = t(
            "{hours} h, {missing} h to go", hours=counted, missing=hours_to_go(step.minutes_needed, locale)
        )
    else:
        hours_label = t("{hours} h", hours=counted)
    bars = [Bar(hours_label, step.hours_fraction)]
    if step.years_needed:
        if step.years_met_on is None and step.years_after_age:
            label = t(
                "{years} years from the first service at {age}: none yet",
                years=step.years_needed,
                age=step.age_needed,
            )
            bars.append(Bar(label, 0.0))
        elif step.years_met_on is None:
            bars.append(Bar(t("{years} years: start date unknown", years=step.years_needed), 0.0))
        elif step.years_met_on <= today:
            bars.append(Bar(t("{years} years: done", years=step.years_needed), 1.0))
        else:
            label = t(
                "{years} years on {date}", years=step.years_needed, date=local_date(step.years_met_on, locale)
            )
            bars.append(Bar(label, step.years_fraction))
    lines = heading_lines(t, step, today)
    # A line, not a bar: the years since birth say nothing about how far along the volunteer is.
    # An unknown birth date shows under "Still needed".
    if step.age_needed and step.age_met_on is not None:
        if step.age_met_on <= today:
            lines.append(t("{age} years old: done", age=step.age_needed))
        else:
            lines.append(
                t("{age} years old on {date}", age=step.age_needed, date=local_date(step.age_met_on, locale))
            )
    if step.missing:
        lines.append(
            t("Still needed: {items}", items=t(", ").join(requirement_name(t, m) for m in step.missing))
        )
    if step.next_deadline is not None:
        lines.append(t("Apply by {date}", date=local_date(step.next_deadline, locale)))
    return Card(head, tuple(bars), tuple(lines))


def card_text(card: Card) -> str:
    """The card as text with ▓░ bars: what Telegram and the terminal show."""
    return "\n".join([card.title, *(bar(b.fraction) + " " + b.label for b in card.bars), *card.lines])


def compact_line(t: Translator, step: AwardProgress) -> str:
    """One award in a line: granted, reached, or the hours still to go (the details are one `獎勵 N` away)."""
    name = step.name(t.locale)
    if step.granted_on is not None and not step.renewal:
        return t("✅ {award}: granted on {date}", award=name, date=local_date(step.granted_on, t.locale))
    if step.reached:
        return t("🎉 {award}: reached!", award=name)
    if step.minutes_needed > 0:
        missing = hours_to_go(step.minutes_needed, t.locale)
        return "▫️ " + t("{award}: {missing} h to go", award=name, missing=missing)
    return f"▫️ {name}"


def compact_text(t: Translator, steps: list[AwardProgress]) -> str:
    """獎勵 as text (what Telegram and the terminal show): a line per award, numbered, as many as fit one phone
    screen (handlers/formatting.py), then how to see one award's details."""
    word = t("awards")
    footer = t("For one award's details, type {word} and its number, e.g. {word} 1.", word=word)
    lines = [t("Your awards")]
    for number, step in enumerate(steps, start=1):
        line = f"{number}. {compact_line(t, step)}"
        rest = len(steps) - number
        more = [t("… and {count} more", count=rest)] if rest else []
        if screen_lines("\n".join([*lines, line, *more, footer])) > SCREEN_LINES:
            lines.append(t("… and {count} more", count=rest + 1))
            break
        lines.append(line)
    return "\n".join([*lines, footer])


def my_awards(ctx: Context, argument: str) -> list[Reply]:
    """獎勵: every award that applies (LINE shows them as cards, the text is a compact list); 獎勵 N: one."""
    t = ctx.t
    steps = progress_all(rules_in_store(ctx.session), facts_for(ctx.session, ctx.volunteer_id), ctx.today)
    if not steps:
        return [Reply(t("No awards apply to your units yet."))]
    cards = tuple(award_card(t, step, ctx.today) for step in steps)
    buttons = (Button(t("My hours"), t("hours")), Button(t("Check in"), t("check in")))
    number = argument.strip()
    if number.isdigit() and 1 <= int(number) <= len(cards):
        card = cards[int(number) - 1]
        return [Reply(card_text(card), (Button(t("My awards"), t("awards")), *buttons), (card,))]
    return [Reply(compact_text(t, steps), buttons, cards)]


def newly_reached_awards(
    session: Session,
    volunteer_id: int,
    as_of: dt.date,
    added: list[tuple[dt.date, int, str, str]],
    from_chat: bool = False,
    counted_minutes: int | None = None,
    *,
    check_out: bool = False,
    headroom: award_store.Headroom | None = None,
) -> list[AwardProgress]:
    """The awards that the just-counted minutes (day, minutes, unit category, unit city) made reachable in the
    round open now (newly_reached: hours after a round's cut-off announce nothing until the next round opens).

    from_chat: the minutes were served (recorded at a check-out, or service entered by hand), not a record
    book's balance: facts_for keeps the two apart, and only the former wait for the training day.
    counted_minutes: all the person's counted minutes with the new ones (award_store.counted_minutes_of), when
    the caller has read them. check_out: the minutes are a check-out's, recorded in this transaction (on its
    day, or the day before over midnight): then `headroom` (award_store.headroom_held, read before they were
    recorded) may answer without the person's history, and otherwise a new headroom is kept for the next one.
    """
    table = _award_table(session)
    # No award needs fewer minutes than `fewest`: while all the person's counted minutes together (one read of
    # the kept sums) fall short of it, nothing can be reached, and the person's facts are not read at all; nor
    # when the table is empty.
    if counted_minutes is None:
        counted_minutes = award_store.counted_minutes_of(session, volunteer_id)
    if not table.rules or counted_minutes < table.fewest:
        return []
    added_minutes = sum(minutes for _day, minutes, _category, _city in added)
    if check_out and headroom is not None and _within(headroom, table, as_of, added_minutes):
        award_store.spend_headroom(session, volunteer_id, added_minutes)
        return []
    after = facts_for(session, volunteer_id)
    found = _newly_reached(table.rules, after, as_of, added, from_chat, added_minutes if check_out else None)
    if check_out:
        left = headroom_minutes(table.rules, after, as_of)
        award_store.keep_headroom(session, volunteer_id, left, as_of, table.digest)
    return found


def _within(headroom: award_store.Headroom, table: AwardTable, as_of: dt.date, added_minutes: int) -> bool:
    """The check-out's minutes stay under the kept headroom (rules.headroom_minutes): nothing newly reached."""
    return headroom.rules == table.digest and as_of >= headroom.since and added_minutes < headroom.minutes


def _newly_reached(
    table: tuple[AwardRule, ...],
    after: VolunteerFacts,
    as_of: dt.date,
    added: list[tuple[dt.date, int, str, str]],
    from_chat: bool,
    checked_out: int | None,
) -> list[AwardProgress]:
    """newly_reached_awards from the person's facts with the new minutes (`after`); `checked_out`: the minutes of
    a check-out (None: entered by hand, perhaps on an early day)."""
    # Only the ladders of awards the new minutes count for and could reach by now: every other award's progress
    # is the same before and after, so it cannot be newly reached (nor change what a ladder shows).
    reachable = {
        rule.ladder
        for rule in table
        if any(_counts_for(rule, after, category, city) for _day, _minutes, category, city in added)
        and not cannot_come_near(rule, after, as_of, 0)
    }
    rules = [rule for rule in table if rule.ladder in reachable]
    steps_after = progress_all(rules, after, as_of)
    # Only a step reached now, in the round open now, can be new: "before" is worked out for its ladder alone
    # (a ladder's steps depend on its own tiers only), and not at all when no such step exists.
    by_code = {rule.code: rule for rule in rules}
    now_reached = {
        step.ladder
        for step in steps_after
        if step.reached
        and step.this_round
        and not (checked_out is not None and _had_the_hours(by_code[step.code], step, checked_out))
    }
    if not now_reached:
        return []
    rules = [rule for rule in rules if rule.ladder in now_reached]
    before = replace(after, records=_without_added(after.records, added, from_chat))
    reached = set(newly_reached(progress_all(rules, before, as_of), steps_after))
    return [step for step in steps_after if step.code in reached and step.ladder in now_reached]


def _without_added(
    after: tuple[CountedMinutes, ...], added: list[tuple[dt.date, int, str, str]], from_chat: bool
) -> tuple[CountedMinutes, ...]:
    """The records as they were before the new minutes: each taken out of its day's record again, and a day that
    held nothing else left out (it was no day of service then: the first service in a city, or after an age,
    starts an award's years)."""
    records: list[CountedMinutes | None] = list(after)
    for day, minutes, category, city in added:
        key = (day, category, city, from_chat)
        for index, record in enumerate(records):
            if record and (record.service_date, record.category, record.city, record.from_chat) == key:
                left = record.minutes - minutes
                records[index] = replace(record, minutes=left) if left else None
                break
    return tuple(record for record in records if record is not None)


def _had_the_hours(rule: AwardRule, step: AwardProgress, added_minutes: int) -> bool:
    """A step reached after a check-out with hours to spare beyond the new minutes was reached before them too.
    The new minutes add at most their number to any award's count. The years and age stand as they did: a
    check-out's day (today, or yesterday over midnight) cannot be where years already met begin, so whether
    its minutes count there moves no award's start. Minutes entered by hand on an early day can move it: this
    is asked only of a check-out's minutes."""
    need = round((rule.renewal.hours if step.renewal and rule.renewal else rule.hours) * 60)
    return step.counted_minutes - added_minutes >= need


def _counts_for(rule: AwardRule, facts: VolunteerFacts, category: str, city: str) -> bool:
    """Whether minutes served in a unit of this category and city can count towards the rule at all."""
    categories = counted_categories(rule, facts)
    return (categories is None or category in categories) and (
        rule.count_cities is None or city in rule.count_cities
    )


def milestones(
    ctx: Context,
    volunteer_id: int,
    added: list[tuple[dt.date, int, str, str]],
    counted_minutes: int | None = None,
    headroom: award_store.Headroom | None = None,
) -> list[str]:
    """What a check-out made newly reachable, with how to apply: said in the reply (no push).
    `added` are the check-out's minutes, recorded in chat; `counted_minutes` and `headroom` as
    newly_reached_awards takes them."""
    t = ctx.t
    return [
        t(
            "🎉 You have reached the hours and years for {award} ({round})! {how}",
            award=step.name(ctx.locale),
            round=round_name(t, step.round_year),
            how=text_in(step.how_to_apply, ctx.locale),
        )
        if step.round_year is not None
        else t(
            "🎉 You have reached the hours and years for {award}! {how}",
            award=step.name(ctx.locale),
            how=text_in(step.how_to_apply, ctx.locale),
        )
        for step in newly_reached_awards(
            ctx.session,
            volunteer_id,
            ctx.today,
            added,
            from_chat=True,
            counted_minutes=counted_minutes,
            check_out=True,
            headroom=headroom,
        )
    ]
