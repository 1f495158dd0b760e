"""Operators' and coordinators' changes to the roster and the record, each one audited."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from handlers.awards.deadlines import months_text
from handlers.notifications import parse_quiet_hours
from handlers.people.linking import new_invite_code
from handlers.validation import (
    EARLIEST,
    InputError,
    _,
    check_date,
    clean_name,
    latest_local_date,
    one_of,
    unit_or_error,
    unknown,
)
from storage import audit_store, award_store, people_store, reminder_store
from storage.models import (
    AwardGrant,
    InviteCode,
    ServiceRecord,
    TrainingClass,
    TrainingRecord,
    Unit,
    UnitDeadline,
    Volunteer,
)
from storage.vocabulary import CATEGORIES, CITIES, GENDERS, KINDS, ROLES, RecordKind, RecordSource, Role

BALANCE = "balance"  # `hours add --kind balance`: a record book's balance, service hours of source balance
HOUR_KINDS = (*KINDS, BALANCE)

# Past `session, now, actor`, the functions that take many values take them by name (pyproject: max-args).


def add_unit(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    name: str,
    category: str,
    city: str,
    quiet_hours: str | None = None,
) -> Unit:
    name = clean_name(name, "unit")
    one_of(category, CATEGORIES, "the category")
    one_of(city, CITIES, "the city")
    if quiet_hours is not None:
        quiet_hours = checked_quiet_hours(quiet_hours)
    unit = people_store.add_unit(
        session, name=name, category=category, city=city, quiet_hours=quiet_hours, created_at=now
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "unit.add",
        f"unit:{unit.id}",
        None,
        {"name": unit.name, "quiet_hours": unit.quiet_hours},
    )
    return unit


def checked_quiet_hours(text: str) -> str:
    try:
        return parse_quiet_hours(text)
    except ValueError as error:
        raise InputError(
            str(error), said=_("Quiet hours are two times like 21:00-08:00."), field="quiet_hours"
        ) from None


def set_quiet_hours(session: Session, now: dt.datetime, actor: str, unit_id: int, quiet_hours: str) -> Unit:
    unit = unit_or_error(session, unit_id)
    before = unit.quiet_hours
    people_store.set_fields(session, unit, {"quiet_hours": checked_quiet_hours(quiet_hours)})
    audit_store.record_audit(
        session,
        now,
        actor,
        "unit.quiet_hours",
        f"unit:{unit.id}",
        None,
        {"before": before, "after": unit.quiet_hours},
    )
    return unit


MAX_REMIND_DAYS = 366


def add_deadline(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    unit_id: int,
    title: str,
    date: dt.date,
    remind: tuple[int, ...],
    yearly: bool,
    months: frozenset[int] | None = None,
) -> UnitDeadline:
    """A unit's own deadline or plan item, alerted to its coordinators `remind` days before (0 = on the day);
    with `months`, on the date's day of each of those months, every year (deadlines.unit_deadline)."""
    unit_or_error(session, unit_id)
    title = clean_name(title, "deadline", "title")
    if not remind or any(not 0 <= days <= MAX_REMIND_DAYS for days in remind):
        raise InputError(
            f"--remind takes days before the date, each 0 to {MAX_REMIND_DAYS}, e.g. 14,3,1",
            said=_("--remind takes days before the date, each 0 to {most}, e.g. 14,3,1."),
            most=MAX_REMIND_DAYS,
        )
    stored_months = check_deadline_repeat(date, yearly, months, now)
    remind = tuple(sorted(set(remind), reverse=True))
    row = reminder_store.add_unit_deadline(
        session, now, unit_id, title, date, remind, yearly, months=stored_months
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "deadline.add",
        f"unit:{unit_id}",
        None,
        {
            "id": row.id,
            "title": title,
            "date": date.isoformat(),
            "remind": list(remind),
            "yearly": yearly,
            "months": stored_months,
        },
    )
    return row


def check_deadline_repeat(
    date: dt.date, yearly: bool, months: frozenset[int] | None, now: dt.datetime
) -> str | None:
    """The stored months of a unit's item (None: once or yearly); a clear error for what cannot be."""
    if months is not None:
        if yearly:
            raise InputError(
                "--yearly repeats on one date; --monthly and --months repeat in months: choose one",
                said=_("--yearly repeats on one date; --monthly and --months repeat in months: choose one."),
            )
        if not months or not months <= set(range(1, 13)):
            raise InputError(
                "--months takes months 1–12, e.g. 7-12 or 1,7",
                said=_("--months takes months 1–12, e.g. 7-12 or 1,7."),
            )
        return months_text(months)
    if not yearly and date < now.date() - dt.timedelta(days=1):
        raise InputError(
            f"{date.isoformat()} has passed; a one-off deadline must be today or later (or --yearly)",
            said=_("This date has passed: a one-off deadline must be today or later."),
            field="date",
        )
    return None


def add_volunteer(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    unit_id: int,
    name: str,
    invite_valid_for: dt.timedelta,
    birth_date: dt.date | None = None,
    gender: str | None = None,
    trained_on: dt.date | None = None,
    role: str = Role.VOLUNTEER,
    today: dt.date | None = None,
    allow_duplicate: bool = False,
) -> tuple[Volunteer, InviteCode]:
    """`today` is the local date (VBOT_TIMEZONE); dates after it are refused. A member of the unit with the
    same name and the same birth date (or no birth date on one side, so nothing tells them apart) is refused
    with their id, unless `allow_duplicate` (another person of the same name)."""
    today = today or latest_local_date(now)
    unit_or_error(session, unit_id)
    name = clean_name(name, "volunteer", "name")
    if gender is not None:
        one_of(gender, GENDERS, "the gender")
    one_of(role, ROLES, "the role")
    check_date(birth_date, "birth date", today)
    check_date(trained_on, "training date", today)
    if birth_date and trained_on and trained_on < birth_date:
        raise InputError(
            "the training date is before the birth date",
            said=_("The training date is before the birth date."),
            field="trained_on",
        )
    if not allow_duplicate:
        refuse_duplicate(session, unit_id, name, birth_date)
    person = people_store.add_volunteer(
        session, name=name, birth_date=birth_date, gender=gender, trained_on=trained_on, created_at=now
    )
    people_store.add_membership(session, person.id, unit_id, role)
    invite = new_invite(session, person.id, now + invite_valid_for)
    audit_store.record_audit(
        session, now, actor, "volunteer.add", f"volunteer:{person.id}", None, {"unit": unit_id, "role": role}
    )
    return person, invite


def refuse_duplicate(session: Session, unit_id: int, name: str, birth_date: dt.date | None) -> None:
    """InputError naming the member of the unit that a new person of this name and birth date may already be."""
    for person in people_store.unit_members_named(session, unit_id, name):
        if birth_date is None or person.birth_date is None or person.birth_date == birth_date:
            born = f", born {person.birth_date.isoformat()}" if person.birth_date else ""
            raise InputError(
                f"{name} is already in unit {unit_id}: volunteer {person.id} ({person.name}{born}); nothing added."
                " If this is another person of the same name, add --allow-duplicate"
                + ("" if birth_date else " (or give --birth-date to tell them apart)"),
                said=_("{name} is already a member (#{number}). Nothing was added."),
                field="name",
                name=person.name,
                number=person.id,
            )


def add_city_administrator(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    city: str,
    invite_valid_for: dt.timedelta,
    volunteer_id: int | None = None,
    name: str | None = None,
) -> tuple[Volunteer, InviteCode | None]:
    """Makes a person (an existing one, or a new one by name, who then gets an invite code) the city's
    administrator: they see and change every unit of the city, as its coordinators do theirs."""
    one_of(city, CITIES, "the city")
    if (volunteer_id is None) == (name is None):
        raise InputError(
            "give either --volunteer ID or --name N", said=_("Give either --volunteer ID or --name N.")
        )
    invite = None
    if volunteer_id is not None:
        person = people_store.volunteer(session, volunteer_id)
        if person is None:
            raise unknown("volunteer", volunteer_id)
    else:
        person = people_store.add_volunteer(session, name=clean_name(name, "administrator"), created_at=now)
        invite = new_invite(session, person.id, now + invite_valid_for)
    if not people_store.is_city_administrator(session, person.id, city):
        people_store.add_city_administrator(session, person.id, city, now)
        audit_store.record_audit(
            session, now, actor, "city_administrator.add", f"volunteer:{person.id}", None, {"city": city}
        )
    return person, invite


def new_invite(session: Session, volunteer_id: int, expires_at: dt.datetime) -> InviteCode:
    code = new_invite_code()
    while people_store.invite_code(session, code) is not None:  # eight digits rarely collide; never reuse one
        code = new_invite_code()
    return people_store.add_invite_code(session, code, volunteer_id, expires_at)


def add_hours(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    volunteer_id: int,
    unit_id: int,
    day: dt.date,
    hours: float,
    kind: str = RecordKind.SERVICE,
    note: str | None = None,
    today: dt.date | None = None,
) -> ServiceRecord:
    """Hours entered by hand: service, a record-book balance (kind `balance`: service hours that count toward
    totals and awards but are no service of the period they are dated in), training or meeting hours, or a
    correction (negative, with a reason).

    Refused: a volunteer or unit that does not exist, a volunteer who is not in the unit, a date in the future
    (`today` is the local date; without it, the latest date anywhere), an amount that rounds to no minutes,
    and a correction that would take the volunteer's counted hours of that kind in that unit below zero.
    """
    today = today or latest_local_date(now)
    if people_store.volunteer(session, volunteer_id) is None:
        raise unknown("volunteer", volunteer_id)
    unit_or_error(session, unit_id)
    if not people_store.is_member(session, volunteer_id, unit_id):
        raise InputError(
            f"volunteer {volunteer_id} is not in unit {unit_id}",
            said=_("Volunteer {volunteer} is not in unit {unit}."),
            volunteer=volunteer_id,
            unit=unit_id,
        )
    one_of(kind, HOUR_KINDS, "the kind")
    source = RecordSource.BALANCE if kind == BALANCE else RecordSource.MANUAL
    kind = RecordKind.SERVICE if kind == BALANCE else kind
    check_date(day, "date", today)
    note = note.strip() if note and note.strip() else None
    if hours != hours or hours == 0 or abs(hours) > 100_000:
        raise InputError(
            "hours must be a non-zero number of at most 100000",
            said=_("Hours must be a number other than 0, at most 100000."),
            field="hours",
        )
    minutes = round(hours * 60)
    if minutes == 0:
        raise InputError(
            f"{hours:g} hours is less than a minute", said=_("This is less than a minute."), field="hours"
        )
    if minutes < 0:
        if note is None:
            raise InputError(
                "a negative correction needs --note with the reason",
                said=_("A correction that takes hours away needs its reason."),
                field="note",
            )
        counted = award_store.counted_minutes_in_unit(session, volunteer_id, unit_id, kind)
        if counted + minutes < 0:
            raise InputError(
                f"the correction would take volunteer {volunteer_id}'s {kind} hours in unit {unit_id} below zero"
                f" (they have {round(counted / 60, 1):g})",
                said=_("This would take the hours below zero (they have {hours})."),
                field="hours",
                hours=f"{round(counted / 60, 1):g}",
            )
    record = award_store.add_hand_entered_hours(
        session,
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        kind=kind,
        minutes=minutes,
        service_date=day,
        recorded_by=actor,
        note=note,
        created_at=now,
        source=source,
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "hours.add",
        f"service_record:{record.id}",
        note,
        {
            "volunteer": volunteer_id,
            "unit": unit_id,
            "date": day.isoformat(),
            "minutes": record.minutes,
            "kind": kind,
            "source": source,
        },
    )
    return record


TRAINING_KINDS = ("basic", "special", "in-service", "observation")
VOLUNTEER_FIELDS = (
    "record_book_no",
    "record_book_date",
    "english_name",
    "first_service_date",
    "trained_on",
    "birth_date",
)


def set_volunteer(
    session: Session, now: dt.datetime, actor: str, volunteer_id: int, changes: dict
) -> Volunteer:
    """Sets record-book and training facts; the audit keeps what each field was before."""
    person = people_store.volunteer(session, volunteer_id)
    if person is None:
        raise unknown("volunteer", volunteer_id)
    unsettable = set(changes) - set(VOLUNTEER_FIELDS)
    if unsettable:
        raise InputError(f"cannot set {', '.join(sorted(unsettable))}")
    if not changes:
        raise InputError(
            "nothing to set: give at least one field", said=_("Nothing to set: give at least one field.")
        )
    today = latest_local_date(now)
    for field in ("record_book_date", "first_service_date", "trained_on", "birth_date"):
        check_date(changes.get(field), field.replace("_", " "), today)
    for field in ("record_book_no", "english_name"):
        if field in changes:
            changes[field] = clean_name(
                changes[field], field.replace("_", " ").replace(" no", " number"), field
            )
    before = {field: getattr(person, field) for field in changes}
    people_store.set_fields(session, person, changes)
    audit_store.record_audit(
        session,
        now,
        actor,
        "volunteer.set",
        f"volunteer:{volunteer_id}",
        None,
        {"before": before, "after": changes},
    )
    return person


def add_training(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    volunteer_id: int,
    kind: str,
    day: dt.date,
    hours: float,
    category: str | None = None,
    course: str | None = None,
) -> TrainingRecord:
    if people_store.volunteer(session, volunteer_id) is None:
        raise unknown("volunteer", volunteer_id)
    one_of(kind, TRAINING_KINDS, "the training kind")
    if category is not None:
        one_of(category, CATEGORIES, "the category")
    if kind == "special" and category is None:
        raise InputError(
            "special training needs --category (the service category it is for)",
            said=_("Special training needs --category (the service category it is for)."),
        )
    check_date(day, "date", latest_local_date(now))
    minutes = round(hours * 60)
    if hours != hours or not 0 < minutes <= 200 * 60:
        raise InputError(
            "training hours must be more than 0 and at most 200",
            said=_("Training hours must be more than 0 and at most 200."),
        )
    record = award_store.add_training_record(
        session,
        volunteer_id=volunteer_id,
        kind=kind,
        category=category,
        course=course and clean_name(course, "course"),
        date=day,
        minutes=minutes,
        recorded_by=actor,
        created_at=now,
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        "training.add",
        f"training:{record.id}",
        None,
        {
            "volunteer": volunteer_id,
            "kind": kind,
            "category": category,
            "date": day.isoformat(),
            "minutes": minutes,
        },
    )
    return record


def grant_award(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    volunteer_id: int,
    award_code: str,
    day: dt.date,
    known_codes,
) -> AwardGrant:
    if people_store.volunteer(session, volunteer_id) is None:
        raise unknown("volunteer", volunteer_id)
    if award_code not in known_codes:
        raise InputError(
            f"there is no award {award_code!r}; known: {', '.join(sorted(known_codes))}",
            said=_("There is no such award."),
            field="award",
        )
    check_date(day, "date", latest_local_date(now))
    if any(
        g.award_code == award_code and g.granted_on == day
        for g in award_store.grants_of(session, volunteer_id)
    ):
        raise InputError(
            f"volunteer {volunteer_id} already has {award_code} granted on {day.isoformat()}",
            said=_("This award was already granted on that date."),
            field="day",
        )
    grant = award_store.add_award_grant(session, volunteer_id, award_code, day, actor, now)
    audit_store.record_audit(
        session,
        now,
        actor,
        "award.grant",
        f"award_grant:{grant.id}",
        None,
        {"volunteer": volunteer_id, "award": award_code, "date": day.isoformat()},
    )
    return grant


CLASS_KINDS = ("basic", "special", "in-service", "observation", "meeting")
MAX_CLASS_LENGTH = dt.timedelta(days=31)
AUDITED_TRAINING_SESSION = "training_session"  # its name in the audit trail's actions and targets


def add_training_class(
    session: Session,
    now: dt.datetime,
    actor: str,
    *,
    unit_id: int,
    title: str,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None = None,
) -> TrainingClass:
    """A training the unit will hold (or held). Times must carry their offset; they are stored as UTC."""
    unit_or_error(session, unit_id)
    title = clean_name(title, "training session")
    one_of(kind, CLASS_KINDS, "the kind")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InputError(
            "the start and end need a time zone", said=_("The start and end need a time zone (e.g. +08:00).")
        )
    if ends_at <= starts_at:
        raise InputError(
            f"the end {ends_at.isoformat()} is not after the start {starts_at.isoformat()}",
            said=_("The end must be after the start."),
        )
    if ends_at - starts_at > MAX_CLASS_LENGTH:
        raise InputError(
            f"a training session lasts at most {MAX_CLASS_LENGTH.days} days",
            said=_("A training session lasts at most {days} days."),
            days=MAX_CLASS_LENGTH.days,
        )
    if starts_at.year < EARLIEST.year or ends_at.year > 9000:
        raise InputError(
            f"the start {starts_at.isoformat()} is not a plausible time",
            said=_("The start is not a plausible time."),
        )
    place = clean_name(place, "place") if place is not None and place.strip() else None
    row = award_store.add_training_class(
        session,
        unit_id=unit_id,
        title=title,
        kind=kind,
        starts_at=starts_at.astimezone(dt.UTC),
        ends_at=ends_at.astimezone(dt.UTC),
        place=place,
        created_at=now,
    )
    audit_store.record_audit(
        session,
        now,
        actor,
        f"{AUDITED_TRAINING_SESSION}.add",
        f"{AUDITED_TRAINING_SESSION}:{row.id}",
        None,
        {
            "unit": unit_id,
            "title": title,
            "kind": kind,
            "start": row.starts_at.isoformat(),
            "end": row.ends_at.isoformat(),
            "place": place,
        },
    )
    return row
