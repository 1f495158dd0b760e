"""班表 / shifts: the open shifts of the volunteer's units, signing up and cancelling with buttons."""

from __future__ import annotations

import datetime as dt

from handlers.context import Context
from handlers.events.admin import add_to_roster, cancel_roster
from handlers.formatting import local_date
from handlers.i18n import Translator
from handlers.notifications import tell_coordinators
from handlers.types import Button, Reply
from handlers.validation import InputError
from storage import event_store, people_store
from storage.models import Event, Shift

SHOWN = 8  # shifts in one answer: it must fit on a phone screen
LATE_CANCELLATION = dt.timedelta(hours=24)  # closer to the start, the coordinators are told


def shift_line(t: Translator, ctx: Context, shift: Shift, event: Event) -> str:
    start = shift.starts_at.astimezone(ctx.rules.timezone)
    end = shift.ends_at.astimezone(ctx.rules.timezone)
    when = f"{local_date(start.date(), ctx.locale)} {start:%H:%M}–{end:%H:%M}"
    free = shift.capacity - shift.taken
    post = f"｜{shift.post}" if shift.post else ""
    return t(
        "{event}{post}｜{when}｜{free} of {capacity} places free",
        event=event.title,
        post=post,
        when=when,
        free=free,
        capacity=shift.capacity,
    )


def my_shifts(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    volunteer_id = ctx.volunteer_id
    rows = event_store.open_shifts_for(ctx.session, volunteer_id, ctx.now, SHOWN)
    if not rows:
        return [Reply(t("No shifts are open at your units now."))]
    signed = event_store.signed_shift_ids(ctx.session, volunteer_id, [shift.id for shift, _ in rows])
    lines, buttons = [t("Open shifts")], []
    for n, (shift, event) in enumerate(rows, start=1):
        mark = "✅" if shift.id in signed else f"{n}."
        lines.append(f"{mark} {shift_line(t, ctx, shift, event)}")
        if shift.id in signed:
            buttons.append(Button(t("Cancel {n}", n=n), t("cancel") + f" #{shift.id}"))
        elif shift.taken < shift.capacity:
            buttons.append(Button(t("Sign up {n}", n=n), t("sign up") + f" #{shift.id}"))
    return [Reply("\n".join(lines), tuple(buttons))]


def _shift_of(ctx: Context, argument: str) -> tuple[Shift, Event] | None:
    """The shift `#ID` names, if it is at an event of one of the volunteer's units and not over."""
    text = argument.strip().lstrip("#")
    if not text.isdigit():
        return None
    for shift, event in event_store.open_shifts_for(ctx.session, ctx.volunteer_id, ctx.now, 500):
        if shift.id == int(text):
            return shift, event
    return None


def sign_up(ctx: Context, argument: str) -> list[Reply]:
    t = ctx.t
    found = _shift_of(ctx, argument)
    if found is None:
        return [Reply(t("I cannot find that shift. Here are the open ones."))] + my_shifts(ctx, "")
    shift, event = found
    try:
        _entry, new = add_to_roster(
            ctx.session, ctx.now, f"volunteer:{ctx.volunteer_id}", shift.id, ctx.volunteer_id
        )
    except InputError:
        return [Reply(t("Sorry, that shift is full."), (Button(t("Shifts"), t("shifts")),))]
    ctx.session.refresh(shift)
    text = (
        t("You are on the shift: {shift}", shift=shift_line(t, ctx, shift, event))
        if new
        else t("You were already on this shift.")
    )
    return [Reply(text, (Button(t("Shifts"), t("shifts")),))]


def cancel(ctx: Context, argument: str) -> list[Reply]:
    t = ctx.t
    found = _shift_of(ctx, argument)
    entry = event_store.roster_entry(ctx.session, found[0].id, ctx.volunteer_id) if found else None
    if entry is None or entry.status != "signed":
        return [Reply(t("You are not on that shift."), (Button(t("Shifts"), t("shifts")),))]
    shift, event = found
    if (
        cancel_roster(ctx.session, ctx.now, f"volunteer:{ctx.volunteer_id}", entry)
        and shift.starts_at - ctx.now < LATE_CANCELLATION
    ):
        tell_coordinators_of_cancellation(ctx, shift, event)
    return [Reply(t("You are off the shift. Thank you for telling us."), (Button(t("Shifts"), t("shifts")),))]


def tell_coordinators_of_cancellation(ctx: Context, shift: Shift, event: Event) -> None:
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)

    def words(t: Translator) -> Reply:
        return Reply(
            t(
                "⚠️ {name} cancelled a shift that starts soon: {shift}",
                name=person.name,
                shift=shift_line(t, ctx, shift, event),
            )
        )

    tell_coordinators(
        ctx,
        [event.unit_id],
        "late-cancellation",
        f"{shift.id}:{person.id}:{ctx.now:%Y%m%d%H%M%S}",
        words,
        shift.ends_at,
    )
