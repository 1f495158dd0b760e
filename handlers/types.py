"""The neutral shapes that cross between the channels and the handlers. No SDK type goes past bot/."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReplyTo:
    """Where answers go: a LINE user id (plus the reply token while it is fresh) or a Telegram chat id."""

    recipient: str
    reply_token: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in a chat, as the handlers see it.

    kind: `text` (typed or a button), `follow` (added the bot, or unblocked it on LINE), `blocked` (LINE's
    unfollow, Telegram's kicked), `unblocked` (Telegram's member again), `location` (a shared location),
    `sticker` (LINE: answered with one), `other`.
    sent_at is the platform's own timestamp of the message.
    """

    platform: str
    user_id: str
    kind: str
    text: str
    sent_at: dt.datetime
    reply_to: ReplyTo
    platform_locale: str | None = None
    # (latitude, longitude) of a shared location (kind `location`)
    location: tuple[float, float] | None = None


@dataclass(frozen=True)
class Button:
    """A tappable next step. `text` is what tapping sends back; `label` is what the button shows.
    kind `location`: tapping shares the person's location instead (LINE and Telegram ask first)."""

    label: str
    text: str
    kind: str = "message"


@dataclass(frozen=True)
class Bar:
    """A progress bar: `fraction` (0 to 1) of it filled, `label` saying what it measures."""

    label: str
    fraction: float


@dataclass(frozen=True)
class Card:
    """One item of a structured answer (an award): its title, its bars, then short lines.

    A platform that can show cards (LINE's Flex carousel) shows these; the others show the reply's text,
    which must say the same.
    """

    title: str
    bars: tuple[Bar, ...] = field(default_factory=tuple)
    lines: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Document:
    """A file that goes with a reply; `data` is base64."""

    name: str
    data: str


@dataclass(frozen=True)
class Reply:
    """An answer. With a file it carries both the file (`document`) and, where the bot can sign download
    links, `link`: the line that offers the file's signed link, worded for the reader. Each channel decides
    which it delivers (bot/channels/): the file where the platform takes it, else the link."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    cards: tuple[Card, ...] = field(default_factory=tuple)
    document: Document | None = None
    link: str | None = None
    # A sticker after the text, by its mood ("thanks"), where the platform has stickers (LINE picks one).
    sticker: str | None = None


@dataclass(frozen=True)
class PushTerms:
    """What a platform allows pushes, as its channel says: `quota_limit` pushes a month (None: no quota, or
    the platform could not say), `quota_used` of them this month, and at most `multicast_limit` recipients
    per multicast (None: no multicast, every person gets their own message)."""

    quota_limit: int | None = None
    quota_used: int = 0
    multicast_limit: int | None = None

    @property
    def quota_left(self) -> int | None:
        return None if self.quota_limit is None else max(0, self.quota_limit - self.quota_used)


def replies_to_json(replies: list[Reply]) -> str:
    return json.dumps([_reply_json(reply) for reply in replies], ensure_ascii=False)


def _reply_json(reply: Reply) -> dict[str, Any]:
    """asdict(reply); the everyday reply (text and buttons) without asdict's deep copies (the worker writes
    one for every event)."""
    if reply.cards or reply.document:
        return asdict(reply)
    return {
        "text": reply.text,
        "buttons": [{"label": b.label, "text": b.text, "kind": b.kind} for b in reply.buttons],
        "cards": [],
        "document": None,
        "link": reply.link,
        "sticker": reply.sticker,
    }


def _card(item: dict[str, Any]) -> Card:
    bars = tuple(Bar(bar["label"], float(bar["fraction"])) for bar in item.get("bars", ()))
    return Card(item["title"], bars, tuple(item.get("lines", ())))


def replies_from_json(payload: str) -> list[Reply]:
    """Also reads payloads stored before cards, documents or links existed (no `cards`, `document`, `link` key)."""
    return [
        Reply(
            item["text"],
            tuple(Button(**button) for button in item.get("buttons", ())),
            tuple(_card(card) for card in item.get("cards", ())),
            Document(**item["document"]) if item.get("document") else None,
            item.get("link"),
            item.get("sticker"),
        )
        for item in json.loads(payload)
    ]
