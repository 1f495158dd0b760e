"""The whole loop on Telegram: link, check in, check out, hours, buttons, language, redelivery, the secret
header and delivery retries — through python-telegram-bot's real Bot, the stand-in API and a real server."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import Session, select

from storage.models import InboxEvent, OutboxMessage, ServiceRecord
from tests.conftest import T0

USER = 5550001


def rows(harness, model) -> list:
    with Session(harness.vbot.engine) as session:
        return list(session.exec(select(model).order_by(model.id)).all())


def markup_of(call) -> dict:
    """The reply_markup the stand-in received: python-telegram-bot sends it as a JSON string in the form."""
    markup = call.body["reply_markup"]
    return json.loads(markup) if isinstance(markup, str) else markup


def callback_data(call) -> list[str]:
    return [button["callback_data"] for row in markup_of(call)["inline_keyboard"] for button in row]


async def linked(harness, user: int = USER) -> tuple[int, int]:
    """A volunteer of one unit whose Telegram account is linked; returns (unit id, volunteer id)."""
    unit = harness.add_unit()
    volunteer, code = harness.add_volunteer(unit)
    assert "王小明" in (await harness.telegram_says(user, f"/start {code}"))[0]
    return unit, volunteer


def tap(user: int, data: str, update_id: int, query_id: str) -> dict:
    """A callback_query update: the person tapped an inline button under one of the bot's messages."""
    person = {"id": user, "is_bot": False, "first_name": "小明", "language_code": "zh-hant"}
    bot = {"id": 4242, "is_bot": True, "first_name": "志工小幫手", "username": "vbot_test_bot"}
    message = {
        "message_id": 1,
        "date": int(T0.timestamp()),
        "chat": {"id": user, "type": "private"},
        "from": bot,
        "text": "…",
    }
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": person,
            "chat_instance": "1",
            "data": data,
            "message": message,
        },
    }


async def test_volunteer_links_checks_in_and_out_and_asks_hours(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)

    first = await harness.telegram_says(USER, "/start")
    assert len(first) == 1 and "綁定" in first[0]  # how to link: 「綁定 CODE」

    linked_answer = await harness.telegram_says(USER, f"/start {code}")
    assert len(linked_answer) == 1
    assert "王小明" in linked_answer[0] and "臺北市立圖書館" in linked_answer[0]
    assert "個資" in linked_answer[0]  # the privacy notice

    # An earlier, one-hour session the same morning, so that today's total differs from the session.
    early = T0 - dt.timedelta(hours=3)
    await harness.telegram_says(USER, "/checkin", at=early)
    await harness.telegram_says(USER, "/checkout", at=early + dt.timedelta(hours=1))

    checked_in = await harness.telegram_says(USER, "/checkin", at=T0)
    assert len(checked_in) == 1 and "09:00" in checked_in[0]
    assert callback_data(harness.telegram_api.sent("/sendMessage")[-1]) == ["簽退"]

    out_at = T0 + dt.timedelta(hours=2, minutes=30)
    checked_out = await harness.telegram_says(USER, "/checkout", at=out_at)
    assert len(checked_out) == 1
    assert (
        "11:30" in checked_out[0]
        and "這次服務 2.5 小時" in checked_out[0]
        and "今天共 3.5 小時" in checked_out[0]
    )
    assert callback_data(harness.telegram_api.sent("/sendMessage")[-1]) == ["時數"]

    hours = await harness.telegram_says(USER, "/hours", at=out_at)
    assert "累計：3.5 小時" in hours[0] and "今年：3.5 小時" in hours[0]
    assert "本半年（1至6月）：3.5 小時" in hours[0]

    # Every answer went to the private chat it came from.
    assert {int(call.body["chat_id"]) for call in harness.telegram_api.sent("/sendMessage")} == {USER}


async def test_commands_addressed_to_the_bot_by_name_work(harness):
    await linked(harness)
    checked_in = await harness.telegram_says(USER, "/checkin@vbot_test_bot", at=T0)
    assert "09:00" in checked_in[0] and "簽到" in checked_in[0]
    checked_out = await harness.telegram_says(USER, "/checkout@vbot_test_bot", at=T0 + dt.timedelta(hours=1))
    assert "1 小時" in checked_out[0]


async def test_check_in_time_is_the_message_date_not_the_server_clock(harness):
    await linked(harness)
    sent_at = T0 - dt.timedelta(minutes=40)  # 08:20 in Taipei; the server only gets to it at 09:00
    checked_in = await harness.telegram_says(USER, "/checkin", at=sent_at, now=T0)
    assert "08:20" in checked_in[0]
    [record] = rows(harness, ServiceRecord)
    assert record.check_in == sent_at


async def test_a_tapped_button_is_answered_and_its_spinner_stopped(harness):
    await linked(harness)
    await harness.telegram_says(USER, "/checkin", at=T0)
    await harness.telegram_says(USER, "/checkout", at=T0 + dt.timedelta(hours=2))
    tapped_on = harness.telegram_api.sent("/sendMessage")[-1]
    assert callback_data(tapped_on) == ["時數"]

    before = len(harness.telegram_api.delivered_texts())
    update = tap(USER, "時數", 90_001, "4382bfdwdsb323b2d9")
    harness.now = T0 + dt.timedelta(hours=2, minutes=1)
    response = await harness.post_telegram(update)
    assert response.status_code == 200
    await harness.drain(harness.now)

    answers = harness.telegram_api.delivered_texts()[before:]
    assert len(answers) == 1 and "累計：2 小時" in answers[0]
    [answered] = harness.telegram_api.sent("/answerCallbackQuery")
    assert answered.body["callback_query_id"] == "4382bfdwdsb323b2d9"


async def test_english_until_the_person_chooses_chinese(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)

    def says(text, at=T0):
        harness.now = at
        return harness.post_telegram(harness.telegram_update(USER, text, at, language="en"))

    async def answer(text, at=T0) -> str:
        before = len(harness.telegram_api.delivered_texts())
        assert (await says(text, at)).status_code == 200
        await harness.drain(at)
        [new] = harness.telegram_api.delivered_texts()[before:]
        return new

    assert "link CODE" in await answer("/start")
    welcome = await answer(f"/start {code}")
    assert "Welcome, 王小明" in welcome and "Privacy" in welcome
    assert "Checked in at 09:00" in await answer("/checkin")
    assert callback_data(harness.telegram_api.sent("/sendMessage")[-1]) == ["check out"]

    assert "中文" in await answer("/language zh")
    hours = await answer("/hours")
    assert "累計" in hours and "目前簽到中" in hours
    assert callback_data(harness.telegram_api.sent("/sendMessage")[-1]) == ["簽退"]


async def test_a_redelivered_update_is_processed_once(harness):
    await linked(harness)
    before = len(harness.telegram_api.delivered_texts())
    update = harness.telegram_update(USER, "/checkin", T0)
    harness.now = T0
    assert (await harness.post_telegram(update)).status_code == 200
    await harness.drain(T0)
    # Telegram did not see our 200 in time and sends the same update again, a little later.
    harness.now = T0 + dt.timedelta(seconds=30)
    assert (await harness.post_telegram(update)).status_code == 200
    await harness.drain(harness.now)

    answers = harness.telegram_api.delivered_texts()[before:]
    assert len(answers) == 1 and "09:00" in answers[0]
    assert len(rows(harness, ServiceRecord)) == 1
    assert len([e for e in rows(harness, InboxEvent) if e.event_key == str(update["update_id"])]) == 1


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(harness):
    await linked(harness)
    stored = len(rows(harness, InboxEvent))
    sent = len(harness.telegram_api.calls)

    for secret in (None, "", "not-the-secret", "test-telegram-webhook-secret-but-longer"):
        response = await harness.post_telegram(harness.telegram_update(USER, "/checkin", T0), secret=secret)
        assert response.status_code == 401, secret
    await harness.drain(T0)

    assert len(rows(harness, InboxEvent)) == stored
    assert len(harness.telegram_api.calls) == sent
    assert rows(harness, ServiceRecord) == []
    # The server keeps serving the real Telegram.
    assert "09:00" in (await harness.telegram_says(USER, "/checkin", at=T0))[0]


async def send_once_due(harness, now) -> int:
    before = len(harness.telegram_api.sent("/sendMessage"))
    await harness.vbot.pipeline.send_outbox_once(now)
    return len(harness.telegram_api.sent("/sendMessage")) - before


async def queue_an_answer(harness, text: str) -> None:
    harness.now = T0
    assert (await harness.post_telegram(harness.telegram_update(USER, text, T0))).status_code == 200
    assert await harness.vbot.pipeline.process_inbox_once(T0) == 1


async def test_server_errors_are_retried_with_backoff_and_delivered_once(harness):
    await linked(harness)
    delivered = len(harness.telegram_api.delivered_texts())
    harness.telegram_api.fail_next("/sendMessage", 500, 500)
    await queue_an_answer(harness, "/hours")

    assert await send_once_due(harness, T0) == 1  # 500
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=1)) == 0  # waiting 2 s
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=2)) == 1  # 500 again
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=5)) == 0  # waiting 4 s more
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=6)) == 1  # 200
    for later in (10, 60, 600):
        assert await send_once_due(harness, T0 + dt.timedelta(seconds=later)) == 0

    new = harness.telegram_api.delivered_texts()[delivered:]
    assert len(new) == 1 and "累計" in new[0]
    message = rows(harness, OutboxMessage)[-1]
    assert message.status == "sent" and message.attempts == 3


async def test_a_refused_message_is_not_retried(harness):
    await linked(harness)
    delivered = len(harness.telegram_api.delivered_texts())
    harness.telegram_api.fail_next("/sendMessage", 400)
    await queue_an_answer(harness, "/hours")

    assert await send_once_due(harness, T0) == 1
    for later in (2, 10, 60, 600, 3600):
        assert await send_once_due(harness, T0 + dt.timedelta(seconds=later)) == 0
    assert harness.telegram_api.delivered_texts()[delivered:] == []
    message = rows(harness, OutboxMessage)[-1]
    assert message.status == "failed" and message.attempts == 1


async def test_too_many_requests_is_retried_after_retry_after(harness):
    await linked(harness)
    delivered = len(harness.telegram_api.delivered_texts())
    harness.telegram_api.fail_next("/sendMessage", 429)  # the stand-in says retry_after: 3
    await queue_an_answer(harness, "/hours")

    assert await send_once_due(harness, T0) == 1
    # Our own backoff after one attempt would be 2 s; Telegram asked for 3.
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=2)) == 0
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=3)) == 1
    assert await send_once_due(harness, T0 + dt.timedelta(seconds=60)) == 0
    new = harness.telegram_api.delivered_texts()[delivered:]
    assert len(new) == 1 and "累計" in new[0]


async def test_a_volunteer_of_two_units_checks_in_by_tapping_a_unit(harness):
    first, volunteer = await linked(harness)
    second = harness.add_unit("臺北市動物之家", category="environment")
    harness.add_membership(volunteer, second)

    question = await harness.telegram_says(USER, "/checkin", at=T0)
    assert "今天在哪個單位服務" in question[0]
    choices = callback_data(harness.telegram_api.sent("/sendMessage")[-1])
    assert choices == [f"簽到 #{first}", f"簽到 #{second}"]

    before = len(harness.telegram_api.delivered_texts())
    harness.now = T0 + dt.timedelta(seconds=20)
    assert (await harness.post_telegram(tap(USER, choices[1], 90_002, "q2"))).status_code == 200
    await harness.drain(harness.now)
    [answer] = harness.telegram_api.delivered_texts()[before:]
    assert "臺北市動物之家" in answer and "09:00" in answer
    assert [call.body["callback_query_id"] for call in harness.telegram_api.sent("/answerCallbackQuery")] == [
        "q2"
    ]


async def test_the_bot_answers_even_when_get_me_failed_at_start(harness_factory, telegram_api):
    telegram_api.fail_next("/getMe", 500)
    harness = await harness_factory()
    assert await harness.telegram_says(USER, "/start")  # how to link, delivered


async def test_an_unexpected_telegram_error_fails_that_message_and_the_others_still_go(harness):
    await linked(harness)
    delivered = len(harness.telegram_api.delivered_texts())
    harness.telegram_api.fail_next(
        "/sendMessage", 409
    )  # Conflict: PTB raises neither BadRequest nor NetworkError
    harness.now = T0
    for update_id in (70_001, 70_002):
        update = harness.telegram_update(USER, "/hours", T0)
        update["update_id"] = update_id
        assert (await harness.post_telegram(update)).status_code == 200
    assert await harness.vbot.pipeline.process_inbox_once(T0) == 2

    assert await harness.vbot.pipeline.send_outbox_once(T0) == 1
    assert await send_once_due(harness, T0 + dt.timedelta(hours=1)) == 0
    assert len(harness.telegram_api.delivered_texts()[delivered:]) == 1
    assert [message.status for message in rows(harness, OutboxMessage)[-2:]] == ["failed", "sent"]
