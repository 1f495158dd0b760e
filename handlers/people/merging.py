"""Duplicates in a unit (the same name and birth date, or the same phone) and merging two rows of one person:
the hours, trainings, awards, chat links and shifts move to the one kept, the other is removed, audited.

The console's Volunteers page shows the pairs and merges on request; the rule of what a duplicate is and what
moves is here only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session

from handlers.validation import InputError, _
from storage import audit_store, merge_store, people_store
from storage.models import Volunteer

SAME_NAME_AND_BIRTH = "name-birth"
SAME_PHONE = "phone"
# The facts of the removed row that fill the kept row's blanks (never overwrite what the kept row has).
FILLED_FIELDS = (
    "birth_date",
    "gender",
    "phone",
    "record_book_no",
    "record_book_date",
    "english_name",
    "insured_until",
    "trained_on",
    "first_service_date",
)


@dataclass(frozen=True)
class Duplicate:
    """Two members who may be one person, and why (SAME_NAME_AND_BIRTH or SAME_PHONE)."""

    first: Volunteer
    second: Volunteer
    reason: str


def _folded_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def find_duplicates(session: Session, unit_id: int) -> list[Duplicate]:
    """Pairs of the unit's members with the same name and birth date, or the same phone; each pair once, the
    older row first."""
    groups: dict[tuple, list[Volunteer]] = defaultdict(list)
    for person in merge_store.unit_members(session, unit_id):
        if person.birth_date is not None:
            groups[(SAME_NAME_AND_BIRTH, _folded_name(person.name), person.birth_date)].append(person)
        if person.phone:
            groups[(SAME_PHONE, person.phone)].append(person)
    pairs: dict[tuple[int, int], Duplicate] = {}
    for key, people in groups.items():
        for index, first in enumerate(people):
            for second in people[index + 1 :]:
                assert first.id is not None and second.id is not None
                pairs.setdefault((first.id, second.id), Duplicate(first, second, key[0]))
    return [pairs[key] for key in sorted(pairs)]


@dataclass(frozen=True)
class Merged:
    kept: Volunteer
    removed_name: str
    moved: dict[str, int]


def merge_people(
    session: Session, now: dt.datetime, actor: str, *, keep_id: int, remove_id: int, unit_ids: list[int]
) -> Merged:
    """Moves everything of `remove_id` to `keep_id` and removes `remove_id`. Both must be members of the
    actor's units (`unit_ids`) and the one removed a member of no other unit (its coordinator would lose
    a person unasked). Refused while both are checked in (one person is in one place)."""
    if keep_id == remove_id:
        raise InputError("a person cannot be merged with themselves", said=_("Choose two different people."))
    kept = people_store.volunteer(session, keep_id)
    removed = people_store.volunteer(session, remove_id)
    if kept is None or removed is None:
        raise InputError("there is no such volunteer", said=_("There is no such volunteer."))
    for person_id in (keep_id, remove_id):
        if not {unit.id for unit, _role in people_store.units_of(session, person_id)} & set(unit_ids):
            raise InputError("there is no such volunteer", said=_("There is no such volunteer."))
    if {unit.id for unit, _role in people_store.units_of(session, remove_id)} - set(unit_ids):
        raise InputError(
            f"volunteer {remove_id} is also a member of a unit the actor does not coordinate",
            said=_("This person is also a member of another unit: ask its coordinator to merge them."),
        )
    if merge_store.has_open_visit(session, keep_id) and merge_store.has_open_visit(session, remove_id):
        raise InputError(
            "both are checked in now", said=_("Both are checked in now: merge them after they check out.")
        )
    filled = {
        name: getattr(removed, name)
        for name in FILLED_FIELDS
        if getattr(kept, name) in (None, "") and getattr(removed, name) not in (None, "")
    }
    removed_name = removed.name
    moved = merge_store.move_person(session, remove_id, keep_id)
    kept = people_store.volunteer(session, keep_id)
    assert kept is not None
    if filled:
        people_store.set_fields(session, kept, filled)
    audit_store.record_audit(
        session,
        now,
        actor,
        "volunteer.merge",
        f"volunteer:{keep_id}",
        None,
        {"removed": remove_id, "removed_name": removed_name, "moved": moved, "filled": sorted(filled)},
    )
    return Merged(kept, removed_name, moved)
