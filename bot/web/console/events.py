"""Events: create an event and its shifts, the poster, the kiosk link, and a live board per shift that the
page's script refreshes every two seconds (live.json), so a check-in shows without a reload."""

from __future__ import annotations

import datetime as dt

from bot.web.console.base import File, Json, NotFound, Page, Redirect, Result, ident
from handlers.events import admin as event_admin
from handlers.events.board import shift_boards
from handlers.events.codes import kiosk_link
from handlers.validation import InputError, _
from storage import console_store, event_store
from storage.models import Event, Shift

KIOSK_VALID = dt.timedelta(days=2)


def local_moment(page: Page, day: str, clock: str, what: str) -> dt.datetime:
    try:
        return dt.datetime.combine(
            dt.date.fromisoformat(day), dt.time.fromisoformat(clock), page.vbot.rules.timezone
        )
    except ValueError:
        raise InputError(
            f"the {what} needs a date and a time",
            said=_("Please give a date and a time."),
            field="starts" if what == "start" else "ends",
        ) from None


def events(page: Page) -> Result:
    return page.render(
        "events.html", "/events", events=console_store.events_of(page.session, [page.unit_id], 50)
    )


def add_event(page: Page) -> Result:
    day = page.field("day")
    event = event_admin.add_event(
        page.session,
        page.now,
        page.actor,
        unit_id=page.unit_id,
        title=page.field("title"),
        starts_at=local_moment(page, day, page.field("starts"), "start"),
        ends_at=local_moment(page, day, page.field("ends"), "end"),
        place=page.field("place") or None,
        rotating_code=page.field("rotating") == "on",
    )
    return Redirect(page.url(f"/events/{event.id}"), page.t("Saved."))


def event_of(page: Page) -> Event:
    event = event_store.event(page.session, page.path["event_id"])
    if event is None or event.unit_id != page.unit_id:
        raise NotFound
    return event


def event(page: Page) -> Result:
    found = event_of(page)
    assert found.id is not None
    shifts = event_store.shifts_of(page.session, found.id)
    kiosk = None
    if found.rotating_code:
        expires = int((page.now + KIOSK_VALID).timestamp())
        kiosk = kiosk_link(page.vbot.rules.public_url, found.id, found.secret, expires)
    return page.render(
        "event.html",
        "/events",
        event=found,
        shifts=shifts,
        boards=shift_boards(page.session, [s.id for s in shifts if s.id is not None]),
        kiosk=kiosk,
    )


def add_shift(page: Page) -> Result:
    found = event_of(page)
    day = page.field("day")
    capacity = page.field("capacity")
    event_admin.add_shift(
        page.session,
        page.now,
        page.actor,
        event_id=ident(found),
        starts_at=local_moment(page, day, page.field("starts"), "start"),
        ends_at=local_moment(page, day, page.field("ends"), "end"),
        capacity=places(capacity),
        post=page.field("post") or None,
    )
    return Redirect(page.url(f"/events/{found.id}"), page.t("Saved."))


def places(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 0  # 0 is refused by the handler, in words


def set_event(page: Page) -> Result:
    """The event's title, place and times changed: the handler of `vbot event set`'s rules, audited."""
    found = event_of(page)
    day = page.field("day")
    event_admin.set_event(
        page.session,
        page.now,
        page.actor,
        ident(found),
        title=page.field("title"),
        starts_at=local_moment(page, day, page.field("starts"), "start"),
        ends_at=local_moment(page, day, page.field("ends"), "end"),
        place=page.field("place") or None,
    )
    return Redirect(page.url(f"/events/{found.id}"), page.t("Saved."))


def shift_page(page: Page) -> Result:
    """A shift: change its post, times and places; its roster, a person added or taken off."""
    shift, found = shift_of(page)
    roster = event_store.roster_of(page.session, [ident(shift)])
    return page.render(
        "shift.html",
        "/events",
        shift=shift,
        event=found,
        roster=[(volunteer_id, name) for _shift, volunteer_id, name in roster],
    )


def set_shift(page: Page) -> Result:
    shift, _found = shift_of(page)
    day = page.field("day")
    event_admin.set_shift(
        page.session,
        page.now,
        page.actor,
        ident(shift),
        starts_at=local_moment(page, day, page.field("starts"), "start"),
        ends_at=local_moment(page, day, page.field("ends"), "end"),
        capacity=places(page.field("capacity")),
        post=page.field("post") or None,
    )
    return Redirect(page.url(f"/shifts/{shift.id}"), page.t("Saved."))


def roster_add(page: Page) -> Result:
    """A member of this unit put on the shift, named by their number (#12) or their whole name."""
    shift, _found = shift_of(page)
    text = page.field("volunteer").lstrip("#").strip()
    if text.isdigit() and len(text) < 10:
        person = console_store.member_of_units(page.session, int(text), [page.unit_id])
    else:
        found = (
            console_store.search_members(page.session, [page.unit_id], text, "", 2, page.today)
            if text
            else []
        )
        person = found[0][0] if len(found) == 1 else None
    if person is None:
        raise InputError(
            "no such member",
            said=_("No member of this unit has this number or name."),
            field="volunteer",
        )
    _entry, added = event_admin.add_to_roster(page.session, page.now, page.actor, ident(shift), ident(person))
    note = page.t("Saved.") if added else page.t("{name} is on this shift already.", name=person.name)
    return Redirect(page.url(f"/shifts/{shift.id}"), note)


def roster_remove(page: Page) -> Result:
    shift, _found = shift_of(page)
    person = console_store.member_of_units(page.session, page.path["volunteer_id"], [page.unit_id])
    if person is None:
        raise NotFound
    event_admin.remove_from_roster(page.session, page.now, page.actor, ident(shift), ident(person))
    return Redirect(page.url(f"/shifts/{shift.id}"), page.t("Saved."))


def poster(page: Page) -> Result:
    """The poster as PNG (`?as=pdf` for the PDF), made as `vbot event poster` makes it."""
    from bot.printing.event_poster import event_poster, poster_translators

    found = event_of(page)
    settings = page.vbot.settings
    if not (settings.line_enabled or settings.telegram_enabled):
        raise InputError(
            "the poster's QR codes open LINE or Telegram: configure at least one of them first",
            said=_("The poster's QR codes open LINE or Telegram: configure at least one of them first."),
        )
    translators = poster_translators(page.vbot.catalogs, page.t.locale)
    shifts = event_store.shifts_of(page.session, ident(found))
    png, pdf = event_poster(translators, page.vbot.rules.timezone, found, shifts, settings.public_url)
    if page.query.get("as") == "pdf":
        return File(pdf, f"poster-event{found.id}.pdf", "application/pdf")
    return File(png, f"poster-event{found.id}.png", "image/png")


def shift_of(page: Page) -> tuple[Shift, Event]:
    shift = event_store.shift(page.session, page.path["shift_id"])
    found = event_store.event(page.session, shift.event_id) if shift is not None else None
    if shift is None or found is None or found.unit_id != page.unit_id:
        raise NotFound
    return shift, found


def live(page: Page) -> Result:
    shift, found = shift_of(page)
    board = shift_boards(page.session, [ident(shift)])[ident(shift)]
    return page.render("live.html", "/events", shift=shift, event=found, board=board)


def live_json(page: Page) -> Result:
    shift, _found = shift_of(page)
    return Json(shift_boards(page.session, [ident(shift)])[ident(shift)].as_json())


ROUTES = [
    ("/events", events, ("GET",), None),
    ("/events", add_event, ("POST",), None),
    ("/events/{event_id:int}", event, ("GET",), None),
    ("/events/{event_id:int}/shifts", add_shift, ("POST",), None),
    ("/events/{event_id:int}/poster", poster, ("GET",), None),
    ("/events/{event_id:int}/edit", set_event, ("POST",), None),
    ("/shifts/{shift_id:int}", shift_page, ("GET",), None),
    ("/shifts/{shift_id:int}", set_shift, ("POST",), None),
    ("/shifts/{shift_id:int}/roster", roster_add, ("POST",), None),
    ("/shifts/{shift_id:int}/roster/{volunteer_id:int}/remove", roster_remove, ("POST",), None),
    ("/shifts/{shift_id:int}/live", live, ("GET",), None),
    ("/shifts/{shift_id:int}/live.json", live_json, ("GET",), None),
]

# Each form's page, shown again with the values sent and the error when the form is refused.
AGAIN = {add_event: events, add_shift: event, set_event: event, set_shift: shift_page, roster_add: shift_page}
