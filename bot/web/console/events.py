"""Events: create an event and its shifts, the poster, the kiosk link, and a live board per shift that the
page's script refreshes every two seconds (live.json), so a check-in shows without a reload."""

from __future__ import annotations

import datetime as dt

from bot.web.console.base import File, Json, NotFound, Page, Redirect, Result, ident
from handlers.events import admin as event_admin
from handlers.events.board import shift_boards
from handlers.events.codes import kiosk_link
from handlers.validation import InputError
from storage import console_store, event_store
from storage.models import Event, Shift

KIOSK_VALID = dt.timedelta(days=2)


def local_moment(page: Page, day: str, clock: str, what: str) -> dt.datetime:
    try:
        return dt.datetime.combine(
            dt.date.fromisoformat(day), dt.time.fromisoformat(clock), page.vbot.rules.timezone
        )
    except ValueError:
        raise InputError(f"the {what} needs a date and a time") from None


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
        capacity=int(capacity) if capacity.isdigit() and len(capacity) < 6 else 0,
        post=page.field("post") or None,
    )
    return Redirect(page.url(f"/events/{found.id}"), page.t("Saved."))


def poster(page: Page) -> Result:
    """The poster as PNG (`?as=pdf` for the PDF), made as `vbot event poster` makes it."""
    from bot.printing.event_poster import event_poster, poster_translators

    found = event_of(page)
    settings = page.vbot.settings
    if not (settings.line_enabled or settings.telegram_enabled):
        raise InputError("the poster's QR codes open LINE or Telegram: configure at least one of them first")
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
    shift, _ = shift_of(page)
    return Json(shift_boards(page.session, [ident(shift)])[ident(shift)].as_json())


ROUTES = [
    ("/events", events, ("GET",), None),
    ("/events", add_event, ("POST",), None),
    ("/events/{event_id:int}", event, ("GET",), None),
    ("/events/{event_id:int}/shifts", add_shift, ("POST",), None),
    ("/events/{event_id:int}/poster", poster, ("GET",), None),
    ("/shifts/{shift_id:int}/live", live, ("GET",), None),
    ("/shifts/{shift_id:int}/live.json", live_json, ("GET",), None),
]
