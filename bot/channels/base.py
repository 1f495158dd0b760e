"""What every chat platform adapter offers the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

from handlers.types import Incoming, PushTerms, Reply
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

    def fit(self, replies: list[Reply]) -> list[Reply]:
        """The replies as this platform will carry them, before they are stored in the outbox: a file it
        will not send is left out (the reply's link stands for it)."""

    async def push_terms(self) -> PushTerms:
        """The platform's push quota this month and its multicast limit, for the reminder pass."""

    async def deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery: ...


def text_with_link(reply: Reply) -> str:
    """The reply's text followed by the line of its download link, where its file is not sent."""
    return f"{reply.text}\n{reply.link}" if reply.link else reply.text


def without_documents(replies: list[Reply]) -> list[Reply]:
    return [replace(reply, document=None) if reply.document is not None else reply for reply in replies]
