"""Engine setup, schema migrations and the unit of work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> sa.Engine:
    """An engine whose writes cannot lose updates.

    SQLite: WAL so readers never block the writer, a busy timeout so writers queue instead of failing,
    and BEGIN IMMEDIATE so a transaction takes the write lock before it reads what it will change.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            # Straight on the driver's connection: SQLAlchemy's statement path would cost more than the BEGIN.
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")

        return engine
    engine = sa.create_engine(url, pool_size=10, max_overflow=20)
    _ping_after_idle(engine)
    return engine


# A pooled connection unused for longer than this is checked before it is handed out.
IDLE_PING_SECONDS = 10.0


def _ping_after_idle(engine: sa.Engine) -> None:
    """SQLAlchemy's pool_pre_ping, for the connections that were idle only: the server may have restarted, or a
    firewall dropped the connection, while nobody used it. One in use a moment ago is not asked (the ping is a
    round trip, and a busy worker takes a connection four or five times an event when events come one by one);
    should the server go away under load all the same, the first statement fails, SQLAlchemy drops the pool's
    connections, and the step is retried (the pipeline's loops) or answered 500 (a webhook, sent again)."""

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # gone: the pool discards it and hands out a new one (PoolEvents.checkout)
            raise sa.exc.DisconnectionError(type(error).__name__) from error


def migrate(engine: sa.Engine) -> None:
    """Create or upgrade the schema to the newest migration; safe to run again."""
    # Alembic (with Mako and Pygments) is a fifth of a second to import: only `vbot init` and start-up need it.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_revisions(engine: sa.Engine) -> tuple[str | None, str]:
    """(the database's migration revision, or None before `vbot init`; the newest this version knows)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head() or ""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head


# One writer at a time per SQLite file within this process. SQLite allows one writer anyway; waiting here
# costs microseconds, while a thread that loses BEGIN IMMEDIATE to another sleeps in SQLite's busy
# handler for up to 100 ms even when the lock frees at once (measured: p99 208 → 85 ms under load).
_sqlite_writers: dict[str, threading.Lock] = {}
_sqlite_writers_guard = threading.Lock()


def _writer_lock(engine: sa.Engine) -> threading.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(str(engine.url), threading.Lock())


class UnitOfWork:
    """One transaction. Nothing is kept unless `commit()` is called. Never nest two in one thread."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._lock = _writer_lock(engine)

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        if self._lock is not None:
            self._lock.acquire()
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
        finally:
            # close() rolls back whatever was not committed; loaded objects stay readable, detached.
            session.close()
            if self._lock is not None:
                self._lock.release()


def database_answers(engine: sa.Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError as error:
        log.warning("database check failed: %s", error)
        return False


def insert_ignoring_duplicates(session: Session, model, rows: list[dict], unique_columns: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING for many rows: one statement, compiled once and cached, run for
    every row (a multi-row VALUES would be compiled anew for each batch size)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).on_conflict_do_nothing(index_elements=unique_columns), rows)


def insert_new_keys(
    session: Session, table: sa.Table, rows: list[dict], unique_columns: list[str]
) -> list[tuple]:
    """INSERT … ON CONFLICT DO NOTHING for many rows, as insert_ignoring_duplicates; returns the unique keys
    of the rows it inserted (a row left out was a duplicate).

    PostgreSQL: RETURNING. SQLite: the rows' count is compared with the rows inserted (the cheaper statement:
    RETURNING costs SQLite about a third more a row), and only when fewer were inserted are they read back:
    they are the table's last rowids, since the transaction holds SQLite's only write lock (BEGIN
    IMMEDIATE) and a new rowid is the largest plus one."""
    if not rows:
        return []
    keys = [table.c[name] for name in unique_columns]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
        return [tuple(row) for row in connection.execute(statement.returning(*keys), rows)]
    plain = sqlite.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
    inserted = connection.execute(plain, rows).rowcount
    if inserted == len(rows):
        return [tuple(row[name] for name in unique_columns) for row in rows]
    if inserted <= 0:
        return []
    last = sa.select(*keys).order_by(sa.literal_column("rowid").desc()).limit(inserted)
    return [tuple(row) for row in connection.execute(last)]
