"""Every answer delivered once, whatever LINE and Telegram answer, and nothing lost to their limits.

Each test counts what a person sees (answers) and what it cost (pushes); the stand-ins refuse what the
platforms refuse (tests/standins.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from sqlmodel import select

from handlers.types import Button, Reply, replies_to_json
from storage import queue_store
from storage.db import UnitOfWork
from storage.models import OutboxMessage
from tests.conftest import T0
from tests.standins import HANG, TAKEN_THEN_HELD, TAKEN_THEN_NO_ANSWER, utf16_length
from tests.test_reliability import linked
from tests.test_reminders import Town, local

HOURS = "您的服務時數"


def answers(line_api, words: str = HOURS) -> int:
    """How many times the answer reached the person (replies and pushes LINE took)."""
    return sum(words in text for text in line_api.delivered_texts())


def replies_for(line_api, token: str) -> int:
    return sum(c.status == 200 and c.body.get("replyToken") == token for c in line_api.sent("/reply"))


def pushes(line_api) -> int:
    return sum(call.status == 200 for call in line_api.sent("/push"))


def last_message(harness) -> OutboxMessage:
    with UnitOfWork(harness.vbot.engine)() as session:
        return session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()


async def test_a_reply_answered_500_then_refused_for_its_token_is_pushed_once(harness):
    await linked(harness)
    line_api, pipeline = harness.line_api, harness.vbot.pipeline
    line_api.fail_next("/reply", 500)
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    await pipeline.process_inbox_once(T0)
    assert await pipeline.send_outbox_once(T0) == 0
    line_api.used_reply_tokens.add(line_api.sent("/reply")[-1].body["replyToken"])  # LINE let it expire
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=3)) == 1
    assert answers(line_api) == 1 and pushes(line_api) == 1
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(minutes=10)) == 0
    assert answers(line_api) == 1 and pushes(line_api) == 1


async def test_a_reply_taken_whose_answer_was_lost_is_not_pushed(harness):
    await linked(harness)
    line_api, pipeline = harness.line_api, harness.vbot.pipeline
    line_api.fail_next("/reply", TAKEN_THEN_NO_ANSWER)
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    await pipeline.process_inbox_once(T0)
    assert await pipeline.send_outbox_once(T0) == 0
    assert last_message(harness).in_doubt
    for seconds in (3, 10, 60, 600):
        await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=seconds))
    assert answers(line_api) == 1 and pushes(line_api) == 0
    assert last_message(harness).status == "sent"


async def test_a_reply_in_flight_when_the_process_dies_is_not_pushed_after_the_restart(harness_factory):
    first = await harness_factory()
    await linked(first)
    line_api = first.line_api
    line_api.fail_next("/reply", TAKEN_THEN_HELD)
    await first.post_line(first.line_event("Uvol1", "時數"))
    await first.vbot.pipeline.process_inbox_once(T0)
    sending = asyncio.create_task(first.vbot.pipeline.send_outbox_once(T0))
    await asyncio.wait_for(line_api.taken_and_held.wait(), 10)
    sending.cancel()  # the process dies with the reply taken by LINE and its answer on the way
    line_api.release()
    await first.vbot.stop()

    second = await harness_factory()  # past the lease (60 s) the reply token is stale (50 s)
    for seconds in (61, 70, 120, 600):
        await second.vbot.pipeline.send_outbox_once(T0 + dt.timedelta(seconds=seconds))
    assert answers(line_api) == 1 and pushes(line_api) == 0
    assert last_message(second).status == "sent"


async def test_a_hanging_profile_lookup_holds_up_no_one(harness_factory):
    first = await harness_factory()
    unit = first.add_unit()
    for n in range(10):
        _, code = first.add_volunteer(unit, f"志工{n}")
        await first.line_says(f"U{n}", f"綁定 {code}")
    await first.vbot.stop()
    second = await harness_factory()  # a new process: no language known yet
    line_api = second.line_api
    line_api.hold("/v2/bot/profile/")
    events = [second.line_event(f"U{n}", "時數") for n in range(10)]
    for event in events:
        await second.post_line(event)
    started = time.monotonic()
    assert await second.vbot.pipeline.process_inbox_once(T0) == 10
    elapsed = time.monotonic() - started
    await second.vbot.pipeline.send_outbox_once(T0)
    line_api.release("/v2/bot/profile/")
    assert elapsed < 2.5  # one short wait in all, not 0.5 s per person (the time-out in the tests)
    assert [replies_for(line_api, event["replyToken"]) for event in events] == [1] * 10
    assert answers(line_api) == 10 and pushes(line_api) == 0


async def test_line_retry_after_is_honoured(harness):
    await linked(harness)
    line_api, pipeline = harness.line_api, harness.vbot.pipeline
    line_api.throttle_next("/reply", 20)
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    await pipeline.process_inbox_once(T0)
    assert await pipeline.send_outbox_once(T0) == 0
    assert last_message(harness).next_attempt_at == T0 + dt.timedelta(seconds=20)
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=19)) == 0
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=20)) == 1
    assert answers(line_api) == 1 and pushes(line_api) == 0


# ---- nothing lost to a platform limit ----------------------------------------------------------------

NAMES = {  # a name in each language's script, with an emoji (2 UTF-16 units on LINE)
    "zh_TW": "王小明🌟",
    "en": "Mary Smith🌟",
    "vi": "Nguyễn Thị Hồng🌟",
    "id": "Siti Rahayu🌟",
    "th": "สมชาย ใจดี🌟",
}


def long_digest(locale: str) -> tuple[str, list[str]]:
    """Ten units' alerts for one coordinator, fifteen eligible volunteers each, with a button each."""
    names, replies = [], []
    for unit in range(10):
        lines = [f"📅 Unit {unit}: {'—' * 40}"]
        for person in range(15):
            name = f"{NAMES[locale]} {unit}-{person}"
            names.append(name)
            lines.append(f"• {name}: 3,000 h, 🎖️ {'x' * 200}")
        replies.append(Reply("\n".join(lines), (Button(f"完成 {unit}", f"完成 {unit} 半年報表"),)))
    from handlers.jobs.dispatch import digest

    return digest([replies_to_json([reply]) for reply in replies]), names


async def test_a_long_digest_is_delivered_whole_on_line_and_telegram(harness):
    pipeline = harness.vbot.pipeline
    for locale in NAMES:
        payload, names = long_digest(locale)
        with UnitOfWork(harness.vbot.engine)() as session:
            queue_store.queue_message(session, T0, "line", f"U{locale}", payload)
            queue_store.queue_message(session, T0, "telegram", "4242", payload)
            session.commit()
        assert await pipeline.deliver_due(T0) >= 2
        line_text = "\n".join(harness.line_api.texts_to(f"U{locale}"))
        telegram_text = "\n".join(harness.telegram_api.delivered_texts())
        assert all(name in line_text for name in names)
        assert all(name in telegram_text for name in names)
    assert all(call.status == 200 for call in harness.line_api.sent("/push"))
    assert all(call.status == 200 for call in harness.telegram_api.sent("/sendMessage"))
    assert max(utf16_length(t) for t in harness.line_api.delivered_texts()) <= 5000
    with UnitOfWork(harness.vbot.engine)() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_a_sender_takes_only_the_messages_of_the_platforms_it_sends_to(harness):
    """A process with Telegram's token only, beside one with LINE's, leaves the LINE answers to the other."""
    uow = UnitOfWork(harness.vbot.engine)
    payload = replies_to_json([Reply("您好")])
    with uow() as session:
        queue_store.queue_message(session, T0, "line", "Uvol1", payload)
        queue_store.queue_message(session, T0, "telegram", "4242", payload)
        session.commit()
    lease = dt.timedelta(seconds=60)
    with uow() as session:
        taken = queue_store.claim_outbox_messages(session, T0, lease, 50, ["telegram"])
        session.commit()
    assert [message.platform for message in taken] == ["telegram"]
    with uow() as session:
        line = session.exec(select(OutboxMessage).where(OutboxMessage.platform == "line")).one()
        assert line.claimed_until is None and line.attempts == 0
        taken = queue_store.claim_outbox_messages(session, T0, lease, 50, ["line", "telegram"])
        session.commit()
    assert [message.platform for message in taken] == ["line"]  # the Telegram one is held by the first


async def test_a_message_the_platform_refuses_is_failed_and_logged_without_its_text(harness, caplog):
    with UnitOfWork(harness.vbot.engine)() as session:
        payload = replies_to_json([Reply("秘密內容 " * 10, (Button("", ""),))])  # an empty button
        queue_store.queue_message(session, T0, "line", "Uvol1", payload)
        session.commit()
    harness.line_api.fail_next("/push", 400)
    await harness.vbot.pipeline.deliver_due(T0)
    message = last_message(harness)
    assert message.status == "failed" and "400" in message.last_error
    assert harness.vbot.pipeline.failed == 1  # `vbot remind` prints it
    assert not any("秘密內容" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("quota", ["hangs", "refuses", "answers nonsense", "unlimited"])
async def test_the_reminder_pass_sends_whatever_the_quota_endpoint_answers(harness, quota):
    town = Town(harness)
    harness.now = local(2026, 3, 30, 9)
    unit = harness.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 9, 30))
    if quota == "hangs":
        harness.line_api.fail_next("/quota", HANG)
    elif quota == "refuses":
        harness.line_api.fail_next("/quota", 401)
    elif quota == "answers nonsense":
        harness.line_api.quota_limit = "plenty"  # not a number: the SDK's models refuse it
    else:
        harness.line_api.quota_limit = None  # {"type": "none"}
    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert len(line) == 1 and "明天" in line[0]
    assert harness.vbot.pipeline.failed == 0


async def test_more_buttons_cards_and_longer_words_than_a_platform_takes_are_all_delivered(harness):
    """20 buttons with long labels and words over Telegram's 64 bytes, 30 cards: nothing refused, nothing cut."""
    from handlers.types import Bar, Card

    buttons = tuple(
        Button(f"標記完成第 {n} 項截止日期的按鈕", f"完成 {n} 臺北市志願服務半年報表與獎勵名單及附件")
        for n in range(20)
    )
    cards = tuple(Card(f"獎 {n}", (Bar("h", 0.5),), ("一行說明",)) for n in range(30))
    payload = replies_to_json([Reply("選一項：", buttons, cards)])
    with UnitOfWork(harness.vbot.engine)() as session:
        queue_store.queue_message(session, T0, "line", "Umany", payload)
        queue_store.queue_message(session, T0, "telegram", "4242", payload)
        session.commit()
    assert await harness.vbot.pipeline.deliver_due(T0) == 2
    line_text = "\n".join(harness.line_api.texts_to("Umany"))
    assert all(f"獎 {n}" in line_text for n in range(30))
    assert all(f"完成 {n} " in line_text for n in range(13, 20))  # beyond 13 quick replies: the words
    telegram_text = "\n".join(harness.telegram_api.delivered_texts())
    assert all(f"完成 {n} " in telegram_text for n in range(20))  # callback data over 64 bytes: the words
    assert pushes(harness.line_api) == 1  # 3 carousels and a text: one request
