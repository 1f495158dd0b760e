"""The hot path's statements on the driver's cursor (storage/driver.py) read and write what the Session would."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from storage import award_store, people_store, service_store
from storage.db import make_engine, migrate
from storage.driver import Prepared
from storage.models import CityAdministrator, Membership, ServiceRecord, Unit, Volunteer
from storage.vocabulary import RecordKind, RecordSource, RecordStatus, Role

T0 = dt.datetime(2026, 12, 31, 15, 30, 12, 345678, tzinfo=dt.UTC)
TAIPEI = dt.timezone(dt.timedelta(hours=8))
RECORDS = ServiceRecord.__table__  # type: ignore[attr-defined]


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def a_person(session: Session) -> tuple[int, int]:
    unit = Unit(name="單位", category="social", city="台北市", created_at=T0)
    person = Volunteer(name="王小美", created_at=T0)
    session.add_all([unit, person])
    session.flush()
    assert unit.id is not None and person.id is not None
    return unit.id, person.id


def test_a_row_read_on_the_driver_is_the_row_the_session_reads(engine):
    by_id = Prepared(sa.select(*RECORDS.c).where(RECORDS.c.id == sa.bindparam("id")))
    with Session(engine) as session:
        unit_id, person_id = a_person(session)
        # Given in Taipei time: stored as UTC, read back as the same instant, time-zone aware.
        visit_id = service_store.open_visit(
            session,
            volunteer_id=person_id,
            unit_id=unit_id,
            check_in=T0.astimezone(TAIPEI),
            service_date=dt.date(2027, 1, 1),
            recorded_by="line:U1",
            created_at=T0,
            walk_up=True,
        )
        assert visit_id is not None
        session.commit()
        row = by_id.first(session, id=visit_id)
        orm = session.get(ServiceRecord, visit_id)
        assert orm is not None
        for column in RECORDS.c:
            assert getattr(row, column.key) == getattr(orm, column.key), column.key
        assert row.check_in == T0 and row.check_in.tzinfo is not None
        assert row.service_date == dt.date(2027, 1, 1) and row.walk_up is True and row.check_out is None
        assert by_id.first(session, id=visit_id + 1000) is None


def test_a_visit_opened_and_closed_on_the_driver_counts_its_minutes(engine):
    with Session(engine) as session:
        unit_id, person_id = a_person(session)
        state = service_store.visit_state(session, person_id)  # nobody's first check-in: nothing yet
        assert (state.open_visit_id, state.unit_id, state.check_out) == (None, None, None)
        fields = dict(volunteer_id=person_id, unit_id=unit_id, service_date=T0.date(), recorded_by="x")
        assert service_store.open_visit(session, check_in=T0, created_at=T0, **fields) is not None
        # A second check-in at the same instant finds the visit open: no second visit, no error.
        assert service_store.open_visit(session, check_in=T0, created_at=T0, **fields) is None
        visit = service_store.open_visit_of(session, person_id)
        assert visit.check_in == T0 and visit.status == RecordStatus.OPEN
        out = T0 + dt.timedelta(minutes=90)
        assert service_store.finish_visit(session, visit, out, 90, RecordStatus.COUNTED)
        assert not service_store.finish_visit(session, visit, out, 90, RecordStatus.COUNTED)  # closed already
        session.commit()
    with Session(engine) as session:
        assert service_store.open_visit_of(session, person_id) is None
        assert service_store.counted_service_minutes_on(session, person_id, T0.date()) == 90
        assert service_store.latest_closed_visit(session, person_id) == (unit_id, out)
        # The next day, half an hour more: what a check-out says (the day's minutes) and asks (all of them).
        later = T0 + dt.timedelta(days=1)
        next_day = dict(fields, service_date=later.date())
        assert service_store.open_visit(session, check_in=later, created_at=later, **next_day) is not None
        visit = service_store.open_visit_of(session, person_id)
        # What a check-in asks first: the open visit, and where the latest closed one ended.
        state = service_store.visit_state(session, person_id)
        assert (state.open_visit_id, state.unit_id, state.check_out) == (visit.id, unit_id, out)
        service_store.finish_visit(session, visit, later + dt.timedelta(minutes=30), 30, RecordStatus.COUNTED)
        state = service_store.visit_state(session, person_id)
        assert (state.open_visit_id, state.check_out) == (None, later + dt.timedelta(minutes=30))
        assert service_store.counted_minutes_on_and_in_all(session, person_id, later.date()) == (30, 120)
        assert service_store.counted_minutes_on_and_in_all(session, person_id, T0.date()) == (90, 120)
        assert award_store.counted_minutes_of(session, person_id) == 120


def test_what_the_session_holds_unsaved_is_read_on_the_driver(engine):
    with Session(engine) as session:
        unit_id, person_id = a_person(session)
        session.add(
            ServiceRecord(
                volunteer_id=person_id,
                unit_id=unit_id,
                kind=RecordKind.SERVICE,
                source=RecordSource.CHAT,
                status=RecordStatus.COUNTED,
                check_in=T0,
                check_out=T0 + dt.timedelta(minutes=30),
                minutes=30,
                service_date=T0.date(),
                recorded_by="x",
                created_at=T0,
            )
        )
        assert service_store.counted_service_minutes_on(session, person_id, T0.date()) == 30


def test_a_statement_with_an_in_list_is_refused(engine):
    statement = Prepared(sa.select(RECORDS.c.id).where(RECORDS.c.id.in_([1, 2])))
    with Session(engine) as session, pytest.raises(ValueError, match="IN list"):
        statement.rows(session)


def test_whether_a_person_coordinates_agrees_with_the_units_they_coordinate(engine):
    with Session(engine) as session:
        unit_id, volunteer = a_person(session)
        people = {}
        for name in ("coordinator", "city administrator", "administrator of an empty city", "volunteer"):
            person = Volunteer(name=name, created_at=T0)
            session.add(person)
            session.flush()
            people[name] = person.id
        session.add_all(
            [
                Membership(volunteer_id=volunteer, unit_id=unit_id, role=Role.VOLUNTEER),
                Membership(volunteer_id=people["volunteer"], unit_id=unit_id, role=Role.VOLUNTEER),
                Membership(volunteer_id=people["coordinator"], unit_id=unit_id, role=Role.COORDINATOR),
                CityAdministrator(volunteer_id=people["city administrator"], city="台北市", created_at=T0),
                CityAdministrator(
                    volunteer_id=people["administrator of an empty city"], city="連江縣", created_at=T0
                ),
            ]
        )
        session.flush()
        answers = {
            name: people_store.coordinates_any(session, person_id) for name, person_id in people.items()
        }
        assert answers == {
            "coordinator": True,
            "city administrator": True,
            "administrator of an empty city": False,
            "volunteer": False,
        }
        for person_id in [volunteer, *people.values()]:
            assert people_store.coordinates_any(session, person_id) == bool(
                people_store.coordinated_units(session, person_id)
            )


def test_a_batch_of_answers_is_written_in_order_after_what_was_queued_before_it(engine):
    """The worker's answers go into the outbox with one statement (run_many): each row as the ORM reads it,
    in the events' order, after a message the session held unsaved (one person's messages keep their order)."""
    from storage import queue_store
    from storage.models import OutboxMessage

    with Session(engine) as session:
        queue_store.queue_message(session, T0, "line", "U1", '[{"text": "before"}]')
        answers = [
            queue_store.answer(T0, "line", f"U{n % 2}", f'[{{"text": "{n}"}}]', f"token{n}", T0)
            for n in range(5)
        ]
        queue_store.queue_answers(session, answers)
        session.commit()
        rows = session.exec(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()  # type: ignore[call-overload]
    assert [row.payload for row in rows] == ['[{"text": "before"}]'] + [
        f'[{{"text": "{n}"}}]' for n in range(5)
    ]
    assert [row.reply_token for row in rows[1:]] == [f"token{n}" for n in range(5)]
    assert all(row.status == "pending" and row.attempts == 0 and row.next_attempt_at == T0 for row in rows)
    assert all(row.reply_token_expires_at == T0 for row in rows[1:])
    assert len({row.retry_key for row in rows}) == 6  # each its own: LINE takes each push once


def test_the_visit_that_ended_last_is_found_from_the_newest_end_among_years_of_visits(engine):
    """A long-serving person's check-in (3,000 visits here) asks which visit ended last: the answer skips a
    later void visit and finds the one in review, and the database reads it from the newest end of the index
    on (person, end), not by sorting all their visits (which made such a check-in 25 times slower)."""
    with Session(engine) as session:
        unit_id, person_id = a_person(session)
        other_unit = Unit(name="另一單位", category="health", city="台北市", created_at=T0)
        session.add(other_unit)
        session.flush()

        def visit(day: int, status: str, unit: int = unit_id) -> dict:
            start = T0 - dt.timedelta(days=4000 - day)
            return {
                "volunteer_id": person_id,
                "unit_id": unit,
                "kind": RecordKind.SERVICE,
                "source": RecordSource.CHAT,
                "status": status,
                "check_in": start,
                "check_out": start + dt.timedelta(hours=2),
                "minutes": 120,
                "service_date": start.date(),
                "recorded_by": "line:U1",
                "created_at": start,
                "walk_up": False,
            }

        rows = [visit(day, RecordStatus.COUNTED) for day in range(3000)]
        rows += [visit(3001, RecordStatus.REVIEW, other_unit.id), visit(3002, RecordStatus.VOID)]
        session.execute(sa.insert(ServiceRecord), rows)
        session.commit()
        ended_last = T0 - dt.timedelta(days=999) + dt.timedelta(hours=2)
        assert service_store.latest_closed_visit(session, person_id) == (other_unit.id, ended_last)
        state = service_store.visit_state(session, person_id)
        assert (state.open_visit_id, state.unit_id, state.check_out) == (None, other_unit.id, ended_last)

    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE servicerecord")  # as autovacuum does once a table has grown
        for prepared in (service_store._LATEST_CLOSED_VISIT, service_store._VISIT_STATE):
            compiled = prepared.statement.compile(engine)
            params = compiled.construct_params({"volunteer": person_id})
            if engine.dialect.name == "sqlite":
                plan = " / ".join(
                    row[3]
                    for row in connection.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {compiled}", tuple(params[key] for key in compiled.positiontup)
                    )
                )
                assert "TEMP B-TREE" not in plan, plan
            else:
                plan = " / ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", params))
                assert "Sort" not in plan, plan
            assert "service_record_latest_end" in plan, plan
