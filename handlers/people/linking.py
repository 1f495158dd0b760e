"""Linking a chat account to a volunteer with a single-use invite code."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata

from handlers.context import Context
from handlers.guide import main_buttons
from handlers.types import Reply
from storage import audit_store, people_store

CODE_DIGITS = 8
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = dt.timedelta(hours=1)


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
    invite = people_store.use_invite_code(session, code, account.id, ctx.now) if code else None
    if invite is None:
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

    people_store.link_account(session, account, invite.volunteer_id, ctx.now)
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
                "Privacy: your unit keeps your name, this chat ID and your check-in times "
                "only to record your volunteer hours. Type help to see what you can do."
            ),
            main_buttons(ctx),
        )
    ]
