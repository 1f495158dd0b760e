"""The JSON the LINE channel sends (built directly, bot/channels/line.py) is what line-bot-sdk's models would
send (render() then to_dict()): texts at and past LINE's limits, quick replies at and past 13, links, cards,
stickers, several replies, old payloads."""

from __future__ import annotations

import json

import pytest

from bot.channels.line import LineChannel
from handlers.types import Bar, Button, Card, Reply, replies_to_json

TEXTS = ["", "\n", "\n\n", "簽到成功\n", "a\nb\n\n", "x" * 5000, "x" * 5001, "😀" * 2500, "😀" * 2501]


def buttons(n: int) -> tuple[Button, ...]:
    return tuple(
        Button(f"按鈕{i}" * (i % 7 + 1), f"t{i}", "location" if i == 2 else "message") for i in range(n)
    )


def as_the_sdk_sends(payload: str) -> list[list[dict]]:
    return [[message.to_dict() for message in request] for request in LineChannel.render(payload)]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("count", [0, 1, 13, 14])
@pytest.mark.parametrize("link", [None, "https://example.org/d/1"])
def test_a_text_answer_is_sent_as_the_sdk_would_send_it(text, count, link):
    payload = replies_to_json([Reply(text, buttons(count), link=link)])
    assert LineChannel.request_messages(payload) == as_the_sdk_sends(payload)


def test_cards_stickers_several_replies_and_old_payloads_are_sent_as_the_sdk_would_send_them():
    card = Card("榮譽卡", (Bar("280 小時", 0.93),), ("期限",))
    for payload in [
        replies_to_json([Reply("進度", buttons(2), (card,))]),
        replies_to_json([Reply("謝謝", sticker="thanks")]),
        replies_to_json([Reply("一"), Reply("二", buttons(3))]),
        json.dumps([{"text": "hi", "buttons": [{"label": "a", "text": "b"}]}]),
    ]:
        assert LineChannel.request_messages(payload) == as_the_sdk_sends(payload)
