"""語言 / language: a person's own choice of language, kept with their chat account."""

from __future__ import annotations

from handlers.context import Context
from handlers.guide import main_buttons
from handlers.types import Reply
from storage import repo


def choose(ctx: Context, argument: str) -> list[Reply]:
    locale = ctx.catalogs.match(argument)
    if locale is None:
        names = ", ".join(ctx.catalogs.locales)
        return [Reply(ctx.t("Languages I speak: {names}. For example: language en", names=names))]
    account = repo.ensure_account(ctx.session, ctx.incoming.platform, ctx.incoming.user_id)
    account.chosen_locale = locale
    ctx.session.add(account)
    ctx.t = ctx.catalogs.translator(locale)
    return [Reply(ctx.t("From now on I will answer in English."), main_buttons(ctx))]
