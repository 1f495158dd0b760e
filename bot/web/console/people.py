"""Volunteers and Hours: find a member (name, phone, record-book number), add one, change their record-book
facts, a new invite code; a member's records, an entry by hand, a correction with its reason, the export."""

from __future__ import annotations

import datetime as dt

from bot.web.console.base import File, NotFound, Page, Redirect, Result, ident
from handlers.files.chat import unit_file
from handlers.people import admin, console_access
from handlers.service import corrections
from handlers.validation import InputError
from storage import audit_store, console_store, people_store, service_store
from storage.vocabulary import GENDERS, KINDS

SHOWN = 100


def a_date(text: str, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"the {what} must be a date like 2026-03-25") from None


def a_number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"the {what} must be a number") from None


def volunteers(page: Page) -> Result:
    text = page.query.get("q", "").strip()[:50]
    only = page.query.get("only", "")
    only = only if only in console_store.FILTERS else ""
    rows = console_store.search_members(page.session, [page.unit_id], text, only, SHOWN + 1, page.today)
    return page.render(
        "volunteers.html",
        "/volunteers",
        rows=rows[:SHOWN],
        more=len(rows) > SHOWN,
        q=text,
        only=only,
        genders=GENDERS,
    )


def add_volunteer(page: Page) -> Result:
    gender = page.field("gender") or None
    person, invite = admin.add_volunteer(
        page.session,
        page.now,
        page.actor,
        unit_id=page.unit_id,
        name=page.field("name"),
        invite_valid_for=page.vbot.rules.invite_valid_for,
        birth_date=a_date(page.field("birth_date"), "birth date"),
        gender=gender,
        trained_on=a_date(page.field("trained_on"), "training date"),
        today=page.today,
    )
    phone = page.field("phone")
    if phone:
        set_phone(page, ident(person), phone)
    return Redirect(
        page.url(f"/volunteers/{person.id}"),
        page.t("{name} was added. Invite code: {code}", name=person.name, code=invite.code),
    )


def set_phone(page: Page, volunteer_id: int, phone: str) -> None:
    """The phone number, which the CLI takes only from a roster: kept as its digits, audited."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if not 8 <= len(digits) <= 16:
        raise InputError("the phone number must have 8 to 16 digits")
    person = console_store.member_of_units(page.session, volunteer_id, [page.unit_id])
    if person is None or person.phone == digits:
        return
    before = person.phone
    people_store.set_fields(page.session, person, {"phone": digits})
    audit_store.record_audit(
        page.session,
        page.now,
        page.actor,
        "volunteer.set",
        f"volunteer:{person.id}",
        None,
        {"before": {"phone": before}, "after": {"phone": digits}},
    )


def member(page: Page):
    person = console_store.member_of_units(page.session, page.path["volunteer_id"], [page.unit_id])
    if person is None:
        raise NotFound
    return person


def volunteer(page: Page) -> Result:
    person = member(page)
    records = console_store.records_in_units(page.session, person.id, [page.unit_id], 200)
    return page.render("volunteer.html", "/volunteers", person=person, records=records, kinds=KINDS)


def set_volunteer(page: Page) -> Result:
    person = member(page)
    changes: dict = {}
    for name in ("record_book_no", "english_name"):
        value = page.field(name)
        if value and value != (getattr(person, name) or ""):
            changes[name] = value
    for name in ("record_book_date", "first_service_date", "trained_on", "birth_date"):
        day = a_date(page.field(name), name.replace("_", " "))
        if day and day != getattr(person, name):
            changes[name] = day
    if changes:
        admin.set_volunteer(page.session, page.now, page.actor, person.id, changes)
    if page.field("phone"):
        set_phone(page, person.id, page.field("phone"))
    return Redirect(page.url(f"/volunteers/{person.id}"), page.t("Saved."))


def new_invite(page: Page) -> Result:
    person = member(page)
    code = console_access.new_invite_for(
        page.session, page.now, page.actor, person.id, page.vbot.rules.invite_valid_for
    )
    return Redirect(
        page.url(f"/volunteers/{person.id}"),
        page.t("New invite code for {name}: {code}", name=person.name, code=code),
    )


def add_hours(page: Page) -> Result:
    person = member(page)
    admin.add_hours(
        page.session,
        page.now,
        page.actor,
        volunteer_id=person.id,
        unit_id=page.unit_id,
        day=a_date(page.field("day"), "date") or page.today,
        hours=a_number(page.field("hours"), "hours"),
        kind=page.field("kind") or "service",
        note=page.field("note") or None,
        today=page.today,
    )
    return Redirect(page.url(f"/volunteers/{person.id}"), page.t("Saved."))


def correct(page: Page) -> Result:
    """更正 of a record on a member's page: the chat's handler."""
    person = member(page)
    number = page.field("record")
    record = (
        service_store.record(page.session, int(number)) if number.isdigit() and len(number) < 10 else None
    )
    if record is None or record.unit_id != page.unit_id or record.volunteer_id != person.id:
        raise NotFound
    replies = corrections.correct(
        page.context(), f"#{record.id} {page.field('hours')} {page.field('reason')}"
    )
    return Redirect(page.url(f"/volunteers/{person.id}"), "\n".join(reply.text for reply in replies))


def hours(page: Page) -> Result:
    return page.render("hours.html", "/hours")


def hours_export(page: Page) -> Result:
    made = unit_file(
        page.session,
        "hours",
        page.unit_id,
        page.query.get("span", "").strip(),
        page.vbot.rules.timezone,
        page.t,
    )
    if made is None:
        raise InputError("the period must be a year (2026), a half (2026H1) or a month (2026-03)")
    return File(made.data, made.name, made.media_type)


ROUTES = [
    ("/volunteers", volunteers, ("GET",), None),
    ("/volunteers", add_volunteer, ("POST",), None),
    ("/volunteers/{volunteer_id:int}", volunteer, ("GET",), None),
    ("/volunteers/{volunteer_id:int}", set_volunteer, ("POST",), None),
    ("/volunteers/{volunteer_id:int}/invite", new_invite, ("POST",), None),
    ("/volunteers/{volunteer_id:int}/hours", add_hours, ("POST",), None),
    ("/volunteers/{volunteer_id:int}/correct", correct, ("POST",), None),
    ("/hours", hours, ("GET",), None),
    ("/hours/export", hours_export, ("GET",), None),
]
