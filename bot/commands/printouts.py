"""`vbot event poster` and printable invites: QR codes of the platforms the bot is on.

The LINE QR needs the bot's basic id and the Telegram one its user name: both are asked of the platforms.
"""

from __future__ import annotations

import asyncio

from bot.channels.names import platform_names
from bot.commands.arguments import write_file
from bot.config import Settings
from bot.printing.event_poster import event_poster, poster_translators
from bot.printing.invite_cards import invite_cards_of
from handlers.i18n import Catalogs
from handlers.validation import InputError, _
from storage import event_store
from storage.models import Event


def asked_platform_names(settings: Settings) -> tuple[str | None, str | None]:
    """platform_names, or one line for the operator (InputError) when a platform cannot be reached."""
    try:
        return asyncio.run(platform_names(settings))
    except Exception as error:  # any failure to reach a platform is one line for the operator
        raise InputError(
            f"could not ask LINE or Telegram for the bot's name: {error!r}"[:300],
            said=_(
                "LINE or Telegram could not be asked for the bot's name: check the settings and the network."
            ),
        ) from None


def _translator(settings: Settings):
    catalogs = Catalogs()
    return catalogs.translator(catalogs.default_for(settings.locale))


def invite_cards_pdf(
    settings: Settings, names: tuple[str | None, str | None], unit_name: str, invites: list[dict]
) -> bytes:
    """Printable invites of `roster_import` rows (name, invite_code): the codes, and QR codes of the platforms on."""
    return invite_cards_of(_translator(settings), names, unit_name, invites)


def write_poster(settings: Settings, session, event: Event, output: str) -> str:
    """The poster: one large QR of the bot's short link VBOT_PUBLIC_URL/e/CODE, and the code as text."""
    if not (settings.line_enabled or settings.telegram_enabled):
        raise InputError(
            "the poster's QR codes open LINE or Telegram: configure at least one of them first",
            said=_("The poster's QR codes open LINE or Telegram: configure at least one of them first."),
        )
    shifts = event_store.shifts_of(session, event.id)
    catalogs = Catalogs()
    translators = poster_translators(catalogs, catalogs.default_for(settings.locale))
    png, pdf = event_poster(translators, settings.zone, event, shifts, settings.public_url)
    write_file(output, pdf if output.lower().endswith(".pdf") else png)
    return output
