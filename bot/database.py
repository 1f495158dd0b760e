"""Bringing a database to the current schema and shipped data: what `vbot init` (and every start) does."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from handlers.awards.progress import seed_award_rules
from storage.db import UnitOfWork, migrate


def prepare_database(engine: sa.Engine) -> None:
    """The schema migrations, then the award table (rows a unit changed are left alone). Safe to repeat."""
    migrate(engine)
    with UnitOfWork(engine)() as session:
        seed_award_rules(session, dt.datetime.now(dt.UTC))
        session.commit()
