"""A unit's award list kept, so that the console, 獎勵名單 and `vbot awards eligible` read it in milliseconds.

The rows are the award engine's own (eligibility.computed_list: the one rule), kept per member in
storage/standing_store.py as of a day, at the widest distance asked (KEPT_WITHIN_HOURS): a narrower list is the
kept rows reached or that close (near_steps' steps do not depend on the distance; it only leaves out more).
A member's rows are made again, by the engine, when any fact it reads of them changed (the database counts the
changes, whatever wrote them), when the award table or a unit's category or city changed, or on another day:
lazily, at the next read, for those members only; the nightly job makes a new day's lists for every unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlmodel import Session

from handlers.awards.progress import rules_in_store
from handlers.awards.rules import AwardRule
from storage import award_store, standing_store

KEPT_WITHIN_HOURS = 20  # the chat's, the console's and the monthly nudge's distance; the CLI's 0 is within it
KEPT_WITHIN_MINUTES = KEPT_WITHIN_HOURS * 60
BULK = 1000  # more stale members than this: the unit's whole list computed at once


def within_minutes(within_hours: float) -> int:
    """As the engine rounds it (eligibility.computed_list)."""
    return max(0, round(within_hours * 60))


def covers(within_hours: float) -> bool:
    return within_minutes(within_hours) <= KEPT_WITHIN_MINUTES


def _context(session: Session) -> str:
    """A digest of what every member's rows depend on besides their own facts: the award table, the units."""
    digest = hashlib.sha256()
    for definition in award_store.award_rule_definitions(session):
        digest.update(definition.encode() + b"\0")
    for row in standing_store.units_digest_rows(session):
        digest.update(repr(row).encode() + b"\0")
    return digest.hexdigest()[:32]


class Row(Protocol):
    """What is kept of an eligibility.EligibleRow."""

    @property
    def volunteer_id(self) -> int: ...
    @property
    def award(self) -> str: ...
    @property
    def eligible(self) -> bool: ...
    @property
    def reached(self) -> bool: ...
    @property
    def minutes_needed(self) -> int: ...
    @property
    def missing(self) -> tuple[str, ...]: ...
    @property
    def next_deadline(self) -> dt.date | None: ...
    @property
    def round_year(self) -> int | None: ...
    @property
    def counted_until(self) -> dt.date | None: ...


# the engine's list (eligibility.computed_list): (within hours, rules, only these members) → its rows in order
Compute = Callable[[float, list[AwardRule], list[int] | None], Sequence[Row]]


def refresh(
    session: Session, unit_id: int, as_of: dt.date, compute: Compute, rules: list[AwardRule] | None = None
) -> int:
    """The unit's kept rows brought up to date for `as_of`: the engine (`compute`) run for the stale members only.
    Returns how many members were made again (written in the caller's transaction)."""
    rules = rules if rules is not None else rules_in_store(session)
    context = _context(session)
    stale = standing_store.stale_members(session, unit_id, as_of, context)  # their counts, before their facts
    if not stale:
        return 0
    members = sorted(v for v, _count in stale)
    wanted = set(members)
    # Many stale (a new day): the whole unit in bulk, as one read per kind; else just those members.
    rows = compute(KEPT_WITHIN_HOURS, rules, None if len(members) > BULK else members)
    position: dict[int, int] = {}
    kept = []
    for row in rows:  # the engine's order: a member's rows of equal rank in the order it gave them
        if row.volunteer_id not in wanted:
            continue
        place = position[row.volunteer_id] = position.get(row.volunteer_id, -1) + 1
        kept.append(
            standing_store.KeptRow(
                row.volunteer_id,
                row.award,
                place,
                row.eligible,
                row.reached,
                row.minutes_needed,
                row.missing,
                row.next_deadline,
                row.round_year,
                row.counted_until,
            )
        )
    standing_store.keep(session, unit_id, as_of, context, stale, kept)
    return len(members)
