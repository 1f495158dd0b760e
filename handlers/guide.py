"""Help, welcome, friendly words and the answer to what the bot does not understand."""

from __future__ import annotations

import difflib
import unicodedata

from handlers.context import Context
from handlers.types import Button, Reply
from storage import people_store, service_store

# What a person may type, by theme, as the help lists it (the catalogs give each word in the person's language).
HELP_GROUPS = (
    ("Service", ("check in", "check out")),
    ("Hours and awards", ("hours", "awards", "training", "my records")),
    ("Shifts", ("shifts", "sign up", "cancel")),
    ("Reminders", ("reminders", "reminders off", "reminders on")),
    ("My data", ("my data", "my name", "leave", "feedback", "language")),
)
COORDINATOR_WORDS = ("live", "review", "eligible", "export", "report")
SMALL_TALK = ("hello", "thanks", "praise")


def main_buttons(ctx: Context) -> tuple[Button, ...]:
    """The everyday buttons, fitting the moment: 簽退 for someone checked in, 簽到 for anyone else."""
    t = ctx.t
    checked_in = ctx.linked and service_store.open_visit_of(ctx.session, ctx.volunteer_id) is not None
    state = Button(t("Check out"), t("check out")) if checked_in else Button(t("Check in"), t("check in"))
    return (state, Button(t("My hours"), t("hours")), Button(t("Help"), t("help")))


def help_answer(ctx: Context, _argument: str) -> list[Reply]:
    """Every word the person may use, grouped, in their own language, on one screen."""
    t = ctx.t
    lines = [t("You can type or tap:")]
    lines += [f"{t(group)}: {t(', ').join(t(word) for word in words)}" for group, words in HELP_GROUPS]
    return [Reply("\n".join(lines) + coordinator_help(ctx), coordinator_buttons(ctx) or main_buttons(ctx))]


def _coordinates(ctx: Context) -> bool:
    return ctx.linked and people_store.coordinates_any(ctx.session, ctx.volunteer_id)


def coordinator_help(ctx: Context) -> str:
    if not _coordinates(ctx):
        return ""
    t = ctx.t
    return "\n" + f"{t('For your units')}: {t(', ').join(t(word) for word in COORDINATOR_WORDS)}"


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


def _words_of(ctx: Context, msgid: str) -> list[str]:
    return [word.strip().casefold() for word in ctx.t(f"more words: {msgid}").split("|") if word.strip()]


def _is_emoji_only(text: str) -> bool:
    """Emoji, hearts, thumbs and the joiners and skin tones between them (👍🏽, 👨‍👩‍👧, ❤️)."""
    shown = [c for c in text if not c.isspace()]
    joiners = {"\u200d", "\ufe0f", "\ufe0e"}
    return (
        bool(shown)
        and all(
            c in joiners or unicodedata.category(c) in ("So", "Sk") or 0x1F3FB <= ord(c) <= 0x1F3FF
            for c in shown
        )
        and any(unicodedata.category(c) == "So" for c in shown)
    )


def small_talk_kind(ctx: Context, text: str) -> str | None:
    """ "hello", "thanks" or "praise" when the text is only that (in the person's language, or zh and en)."""
    typed = text.strip().rstrip("!！.。~～ 啦喔呀哦").casefold()
    if _is_emoji_only(text):
        return "praise"
    for kind in SMALL_TALK:
        words = _words_of(ctx, kind)
        if any(typed == word or typed.startswith(word + " ") for word in words):
            return kind
    return None


def is_small_talk(ctx: Context, text: str) -> bool:
    return small_talk_kind(ctx, text) is not None


def friendly(ctx: Context, text: str) -> list[Reply]:
    """A greeting, thanks, praise, an emoji or a sticker: a short warm answer and the everyday buttons."""
    t = ctx.t
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)
    name = person.name if person else ""
    kind = small_talk_kind(ctx, text) if text else None
    if kind == "hello":
        answer = t("Hello, {name}! What would you like to do?", name=name)
    elif kind == "thanks":
        answer = t("You are welcome, {name}. Thank you for serving!", name=name)
    else:
        answer = t("😊 Thank you, {name}!", name=name)
    return [Reply(answer, main_buttons(ctx))]


def not_understood(ctx: Context) -> list[Reply]:
    """The closest words as buttons when the text looks like one of them, else the everyday ones."""
    t = ctx.t
    typed = ctx.incoming.text.strip().casefold()
    words = [t(word) for _group, group_words in HELP_GROUPS for word in group_words]
    close = (
        difflib.get_close_matches(typed, [word.casefold() for word in words], n=3, cutoff=0.6)
        if typed
        else []
    )
    if close:
        chosen = [word for word in words if word.casefold() in close][:3]
        return [
            Reply(
                t("Sorry, I did not understand. Did you mean:"), tuple(Button(word, word) for word in chosen)
            )
        ]
    return [Reply(t("Sorry, I did not understand. Tap a button or type help."), main_buttons(ctx))]
