"""Once a local day, after midnight: every unit's award list made for the new day (award windows depend on the
day), so that the first coordinator to open it, or ask 獎勵名單, reads kept rows (handlers/awards/standing.py).
Between nights only the members whose facts changed are made again, at the next read."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from handlers.awards.eligibility import keep_lists
from handlers.context import Rules
from handlers.i18n import Catalogs
from storage.reminder_store import claim_job_run


def award_lists(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Returns how many members' standings were made again."""
    today = now.astimezone(rules.timezone).date()
    if not claim_job_run(session, f"award-lists:{today}", now):
        return 0
    return keep_lists(session, today)
