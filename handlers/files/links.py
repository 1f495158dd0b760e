"""Short-lived signed download links: LINE cannot receive files from a bot, so it gets a link `vbot serve` answers.

A link names its file by its path (`/downloads/records/7`, `/downloads/hours/3/2026-10`) and, for a unit's
files, the coordinator it was made for (`by`). The signature covers the path, `by` and the expiry, so none of
them can be changed; the server checks again at download time that `by` still coordinates the unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlmodel import Session

from handlers.context import Rules
from handlers.i18n import Catalogs, Translator
from storage import people_store

LINK_LIFETIME = dt.timedelta(hours=24)


@dataclass(frozen=True)
class DownloadFile:
    """What a link serves: the bytes, the file name the browser saves and the media type."""

    data: bytes
    name: str
    media_type: str


def _signature(key: bytes, path: str, fields: Mapping[str, str]) -> str:
    message = path + "?" + urlencode(sorted(fields.items()))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signed_link(rules: Rules, now: dt.datetime, path: str, **fields: object) -> str:
    signed = {name: str(value) for name, value in fields.items()}
    signed["expires"] = str(int((now + LINK_LIFETIME).timestamp()))
    query = urlencode({**signed, "sig": _signature(rules.link_key, path, signed)})
    return f"{rules.public_url}{path}?{query}"


def link_valid(key: bytes, path: str, query: Mapping[str, str], now: dt.datetime) -> bool:
    """Signed with `key` for exactly this path and these fields, and not expired."""
    fields = {name: value for name, value in query.items() if name != "sig"}
    try:
        expires = int(fields.get("expires", ""))
    except ValueError:
        return False
    if not key or now.timestamp() >= expires:
        return False
    # bytes, not str: compare_digest refuses a str with non-ASCII letters (a tampered link must be a 403)
    return hmac.compare_digest(_signature(key, path, fields).encode(), query.get("sig", "").encode())


def reader(session: Session, catalogs: Catalogs, volunteer_id: int, default_locale: str) -> Translator:
    """The words of the person a file is made for: the language they chose in chat, else the default."""
    chosen = next(
        (a.chosen_locale for a in people_store.linked_accounts(session, volunteer_id) if a.chosen_locale),
        None,
    )
    return catalogs.translator(chosen or default_locale)
