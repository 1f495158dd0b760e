"""What every chat platform adapter offers the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from handlers.types import Incoming
from storage.models import OutboxMessage


class StoredEvent(NamedTuple):
    """One platform event as the inbox keeps it: dedup key, who sent it (events of one sender are
    processed in order), and the raw JSON."""

    key: str
    sender: str
    payload: str


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt: `sent`, `retry` (5xx, 429, timeout) or `failed` (any other 4xx)."""

    status: str
    error: str | None = None
    retry_after: float | None = None


SENT = Delivery("sent")


class Channel(Protocol):
    platform: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def event_keys(self, body: object) -> list[StoredEvent] | None:
        """Each event of a webhook body; None when the body is not this platform's."""

    async def to_incoming(self, event: dict, now: dt.datetime) -> Incoming | None: ...

    async def deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery: ...
