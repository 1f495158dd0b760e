"""`vbot telegram setup`: the webhook, and the command menu ("/") in every shipped language.

Telegram shows a person the list set for their chat and language first, then for their chat, then the
default for their language, then the default. So: one default list per language, one with no language
(in VBOT_LOCALE), and for each coordinator's chat their lists with the coordinator commands added.
Setting a list again replaces it, so running setup again changes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from babel import Locale
from sqlmodel import Session, select
from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from bot.config import Settings
from handlers.i18n import Catalogs, Translator
from handlers.router import ROUTES
from handlers.validation import _
from storage import people_store
from storage.models import ChatAccount

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = (
    "message",
    "callback_query",
    "my_chat_member",
)  # what the bot reads (blocked / unblocked too)
COORDINATOR_INTENTS = ("live", "review", "eligible", "export", "report", "console")


def describe(intent: str, t: Translator) -> str | None:
    """What the command menu says of a command, in the person's language (None: not in the menu)."""
    descriptions = {
        "checkin": t("Check in"),
        "checkout": t("Check out"),
        "hours": t("My hours"),
        "awards": t("My awards"),
        "training": t("My training"),
        "shifts": t("Shifts"),
        "my-records": t("My records"),
        "my-data": t("My data"),
        "reminders": t("Reminders"),
        "language": t("Language"),
        "help": t("Help"),
        "live": t("Live"),
        "review": t("Review"),
        "eligible": t("Award list"),
        "export": t("Export hours"),
        "report": t("Report"),
        "console": t("Console"),
    }
    return descriptions.get(intent)


def commands(t: Translator, coordinator: bool = False) -> list[BotCommand]:
    """The router's slash words (/start is Telegram's own button), in the order of ROUTES."""
    found = []
    for route in ROUTES:
        if route.intent in COORDINATOR_INTENTS and not coordinator:
            continue
        for word in route.words:
            if word.startswith("/") and word != "/start":
                description = describe(route.intent, t)
                if description is None:
                    log.warning("command %s has no description; left out of Telegram's menu", word)
                    continue
                found.append(BotCommand(word[1:], description[:256]))
    return found


def language_code(locale: str) -> str:
    """Telegram's two-letter code of a locale: zh for zh_TW."""
    return Locale.parse(locale).language


class TelegramSetupError(Exception):
    """Telegram refused or could not be reached; the message is one line, `said` the same in the catalogs'
    words."""

    def __init__(self, text: str, said: str):
        super().__init__(text)
        self.said = said


@dataclass
class TelegramSetupReport:
    webhook: str
    commands: dict[str, int] = field(default_factory=dict)  # language code ("" = any language) → commands
    coordinator_chats: int = 0

    def as_json(self) -> dict:
        return {
            "webhook": self.webhook,
            "allowed_updates": list(ALLOWED_UPDATES),
            "commands": self.commands,
            "coordinator_chats": self.coordinator_chats,
        }

    def human(self, t) -> str:
        """For the operator, in VBOT_LOCALE (`t`)."""
        languages = t(", ").join(code or t("any language") for code in self.commands)
        return t(
            "webhook set to {url}; commands set for {languages}; coordinator commands in {chats} chats",
            url=self.webhook,
            languages=languages,
            chats=self.coordinator_chats,
        )


def webhook_url(public_url: str) -> str:
    """Telegram only delivers to HTTPS: say so before asking it."""
    if urlsplit(public_url).scheme != "https":
        raise ValueError(f"VBOT_PUBLIC_URL must be an https URL for Telegram's webhook, not {public_url!r}")
    return public_url + WEBHOOK_PATH


def coordinator_chats(session: Session) -> list[tuple[int, str | None]]:
    """(chat id, chosen language) of every Telegram account of a person who coordinates."""
    accounts = session.exec(
        select(ChatAccount)
        .where(ChatAccount.platform == "telegram", ChatAccount.volunteer_id.is_not(None))
        .order_by(ChatAccount.id)
    ).all()
    chats = []
    for account in accounts:
        if account.platform_user_id.lstrip("-").isdigit() and people_store.coordinates_any(
            session, account.volunteer_id
        ):
            chats.append((int(account.platform_user_id), account.chosen_locale))
    return chats


async def set_up(
    settings: Settings, catalogs: Catalogs, default_locale: str, coordinators: list[tuple[int, str | None]]
) -> TelegramSetupReport:
    url = webhook_url(settings.public_url)
    api, seconds = settings.telegram_api_base_url, settings.api_timeout_seconds
    bot = Bot(
        settings.telegram_bot_token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=HTTPXRequest(connect_timeout=seconds, read_timeout=seconds, write_timeout=seconds),
    )
    report = TelegramSetupReport(url)
    try:
        async with bot:  # asks getMe first: a wrong token fails here, in one line
            await bot.set_webhook(
                url, secret_token=settings.telegram_webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
            )
            await bot.set_my_commands(commands(catalogs.translator(default_locale)))
            report.commands[""] = len(commands(catalogs.translator(default_locale)))
            for locale in catalogs.locales:
                listed = commands(catalogs.translator(locale))
                await bot.set_my_commands(listed, language_code=language_code(locale))
                report.commands[language_code(locale)] = len(listed)
            for chat_id, chosen in coordinators:
                try:
                    await _coordinator_commands(bot, chat_id, chosen, catalogs, default_locale)
                    report.coordinator_chats += 1
                except (
                    BadRequest,
                    Forbidden,
                ) as error:  # a chat gone or blocked: the others still get theirs
                    log.warning("coordinator commands not set in Telegram chat %s: %s", chat_id, error)
    except InvalidToken as error:
        raise TelegramSetupError(
            f"Telegram refused the bot token: {error}",
            _("Telegram refused the bot token (TELEGRAM_BOT_TOKEN)."),
        ) from None
    except (BadRequest, Forbidden) as error:  # both are NetworkErrors to python-telegram-bot
        raise TelegramSetupError(f"Telegram refused: {error}", _("Telegram refused the setup.")) from None
    except (TimedOut, NetworkError) as error:
        raise TelegramSetupError(
            f"Telegram not reached or not answering: {error}",
            _("Telegram could not be reached or did not answer: check the network."),
        ) from None
    except TelegramError as error:
        raise TelegramSetupError(f"Telegram refused: {error}", _("Telegram refused the setup.")) from None
    return report


async def _coordinator_commands(
    bot: Bot, chat_id: int, chosen: str | None, catalogs: Catalogs, default_locale: str
) -> None:
    """A coordinator's chat: the volunteer commands and theirs, for each language Telegram may report;
    their own choice of language wins over Telegram's, as in the chat itself."""
    scope = BotCommandScopeChat(chat_id)
    await bot.set_my_commands(commands(catalogs.translator(chosen or default_locale), True), scope=scope)
    for locale in catalogs.locales:
        await bot.set_my_commands(
            commands(catalogs.translator(chosen or locale), True),
            scope=scope,
            language_code=language_code(locale),
        )
