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
    """The outcome of one attempt: `sent`, `retry` (5xx, 429, timeout) or `failed` (any other 4xx).

    What the attempt learnt, kept on the outbox row for the next one: `parts_sent` (the requests of a long
    answer already delivered), `in_doubt` (whether the request in flight may have been taken: no answer came),
    `token_spent` (LINE refused the reply token: the rest goes as a push), `unreachable` (the platform says
    the person blocked the bot: nothing more is pushed to them until they come back)."""

    status: str
    error: str | None = None
    retry_after: float | None = None
    parts_sent: int | None = None
    in_doubt: bool | None = None
    token_spent: bool = False
    unreachable: bool = False

    def progress(self) -> dict:
        values: dict = {}
        if self.parts_sent is not None:
            values["parts_sent"] = self.parts_sent
        if self.in_doubt is not None:
            values["in_doubt"] = self.in_doubt
        if self.token_spent:
            values["reply_token"] = None
        return values


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


def utf16_length(text: str) -> int:
    """The length LINE and Telegram count: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """The text as parts of at most `limit` UTF-16 units, cut between lines where it can be (a line longer
    than a part is cut between characters); nothing is left out. An empty text stays one empty part."""
    parts: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        length = utf16_length(line)
        if size + length > limit and current:
            parts.append(current)
            current, size = "", 0
        while length > limit:  # a single line longer than a whole part
            head, head_size = "", 0
            for character in line:
                width = utf16_length(character)
                if head_size + width > limit:
                    break
                head, head_size = head + character, head_size + width
            parts.append(head)
            line = line[len(head) :]
            length = utf16_length(line)
        current, size = current + line, size + length
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]
