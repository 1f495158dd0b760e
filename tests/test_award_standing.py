"""The unit's award list kept per member (handlers/awards/standing.py): after every kind of write, every way it is
read — 獎勵名單 / `vbot awards eligible` (eligible_list, at each distance, per award), the console's summary,
its pages and the Volunteers filter — gives exactly what the engine computes from scratch; and only the members
the write touched are computed again."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlmodel import col, select

from handlers.awards.eligibility import (
    eligible_list,
    keep_lists,
    list_page,
    list_summary,
    listed_members,
)
from handlers.awards.progress import rules_in_store
from handlers.people import admin
from storage import console_store
from storage.models import AwardRule as AwardRuleRow
from storage.models import Membership, ServiceRecord, Unit, Volunteer
from tests.test_award_totals import as_of_days, mixed_history, record, store  # noqa: F401 (a fixture)
from tests.test_eligibility import NOW, TODAY, ZONE, person


def counts_of(rows) -> dict[str, tuple[int, int, int]]:
    counts: dict[str, tuple[int, int, int]] = {}
    for r in rows:
        a, b, c = counts.get(r.award, (0, 0, 0))
        counts[r.award] = (a + r.eligible, b + (r.reached and not r.eligible), c + (not r.reached))
    return counts


def made_again_then_as_computed(uow, unit: int, as_of: dt.date = TODAY) -> int:
    """The nightly job's (and every read's) bringing up to date: how many (unit, member) standings it made again;
    then every reading of the list equals the engine's answer computed now."""
    with uow() as session:
        made = keep_lists(session, as_of)
        session.commit()
    with uow() as session:
        codes = {rule.code for rule in rules_in_store(session)}
        for within in (0, 7.5, 20):
            fresh = eligible_list(session, unit, as_of, within_hours=within, from_scratch=True)
            assert eligible_list(session, unit, as_of, within_hours=within) == fresh, (as_of, within)
        for award in codes:
            assert eligible_list(session, unit, as_of, award, 20) == eligible_list(
                session, unit, as_of, award, 20, from_scratch=True
            ), award
        fresh = eligible_list(session, unit, as_of, within_hours=20, from_scratch=True)
        for within in (20, 3):
            wanted = [r for r in fresh if r.reached or r.minutes_needed <= within * 60]
            summary = list_summary(session, unit, as_of, within)
            assert {c.award: (c.can_apply, c.reached, c.near) for c in summary} == counts_of(wanted)
            for line in summary:
                paged, offset = [], 0
                while batch := list_page(session, unit, as_of, line.award, within, offset=offset, limit=2):
                    paged += batch
                    offset += 2
                assert paged == [r for r in wanted if r.award == line.award], line.award
                assert len(paged) == line.total
            among = listed_members(session, unit, as_of, within)  # the Volunteers filter, as the page asks
            found = console_store.search_members(session, [unit], "", "", 100_000, as_of, among)
            assert {person.id for person, *_ in found} == {r.volunteer_id for r in wanted}
        # beyond the kept distance: computed now, the same rule
        far = eligible_list(session, unit, as_of, within_hours=400, from_scratch=True)
        assert counts_of(far) == {
            c.award: (c.can_apply, c.reached, c.near) for c in list_summary(session, unit, as_of, 400)
        }
        assert fresh, "the history puts members on the list"
        assert keep_lists(session, as_of) == 0  # reading made nothing stale
    return made


def first_record(session, who: int, status: str) -> ServiceRecord:
    return session.exec(
        select(ServiceRecord)
        .where(ServiceRecord.volunteer_id == who, ServiceRecord.status == status)
        .order_by(col(ServiceRecord.id))
    ).first()


def kinds_of_write(unit: int, v: list[int], taichung: int, general: int, memberships: int) -> list:
    """(what, the write, how many standings it makes stale; None: those of the member granted)."""

    def approve(session):
        first_record(session, v[4], status="review").status = "counted"

    def void(session):
        first_record(session, v[1], status="counted").status = "void"

    def correct(session):
        first_record(session, v[2], status="counted").minutes += 600

    def merge(session):
        first_record(session, v[3], status="counted").volunteer_id = v[2]

    def delete(session):
        session.delete(first_record(session, v[1], status="counted"))

    def bulk(session):
        session.execute(
            sa.update(ServiceRecord)
            .where(ServiceRecord.volunteer_id == v[6])
            .values(minutes=ServiceRecord.minutes + 30)
        )

    def grant(session):
        row = next(r for r in eligible_list(session, unit, TODAY, within_hours=20) if r.eligible)
        admin.grant_award(
            session,
            NOW,
            "test",
            volunteer_id=row.volunteer_id,
            award_code=row.award,
            day=TODAY,
            known_codes={row.award},
        )

    def rule_changed(session):
        row = session.get(AwardRuleRow, "honor-card")
        definition = json.loads(row.definition)
        definition["hours"] = definition["hours"] - 10
        row.definition = json.dumps(definition)

    def unit_changed(session):
        session.get(Unit, general).city = "newtaipei"

    def left(session):
        session.delete(session.exec(select(Membership).where(Membership.volunteer_id == v[6])).one())

    in_three = 3  # v[0]: Taipei's library, Taichung and Taipei's 綜合隊
    writes = [
        (
            "hours entered by hand",
            lambda s: admin.add_hours(
                s, NOW, "t", volunteer_id=v[6], unit_id=unit, day=TODAY - dt.timedelta(days=1), hours=19
            ),
            1,
        ),  # fmt: skip
        ("a check-out", lambda s: record(s, v[2], unit, TODAY, 600), 1),
        ("a check-out in another unit", lambda s: record(s, v[0], taichung, TODAY, 1200), in_three),
        ("an approval", approve, 1),
        ("a void", void, 1),
        ("a correction", correct, 1),
        ("a record moved to another person", merge, 2),
        ("a record deleted", delete, 1),
        ("a bulk update", bulk, 1),
        (
            "a training",
            lambda s: admin.add_training(
                s, NOW, "t", volunteer_id=v[7], kind="basic", day=TODAY - dt.timedelta(days=400), hours=12
            ),
            1,
        ),  # fmt: skip
        (
            "a record book",
            lambda s: admin.set_volunteer(s, NOW, "t", v[3], {"record_book_no": "北市志字第9號"}),
            1,
        ),
        (
            "a birth date",
            lambda s: admin.set_volunteer(s, NOW, "t", v[1], {"birth_date": dt.date(1950, 1, 1)}),
            1,
        ),
        ("a grant", grant, None),
        ("joins another unit", lambda s: s.add(Membership(volunteer_id=v[2], unit_id=taichung)), 2),
        ("a new member", lambda s: person(s, unit, "新來的", 40, trained=TODAY - dt.timedelta(days=500)), 1),
        ("leaves the unit", left, 0),
        ("the award table", rule_changed, memberships + 1),  # one joined, one new, one left
        ("a unit's city", unit_changed, memberships + 1),
    ]
    return writes


def test_the_kept_list_equals_the_engine_after_every_kind_of_write(store):  # noqa: F811
    engine, uow = store
    unit, v = mixed_history(uow)
    with uow() as session:
        taichung = session.exec(select(Unit.id).where(Unit.city == "taichung")).one()
        general = session.exec(select(Unit.id).where(Unit.category == "general")).one()
        memberships = len(session.exec(select(Membership)).all())
    assert made_again_then_as_computed(uow, unit) == memberships  # the first read: everyone
    assert made_again_then_as_computed(uow, unit) == 0  # nothing changed: nothing computed again

    writes = kinds_of_write(unit, v, taichung, general, memberships)
    for what, write, touched in writes:
        with uow() as session:
            write(session)
            session.commit()
        made = made_again_then_as_computed(uow, unit)
        if touched is not None:
            assert made == touched, what
        else:
            assert 1 <= made <= 3, what
    # the days passing, across the award windows' cut-offs (and back): every member made again for the day
    for day in as_of_days()[-4:]:
        assert made_again_then_as_computed(uow, unit, day) == memberships + 1
    # a name is read with the list, never kept: a new name shows at once, nothing computed again
    with uow() as session:
        session.get(Volunteer, v[5]).name = "改名了"
        session.commit()
    with uow() as session:
        kept = eligible_list(session, unit, day, within_hours=20)
        assert kept == eligible_list(session, unit, day, within_hours=20, from_scratch=True)
        assert "改名了" in {r.name for r in kept}
        assert keep_lists(session, day) == 0
    del engine


def test_the_nightly_job_makes_each_days_lists_once(store):  # noqa: F811
    """After local midnight the first reminder pass makes every unit's list for the new day; later passes that
    day find nothing to do, and a reading then computes nothing."""
    from handlers.context import Rules
    from handlers.i18n import Catalogs
    from handlers.jobs.award_lists import award_lists

    _engine, uow = store
    unit, _members = mixed_history(uow)
    rules, catalogs = Rules(timezone=ZONE), Catalogs()
    midnight = dt.datetime.combine(TODAY, dt.time(0, 1), rules.timezone).astimezone(dt.UTC)
    with uow() as session:
        memberships = len(session.exec(select(Membership)).all())
        assert award_lists(session, midnight, rules, catalogs) == memberships
        session.commit()
    with uow() as session:
        assert award_lists(session, midnight + dt.timedelta(minutes=1), rules, catalogs) == 0
        assert keep_lists(session, TODAY) == 0
        assert eligible_list(session, unit, TODAY, within_hours=20) == eligible_list(
            session, unit, TODAY, within_hours=20, from_scratch=True
        )
        assert award_lists(session, midnight + dt.timedelta(days=1), rules, catalogs) == memberships


def test_two_readings_at_once_keep_one_right_list(store):  # noqa: F811
    """Two coordinators open the list at the same moment, each computing the same stale members: both get the
    list, nothing fails, and what is kept is the engine's answer."""
    import threading

    _engine, uow = store
    unit, v = mixed_history(uow)
    with uow() as session:
        keep_lists(session, TODAY)
        session.commit()
    with uow() as session:
        for who in v:
            record(session, who, unit, TODAY, 45)
        session.commit()
    start, answers, errors = threading.Barrier(2), [], []

    def read():
        try:
            start.wait()  # (on SQLite a unit of work waits for the other's: one writer at a time)
            with uow() as session:
                answers.append(eligible_list(session, unit, TODAY, within_hours=20))
                session.commit()
        except Exception as error:  # noqa: BLE001 (the assertion below names it)
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with uow() as session:
        fresh = eligible_list(session, unit, TODAY, within_hours=20, from_scratch=True)
        assert answers == [fresh, fresh]
        # only the two other units' lists of the two members in three units are left to make
        assert keep_lists(session, TODAY) == 4
        assert eligible_list(session, unit, TODAY, within_hours=20) == fresh


def test_every_trigger_that_counts_changes_is_installed(store):  # noqa: F811
    """After the migrations, every trigger is there: a later migration that rebuilds one of the tables on SQLite
    (batch_alter_table copies it) must call standing_store.install again."""
    from storage import standing_store

    engine, _uow = store
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            found = set(c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
            assert set(standing_store._sqlite_trigger_names()) <= found
        else:
            tables = set(
                c.exec_driver_sql(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE t.tgname = 'awardchange_keep' AND c.relnamespace = current_schema()::regnamespace"
                ).scalars()
            )
            assert tables == {
                "servicerecord",
                "trainingrecord",
                "awardgrant",
                "membership",
                "volunteer",
                "unit",
            }
