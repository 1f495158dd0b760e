"""PostgreSQL connections the server dropped (a restart, a firewall) while they sat in the pool.

A connection idle for longer than IDLE_PING_SECONDS is checked before it is handed out, so the first
transaction after a quiet night works; one used a moment ago is not (a round trip each time a busy worker
takes one), and should the server drop it all the same, the first statement fails and the next transaction
works on a new connection (the pipeline's loops retry; a webhook answers 500 and is sent again)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage import db
from storage.db import UnitOfWork, make_engine
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="VBOT_TEST_POSTGRES_URL is not set")

BACKEND = sa.text("SELECT pg_backend_pid()")


def dropped_by_the_server(engine: sa.Engine) -> int:
    """The pool's one connection, ended by the server (as a restart would); returns its backend's id."""
    with UnitOfWork(engine)() as session:
        backend = session.execute(BACKEND).scalar_one()
    other = sa.create_engine(POSTGRES_URL)  # type: ignore[arg-type]
    with other.begin() as connection:
        # Waits (up to 5 s) until the backend is gone: then the client's end is closed for certain.
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})
    other.dispose()
    return backend


def test_a_connection_dropped_while_idle_is_replaced_before_it_is_used(monkeypatch):
    engine = make_engine(POSTGRES_URL)  # type: ignore[arg-type]
    try:
        backend = dropped_by_the_server(engine)
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it had sat in the pool all night
        with UnitOfWork(engine)() as session:
            assert session.execute(BACKEND).scalar_one() != backend  # no error: a new connection
    finally:
        engine.dispose()


def test_a_connection_dropped_while_busy_fails_once_then_a_new_one_is_used():
    engine = make_engine(POSTGRES_URL)  # type: ignore[arg-type]
    try:
        backend = dropped_by_the_server(engine)
        with pytest.raises(sa.exc.OperationalError), UnitOfWork(engine)() as session:
            session.execute(BACKEND)
        with UnitOfWork(engine)() as session:
            assert session.execute(BACKEND).scalar_one() != backend
    finally:
        engine.dispose()
