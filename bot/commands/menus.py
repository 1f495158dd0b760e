"""`vbot line setup` and `vbot telegram setup`: the menus each platform shows under the chat.

Both are safe to run again. Errors are one line: a platform that is not configured exits 2, a platform
that refuses or cannot be reached exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from bot.commands.shared import emit, fail, prepare, said_line
from bot.config import ConfigError, Settings, _

COMMANDS = ("line", "telegram")


def add_parser(commands) -> None:
    line = commands.add_parser("line", help="LINE's own features").add_subparsers(
        dest="action", required=True
    )
    line.add_parser(
        "setup", help="create the rich menus (per audience and language), set the default, link each person's"
    ).add_argument("--json", action="store_true", help="print one JSON object")
    telegram = commands.add_parser("telegram", help="Telegram's own features").add_subparsers(
        dest="action", required=True
    )
    telegram.add_parser(
        "setup", help="register the webhook and the command menu in every language"
    ).add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.i18n import Catalogs
    from storage.db import UnitOfWork, make_engine

    if args.command == "line" and not settings.line_channel_access_token:
        raise ConfigError(
            "LINE is not configured: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN",
            said=_("LINE is not configured: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN."),
        )
    if args.command == "telegram" and not settings.telegram_enabled:
        raise ConfigError(
            "Telegram is not configured: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET",
            said=_("Telegram is not configured: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET."),
        )
    catalogs = Catalogs()
    default_locale = catalogs.default_for(settings.locale)
    engine = make_engine(settings.database_url)
    try:
        prepare(engine)
        uow = UnitOfWork(engine)
        if args.command == "line":
            from bot.channels.line_menus import LineMenuSetup, LineSetupError, plan_menus

            try:
                plans = plan_menus(catalogs)  # drawn before anything is asked of LINE
            except ValueError as error:
                return failed(
                    args,
                    settings,
                    _("LINE's rich menus could not be drawn."),
                    f"LINE rich menus not drawn: {error}",
                )
            setup = LineMenuSetup(
                settings.line_channel_access_token,
                settings.line_api_base_url,
                settings.line_data_api_base_url,
                settings.api_timeout_seconds,
                uow,
                default_locale,
            )
            try:
                report = asyncio.run(setup.run(plans, dt.datetime.now(dt.UTC)))
            except LineSetupError as error:
                return failed(args, settings, error.said, f"LINE rich menus not set up: {error}")
        else:
            from bot.channels import telegram_menus

            try:
                telegram_menus.webhook_url(settings.public_url)  # refused here, before anything is asked
            except ValueError as error:
                raise ConfigError(
                    str(error), said=_("Telegram's webhook needs VBOT_PUBLIC_URL to be an https address.")
                ) from None
            with uow() as session:
                coordinators = telegram_menus.coordinator_chats(session)
            try:
                report = asyncio.run(telegram_menus.set_up(settings, catalogs, default_locale, coordinators))
            except telegram_menus.TelegramSetupError as error:
                return failed(args, settings, error.said, f"Telegram not set up: {error}")
        emit(args, report.as_json(), report.human(catalogs.translator(default_locale)))
        return 0
    finally:
        engine.dispose()


def failed(args, settings: Settings, said: str, detail: str) -> int:
    """A platform that refused or was not reached: one line in VBOT_LOCALE with the English detail (exit 1)."""
    return fail(f"vbot: {said_line(said, {}, detail, settings.locale, args)}", 1)
