"""`vbot demo`: chat with the bot in the terminal as a sample volunteer."""

from __future__ import annotations

from bot.config import Settings

COMMANDS = ("demo",)


def add_parser(commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="chat with the bot in the terminal as a sample volunteer (or --coordinator)",
        description="A throw-away SQLite database with a sample unit; nothing is sent anywhere.",
    )
    demo.add_argument(
        "--coordinator",
        action="store_true",
        help="chat as the unit's coordinator, with people checked in, a visit to review and an event on",
    )


def run(args, settings: Settings) -> int:
    from bot.channels.terminal import demo

    return demo(settings, coordinator=args.coordinator)
