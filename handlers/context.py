"""What every handler is given: the transaction, the clock, the unit's rules and the person's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.i18n import Catalogs, Translator
from handlers.types import Incoming


@dataclass(frozen=True)
class Rules:
    timezone: ZoneInfo
    default_locale: str = "zh_TW"
    max_visit: dt.timedelta = dt.timedelta(hours=12)
    invite_valid_for: dt.timedelta = dt.timedelta(days=30)
    public_url: str = "http://127.0.0.1:8080"  # base of the download links the bot sends
    link_key: bytes = b""  # signs them (from the LINE channel secret: the same in every process)


@dataclass
class Context:
    session: Session
    now: dt.datetime
    rules: Rules
    catalogs: Catalogs
    incoming: Incoming
    # The person's chat account as read when the event came (a row with ChatAccount's fields), or the
    # ChatAccount a handler changed (linking, a language chosen); None before their first message.
    account: Any
    t: Translator

    @property
    def linked(self) -> bool:
        return self.account is not None and self.account.volunteer_id is not None

    @property
    def volunteer_id(self) -> int:
        """The linked person's volunteer id: the router runs a handler that needs it only for linked people."""
        if self.account is None or self.account.volunteer_id is None:
            raise LookupError("a handler for linked people ran for someone not linked")
        return self.account.volunteer_id

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.rules.timezone).date()

    @property
    def locale(self) -> str:
        return self.t.locale
