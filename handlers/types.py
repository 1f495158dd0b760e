"""The neutral shapes that cross between the channels and the handlers. No SDK type goes past bot/."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ReplyTo:
    """Where answers go: a LINE user id (plus the reply token while it is fresh) or a Telegram chat id."""

    recipient: str
    reply_token: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in a chat, as the handlers see it.

    kind: `text` (typed or a button), `follow` (added the bot), `other` (sticker, image, …).
    sent_at is the platform's own timestamp of the message.
    """

    platform: str
    user_id: str
    kind: str
    text: str
    sent_at: dt.datetime
    reply_to: ReplyTo
    platform_locale: str | None = None


@dataclass(frozen=True)
class Button:
    """A tappable next step. `text` is what tapping sends back; `label` is what the button shows."""

    label: str
    text: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)


def replies_to_json(replies: list[Reply]) -> str:
    return json.dumps([asdict(reply) for reply in replies], ensure_ascii=False)


def replies_from_json(payload: str) -> list[Reply]:
    return [
        Reply(item["text"], tuple(Button(**button) for button in item.get("buttons", ())))
        for item in json.loads(payload)
    ]
