"""The headroom kept at check-outs (models.AwardHeadroom): a check-out whose minutes stay under it answers without
reading the person's history, and every check-out still announces exactly the awards a computation from the
whole history announces, through days that cross the rounds' cut-offs, visits over midnight, and every kind of
change to the person's facts or to the award table between check-outs."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from handlers.awards.progress import facts_for, newly_reached_awards
from handlers.awards.rules import NO_AWARD_AHEAD, headroom_minutes, parse_rules
from handlers.people import admin
from storage import award_store
from storage.models import AwardHeadroom, Membership, Unit
from storage.models import AwardRule as AwardRuleRow
from tests.test_award_totals import milestones_from_scratch, mixed_history, record, store  # noqa: F401 (a fixture)
from tests.test_eligibility import NOW, TODAY, person

TEXTS = {"zh_TW": "x", "en": "x"}


def rule(code: str, ladder: str, rank: int, hours: int, **more) -> dict:
    return {
        "code": code,
        "ladder": ladder,
        "rank": rank,
        "hours": hours,
        "name": TEXTS,
        "how_to_apply": TEXTS,
        **more,
    }


RULES = parse_rules(
    [
        rule("first", "hours", 1, 10, once=True),
        rule("second", "hours", 2, 30, once=True),
        rule("card", "card", 1, 20, renewal={"years": 0, "hours": 25}),
    ]
)


def test_the_headroom_is_the_nearest_award_not_already_reached_by_the_days_before(store):  # noqa: F811
    """Pure figures: the fewest minutes to the nearest award; an award the days before `since` already reach
    gives none; one reached only by today's minutes gives 0 (another check-out today may be the one that
    crosses it in a round that closed yesterday); a granted once-only award none; a renewal counts from its
    grant."""
    _engine, uow = store
    with uow() as session:
        unit = admin.add_unit(session, NOW, "test", name="館", category="culture", city="taipei").id
        v = person(session, unit, "甲", 0, trained=dt.date(2020, 1, 1))
        since = dt.date(2026, 3, 10)
        record(session, v, unit, dt.date(2026, 3, 1), 5 * 60)
        assert headroom_minutes(RULES, facts_for(session, v), since) == 5 * 60  # "first" needs 10 h
        record(session, v, unit, dt.date(2026, 3, 2), 6 * 60)  # 11 h: "first" reached by earlier days
        assert headroom_minutes(RULES, facts_for(session, v), since) == 9 * 60  # "card" needs 20 h
        record(session, v, unit, since, 10 * 60)  # 21 h, "card" crossed on `since` itself
        assert headroom_minutes(RULES, facts_for(session, v), since) == 0
        assert (
            headroom_minutes(RULES, facts_for(session, v), since + dt.timedelta(days=1)) == 9 * 60
        )  # "second"
        award_store.add_award_grant(session, v, "card", since, "test", NOW)
        award_store.add_award_grant(session, v, "first", since, "test", NOW)
        # the renewal counts after the grant: nothing yet, 25 h to go; "second" is 9 h away
        assert headroom_minutes(RULES, facts_for(session, v), since + dt.timedelta(days=1)) == 9 * 60
        record(session, v, unit, since + dt.timedelta(days=2), 9 * 60)  # 30 h: "second" reached
        award_store.add_award_grant(session, v, "second", since + dt.timedelta(days=3), "test", NOW)
        left = headroom_minutes(RULES, facts_for(session, v), since + dt.timedelta(days=4))
        assert left == 16 * 60, "the renewal: 9 of its 25 h served after the grant"
        award_store.add_award_grant(session, v, "card", since + dt.timedelta(days=3), "test", NOW)
        assert headroom_minutes(RULES, facts_for(session, v), since + dt.timedelta(days=4)) == 25 * 60
        assert headroom_minutes([r for r in RULES if r.once], facts_for(session, v), since) == NO_AWARD_AHEAD
        session.rollback()


def check_out(session, v, unit, day, minutes, over_midnight=False):
    """A check-out as check_out_person does it: the headroom read before its minutes are recorded. Returns the
    awards announced, as from the whole history, and whether the kept headroom answered."""
    held = award_store.headroom_held(session, v)
    category, city = session.get(Unit, unit).category, session.get(Unit, unit).city
    parts = [(day - dt.timedelta(days=1), 30), (day, minutes - 30)] if over_midnight else [(day, minutes)]
    rows = [record(session, v, unit, when, part) for when, part in parts]
    added = [(when, part, category, city) for when, part in parts]
    fast = sorted(
        s.code for s in newly_reached_awards(session, v, day, added, True, check_out=True, headroom=held)
    )
    kept = session.get(AwardHeadroom, v)
    session.refresh(kept)
    spent = kept.since != day  # the kept headroom answered (else it was worked out again on `day`)
    assert fast == milestones_from_scratch(session, v, day, added, True), (v, unit, day, minutes, held, fast)
    return fast, spent, rows


def test_check_outs_on_the_kept_headroom_announce_what_the_whole_history_does(store):  # noqa: F811
    """Each member checks out every few days for two years from today (crossing 31 May, 30 June and 31 December
    twice): two hours mostly, now and then a long day or a visit over midnight. Between check-outs their facts
    change in every way the engine reads: hours entered by hand on an early day, a grant, a training, a new
    unit, and a changed award row. Every check-out announces what the whole history says; most are answered by
    the kept headroom."""
    _engine, uow = store
    _unit, members = mixed_history(uow)
    announced, spent_count, computed = 0, 0, 0
    with uow() as session:
        units = {
            v: [m.unit_id for m in session.exec(select(Membership).where(Membership.volunteer_id == v))]
            for v in members
        }
        taichung = session.exec(select(Unit).where(Unit.city == "taichung")).one().id
        for n, v in enumerate(members):
            for step in range(60):
                day = TODAY + dt.timedelta(days=12 * step + n)
                unit = units[v][step % len(units[v])]
                minutes = 120 if step % 7 else 80 * 60 * (1 + n % 3)  # now and then a long stretch
                fast, spent, _rows = check_out(session, v, unit, day, minutes, over_midnight=step % 11 == 5)
                announced += bool(fast)
                spent_count += spent
                computed += not spent
                change = step % 15
                if change == 3:  # hours entered by hand on an early day: the headroom no longer holds
                    admin.add_hours(
                        session, NOW, "test", volunteer_id=v, unit_id=unit, day=dt.date(2021, 6, 1), hours=400
                    )
                elif change == 6:
                    award_store.add_award_grant(session, v, "honor-card", day, "test", NOW)
                elif change == 9:
                    award_store.add_training_record(
                        session,
                        volunteer_id=v,
                        kind="special",
                        category="health",
                        course=None,
                        date=day,
                        minutes=60,
                        recorded_by="test",
                        created_at=NOW,
                    )
                elif change == 12 and taichung not in units[v]:
                    session.add(Membership(volunteer_id=v, unit_id=taichung))
                    units[v].append(taichung)
                if change in (3, 6, 9) or (change == 12 and session.new):
                    session.flush()
                    assert award_store.headroom_held(session, v) is None, "a changed fact voids the headroom"
            assert award_store.headroom_held(session, v) is not None, "the last check-out kept one"
            row = session.get(AwardRuleRow, "national-bronze")
            changed = json.loads(row.definition)
            changed["hours"] = changed["hours"] - 1
            row.definition = json.dumps(changed)
            session.add(row)
            session.flush()
            _fast, spent, _rows = check_out(session, v, units[v][0], day + dt.timedelta(days=1), 60)
            assert not spent, "a changed award table is worked out again"
        session.rollback()
    assert announced >= 8, "the check-outs reach awards along the way"
    assert spent_count > computed, (spent_count, computed)
    assert computed >= 8 * 8, "every change of facts made the next check-out work it out again"


def only_these_awards(session, rows: list[dict]) -> None:
    """The store's award table replaced by `rows` (as a unit may change it)."""
    session.execute(sa.delete(AwardRuleRow))
    for row in rows:
        definition = json.dumps(row, ensure_ascii=False)
        session.add(
            AwardRuleRow(
                code=row["code"], definition=definition, seeded_definition=definition, updated_at=NOW
            )
        )
    session.flush()


def test_a_check_out_on_a_day_before_the_headroom_was_kept_is_worked_out_again(store):  # noqa: F811
    """The headroom holds from the day it was kept on: records dated before that day reach an award on any later
    day, not on an earlier one (a clock set back), where a check-out is worked out from the history."""
    _engine, uow = store
    with uow() as session:
        only_these_awards(session, [rule("plain", "plain", 1, 30, once=True)])
        unit = admin.add_unit(session, NOW, "test", name="館", category="culture", city="taipei").id
        v = person(session, unit, "甲", 0, trained=dt.date(2020, 1, 1))
        record(session, v, unit, dt.date(2026, 5, 20), 29 * 60)
        record(session, v, unit, dt.date(2026, 6, 15), 10 * 60)
        assert check_out(session, v, unit, dt.date(2026, 6, 20), 60)[0] == []
        assert award_store.headroom_held(session, v).minutes == NO_AWARD_AHEAD
        announced, spent, _rows = check_out(session, v, unit, dt.date(2026, 6, 10), 120)
        assert (announced, spent) == (["plain"], False)
        session.rollback()


def announced_for_an_hour_by_hand(store, award: dict, early: dt.date, **who) -> tuple[list, list]:  # noqa: F811
    """`award` alone in the table; a person (`who`: person()'s trained, born) with 20 h served in a Taipei
    library this January gets an hour entered by hand for `early`. What `vbot hours add` announces on 20 June
    2026 (it asks as bot/commands/hours.py does), and what the whole history says."""
    _engine, uow = store
    with uow() as session:
        only_these_awards(session, [award])
        unit = admin.add_unit(session, NOW, "test", name="館", category="culture", city="taipei").id
        v = person(session, unit, "甲", 0, **who)
        record(session, v, unit, dt.date(2026, 1, 10), 20 * 60)
        admin.add_hours(session, NOW, "test", volunteer_id=v, unit_id=unit, day=early, hours=1)
        added = [(early, 60, "culture", "taipei")]
        as_of = dt.date(2026, 6, 20)
        scratch = milestones_from_scratch(session, v, as_of, added, True)
        found = [step.code for step in newly_reached_awards(session, v, as_of, added, from_chat=True)]
        session.rollback()
    return scratch, found


def test_hours_entered_by_hand_on_an_early_day_announce_the_years_they_complete(store):  # noqa: F811
    """An award of 10 h and five years of service from the first at 65: 20 h served since January are enough
    hours, but at 71 the person's first service on record is this January. An hour entered by hand for a day
    six years ago, just after their 65th birthday, moves the start: the award is reached now, and `vbot hours`
    announces it (the check-out's shortcut, that hours to spare mean reached before, does not hold for a day
    long past)."""
    lifetime = rule("lifetime", "lifetime", 1, 10, once=True, years=5, min_age=65, years_after_age=True)
    scratch, found = announced_for_an_hour_by_hand(
        store, lifetime, dt.date(2020, 6, 1), trained=dt.date(2019, 1, 1), born=dt.date(1955, 1, 1)
    )
    assert scratch == ["lifetime"]
    assert found == ["lifetime"]


def test_a_units_new_category_or_city_voids_the_headroom_of_its_people(store):  # noqa: F811
    """A unit's category and city decide which awards its hours count for: changing either (an administrator's
    correction in the database) voids the headroom of its members and of those who served there before
    leaving; its quiet hours do not. The next check-out then announces what the whole history says."""
    _engine, uow = store
    with uow() as session:
        library = admin.add_unit(session, NOW, "test", name="館", category="culture", city="taipei").id
        other = admin.add_unit(session, NOW, "test", name="隊", category="culture", city="taipei").id
        stays, left = (
            person(session, library, name, 0, trained=dt.date(2020, 1, 1)) for name in ("甲", "乙")
        )
        session.add(Membership(volunteer_id=left, unit_id=other))
        for v in (stays, left):
            record(session, v, library, dt.date(2026, 3, 1), 200 * 60)
        session.flush()
        check_out(session, stays, library, dt.date(2026, 6, 20), 60)
        check_out(session, left, other, dt.date(2026, 6, 20), 60)
        session.execute(
            sa.delete(Membership).where(Membership.volunteer_id == left, Membership.unit_id == library)
        )
        session.flush()
        check_out(session, left, other, dt.date(2026, 6, 21), 60)
        unit = session.get(Unit, library)
        unit.quiet_hours = "21:00-08:00"
        session.flush()
        assert all(award_store.headroom_held(session, v) is not None for v in (stays, left))
        unit.category = "health"
        session.flush()
        assert [award_store.headroom_held(session, v) for v in (stays, left)] == [None, None]
        check_out(session, stays, library, dt.date(2026, 6, 22), 60)  # as from the whole history
        unit.city = "taichung"
        session.flush()
        assert award_store.headroom_held(session, stays) is None
        session.rollback()


def test_hours_entered_by_hand_for_a_first_day_in_the_city_announce_the_years_they_complete(store):  # noqa: F811
    """An award of 10 h and three years in Taipei, counted from the first service there: 20 h served there since
    January are enough hours, but the years run from that January. An hour entered by hand for a day four years
    ago is the first service there: the award is reached now and announced (before the hour, that day was no
    day of service, not a day of no minutes)."""
    golden = rule(
        "golden", "golden", 1, 10, once=True, years=3, count_cities=["taipei"], years_in_cities=True
    )
    scratch, found = announced_for_an_hour_by_hand(
        store, golden, dt.date(2022, 3, 1), trained=dt.date(2020, 1, 1)
    )
    assert scratch == ["golden"]
    assert found == ["golden"]


def test_another_change_waits_for_the_check_out_that_holds_the_headroom(store, database_url):  # noqa: F811
    """PostgreSQL: between a check-out's read of the headroom and the end of its transaction, hours another
    coordinator enters for the same person wait (else the check-out would keep its headroom as seen over a
    change it never saw)."""
    engine, uow = store
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock keeps every other transaction out already")
    _unit, members = mixed_history(uow)
    v = members[0]
    with uow() as session:
        unit = session.exec(select(Membership).where(Membership.volunteer_id == v)).first().unit_id
        check_out(session, v, unit, TODAY, 60)
        session.commit()
    with uow() as session:
        assert award_store.headroom_held(session, v) is not None
        failure: list[BaseException] = []

        def enter_hours() -> None:
            with uow() as other:
                other.execute(sa.text("SET lock_timeout = '300ms'"))
                try:
                    admin.add_hours(
                        other, NOW, "test", volunteer_id=v, unit_id=unit, day=dt.date(2021, 6, 1), hours=10
                    )
                    other.commit()
                except sa.exc.OperationalError as error:
                    failure.append(error)

        worker = threading.Thread(target=enter_hours)
        worker.start()
        worker.join()
        assert failure and "lock timeout" in str(failure[0]), "the other change waited for the held count"
        session.rollback()
