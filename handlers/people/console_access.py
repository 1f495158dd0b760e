"""管理 / console: who may open the coordinator console, its one-time sign-in links and browser sessions.

A link is good for LINK_VALID, once, for the person it was made for; the console's cookie for IDLE_LIMIT
after its last use, until 登出. Only SHA-256 hashes of the tokens are stored (no password exists anywhere),
and whether the person still coordinates a unit is asked again at every request."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session

from handlers.context import Context, Rules
from handlers.i18n import Catalogs
from handlers.types import Incoming, Reply, ReplyTo
from storage import audit_store, console_store, people_store
from storage.models import ChatAccount, Unit

LINK_VALID = dt.timedelta(minutes=10)
IDLE_LIMIT = dt.timedelta(hours=8)
CONSOLE_PLATFORM = "console"  # the Incoming of a page's action: no chat platform
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def actor_of(volunteer_id: int) -> str:
    """How the audit trail names a person acting in the console: as in the chat."""
    return f"volunteer:{volunteer_id}"


def console_link(session: Session, now: dt.datetime, public_url: str, volunteer_id: int) -> str | None:
    """A new one-time sign-in link for this person, or None when they coordinate no unit."""
    person = people_store.volunteer(session, volunteer_id)
    if person is None or not people_store.coordinated_units(session, volunteer_id):
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    console_store.add_link(session, token_hash(token), volunteer_id, now, now + LINK_VALID)
    audit_store.record_audit(
        session,
        now,
        actor_of(volunteer_id),
        "console.link",
        f"volunteer:{volunteer_id}",
        None,
        {"name": person.name},
    )
    return f"{public_url.rstrip('/')}/console/login/{token}"


def console_chat(ctx: Context, _argument: str) -> list[Reply]:
    """管理 / console: the link for a coordinator or city administrator; a short no for anyone else."""
    t = ctx.t
    url = console_link(ctx.session, ctx.now, ctx.rules.public_url, ctx.volunteer_id)
    if url is None:
        return [Reply(t("The console is for coordinators of a unit."))]
    return [
        Reply(t("Your console sign-in link: it works once, for 10 minutes. Do not share it.") + "\n" + url)
    ]


@dataclass(frozen=True)
class SignedIn:
    """A browser's console session: its cookie token (only its hash is stored) and CSRF token."""

    token: str
    csrf: str
    volunteer_id: int


def link_usable(session: Session, now: dt.datetime, link_token: str) -> bool:
    """Whether the link would sign in, without using it: opening it shows a button that does (chat apps
    fetch a link to preview it, which must not use it up)."""
    if not 20 <= len(link_token) <= 100:
        return False
    volunteer_id = console_store.usable_link(session, token_hash(link_token), now)
    return volunteer_id is not None and bool(people_store.coordinated_units(session, volunteer_id))


def sign_in(session: Session, now: dt.datetime, link_token: str) -> SignedIn | None:
    """Uses the link and starts a session; None (and nothing to commit) when the link is unknown, used,
    expired, or its person coordinates no unit now."""
    if not 20 <= len(link_token) <= 100:
        return None
    volunteer_id = console_store.claim_link(session, token_hash(link_token), now)
    if volunteer_id is None or not people_store.coordinated_units(session, volunteer_id):
        return None
    person = people_store.volunteer(session, volunteer_id)
    signed = SignedIn(secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES), volunteer_id)
    console_store.add_session(session, token_hash(signed.token), volunteer_id, signed.csrf, now)
    audit_store.record_audit(
        session,
        now,
        actor_of(volunteer_id),
        "console.sign_in",
        f"volunteer:{volunteer_id}",
        None,
        {"name": person.name if person else None},
    )
    return signed


@dataclass(frozen=True)
class Coordinator:
    """Who is signed in, and the units they may see and change at this request."""

    volunteer_id: int
    name: str
    csrf: str
    units: tuple[Unit, ...]

    @property
    def unit_ids(self) -> list[int]:
        return [unit.id for unit in self.units if unit.id is not None]

    def unit(self, unit_id: int) -> Unit | None:
        return next((unit for unit in self.units if unit.id == unit_id), None)


def signed_in(session: Session, now: dt.datetime, cookie_token: str) -> Coordinator | None:
    """The person of this cookie if its session is live and they still coordinate a unit; the session is
    touched (its idle time starts again)."""
    if not cookie_token or len(cookie_token) > 100:
        return None
    hashed = token_hash(cookie_token)
    row = console_store.live_session(session, hashed, now - IDLE_LIMIT)
    if row is None:
        return None
    units = people_store.coordinated_units(session, row.volunteer_id)
    person = people_store.volunteer(session, row.volunteer_id)
    if not units or person is None:
        return None
    console_store.touch_session(session, hashed, now)
    return Coordinator(row.volunteer_id, person.name, row.csrf, tuple(units))


def sign_out(session: Session, now: dt.datetime, cookie_token: str, volunteer_id: int) -> None:
    console_store.end_session(session, token_hash(cookie_token), now)
    audit_store.record_audit(
        session, now, actor_of(volunteer_id), "console.sign_out", f"volunteer:{volunteer_id}", None, {}
    )


def console_context(
    session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs, volunteer_id: int, locale: str
) -> Context:
    """The Context a chat word's handler gets, for a page that runs the same handler: the signed-in person,
    no chat account (nothing is stored for it)."""
    incoming = Incoming(
        CONSOLE_PLATFORM, f"console:{volunteer_id}", "text", "", now, ReplyTo(f"console:{volunteer_id}")
    )
    account = ChatAccount(
        platform=CONSOLE_PLATFORM, platform_user_id=f"console:{volunteer_id}", volunteer_id=volunteer_id
    )
    return Context(session, now, rules, catalogs, incoming, account, catalogs.translator(locale))


def new_invite_for(
    session: Session, now: dt.datetime, actor: str, volunteer_id: int, valid_for: dt.timedelta
) -> str:
    """A new invite code for a person whose code expired or was lost (the old ones stay as they are)."""
    from handlers.people.admin import new_invite

    invite = new_invite(session, volunteer_id, now + valid_for)
    audit_store.record_audit(
        session,
        now,
        actor,
        "invite.new",
        f"volunteer:{volunteer_id}",
        None,
        {"expires": invite.expires_at.isoformat()},
    )
    return invite.code


def new_invites_for_unlinked(
    session: Session, now: dt.datetime, actor: str, unit_id: int, valid_for: dt.timedelta
) -> list[dict]:
    """A new invite code for each member of the unit not yet linked to a chat: (name, invite_code) rows, as
    roster_import gives them for the printable cards."""
    return [
        {"name": person.name, "invite_code": new_invite_for(session, now, actor, person.id, valid_for)}
        for person in console_store.unlinked_members(session, unit_id)
        if person.id is not None
    ]
