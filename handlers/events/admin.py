"""Coordinators' changes to events, shifts and rosters (`vbot event add`, `shift add`, `roster add|import`), audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlmodel import Session

from handlers.events.codes import new_event_code, new_event_secret
from handlers.validation import InputError, _, clean_name, one_of, unit_or_error, unknown
from storage import audit_store, event_store, people_store
from storage.models import Event, RosterEntry, Shift

WALK_UPS = ("allow", "refuse")
CREDITS = ("actual", "capped", "lateness")
MAX_RADIUS_M = 50_000
MAX_CAPACITY = 100_000


def _aware(moment: dt.datetime, what: str) -> None:
    if moment.tzinfo is None:
        raise InputError(
            f"the {what} time needs an offset", said=_("The start and end need a time zone (e.g. +08:00).")
        )


def add_event(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    unit_id: int,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None = None,
    location: tuple[float, float, int] | None = None,
    rotating_code: bool = False,
    walk_ups: str = "allow",
    credit: str = "actual",
    grace_minutes: int = 0,
) -> Event:
    unit_or_error(session, unit_id)
    title = clean_name(title, "event", "title")
    place = clean_name(place, "place", "place") if place else None
    for moment, what in ((starts_at, "start"), (ends_at, "end")):
        _aware(moment, what)
    if ends_at <= starts_at:
        raise InputError(
            "the event must end after it starts", said=_("The end must be after the start."), field="ends"
        )
    one_of(walk_ups, WALK_UPS, "--walk-ups")
    one_of(credit, CREDITS, "--credit")
    if not 0 <= grace_minutes <= 240:
        raise InputError(
            "--grace must be between 0 and 240 minutes", said=_("--grace must be between 0 and 240 minutes.")
        )
    latitude = longitude = radius = None
    if location is not None:
        latitude, longitude, radius = location
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180 and 1 <= radius <= MAX_RADIUS_M):
            raise InputError(
                f"--lat/--lon must be a place on Earth and --radius 1 to {MAX_RADIUS_M} metres",
                said=_("--lat/--lon must be a place on Earth and --radius 1 to {most} metres."),
                most=MAX_RADIUS_M,
            )
    event = event_store.add_event(
        session,
        unit_id=unit_id,
        title=title,
        place=place,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius,
        starts_at=starts_at.astimezone(dt.UTC),
        ends_at=ends_at.astimezone(dt.UTC),
        code=_unused_code(session),
        secret=new_event_secret(),
        rotating_code=rotating_code,
        walk_ups=walk_ups,
        credit=credit,
        grace_minutes=grace_minutes,
        created_at=now,
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "event.add",
        f"event:{event.id}",
        None,
        {"unit": unit_id, "title": title, "code": event.code},
    )
    return event


def set_event(
    session: Session,
    now: dt.datetime,
    actor: str,
    event_id: int,
    *,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None = None,
) -> Event:
    """Changes an event's title, place and times, by the rules of add_event; the audit keeps what they were."""
    event = event_or_error(session, event_id)
    changes: dict[str, object] = {
        "title": clean_name(title, "event", "title"),
        "place": clean_name(place, "place", "place") if place else None,
    }
    for moment, what in ((starts_at, "start"), (ends_at, "end")):
        _aware(moment, what)
    if ends_at <= starts_at:
        raise InputError(
            "the event must end after it starts", said=_("The end must be after the start."), field="ends"
        )
    changes |= {"starts_at": starts_at.astimezone(dt.UTC), "ends_at": ends_at.astimezone(dt.UTC)}
    changes = {name: value for name, value in changes.items() if getattr(event, name) != value}
    if changes:
        before = {name: _plain(getattr(event, name)) for name in changes}
        people_store.set_fields(session, event, changes)
        audit_store.record_audit(
            session,
            now,
            actor,
            "event.set",
            f"event:{event.id}",
            None,
            {"unit": event.unit_id, "before": before, "after": {k: _plain(v) for k, v in changes.items()}},
        )
    return event


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def set_shift(
    session: Session,
    now: dt.datetime,
    actor: str,
    shift_id: int,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    post: str | None = None,
) -> Shift:
    """Changes a shift's post, times and places; the places never fewer than the people on its roster."""
    shift = event_store.shift(session, shift_id)
    if shift is None:
        raise unknown("shift", shift_id)
    for moment, what in ((starts_at, "start"), (ends_at, "end")):
        _aware(moment, what)
    if ends_at <= starts_at:
        raise InputError(
            "the shift must end after it starts", said=_("The end must be after the start."), field="ends"
        )
    check_capacity(capacity, shift.taken)
    changes: dict[str, object] = {
        "post": clean_name(post, "post", "post") if post else None,
        "starts_at": starts_at.astimezone(dt.UTC),
        "ends_at": ends_at.astimezone(dt.UTC),
        "capacity": capacity,
    }
    changes = {name: value for name, value in changes.items() if getattr(shift, name) != value}
    if not changes:
        return shift
    before = {name: _plain(getattr(shift, name)) for name in changes}
    if "capacity" in changes and not event_store.set_shift_capacity(session, shift_id, capacity):
        raise InputError(  # someone signed on meanwhile
            "more people are on the roster than that",
            said=_("More people are on the roster: the places cannot be fewer."),
            field="capacity",
        )
    people_store.set_fields(session, shift, changes)
    audit_store.record_audit(
        session,
        now,
        actor,
        "shift.set",
        f"shift:{shift.id}",
        None,
        {"event": shift.event_id, "before": before, "after": {k: _plain(v) for k, v in changes.items()}},
    )
    return shift


def remove_from_roster(
    session: Session, now: dt.datetime, actor: str, shift_id: int, volunteer_id: int
) -> bool:
    """Takes the volunteer off the shift's roster (audited); False when they were not on it."""
    entry = event_store.roster_entry(session, shift_id, volunteer_id)
    if entry is None or entry.status != "signed":
        return False
    return cancel_roster(session, now, actor, entry)


def _unused_code(session: Session) -> str:
    for _attempt in range(20):
        code = new_event_code()
        if event_store.event_by_code(session, code) is None:
            return code
    raise InputError(
        "could not find a free check-in code; try again",
        said=_("No free check-in code was found. Please try again."),
    )


def event_or_error(session: Session, event_id: int) -> Event:
    event = event_store.event(session, event_id)
    if event is None:
        raise unknown("event", event_id)
    return event


def add_shift(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    event_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    post: str | None = None,
) -> Shift:
    event = event_or_error(session, event_id)
    for moment, what in ((starts_at, "start"), (ends_at, "end")):
        _aware(moment, what)
    if ends_at <= starts_at:
        raise InputError(
            "the shift must end after it starts", said=_("The end must be after the start."), field="ends"
        )
    check_capacity(capacity, 0)
    shift = event_store.add_shift(
        session,
        event_id=event.id,
        post=clean_name(post, "post", "post") if post else None,
        starts_at=starts_at.astimezone(dt.UTC),
        ends_at=ends_at.astimezone(dt.UTC),
        capacity=capacity,
        created_at=now,
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "shift.add",
        f"shift:{shift.id}",
        None,
        {"event": event.id, "post": shift.post, "capacity": capacity},
    )
    return shift


def check_capacity(capacity: int, taken: int) -> None:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InputError(
            f"--capacity must be 1 to {MAX_CAPACITY}",
            said=_("The places must be a number from 1 to {most}."),
            field="capacity",
            most=MAX_CAPACITY,
        )
    if capacity < taken:
        raise InputError(
            f"{taken} people are on the roster: the capacity cannot be less",
            said=_("{taken} people are on the roster: the places cannot be fewer."),
            field="capacity",
            taken=taken,
        )


def add_to_roster(
    session: Session, now: dt.datetime, actor: str, shift_id: int, volunteer_id: int
) -> tuple[RosterEntry, bool]:
    """Puts the volunteer on the shift if a place is free; (entry, False) when they were on it already."""
    shift = event_store.shift(session, shift_id)
    if shift is None:
        raise unknown("shift", shift_id)
    if people_store.volunteer(session, volunteer_id) is None:
        raise unknown("volunteer", volunteer_id)
    entry = event_store.roster_entry(session, shift_id, volunteer_id)
    if entry is not None and entry.status == "signed":
        return entry, False
    if not event_store.take_place(session, shift_id):
        raise InputError(
            f"shift {shift_id} is full ({shift.capacity} places)",
            said=_("This shift is full ({places} places)."),
            field="volunteer",
            places=shift.capacity,
        )
    signed = event_store.sign_on(session, entry, shift_id, volunteer_id, actor, now)
    if signed is None:  # the same person at the same instant: the other one holds the place
        event_store.give_back_place(session, shift_id)
        return event_store.roster_entry(session, shift_id, volunteer_id), False
    entry = signed
    audit_store.record_audit(
        session, now, actor, "roster.add", f"shift:{shift_id}", None, {"volunteer": volunteer_id}
    )
    return entry, True


def cancel_roster(session: Session, now: dt.datetime, actor: str, entry: RosterEntry) -> bool:
    """Takes the volunteer off the shift (once, even when two cancellations arrive together)."""
    cancelled = event_store.cancel_roster_entry(session, entry.id, now)
    if cancelled:
        event_store.give_back_place(session, entry.shift_id)
        audit_store.record_audit(
            session,
            now,
            actor,
            "roster.cancel",
            f"shift:{entry.shift_id}",
            None,
            {"volunteer": entry.volunteer_id},
        )
    return cancelled


def import_roster(
    session: Session, now: dt.datetime, actor: str, event_id: int, data: bytes
) -> tuple[dict, list[tuple[int, InputError]]]:
    """A CSV with the columns `shift` and `volunteer` (ids); each row is checked on its own and reported:
    (the report, its bad rows' lines and errors)."""
    event = event_or_error(session, event_id)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            "the roster file is not UTF-8 text (save it as CSV UTF-8)",
            said=_("The roster file is not UTF-8 text: save it as CSV UTF-8."),
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"shift", "volunteer"} <= {f.strip() for f in reader.fieldnames}:
        raise InputError(
            "the roster file needs a header row with the columns shift and volunteer",
            said=_("The roster file needs a header row with the columns shift and volunteer."),
        )
    shifts = {shift.id for shift in event_store.shifts_of(session, event.id)}
    added = unchanged = 0
    errors: list[dict] = []  # line and the operator's English (--json)
    lines: list[tuple[int, InputError]] = []  # the same, to be read in a language (roster_error_lines)

    def refused(line: int, error: InputError) -> None:
        errors.append({"line": line, "error": str(error)})
        lines.append((line, error))

    for line, row in enumerate(reader, start=2):
        row = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        try:
            shift_id, volunteer_id = int(row["shift"]), int(row["volunteer"])
        except ValueError:
            refused(
                line,
                InputError(
                    "shift and volunteer must be ids", said=_("The shift and volunteer columns must be ids.")
                ),
            )
            continue
        if shift_id not in shifts:
            refused(
                line,
                InputError(
                    f"shift {shift_id} is not a shift of event {event.id}",
                    said=_("Shift {shift} is not a shift of event {event}."),
                    shift=shift_id,
                    event=event.id,
                ),
            )
            continue
        try:
            with people_store.savepoint(session):
                _entry, new = add_to_roster(session, now, actor, shift_id, volunteer_id)
        except InputError as error:
            refused(line, error)
            continue
        added += new
        unchanged += not new
    return {"added": added, "unchanged": unchanged, "errors": errors}, lines


def roster_error_lines(lines: list[tuple[int, InputError]], t) -> list[tuple[int, str]]:
    """The bad rows of a shift roster's import: line and what is wrong, in `t`'s language."""
    return [(line, error.in_words(t) if error.said else str(error)) for line, error in lines]
