"""Counted service minutes kept summed per member and unit (servicetotal) and per member, unit and month
(servicemonth), so that a unit's award list reads a few thousand small rows instead of a million records.

What counts is exactly what the award engine counts: records of kind `service` with status `counted`. The
sums are kept by database triggers on servicerecord (SQLite triggers; a PL/pgSQL function on PostgreSQL), so
every write that changes counted minutes — check-out, corrections, approvals, voids, hours added, balances,
imports, erasure, merges, and any bulk UPDATE — changes them in the same transaction, whichever code path
made it. A record that becomes counted (a check-out, an approval, hours entered) adds its minutes to its month
and total; any other change recomputes the touched month of that member and unit from its records (one indexed
read) and then the member's total from the months. On PostgreSQL a recomputation first locks the member's total
row (and an addition starts with it), so two transactions changing the same member's minutes are taken in turn
and a recomputation sees what the other committed.

Only sums live here; which days a window counts (award rounds, cut-offs) stays in handlers/awards.
`install` creates the triggers and fills the sums from the records (migration 0017 calls it).

A later migration that rebuilds servicerecord on SQLite (`op.batch_alter_table("servicerecord")` copies the
table) loses its triggers: it must call `install` again (tests/test_award_totals.py fails until it does).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from storage.vocabulary import RecordKind, RecordStatus

_COUNTED = f"status = '{RecordStatus.COUNTED}' AND kind = '{RecordKind.SERVICE}'"

_MONTH = {
    "sqlite": "date({d}, 'start of month')",
    "postgresql": "CAST(date_trunc('month', {d}) AS date)",
}
_NEXT_MONTH = {
    "sqlite": "date({d}, 'start of month', '+1 month')",
    "postgresql": "CAST(date_trunc('month', {d}) + interval '1 month' AS date)",
}

_SQLITE_TRIGGERS = (
    "servicetotal_insert",
    "servicetotal_delete",
    "servicetotal_update_old",
    "servicetotal_update_new",
    "servicetotal_update_added",
)
_WATCHED = "status, kind, minutes, service_date, unit_id, volunteer_id"


_SAME_MONTH = (
    "OLD.volunteer_id = NEW.volunteer_id AND OLD.unit_id = NEW.unit_id"
    " AND date(OLD.service_date, 'start of month') = date(NEW.service_date, 'start of month')"
)


def _refresh_sqlite(row: str) -> str:
    """The statements that recompute `row`'s (NEW or OLD) month and total."""
    v, u, d = f"{row}.volunteer_id", f"{row}.unit_id", f"{row}.service_date"
    month, following = _MONTH["sqlite"].format(d=d), _NEXT_MONTH["sqlite"].format(d=d)
    return f"""
    DELETE FROM servicemonth WHERE volunteer_id = {v} AND unit_id = {u} AND month = {month};
    INSERT INTO servicemonth (volunteer_id, unit_id, month, minutes, records, first_day, last_day)
        SELECT {v}, {u}, {month}, SUM(minutes), COUNT(*), MIN(service_date), MAX(service_date)
        FROM servicerecord
        WHERE volunteer_id = {v} AND {_COUNTED} AND service_date >= {month} AND service_date < {following}
            AND unit_id = {u}
        HAVING COUNT(*) > 0;
    DELETE FROM servicetotal WHERE volunteer_id = {v} AND unit_id = {u};
    INSERT INTO servicetotal (volunteer_id, unit_id, minutes, records, first_day, last_day)
        SELECT {v}, {u}, SUM(minutes), SUM(records), MIN(first_day), MAX(last_day)
        FROM servicemonth WHERE volunteer_id = {v} AND unit_id = {u}
        HAVING COUNT(*) > 0;
    """


def _add_sqlite() -> str:
    """NEW's minutes added to its month and total (a record that became counted: a check-out, an approval, hours
    entered): an increment, no read of records. The total first, as everywhere."""
    v, u, d = "NEW.volunteer_id", "NEW.unit_id", "NEW.service_date"
    return f"""
    INSERT INTO servicetotal (volunteer_id, unit_id, minutes, records, first_day, last_day)
        VALUES ({v}, {u}, NEW.minutes, 1, {d}, {d})
        ON CONFLICT (volunteer_id, unit_id) DO UPDATE SET minutes = minutes + excluded.minutes,
            records = records + 1, first_day = min(first_day, excluded.first_day),
            last_day = max(last_day, excluded.last_day);
    INSERT INTO servicemonth (volunteer_id, unit_id, month, minutes, records, first_day, last_day)
        VALUES ({v}, {u}, {_MONTH["sqlite"].format(d=d)}, NEW.minutes, 1, {d}, {d})
        ON CONFLICT (volunteer_id, unit_id, month) DO UPDATE SET minutes = minutes + excluded.minutes,
            records = records + 1, first_day = min(first_day, excluded.first_day),
            last_day = max(last_day, excluded.last_day);
    """


def _sqlite_ddl() -> list[str]:
    old, new = (
        _COUNTED.replace("status", "OLD.status").replace("kind", "OLD.kind"),
        _COUNTED.replace("status", "NEW.status").replace("kind", "NEW.kind"),
    )
    return [
        f"CREATE TRIGGER servicetotal_insert AFTER INSERT ON servicerecord WHEN {new} BEGIN {_add_sqlite()} END",
        f"CREATE TRIGGER servicetotal_delete AFTER DELETE ON servicerecord WHEN {old} BEGIN"
        f" {_refresh_sqlite('OLD')} END",
        # The old month only when the record left it (the new one's refresh covers a change within it).
        f"CREATE TRIGGER servicetotal_update_old AFTER UPDATE OF {_WATCHED} ON servicerecord WHEN {old}"
        f" AND NOT ({new} AND {_SAME_MONTH}) BEGIN {_refresh_sqlite('OLD')} END",
        f"CREATE TRIGGER servicetotal_update_new AFTER UPDATE OF {_WATCHED} ON servicerecord WHEN {new}"
        f" AND {old} BEGIN {_refresh_sqlite('NEW')} END",
        f"CREATE TRIGGER servicetotal_update_added AFTER UPDATE OF {_WATCHED} ON servicerecord WHEN {new}"
        f" AND NOT ({old}) BEGIN {_add_sqlite()} END",
    ]


_POSTGRES_DDL = [
    f"""
CREATE OR REPLACE FUNCTION servicetotal_refresh(v integer, u integer, d date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m date := {_MONTH["postgresql"].format(d="d")};
BEGIN
    -- The member's total row is the lock: changes of one member's minutes in one unit go one at a time, and
    -- each statement below sees what the one before it committed (READ COMMITTED).
    INSERT INTO servicetotal (volunteer_id, unit_id, minutes, records, first_day, last_day)
        VALUES (v, u, 0, 0, d, d) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM servicetotal WHERE volunteer_id = v AND unit_id = u FOR UPDATE;
    DELETE FROM servicemonth WHERE volunteer_id = v AND unit_id = u AND month = m;
    INSERT INTO servicemonth (volunteer_id, unit_id, month, minutes, records, first_day, last_day)
        SELECT v, u, m, SUM(minutes), COUNT(*), MIN(service_date), MAX(service_date)
        FROM servicerecord
        WHERE volunteer_id = v AND {_COUNTED} AND service_date >= m
            AND service_date < {_NEXT_MONTH["postgresql"].format(d="m")} AND unit_id = u
        HAVING COUNT(*) > 0;
    UPDATE servicetotal t
        SET minutes = COALESCE(s.minutes, 0), records = COALESCE(s.records, 0),
            first_day = COALESCE(s.first_day, t.first_day), last_day = COALESCE(s.last_day, t.last_day)
        FROM (SELECT SUM(minutes) AS minutes, SUM(records) AS records, MIN(first_day) AS first_day,
                     MAX(last_day) AS last_day
              FROM servicemonth WHERE volunteer_id = v AND unit_id = u) s
        WHERE t.volunteer_id = v AND t.unit_id = u;
    DELETE FROM servicetotal WHERE volunteer_id = v AND unit_id = u AND records = 0;
END $$
""",
    f"""
CREATE OR REPLACE FUNCTION servicetotal_add(v integer, u integer, d date, added integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- A record that became counted: increments, the total's row first (the lock order of servicetotal_refresh).
    INSERT INTO servicetotal AS t (volunteer_id, unit_id, minutes, records, first_day, last_day)
        VALUES (v, u, added, 1, d, d)
        ON CONFLICT (volunteer_id, unit_id) DO UPDATE SET minutes = t.minutes + EXCLUDED.minutes,
            records = t.records + 1, first_day = LEAST(t.first_day, EXCLUDED.first_day),
            last_day = GREATEST(t.last_day, EXCLUDED.last_day);
    INSERT INTO servicemonth AS m (volunteer_id, unit_id, month, minutes, records, first_day, last_day)
        VALUES (v, u, {_MONTH["postgresql"].format(d="d")}, added, 1, d, d)
        ON CONFLICT (volunteer_id, unit_id, month) DO UPDATE SET minutes = m.minutes + EXCLUDED.minutes,
            records = m.records + 1, first_day = LEAST(m.first_day, EXCLUDED.first_day),
            last_day = GREATEST(m.last_day, EXCLUDED.last_day);
END $$
""",
    f"""
CREATE OR REPLACE FUNCTION servicetotal_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        -- the old month only when the record left it (the new one's refresh covers a change within it)
        IF OLD.status = '{RecordStatus.COUNTED}' AND OLD.kind = '{RecordKind.SERVICE}' AND NOT (
            TG_OP = 'UPDATE' AND NEW.status = '{RecordStatus.COUNTED}' AND NEW.kind = '{RecordKind.SERVICE}'
            AND OLD.volunteer_id = NEW.volunteer_id AND OLD.unit_id = NEW.unit_id
            AND date_trunc('month', OLD.service_date) = date_trunc('month', NEW.service_date)
        ) THEN
            PERFORM servicetotal_refresh(OLD.volunteer_id, OLD.unit_id, OLD.service_date);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.status = '{RecordStatus.COUNTED}' AND NEW.kind = '{RecordKind.SERVICE}' THEN
            IF TG_OP = 'INSERT' OR NOT (OLD.status = '{RecordStatus.COUNTED}' AND OLD.kind = '{RecordKind.SERVICE}') THEN
                PERFORM servicetotal_add(NEW.volunteer_id, NEW.unit_id, NEW.service_date, NEW.minutes);
            ELSE
                PERFORM servicetotal_refresh(NEW.volunteer_id, NEW.unit_id, NEW.service_date);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$
""",
    f"CREATE TRIGGER servicetotal_keep AFTER INSERT OR DELETE OR UPDATE OF {_WATCHED} ON servicerecord"
    " FOR EACH ROW EXECUTE FUNCTION servicetotal_keep()",
]


def drop_triggers(connection: sa.Connection) -> None:
    """No more keeping (a bulk load that then calls `install`, or the migration's downgrade)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS servicetotal_keep ON servicerecord")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS servicetotal_keep()")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS servicetotal_refresh(integer, integer, date)")
        connection.exec_driver_sql(
            "DROP FUNCTION IF EXISTS servicetotal_add(integer, integer, date, integer)"
        )
    else:
        for name in _SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def install(connection: sa.Connection) -> None:
    """(Re)creates the triggers and fills both tables from the records, in the caller's transaction."""
    dialect = connection.dialect.name
    drop_triggers(connection)
    for statement in _POSTGRES_DDL if dialect == "postgresql" else _sqlite_ddl():
        connection.exec_driver_sql(statement)
    rebuild(connection)


def rebuild(connection: sa.Connection) -> None:
    """Both tables computed afresh from the records (a backfill; also a repair)."""
    dialect = "postgresql" if connection.dialect.name == "postgresql" else "sqlite"
    month = _MONTH[dialect].format(d="service_date")
    connection.exec_driver_sql("DELETE FROM servicemonth")
    connection.exec_driver_sql("DELETE FROM servicetotal")
    connection.exec_driver_sql(
        "INSERT INTO servicemonth (volunteer_id, unit_id, month, minutes, records, first_day, last_day)"
        f" SELECT volunteer_id, unit_id, {month}, SUM(minutes), COUNT(*), MIN(service_date), MAX(service_date)"
        f" FROM servicerecord WHERE {_COUNTED} GROUP BY volunteer_id, unit_id, {month}"
    )
    connection.exec_driver_sql(
        "INSERT INTO servicetotal (volunteer_id, unit_id, minutes, records, first_day, last_day)"
        " SELECT volunteer_id, unit_id, SUM(minutes), SUM(records), MIN(first_day), MAX(last_day)"
        " FROM servicemonth GROUP BY volunteer_id, unit_id"
    )


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)
