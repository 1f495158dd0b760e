"""提醒 / reminders: which reminders a person gets, turned off and on; 繼續服務 / still serving."""

from __future__ import annotations

from handlers.context import Context
from handlers.i18n import Translator
from handlers.notifications import REMINDER_CATEGORIES
from handlers.types import Button, Reply
from storage import reminder_store as store
from storage import service_store

# Either language works whatever language a person chose, as for the chat words of handlers/router.py.
OFF_WORDS = ("關", "關閉", "off", "stop")
ON_WORDS = ("開", "開啟", "on", "start")
CATEGORY_WORDS = {
    "training": ("訓練", "training", "班表", "shifts"),
    "checkout": ("簽退", "checkout", "check-out", "check out"),
    "awards": ("獎勵", "awards"),
    "deadlines": ("期限", "deadlines"),
}


def category_name(t: Translator, category: str) -> str:
    names = {
        "training": t("training and shifts"),
        "checkout": t("forgotten check-outs"),
        "awards": t("awards within reach"),
        "deadlines": t("deadlines (coordinators)"),
    }
    return names[category]


def reminder_settings(ctx: Context, argument: str) -> list[Reply]:
    """`提醒` shows what is on; `提醒 關` turns all off; `提醒 關 獎勵` one category; `開` turns back on."""
    t = ctx.t
    volunteer_id = ctx.volunteer_id
    words = argument.casefold().split(maxsplit=1)
    if words:
        switch, rest = words[0], (words[1] if len(words) > 1 else "")
        if switch not in OFF_WORDS + ON_WORDS:
            return [
                status(ctx, t("I did not understand that. Type 提醒 關 or 提醒 開, with a kind if you like."))
            ]
        chosen = (
            [c for c, names in CATEGORY_WORDS.items() if rest.strip() in names]
            if rest
            else list(REMINDER_CATEGORIES)
        )
        if not chosen:
            return [status(ctx, t("I do not know that kind of reminder."))]
        if switch in OFF_WORDS:
            store.turn_off(ctx.session, volunteer_id, chosen, ctx.now)
        else:
            store.turn_on(ctx.session, volunteer_id, chosen)
    return [status(ctx, None)]


def status(ctx: Context, note: str | None) -> Reply:
    t = ctx.t
    off = store.turned_off(ctx.session, ctx.volunteer_id)
    lines = [note] if note else []
    lines.append(t("Your reminders:"))
    lines += [("🔕 " if c in off else "🔔 ") + category_name(t, c) for c in REMINDER_CATEGORIES]
    if len(off) < len(REMINDER_CATEGORIES):
        buttons = (Button(t("Turn all off"), t("reminders off")),)
    else:
        buttons = (Button(t("Turn all on"), t("reminders on")),)
    return Reply("\n".join(lines), buttons)


def still_serving(ctx: Context, _argument: str) -> list[Reply]:
    """The answer to "are you still serving?": the session stays open; it goes to review at the maximum."""
    t = ctx.t
    if service_store.open_visit_of(ctx.session, ctx.volunteer_id) is None:
        return [Reply(t("You are not checked in."), (Button(t("Check in"), t("check in")),))]
    limit = int(ctx.rules.max_visit.total_seconds() // 3600)
    return [
        Reply(
            t(
                "Thank you! Remember to check out when you finish. After {hours} hours a coordinator "
                "reviews the session.",
                hours=limit,
            ),
            (Button(t("Check out"), t("check out")),),
        )
    ]
