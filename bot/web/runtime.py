"""What the web app needs of the running bot. bot.app.VBot has all of it; the web layer never imports bot.app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import sqlalchemy as sa

    from bot.channels.base import Channel
    from bot.config import Settings
    from bot.pipeline import Pipeline
    from bot.web.metrics import Metrics
    from handlers.context import Rules
    from handlers.i18n import Catalogs


class Runtime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> sa.Engine: ...

    @property
    def rules(self) -> Rules: ...

    @property
    def catalogs(self) -> Catalogs: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    @property
    def pipeline(self) -> Pipeline:
        """Where the webhooks store the events they accept."""

    @property
    def metrics(self) -> Metrics:
        """What /metrics reports, and who may read it."""

    def now(self) -> dt.datetime:
        """The current UTC time (tests move it)."""
