"""People who block the bot and come back: LINE's unfollow and follow, Telegram's kicked and member.

While a chat account is blocked nothing is pushed to it (storage/reminder_store.py leaves it out of every
reminder, digest and multicast); its coordinators see who cannot be reached (現場,
`vbot volunteer unreachable`). Whatever the person does next on it resumes everything.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.guide import main_buttons
from handlers.types import Reply
from storage import people_store


def blocked(ctx: Context) -> list[Reply]:
    """The person blocked the bot: nothing can be said to them, and nothing is pushed any more."""
    people_store.mark_unreachable(
        ctx.session, ctx.incoming.platform, ctx.incoming.user_id, ctx.incoming.sent_at
    )
    return []


def came_back(ctx: Context) -> bool:
    """Called for anything the person does: an account that was blocked can be reached again.
    True when it had been blocked."""
    return ctx.account is not None and people_store.mark_reachable(ctx.session, ctx.account)


def welcome_back(ctx: Context) -> list[Reply]:
    """A linked person who follows the bot again is greeted by name, with the everyday buttons."""
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)
    return [
        Reply(
            ctx.t(
                "Welcome back, {name}! Reminders will reach you here again.",
                name=person.name if person else "",
            ),
            main_buttons(ctx),
        )
    ]
