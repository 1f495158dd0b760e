"""Help, welcome and the answer to what the bot does not understand."""

from __future__ import annotations

from handlers.context import Context
from handlers.types import Button, Reply
from storage import people_store


def main_buttons(ctx: Context) -> tuple[Button, ...]:
    t = ctx.t
    return (
        Button(t("Check in"), t("check in")),
        Button(t("Check out"), t("check out")),
        Button(t("My hours"), t("hours")),
    )


def help_answer(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    return [
        Reply(
            t(
                "You can type or tap:\n"
                "• check in — when you arrive\n"
                "• check out — when you leave\n"
                "• hours — your service hours\n"
                "• awards — how close you are to each award\n"
                "• training — your training, record book and next classes\n"
                "• language — choose your language"
            )
            + coordinator_help(ctx),
            coordinator_buttons(ctx) or main_buttons(ctx),
        )
    ]


def _coordinates(ctx: Context) -> bool:
    return ctx.linked and bool(people_store.coordinated_units(ctx.session, ctx.volunteer_id))


def coordinator_help(ctx: Context) -> str:
    if not _coordinates(ctx):
        return ""
    t = ctx.t
    return "\n" + t(
        "For your units:\n"
        "• live — who is on shift today\n"
        "• review — sessions waiting for you\n"
        "• eligible — who can apply for an award\n"
        "• export / report — hours file, half-year report"
    )


def coordinator_buttons(ctx: Context) -> tuple[Button, ...]:
    if not _coordinates(ctx):
        return ()
    t = ctx.t
    return (
        *main_buttons(ctx),
        Button(t("Live"), t("live")),
        Button(t("Review"), t("review")),
        Button(t("Award list"), t("eligible")),
        Button(t("Export hours"), t("export")),
        Button(t("Report"), t("report")),
    )


def how_to_link(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [
        Reply(
            t(
                "Welcome to the volunteer assistant! To start, ask your coordinator for your "
                "invite code, then send: link CODE"
            ),
            (Button(t("Help"), t("help")),),
        )
    ]


def not_understood(ctx: Context) -> list[Reply]:
    t = ctx.t
    return [Reply(t("Sorry, I did not understand. Tap a button or type help."), main_buttons(ctx))]
