"""Linking a chat account to a volunteer with a single-use invite code."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import unicodedata

from handlers.context import Context
from handlers.guide import COORDINATOR_WORDS, main_buttons
from handlers.types import Button, Reply
from storage import audit_store, people_store

log = logging.getLogger(__name__)

CODE_DIGITS = 8
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = dt.timedelta(hours=1)
# Over all chat accounts: a guesser with many accounts gets no more than this many guesses an hour. Past it,
# linking pauses for everyone until the last hour's wrong codes fall below it again (at most an hour after
# the guessing stops). A real volunteer's typo costs one; a training day's hundred linkings stay well below.
MAX_WRONG_CODES_OVERALL = 50


def new_invite_code() -> str:
    """Eight digits: easy to read aloud and to type on a phone keypad."""
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def clean_code(text: str) -> str:
    """People type codes with spaces, dashes or full-width digits (１２３４)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()).upper()


def link(ctx: Context, argument: str) -> list[Reply]:
    t = ctx.t
    session = ctx.session
    incoming = ctx.incoming
    if ctx.linked:
        person = people_store.volunteer(session, ctx.volunteer_id)
        return [
            Reply(
                t("This chat is already linked to {name}.", name=person.name if person else "?"),
                main_buttons(ctx),
            )
        ]

    code = clean_code(argument)
    account = people_store.ensure_account(session, incoming.platform, incoming.user_id)
    window_open = (
        account.wrong_codes_since is not None and ctx.now - account.wrong_codes_since < WRONG_CODE_WINDOW
    )
    if window_open and account.wrong_codes >= MAX_WRONG_CODES:
        return [Reply(t("Too many wrong codes. Please try again in an hour, or ask your coordinator."))]
    if people_store.wrong_codes_since(session, ctx.now - WRONG_CODE_WINDOW) >= MAX_WRONG_CODES_OVERALL:
        log.warning("linking paused: %d wrong invite codes within the hour", MAX_WRONG_CODES_OVERALL)
        return [
            Reply(
                t(
                    "Linking is paused for a while because many wrong codes were typed. "
                    "Please try again in an hour; your code stays valid."
                )
            )
        ]
    invite = people_store.use_invite_code(session, code, account.id, ctx.now) if code else None
    if invite is None:
        people_store.add_wrong_code(session, incoming.platform, ctx.now)
        people_store.set_fields(
            session,
            account,
            {
                "wrong_codes": account.wrong_codes + 1 if window_open else 1,
                "wrong_codes_since": account.wrong_codes_since if window_open else ctx.now,
            },
        )
        # One answer for a code that is unknown, used or expired: a guesser learns nothing of which codes exist.
        text = t(
            "The code {code} does not work: it may be mistyped, already used or expired. "
            "Please check it with your coordinator, or ask for a new one.",
            code=code or "—",
        )
        return [Reply(text)]

    ctx.account = people_store.link_account(session, account, invite.volunteer_id, ctx.now)
    person = people_store.volunteer(session, invite.volunteer_id)
    units = ", ".join(unit.name for unit, _role in people_store.units_of(session, invite.volunteer_id))
    audit_store.record_audit(
        session,
        ctx.now,
        f"{incoming.platform}:{incoming.user_id}",
        "link",
        f"volunteer:{invite.volunteer_id}",
        None,
        {"code": code, "account": account.id},
    )
    return [
        Reply(
            t("Welcome, {name}! This chat is now linked to {units}.", name=person.name, units=units or "—")
            + "\n"
            + t(
                "Privacy: your unit keeps your name, the details it entered (birth date, phone, record book), "
                "this chat ID, your check-in times and what you send here, only to record your volunteer hours "
                "and pass your messages on. What you type and our answers are kept 30 days at most, messages "
                "to your coordinator 90 days, the change log's details 5 years. Type delete my data: once a "
                "coordinator confirms, your name, details, chat IDs and messages are removed everywhere, and "
                "your hours stay only as anonymous figures. Type help to see what you can do."
            ),
            main_buttons(ctx),
        ),
        *coordinator_welcome(ctx, invite.volunteer_id),
    ]


def coordinator_welcome(ctx: Context, volunteer_id: int) -> list[Reply]:
    """A coordinator who links hears what they can do for their units, and is offered the console."""
    if not people_store.coordinated_units(ctx.session, volunteer_id):
        return []
    t = ctx.t
    words = t(", ").join(t(word) for word in COORDINATOR_WORDS)
    return [
        Reply(
            t(
                "As a coordinator you can also type: {words}. Type console for a sign-in link to your units' "
                "pages in a browser.",
                words=words,
            ),
            (
                Button(t("Console"), t("console")),
                Button(t("Live"), t("live")),
                Button(t("Review"), t("review")),
                Button(t("Award list"), t("eligible")),
            ),
        )
    ]
