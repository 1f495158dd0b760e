"""Today: who is in now, the visits waiting for review (核准 / 作廢 / 更正 in place, by the chat's own
handlers), today's shifts with their boards, the next deadlines, tonight's reminders,
who cannot be reached (they blocked the bot), LINE messages left this month."""

from __future__ import annotations

import datetime as dt

from bot.web.console.base import NotFound, Page, Redirect, Result, ident
from handlers.events.board import shift_boards
from handlers.jobs.deadline_calendar import coming_deadlines
from handlers.jobs.tonight import reminders_tonight
from handlers.notifications import unreachable_people
from handlers.service import corrections
from storage import console_store, service_store

REVIEW_SHOWN = 50


def today(page: Page) -> Result:
    zone = page.vbot.rules.timezone
    start = dt.datetime.combine(page.today, dt.time(0), zone)
    shifts = console_store.shifts_between(page.session, [page.unit_id], start, start + dt.timedelta(days=1))
    return page.render(
        "today.html",
        "/today",
        here=console_store.checked_in_now(page.session, [page.unit_id]),
        review=service_store.records_to_review(page.session, [page.unit_id], REVIEW_SHOWN),
        shifts=shifts,
        boards=shift_boards(page.session, [ident(shift) for shift, _ in shifts]),
        deadlines=coming_deadlines(page.session, page.unit, page.today, 5),
        quota_left=page.extra.get("quota_left"),
        tonight=reminders_tonight(page.session, page.unit_id, page.now, page.vbot.rules),
        unreachable=[
            (person, person.since.astimezone(zone).date())
            for person in unreachable_people(page.session, page.unit_id)
        ],
        platform_names={"line": "LINE", "telegram": "Telegram"},
    )


def settle(page: Page) -> Result:
    """核准 / 作廢 / 更正 of one record of this unit: the chat's handlers, their answer as the page's note."""
    record = service_store.record(page.session, page.path["record_id"])
    if record is None or record.unit_id != page.unit_id:
        raise NotFound
    action = page.path["action"]
    if action not in ("approve", "void", "correct"):
        raise NotFound
    ctx = page.context()
    if action == "approve":
        replies = corrections.approve(ctx, f"#{record.id}")
    elif action == "void":
        replies = corrections.void(ctx, f"#{record.id}")
    else:  # a bad time or no reason: the page again, the error beside its field (InputError)
        replies = corrections.correct_fields(ctx, ident(record), page.field("hours"), page.field("reason"))
    return Redirect(page.back(), "\n".join(reply.text for reply in replies))
