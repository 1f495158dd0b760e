"""The hot path's statements, run on the database driver's own cursor.

Every chat event runs about eight statements (the person's account, their open visit, the answer's outbox
row…). Through SQLAlchemy's Session each costs 100–300 µs of Python around a statement that SQLite answers in
about 8 µs and psycopg sends in about 100 (measured: benchmarks/worker_drain.py, issue 19). A `Prepared`
statement is still written with SQLAlchemy Core, next to its repository function in `storage/`, and is
compiled once per dialect; it then runs on the cursor of the session's own connection, in the session's
transaction, with its columns' own type conversions (UTCDateTime's included): what it reads and writes is
what session.execute would read and write.

No IN lists (SQLAlchemy renders them at each execution): a statement holding one is refused when compiled;
write `sa.or_(a == x, a == y)`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session


class _Compiled:
    """One statement compiled for one dialect: its SQL, how to turn keyword parameters into the driver's
    parameters, and how to turn the driver's rows into typed named rows."""

    def __init__(self, statement: Any, dialect: sa.Dialect):
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a Prepared statement cannot hold an IN list")
        self.sql = compiled.string
        # The values written into the statement (a status, a kind); the others come with each call.
        binds = compiled.bind_names  # each parameter and its name in the SQL
        self.defaults = {name: bind.effective_value for bind, name in binds.items() if not bind.required}
        self.bind_processors: dict[str, Callable[[Any], Any]] = {
            name: processor
            for bind, name in binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.positions = list(compiled.positiontup or ()) if dialect.paramstyle == "qmark" else None
        columns = list(statement.exported_columns)  # type: ignore[attr-defined]  # a SELECT's, or RETURNING's
        self.row: Any = (
            namedtuple("Row", [column.key for column in columns], rename=True) if columns else None
        )
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        # Only the columns whose values need turning into Python's (a time on SQLite, a UTC time anywhere).
        self.result_processors = [(index, process) for index, process in enumerate(processors) if process]

    def parameters(self, params: dict[str, Any]) -> tuple | dict:
        values = {**self.defaults, **params}
        for name, process in self.bind_processors.items():
            values[name] = process(values[name])
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def typed(self, row: tuple) -> tuple:
        if self.result_processors:
            values = list(row)
            for index, process in self.result_processors:
                values[index] = process(values[index])
            row = values  # type: ignore[assignment]
        return self.row._make(row)


def inserting(table: sa.Table, names: list[str] | None = None, insert=sa.insert):
    """`insert(table)` with a parameter for each column named (by default all but the id, which the database
    numbers); the others take their defaults."""
    names = names or [c.name for c in table.c if c.name != "id"]
    return insert(table).values({name: sa.bindparam(name) for name in names})


class Prepared:
    """A Core statement run on the session's driver cursor: `rows`, `first`, `scalar`, `run` and `run_many`.
    `statement`: one for every dialect, or one per dialect name (an INSERT … ON CONFLICT is written per
    dialect)."""

    def __init__(self, statement: sa.Executable | dict[str, sa.Executable]):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _cursor(self, session: Session):
        # What the session holds unsaved goes first, as its autoflush would do before a query.
        session.flush()
        connection = session.connection()  # begins the session's transaction (BEGIN IMMEDIATE on SQLite)
        compiled = self._compiled(connection.dialect)
        return connection.connection.driver_connection.cursor(), compiled  # type: ignore[union-attr]

    def _execute(self, session: Session, params: dict[str, Any]):
        cursor, compiled = self._cursor(session)
        cursor.execute(compiled.sql, compiled.parameters(params))
        return cursor, compiled

    def _compiled(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            statement = self.statement[dialect.name] if isinstance(self.statement, dict) else self.statement
            compiled = self._by_dialect[dialect.name] = _Compiled(statement, dialect)  # type: ignore[arg-type]
        return compiled

    def rows(self, session: Session, **params: Any) -> list[Any]:
        cursor, compiled = self._execute(session, params)
        try:
            return [compiled.typed(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, session: Session, **params: Any) -> Any:  # a row, or None
        cursor, compiled = self._execute(session, params)
        try:
            row = cursor.fetchone()
            return None if row is None else compiled.typed(row)
        finally:
            cursor.close()

    def scalar(self, session: Session, **params: Any) -> Any:  # the first column of the first row, or None
        row = self.first(session, **params)
        return None if row is None else row[0]

    def run_many(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Runs a statement that returns no rows once for each of `rows`, in their order, in one driver call
        (psycopg sends them all before reading any answer: one round trip to PostgreSQL, not one a row)."""
        cursor, compiled = self._cursor(session)
        try:
            cursor.executemany(compiled.sql, [compiled.parameters(params) for params in rows])
        finally:
            cursor.close()

    def run(self, session: Session, **params: Any) -> int:
        """Runs a statement that returns no rows; how many rows it changed."""
        cursor, _compiled = self._execute(session, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()
