"""The award table as data: `vbot init` copies it into the store, and a later init never undoes a unit's change."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import select

from bot.database import prepare_database
from handlers.awards.progress import rules_in_store
from storage import award_store
from storage.db import UnitOfWork, make_engine
from storage.models import AwardRule

NOW = dt.datetime(2026, 3, 25, tzinfo=dt.UTC)


def test_a_newer_seed_updates_untouched_rows_and_keeps_changed_ones(database_url):
    engine = make_engine(database_url)
    prepare_database(engine)
    prepare_database(engine)  # again: nothing changes, nothing doubles
    uow = UnitOfWork(engine)
    with uow() as session:
        stored = {rule.code: rule for rule in rules_in_store(session)}
        assert len(stored) == 14
        assert stored["taipei-lifetime"].min_age == 65  # the age limit survives the trip through the store
        honor = session.get(AwardRule, "honor-card")
        changed = json.loads(honor.definition) | {"hours": 250}  # the city lowered the threshold
        honor.definition = json.dumps(changed, sort_keys=True, ensure_ascii=False)
        session.add(honor)
        session.commit()

    with uow() as session:  # a release ships new thresholds for both rows
        shipped = {
            row.code: json.loads(row.seeded_definition) for row in session.exec(select(AwardRule)).all()
        }
        newer = {
            code: json.dumps(row | {"hours": row["hours"] + 1}, sort_keys=True, ensure_ascii=False)
            for code, row in shipped.items()
            if code in ("honor-card", "performance-certificate")
        }
        award_store.seed_award_rules(session, newer, NOW)
        session.commit()

    with uow() as session:
        hours = {rule.code: rule.hours for rule in rules_in_store(session)}
    assert hours["honor-card"] == 250  # the unit's change stands
    assert hours["performance-certificate"] == 151  # the untouched row took the new seed
    engine.dispose()
