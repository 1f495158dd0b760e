"""A unit's award list kept (awardstanding): the award engine's rows per member, marked with what they were made
from (awardmark), and the changes that make them stale (awardchange). Nothing here decides who qualifies: the
rows are handlers/awards/eligibility.py's answer, kept; handlers/awards/standing.py keeps them up to date.

A member's kept rows are stale when any fact the engine reads of them changed since: database triggers count
each change per member in awardchange, whichever code path made it (like storage/totals_store.py does for the
sums) — their counted service (on SQLite the kept months, servicemonth, which every change of counted minutes
rewrites; on PostgreSQL the records themselves, the trigger named to run before servicetotal_keep so that both
take the member's rows in one order), trainings, grants, memberships and the record-book fields of the person,
and the category and city of a unit they are a member of or served in (since migration 0021). The award table
and the units (category, city) are also a digest in the mark; the day is the mark's as_of. The count also
tells when a check-out's award headroom (awardheadroom, handlers/awards/progress.py) no longer holds.

`install` creates the triggers and forgets every kept row and headroom (migrations 0019 and 0021 call it; so
does a bulk load that dropped them). A later migration that rebuilds one of the watched tables on SQLite
(`op.batch_alter_table` copies it) loses its triggers and must call `install` again (tests/test_award_standing.py
fails until it does). A change of a record's source alone is not counted on SQLite (no code path makes one).
Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from storage.models import Membership, Unit, Volunteer
from storage.vocabulary import RecordKind, RecordStatus

# (table, its member column): every change of a row counts for the member
_MEMBER_TABLES = (
    ("trainingrecord", "volunteer_id"),
    ("awardgrant", "volunteer_id"),
    ("membership", "volunteer_id"),
)
# the person's fields the engine reads (the name is read with the list, never kept)
_PERSON_FIELDS = "trained_on, record_book_no, record_book_date, english_name, first_service_date, birth_date"
_COUNTED = f"'{RecordStatus.COUNTED}'", f"'{RecordKind.SERVICE}'"
# A unit's category and city are facts of every member and of everyone who served there (their records'
# units): a change of either counts for each of them.
_UNIT_PEOPLE = (
    "SELECT volunteer_id FROM membership WHERE unit_id = NEW.id"
    " UNION SELECT volunteer_id FROM servicerecord WHERE unit_id = NEW.id"
)
CHUNK = 500  # members per IN (…)
_STANDING = SQLModel.metadata.tables["awardstanding"]
_MARKS = SQLModel.metadata.tables["awardmark"]
_CHANGES = SQLModel.metadata.tables["awardchange"]


def _bump_sqlite(member: str) -> str:
    return (
        f"INSERT INTO awardchange (volunteer_id, version) VALUES ({member}, 1)"
        " ON CONFLICT (volunteer_id) DO UPDATE SET version = version + 1;"
    )


def _sqlite_ddl() -> list[str]:
    ddl = []
    for table, member in (("servicemonth", "volunteer_id"), *_MEMBER_TABLES):
        ddl += [
            f"CREATE TRIGGER awardchange_{table}_insert AFTER INSERT ON {table} BEGIN"
            f" {_bump_sqlite(f'NEW.{member}')} END",
            f"CREATE TRIGGER awardchange_{table}_delete AFTER DELETE ON {table} BEGIN"
            f" {_bump_sqlite(f'OLD.{member}')} END",
            f"CREATE TRIGGER awardchange_{table}_update AFTER UPDATE ON {table} BEGIN"
            f" {_bump_sqlite(f'OLD.{member}')} {_bump_sqlite(f'NEW.{member}')} END",
        ]
    ddl.append(
        f"CREATE TRIGGER awardchange_volunteer_update AFTER UPDATE OF {_PERSON_FIELDS} ON volunteer BEGIN"
        f" {_bump_sqlite('NEW.id')} END"
    )
    ddl.append(
        "CREATE TRIGGER awardchange_unit_update AFTER UPDATE OF category, city ON unit"
        " WHEN NEW.category IS NOT OLD.category OR NEW.city IS NOT OLD.city BEGIN"
        f" INSERT INTO awardchange (volunteer_id, version) SELECT volunteer_id, 1 FROM ({_UNIT_PEOPLE}) WHERE true"
        " ON CONFLICT (volunteer_id) DO UPDATE SET version = version + 1; END"
    )
    return ddl


def _sqlite_trigger_names() -> list[str]:
    names = [
        f"awardchange_{table}_{what}"
        for table, _member in (("servicemonth", "volunteer_id"), *_MEMBER_TABLES)
        for what in ("insert", "delete", "update")
    ]
    return [*names, "awardchange_volunteer_update", "awardchange_unit_update"]


_COUNTED_NEW = f"NEW.status = {_COUNTED[0]} AND NEW.kind = {_COUNTED[1]}"
_COUNTED_OLD = f"OLD.status = {_COUNTED[0]} AND OLD.kind = {_COUNTED[1]}"

_POSTGRES_DDL = [
    """
CREATE OR REPLACE FUNCTION awardchange_bump(v integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO awardchange AS c (volunteer_id, version) VALUES (v, 1)
        ON CONFLICT (volunteer_id) DO UPDATE SET version = c.version + 1;
END $$
""",
    """
CREATE OR REPLACE FUNCTION awardchange_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM awardchange_bump(OLD.volunteer_id);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM awardchange_bump(NEW.volunteer_id);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.volunteer_id <> OLD.volunteer_id THEN
            PERFORM awardchange_bump(NEW.volunteer_id);
        END IF;
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE OR REPLACE FUNCTION awardchange_keep_service() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- only counted service is read by the award engine
    IF TG_OP <> 'INSERT' THEN
        IF {_COUNTED_OLD} THEN
            PERFORM awardchange_bump(OLD.volunteer_id);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF {_COUNTED_NEW} THEN
            IF TG_OP = 'INSERT' THEN
                PERFORM awardchange_bump(NEW.volunteer_id);
            ELSIF NEW.volunteer_id <> OLD.volunteer_id OR NOT ({_COUNTED_OLD}) THEN
                PERFORM awardchange_bump(NEW.volunteer_id);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE OR REPLACE FUNCTION awardchange_keep_person() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM awardchange_bump(NEW.id);
    RETURN NULL;
END $$
""",
    f"""
CREATE OR REPLACE FUNCTION awardchange_keep_unit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM awardchange_bump(volunteer_id) FROM ({_UNIT_PEOPLE}) AS people ORDER BY volunteer_id;
    RETURN NULL;
END $$
""",
    # before servicetotal_keep (triggers run by name): the member's awardchange row, then their total's
    "CREATE TRIGGER awardchange_keep AFTER INSERT OR DELETE OR UPDATE OF status, kind, minutes, service_date,"
    " unit_id, volunteer_id, source ON servicerecord FOR EACH ROW EXECUTE FUNCTION awardchange_keep_service()",
    *(
        f"CREATE TRIGGER awardchange_keep AFTER INSERT OR DELETE OR UPDATE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION awardchange_keep()"
        for table, _member in _MEMBER_TABLES
    ),
    f"CREATE TRIGGER awardchange_keep AFTER UPDATE OF {_PERSON_FIELDS} ON volunteer"
    " FOR EACH ROW EXECUTE FUNCTION awardchange_keep_person()",
    "CREATE TRIGGER awardchange_keep AFTER UPDATE OF category, city ON unit FOR EACH ROW"
    " WHEN (NEW.category IS DISTINCT FROM OLD.category OR NEW.city IS DISTINCT FROM OLD.city)"
    " EXECUTE FUNCTION awardchange_keep_unit()",
]


def drop_triggers(connection: sa.Connection) -> None:
    """No more counting (a bulk load that then calls `install`, or the migration's downgrade)."""
    if connection.dialect.name == "postgresql":
        for table in ("servicerecord", *(t for t, _m in _MEMBER_TABLES), "volunteer", "unit"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS awardchange_keep ON {table}")
        for function in (
            "awardchange_keep()",
            "awardchange_keep_service()",
            "awardchange_keep_person()",
            "awardchange_keep_unit()",
            "awardchange_bump(integer)",
        ):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for name in _sqlite_trigger_names():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def install(connection: sa.Connection) -> None:
    """(Re)creates the triggers and forgets every kept list and headroom (what changed meanwhile is unknown), in
    the caller's transaction."""
    drop_triggers(connection)
    for statement in _POSTGRES_DDL if connection.dialect.name == "postgresql" else _sqlite_ddl():
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("DELETE FROM awardmark")
    connection.exec_driver_sql("DELETE FROM awardstanding")
    if sa.inspect(connection).has_table("awardheadroom"):  # from migration 0021 on (0019 calls this too)
        connection.exec_driver_sql("DELETE FROM awardheadroom")


# ---- reading and keeping ------------------------------------------------------------------------------


def units_digest_rows(session: Session) -> list[tuple]:
    """(id, category, city) of every unit: what a member's rows depend on of the units."""
    return [
        tuple(row)
        for row in session.execute(
            sa.select(col(Unit.id), col(Unit.category), col(Unit.city)).order_by(col(Unit.id))
        )
    ]


def stale_members(session: Session, unit_id: int, as_of: dt.date, context: str) -> list[tuple[int, int]]:
    """(member, their change count now) of the unit's members whose kept rows are missing or stale."""
    marks, changes = _MARKS, _CHANGES
    mark, change = marks.c, changes.c
    version = sa.func.coalesce(change.version, 0)
    rows = session.execute(
        sa.select(col(Membership.volunteer_id), version)
        .select_from(Membership)
        .outerjoin(
            marks, sa.and_(mark.unit_id == Membership.unit_id, mark.volunteer_id == Membership.volunteer_id)
        )
        .outerjoin(changes, change.volunteer_id == Membership.volunteer_id)
        .where(
            col(Membership.unit_id) == unit_id,
            sa.or_(
                mark.volunteer_id.is_(None),
                mark.as_of != as_of,
                mark.context != context,
                mark.version != version,
            ),
        )
        .order_by(col(Membership.volunteer_id))  # one order of rows for every writer: no deadlock between two
    ).all()
    return [(volunteer_id, int(count)) for volunteer_id, count in rows]


@dataclass(frozen=True)
class KeptRow:
    volunteer_id: int
    award: str
    position: int
    eligible: bool
    reached: bool
    minutes_needed: int
    missing: tuple[str, ...]
    next_deadline: dt.date | None
    round_year: int | None
    counted_until: dt.date | None


def _upsert(session: Session, table: sa.Table, rows: list[dict], keys: list[str]):
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    fields = {name: insert.excluded[name] for name in rows[0] if name not in keys}
    session.execute(insert.on_conflict_do_update(index_elements=keys, set_=fields), rows)


def keep(
    session: Session,
    unit_id: int,
    as_of: dt.date,
    context: str,
    versions: list[tuple[int, int]],
    rows: Iterable[KeptRow],
) -> None:
    """The members' (versions: member, change count read before their facts) rows replaced by `rows`."""
    members = [v for v, _count in versions]
    table = _STANDING
    for first in range(0, len(members), CHUNK):
        session.execute(
            sa.delete(table).where(
                table.c.unit_id == unit_id, table.c.volunteer_id.in_(members[first : first + CHUNK])
            )
        )
    values = [
        {
            "unit_id": unit_id,
            "volunteer_id": r.volunteer_id,
            "award": r.award,
            "position": r.position,
            "eligible": r.eligible,
            "reached": r.reached,
            "minutes_needed": r.minutes_needed,
            "missing": json.dumps(list(r.missing)),
            "next_deadline": r.next_deadline,
            "round_year": r.round_year,
            "counted_until": r.counted_until,
        }
        for r in rows
    ]
    for first in range(0, len(values), CHUNK):
        _upsert(session, table, values[first : first + CHUNK], ["unit_id", "volunteer_id", "award"])
    marks = [
        {"unit_id": unit_id, "volunteer_id": v, "as_of": as_of, "context": context, "version": count}
        for v, count in versions
    ]
    for first in range(0, len(marks), CHUNK):
        _upsert(session, _MARKS, marks[first : first + CHUNK], ["unit_id", "volunteer_id"])


def _listed(unit_id: int, within_minutes: int, award: str | None):
    """The kept rows of the unit's present members within `within_minutes` (no more than kept)."""
    s = _STANDING.c
    where = [s.unit_id == unit_id, sa.or_(s.reached, s.minutes_needed <= within_minutes)]
    if award is not None:
        where.append(s.award == award)
    members = sa.select(col(Membership.volunteer_id)).where(col(Membership.unit_id) == unit_id)
    return s, [*where, s.volunteer_id.in_(members)]


def kept_rows(
    session: Session,
    unit_id: int,
    within_minutes: int,
    award: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple[str, KeptRow]]:
    """(name, row) of the kept list, in the list's order: can apply, reached, then by the minutes still needed."""
    s, where = _listed(unit_id, within_minutes, award)
    query = (
        sa.select(col(Volunteer.name), s.volunteer_id, s.award, s.position, s.eligible, s.reached)
        .add_columns(s.minutes_needed, s.missing, s.next_deadline, s.round_year, s.counted_until)
        .select_from(_STANDING)
        .join(Volunteer, col(Volunteer.id) == s.volunteer_id)
        .where(*where)
        .order_by(s.eligible.desc(), s.reached.desc(), s.minutes_needed, s.volunteer_id, s.position)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        (
            name,
            KeptRow(
                v,
                award_code,
                position,
                bool(eligible),
                bool(reached),
                minutes,
                tuple(json.loads(missing)),
                *rest,
            ),
        )
        for name, v, award_code, position, eligible, reached, minutes, missing, *rest in session.execute(
            query
        )
    ]


def kept_counts(session: Session, unit_id: int, within_minutes: int) -> dict[str, tuple[int, int, int]]:
    """award → (can apply, reached but something missing, within the minutes) of the kept list."""
    s, where = _listed(unit_id, within_minutes, None)
    eligible = sa.func.sum(sa.case((s.eligible, 1), else_=0))
    reached = sa.func.sum(sa.case((sa.and_(s.reached, sa.not_(s.eligible)), 1), else_=0))
    near = sa.func.sum(sa.case((sa.not_(s.reached), 1), else_=0))
    return {
        award: (int(a), int(b), int(c))
        for award, a, b, c in session.execute(
            sa.select(s.award, eligible, reached, near).where(*where).group_by(s.award)
        )
    }


MemberQuery = sa.Select  # a query of volunteer ids


def kept_members(unit_id: int, within_minutes: int) -> MemberQuery:
    """The members with a row in the kept list within the minutes: a query of their ids, for another query's
    IN (…) (thousands of ids are slower to send than to select)."""
    s, where = _listed(unit_id, within_minutes, None)
    return sa.select(s.volunteer_id).where(*where)
