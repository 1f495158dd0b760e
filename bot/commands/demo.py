"""`vbot demo`: chat with the bot in the terminal as a sample volunteer."""

from __future__ import annotations

from bot.config import Settings

COMMANDS = ("demo",)


def add_parser(commands) -> None:
    commands.add_parser("demo", help="chat with the bot in the terminal as a sample volunteer")


def run(args, settings: Settings) -> int:
    from bot.channels.terminal import demo

    return demo(settings)
