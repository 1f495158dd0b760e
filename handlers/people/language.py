"""語言 / language: a person's own choice of language, kept with their chat account."""

from __future__ import annotations

from babel import Locale

from handlers.context import Context
from handlers.guide import main_buttons
from handlers.types import Button, Reply
from storage import people_store


def choose(ctx: Context, argument: str) -> list[Reply]:
    locale = ctx.catalogs.match(argument)
    if locale is None:
        return [language_list(ctx)]
    account = people_store.ensure_account(ctx.session, ctx.incoming.platform, ctx.incoming.user_id)
    ctx.account = people_store.set_fields(ctx.session, account, {"chosen_locale": locale})
    ctx.t = ctx.catalogs.translator(locale)
    return [Reply(ctx.t("From now on I will answer in English."), main_buttons(ctx))]


def language_list(ctx: Context) -> Reply:
    """The languages by their own names, with a button each: `language vi` works whatever language is on."""
    languages = [(Locale.parse(locale).language, name) for locale, name in ctx.catalogs.names()]
    names = ", ".join(f"{name} ({code})" for code, name in languages)
    buttons = tuple(Button(name, f"language {code}") for code, name in languages)
    return Reply(ctx.t("Languages I speak: {names}. For example: language en", names=names), buttons)
