"""Volunteers and Hours: find a member (name, phone, record-book number), add one, change their record-book
facts, a new invite code; a member's records, an entry by hand, a correction with its reason, the export."""

from __future__ import annotations

import datetime as dt

from bot.printing.invite_cards import invite_cards_of
from bot.web.console.base import File, NotFound, Page, Redirect, Result, ident
from handlers.awards.eligibility import listed_members
from handlers.files.chat import unit_file
from handlers.people import admin, console_access, merging
from handlers.service import corrections
from handlers.validation import InputError, _
from storage import audit_store, console_store, people_store, service_store
from storage.vocabulary import GENDERS, KINDS

SHOWN = 100
NEAR_AWARD = "near-award"
NEAR_HOURS = 20


def a_date(text: str, what: str, field: str | None = None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"the {what} must be a date like 2026-03-25",
            said=_("Please give a date like 2026-03-25."),
            field=field,
        ) from None


def a_number(text: str, what: str, field: str | None = None) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"the {what} must be a number", said=_("Please give a number, like 2.5."), field=field
        ) from None


def volunteers(page: Page) -> Result:
    text = page.query.get("q", "").strip()[:50]
    only = page.query.get("only", "")
    only = only if only in (*console_store.FILTERS, NEAR_AWARD) else ""
    among = None
    if (
        only == NEAR_AWARD
    ):  # the award engine's answer of who is within 20 h of an award, as 獎勵名單 gives it
        among = listed_members(page.session, page.unit_id, page.today, NEAR_HOURS)
    rows = console_store.search_members(
        page.session, [page.unit_id], text, "" if among is not None else only, SHOWN + 1, page.today, among
    )
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
        birth_date=a_date(page.field("birth_date"), "birth date", "birth_date"),
        gender=gender,
        trained_on=a_date(page.field("trained_on"), "training date", "trained_on"),
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
        raise InputError(
            "the phone number must have 8 to 16 digits",
            said=_("A phone number has 8 to 16 digits."),
            field="phone",
        )
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
        day = a_date(page.field(name), name.replace("_", " "), name)
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
        day=a_date(page.field("day"), "date", "day") or page.today,
        hours=a_number(page.field("hours"), "hours", "hours"),
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
    replies = corrections.correct_fields(
        page.context(), ident(record), page.field("hours"), page.field("reason")
    )
    return Redirect(page.url(f"/volunteers/{person.id}"), "\n".join(reply.text for reply in replies))


def hours(page: Page) -> Result:
    return page.render("hours.html", "/hours")


def hours_export(page: Page) -> Result:
    """The period's counted hours as CSV, or `?as=xlsx` as XLSX: the export of 匯出 / `vbot export`."""
    kind = "hours-xlsx" if page.query.get("as") == "xlsx" else "hours"
    made = unit_file(
        page.session,
        kind,
        page.unit_id,
        page.query.get("span", "").strip(),
        page.vbot.rules.timezone,
        page.t,
    )
    if made is None:
        raise InputError(
            "the period must be a year (2026), a half (2026H1) or a month (2026-03)",
            said=_("The period must be a year (2026), a half (2026H1) or a month (2026-03)."),
        )
    return File(made.data, made.name, made.media_type)


def cards_pdf(page: Page, invites: list[dict]) -> File:
    """The printable invite cards (the PDF of `vbot volunteer import --invites`) in the page's language."""
    names = page.extra.get("platform_names", (None, None))
    pdf = invite_cards_of(page.t, names, page.unit.name, invites)
    return File(pdf, f"invites-unit{page.unit_id}.pdf", "application/pdf")


def card(page: Page) -> Result:
    """A new invite code for one person and its printable card."""
    person = member(page)
    code = console_access.new_invite_for(
        page.session, page.now, page.actor, ident(person), page.vbot.rules.invite_valid_for
    )
    return cards_pdf(page, [{"name": person.name, "invite_code": code}])


def cards(page: Page) -> Result:
    """A new invite code and its card for everyone of the unit not yet linked to a chat."""
    invites = console_access.new_invites_for_unlinked(
        page.session, page.now, page.actor, page.unit_id, page.vbot.rules.invite_valid_for
    )
    if not invites:
        raise InputError("everyone is linked", said=_("Everyone is linked already: no card to print."))
    return cards_pdf(page, invites)


NAMES_KEPT = 600.0  # seconds: the bot's names rarely change; a burst of requests asks the platforms once
_names: dict[int, tuple[float, tuple[str | None, str | None]]] = {}


async def platform_names(vbot) -> dict:
    """The bot's LINE basic id and Telegram user name, which the cards' QR codes open (asked before the page's
    transaction, kept for NAMES_KEPT); a card without them says how to type the code."""
    import time

    from bot.channels.names import platform_names as ask

    kept = _names.get(id(vbot.settings))
    if kept is not None and time.monotonic() - kept[0] < NAMES_KEPT:
        return {"platform_names": kept[1]}
    try:
        names = await ask(vbot.settings)
    except Exception:  # a platform out of reach: the cards tell how to type the code instead
        return {"platform_names": (None, None)}
    _names[id(vbot.settings)] = (time.monotonic(), names)
    return {"platform_names": names}


def duplicates(page: Page) -> Result:
    return page.render(
        "duplicates.html", "/volunteers", pairs=merging.find_duplicates(page.session, page.unit_id)
    )


def merge(page: Page) -> Result:
    """合併: the one kept and the one removed, both members of this unit (else 404)."""
    numbers = [page.field("keep"), page.field("remove")]
    people = [
        console_store.member_of_units(page.session, int(n), [page.unit_id])
        if n.isdigit() and len(n) < 10
        else None
        for n in numbers
    ]
    if people[0] is None or people[1] is None:
        raise NotFound
    merged = merging.merge_people(
        page.session,
        page.now,
        page.actor,
        keep_id=ident(people[0]),
        remove_id=ident(people[1]),
        unit_ids=page.who.unit_ids,
    )
    return Redirect(
        page.url(f"/volunteers/{merged.kept.id}"),
        page.t(
            "{removed} was merged into {kept}: {records} records moved.",
            removed=merged.removed_name,
            kept=merged.kept.name,
            records=merged.moved["records"],
        ),
    )


ROUTES = [
    ("/volunteers", volunteers, ("GET",), None),
    ("/volunteers", add_volunteer, ("POST",), None),
    ("/volunteers/{volunteer_id:int}", volunteer, ("GET",), None),
    ("/volunteers/{volunteer_id:int}", set_volunteer, ("POST",), None),
    ("/volunteers/duplicates", duplicates, ("GET",), None),
    ("/volunteers/merge", merge, ("POST",), None),
    ("/volunteers/cards", cards, ("POST",), platform_names),
    ("/volunteers/{volunteer_id:int}/invite", new_invite, ("POST",), None),
    ("/volunteers/{volunteer_id:int}/card", card, ("POST",), platform_names),
    ("/volunteers/{volunteer_id:int}/hours", add_hours, ("POST",), None),
    ("/volunteers/{volunteer_id:int}/correct", correct, ("POST",), None),
    ("/hours", hours, ("GET",), None),
    ("/hours/export", hours_export, ("GET",), None),
]
# Each form's page, shown again with the values sent and the error when the form is refused.
AGAIN = {
    add_volunteer: volunteers,
    set_volunteer: volunteer,
    add_hours: volunteer,
    correct: volunteer,
    merge: duplicates,
}
