"""Help, welcome and the answer to what the bot does not understand."""

from __future__ import annotations

from handlers.context import Context
from handlers.types import Button, Reply


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
                "• language en / language zh — change language"
            ),
            main_buttons(ctx),
        )
    ]


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
