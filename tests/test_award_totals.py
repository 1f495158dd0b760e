"""The kept sums of counted minutes (storage/totals_store.py) that the unit's award list reads: after every kind
of write they equal the sums computed afresh from the records, and the list built from them gives exactly the
answers of the one-volunteer-at-a-time computation (every record read day by day) for every award and round."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.database import prepare_database
from handlers.awards.eligibility import eligible_list, near_steps, unit_facts
from handlers.awards.progress import facts_for, newly_reached_awards, rules_in_store
from handlers.awards.rules import anniversary, newly_reached, parse_rules, progress, progress_all
from handlers.people import admin
from storage import award_store, totals_store
from storage.db import UnitOfWork, make_engine
from storage.models import AwardGrant, Membership, ServiceRecord, Unit
from storage.models import AwardRule as AwardRuleRow
from tests.test_eligibility import NOW, TODAY, chat_hours, person

Y = TODAY.year


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    prepare_database(engine)
    yield engine, UnitOfWork(engine)
    engine.dispose()


def kept(engine) -> tuple[list, list]:
    with engine.connect() as c:
        return (
            sorted(c.execute(sa.text("SELECT * FROM servicetotal")).all()),
            sorted(c.execute(sa.text("SELECT * FROM servicemonth")).all()),
        )


def assert_sums_as_from_scratch(engine) -> None:
    """What the triggers kept equals what the backfill computes from the records now."""
    before = kept(engine)
    with engine.begin() as c:
        totals_store.rebuild(c)
    assert kept(engine) == before
    assert before[0], "the history has counted service"


def record(session, volunteer, unit, day, minutes, status="counted", source="chat") -> ServiceRecord:
    row = ServiceRecord(
        volunteer_id=volunteer,
        unit_id=unit,
        kind="service",
        source=source,
        status=status,
        minutes=minutes,
        service_date=day,
        recorded_by="chat",
        created_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def mixed_history(uow) -> tuple[int, list[int]]:
    """Service across every cut-off, on a leap day, over midnight, before the training, balances, visits
    waiting for review, voided, corrected, in two cities and categories, a renewal; returns (unit, members)."""
    with uow() as session:
        taipei = admin.add_unit(
            session, NOW, "test", name="臺北市立圖書館", category="culture", city="taipei"
        ).id
        general = admin.add_unit(
            session, NOW, "test", name="臺北市綜合隊", category="general", city="taipei"
        ).id
        taichung = admin.add_unit(
            session, NOW, "test", name="臺中市志工隊", category="health", city="taichung"
        ).id
        ids = []
        for n in range(8):
            trained = dt.date(2021 + n % 4, 3, 1) if n != 7 else TODAY - dt.timedelta(days=200)
            born = {0: dt.date(1950, 2, 28), 1: None, 2: dt.date(1960, 2, 29)}.get(n, dt.date(1980, 1, 1))
            ids.append(person(session, taipei, f"志工{n}", 0, trained=trained, record_book=n != 3, born=born))
        v = ids
        # around every cut-off: 31 May / 1 June, 30 June / 1 July, 31 December / 1 January, in both years
        for year in (Y - 2, Y - 1, Y):
            for month, day in ((5, 31), (6, 1), (6, 30), (7, 1), (12, 31), (1, 1), (3, 15)):
                when = dt.date(year, month, day)
                if when <= TODAY:
                    for n, who in enumerate(v):
                        record(session, who, taipei, when, 600 + 97 * n)
        record(session, v[0], taipei, dt.date(2024, 2, 29), 3000)  # a leap day
        record(session, v[2], taipei, dt.date(2024, 2, 28), 700)
        # a visit over midnight: two records, one on each day
        late = TODAY - dt.timedelta(days=40)
        record(session, v[1], taipei, late, 120)
        record(session, v[1], taipei, late + dt.timedelta(days=1), 90)
        # in chat before the training day (does not count), and by hand before it (counts)
        chat_hours(session, v[7], taipei, TODAY - dt.timedelta(days=260), 40)
        admin.add_hours(
            session,
            NOW,
            "test",
            volunteer_id=v[7],
            unit_id=taipei,
            day=TODAY - dt.timedelta(days=250),
            hours=30,
        )
        # a record-book balance, waiting for review, voided, a correction (negative, by hand)
        admin.add_hours(
            session,
            NOW,
            "test",
            volunteer_id=v[3],
            unit_id=taipei,
            day=dt.date(2020, 1, 1),
            hours=500,
            kind="balance",
        )
        record(session, v[4], taipei, TODAY - dt.timedelta(days=3), 400, status="review")
        record(session, v[4], taipei, TODAY - dt.timedelta(days=4), 500, status="void")
        admin.add_hours(
            session,
            NOW,
            "test",
            volunteer_id=v[4],
            unit_id=taipei,
            day=TODAY - dt.timedelta(days=2),
            hours=-5,
            note="entered twice",
        )
        # a second city and category (and Taipei's 綜合類, which the MOHW round also counts)
        for who in (v[0], v[5]):
            for unit in (taichung, general):
                session.add(Membership(volunteer_id=who, unit_id=unit))
            session.flush()
            record(session, who, taichung, dt.date(Y - 1, 8, 8), 9000)
            record(
                session, who, taichung, dt.date(2019, 8, 8), 1200, source="balance"
            )  # counts without training
            record(session, who, general, dt.date(Y - 1, 12, 31), 2000)
        # records dated after a mid-month day (the list cuts that month in two)
        for who in v[:4]:
            record(session, who, taipei, dt.date(Y - 1, 11, 20), 300)
            record(session, who, taipei, dt.date(Y - 1, 11, 10), 200)
        # a renewal: only the hours after the last grant count
        for who, days in ((v[5], 800), (v[6], 45)):
            session.add(
                AwardGrant(
                    volunteer_id=who,
                    award_code="honor-card",
                    granted_on=TODAY - dt.timedelta(days=days),
                    recorded_by="test",
                    created_at=NOW,
                )
            )
        session.commit()
    return taipei, ids


def later_writes(uow, members: list[int], unit: int) -> None:
    """Approvals, voids, corrections, a move to another day and unit, a merge, an erasure, a bulk update."""
    with uow() as session:
        rows = list(
            session.exec(
                select(ServiceRecord)
                .where(col(ServiceRecord.volunteer_id).in_(members))
                .order_by(ServiceRecord.id)
            ).all()
        )
        waiting = next(r for r in rows if r.status == "review")
        waiting.status = "counted"  # approved
        rows[0].status = "void"
        rows[1].minutes += 17  # corrected
        rows[2].service_date = dt.date(2024, 2, 29)  # moved to a leap day (another month)
        rows[3].volunteer_id = members[1]  # merged into another person
        other = next(r for r in rows if r.unit_id != unit)
        other.unit_id = unit
        session.flush()
        session.delete(rows[4])
        session.flush()
        session.execute(
            sa.update(ServiceRecord)
            .where(
                ServiceRecord.volunteer_id == members[2], ServiceRecord.service_date < dt.date(Y - 1, 1, 1)
            )
            .values(minutes=ServiceRecord.minutes + 1)
        )
        session.commit()


def as_of_days() -> list[dt.date]:
    days = {TODAY, dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(Y - 1, 11, 15)}
    for year in (Y - 1, Y):
        for month, day in ((5, 31), (6, 1), (6, 30), (7, 1), (12, 31), (1, 1), (3, 1)):
            days.add(dt.date(year, month, day))
    return sorted(d for d in days if d <= TODAY)


def _essence(p):
    return (
        p.code, p.reached, p.eligible, p.granted_on, p.counted_minutes, p.minutes_needed, p.years_met_on,
        p.missing, p.next_deadline, p.counted_until, p.renewal, p.age_met_on, p.round_year, p.this_round,
    )  # fmt: skip


def assert_list_as_from_scratch(uow, unit: int, members: list[int]) -> None:
    with uow() as session:
        rules = rules_in_store(session)
        ladders: dict[str, list] = {}
        for rule in rules:
            ladders.setdefault(rule.ladder, []).append(rule)
        for tiers in ladders.values():
            tiers.sort(key=lambda r: r.rank)
        everything = {v: replace(facts_for(session, v), nominating=(unit, "taipei")) for v in members}
        for as_of in as_of_days():
            # As the list does: the first service after the 65th birthday is looked for only once one is 65.
            one = {
                v: replace(
                    f,
                    first_service_at_age={
                        rule.min_age: None
                        for rule in rules
                        if rule.years_after_age
                        and (f.birth_date is None or anniversary(f.birth_date, rule.min_age) > as_of)
                    },
                )
                for v, f in everything.items()
            }
            for round_year in (None, as_of.year - 1, as_of.year, as_of.year + 1):
                bulk = {v: f for v, _name, f in unit_facts(session, unit, rules, as_of, round_year)}
                assert set(bulk) == set(members)
                for v in members:
                    for rule in rules:
                        fast = _essence(progress(rule, bulk[v], as_of, round_year))
                        assert fast == _essence(progress(rule, one[v], as_of, round_year)), (
                            v,
                            rule.code,
                            as_of,
                        )
                for within in (0, 30, 400):
                    scratch = sorted(
                        (
                            v,
                            s.code,
                            s.eligible,
                            s.reached,
                            s.minutes_needed,
                            s.missing,
                            s.round_year,
                            s.counted_until,
                        )
                        for v in members
                        for s in near_steps(ladders, one[v], as_of, within * 60, round_year)
                    )
                    listed = sorted(
                        (r.volunteer_id, r.award, r.eligible, r.reached, r.minutes_needed, r.missing, r.round_year,
                         r.counted_until)
                        for r in eligible_list(session, unit, as_of, within_hours=within, round_year=round_year)
                    )  # fmt: skip
                    assert listed == scratch, (as_of, round_year, within)


def test_kept_sums_and_the_list_equal_a_computation_from_the_records(store):
    engine, uow = store
    unit, members = mixed_history(uow)
    assert_sums_as_from_scratch(engine)
    assert_list_as_from_scratch(uow, unit, members)
    with uow() as session:
        assert eligible_list(session, unit, TODAY, within_hours=400), "the history puts members on the list"
    later_writes(uow, members, unit)
    assert_sums_as_from_scratch(engine)
    assert_list_as_from_scratch(uow, unit, members)


def downgrade_to(engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_migration_fills_the_sums_of_an_existing_store(store):
    """A database from before 0017: its records are summed by the upgrade (and the triggers keep them)."""
    engine, uow = store
    _unit, _members = mixed_history(uow)
    expected = kept(engine)
    downgrade_to(engine, "0016")  # the later migrations' own downgrades: the schema as it was before 0017
    assert "servicetotal" not in sa.inspect(engine).get_table_names()
    prepare_database(engine)
    assert kept(engine) == expected
    with uow() as session:
        record(session, _members[0], _unit, TODAY, 60)
        session.commit()
    totals, _months = kept(engine)
    assert sum(row.minutes for row in totals) == sum(row.minutes for row in expected[0]) + 60


def milestones_from_scratch(session, volunteer_id, as_of, added, from_chat):
    """The check-out milestone as it was computed before: every award, before and after."""
    rules = parse_rules([json.loads(d) for d in award_store.award_rule_definitions(session)])
    after = facts_for(session, volunteer_id)
    records = list(after.records)
    for day, minutes, category, city in added:
        for index, r in enumerate(records):
            if r is not None and (r.service_date, r.category, r.city, r.from_chat) == (
                day,
                category,
                city,
                from_chat,
            ):
                # a day with only the new minutes was no day of service before them
                records[index] = replace(r, minutes=r.minutes - minutes) if r.minutes != minutes else None
                break
    records = [r for r in records if r is not None]
    reached = newly_reached(
        progress_all(rules, replace(after, records=tuple(records)), as_of), progress_all(rules, after, as_of)
    )
    return sorted(reached)


def test_the_check_out_milestone_asks_only_reachable_awards_and_answers_as_before(store):
    """For every member, minutes added on days around the cut-offs, in each unit: the same awards newly reached
    as when every award was computed before and after; and a changed award row is read at the next check-out."""
    _engine, uow = store
    _unit, members = mixed_history(uow)
    announced = 0
    with uow() as session:
        units = {u.id: (u.category, u.city) for u in session.exec(select(Unit)).all()}
        for v in members:
            for unit, (category, city) in units.items():
                for day in (TODAY, dt.date(Y, 5, 31), dt.date(Y, 6, 1), dt.date(Y - 1, 12, 31)):
                    if day > TODAY:
                        continue
                    for minutes in (60, 20_000, 200_000):
                        row = record(session, v, unit, day, minutes)
                        added = [(day, minutes, category, city)]
                        fast = sorted(
                            s.code for s in newly_reached_awards(session, v, TODAY, added, from_chat=True)
                        )
                        assert fast == milestones_from_scratch(session, v, TODAY, added, True), (
                            v,
                            unit,
                            day,
                            minutes,
                            fast,
                            milestones_from_scratch(session, v, TODAY, added, True),
                        )
                        announced += bool(fast)
                        session.delete(row)
                        session.flush()
        session.rollback()
    assert announced, "some of these check-outs reach an award"

    with uow() as session:
        unit = next(iter(units))
        v = members[0]
        row = record(session, v, unit, TODAY, 200_000)
        added = [(TODAY, 200_000, *units[unit])]
        assert "honor-card" in {s.code for s in newly_reached_awards(session, v, TODAY, added, True)}
        honor = session.get(AwardRuleRow, "honor-card")
        changed = json.loads(honor.definition)
        changed["hours"] = 10_000
        honor.definition = json.dumps(changed)
        session.add(honor)
        session.flush()
        assert "honor-card" not in {s.code for s in newly_reached_awards(session, v, TODAY, added, True)}
        assert [r.hours for r in rules_in_store(session) if r.code == "honor-card"] == [10_000]
        session.delete(row)
        session.rollback()
