"""People who block the bot and come back (issue 16): LINE's unfollow and follow, Telegram's my_chat_member,
posted as the platforms post them and read by the real SDKs; reminder passes before, between and after."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from handlers.notifications import unreachable_people
from storage.db import UnitOfWork
from tests.test_cli import clean_env, last_json, succeeded, vbot
from tests.test_reminders import Town, local

AMY, BOB, CAROL = "王小美", "李大同", "陳督導"


def line_membership_event(harness, user: str, kind: str, at: dt.datetime) -> dict:
    """LINE's follow (with isUnblocked, as LINE sends it after an unblock) or unfollow, as in its samples."""
    n = next(harness._ids)
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": int(at.timestamp() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": f"01H{n:023d}",
        "deliveryContext": {"isRedelivery": False},
    }
    if kind == "follow":
        event |= {"replyToken": f"reply-token-{n}", "follow": {"isUnblocked": True}}
    return event


def telegram_member_update(harness, user: int, status: str, at: dt.datetime) -> dict:
    """Telegram's my_chat_member in a private chat: the person blocked the bot (`kicked`) or unblocked it."""
    n = next(harness._ids)
    person = {"id": user, "is_bot": False, "first_name": "小美", "language_code": "zh-hant"}
    bot = {"id": 4242, "is_bot": True, "first_name": "志工小幫手", "username": "vbot_test_bot"}
    old, new = ("member", "kicked") if status == "kicked" else ("kicked", "member")
    member = {"user": bot, "status": new} | ({"until_date": 0} if new == "kicked" else {})
    return {
        "update_id": 10_000 + n,
        "my_chat_member": {
            "chat": {"id": user, "type": "private", "first_name": "小美"},
            "from": person,
            "date": int(at.timestamp()),
            "old_chat_member": {"user": bot, "status": old} | ({"until_date": 0} if old == "kicked" else {}),
            "new_chat_member": member,
        },
    }


@pytest.fixture
async def town(harness):
    harness.now = local(2026, 3, 30, 9)
    return Town(harness)


def pushed_to(calls, user: str) -> list:
    return [
        c
        for c in calls
        if c.path.endswith(("/push", "/multicast"))
        and (c.body.get("to") == user or user in (c.body.get("to") or []))
    ]


def unreachable_names(town, unit: int) -> list[str]:
    with UnitOfWork(town.h.vbot.engine)() as session:
        return [p.name for p in unreachable_people(session, unit)]


async def test_a_line_unfollow_stops_every_push_and_a_follow_greets_by_name_and_resumes(town):
    h = town.h
    unit = h.add_unit()
    await town.person(unit, line_user="Uamy", name=AMY)
    await town.person(unit, line_user="Ubob", name=BOB)
    await town.person(unit, line_user="Ucarol", name=CAROL, role="coordinator")
    town.training(unit, local(2026, 4, 2, 8, 45))  # its hour-before reminder is due at 07:45, still quiet
    town.training(unit, local(2026, 4, 9, 9, 30), title="第二次訓練")

    # Before: everyone is reminded the evening before.
    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert len(h.line_api.texts_to("Uamy")) == 1
    # The hour-before reminder is stored at 07:45 and waits for the end of the quiet hours …
    _, result, line, _ = await town.remind(local(2026, 4, 2, 7, 45))
    assert result.waiting == 3 and line == []

    # … and Amy blocks the bot meanwhile. Nothing is answered to an unfollow (there is no one to answer).
    h.now = local(2026, 4, 2, 7, 50)
    response = await h.post_line(line_membership_event(h, "Uamy", "unfollow", h.now))
    assert response.status_code == 200
    calls_before = len(h.line_api.calls)
    await h.drain(h.now)
    assert h.line_api.calls[calls_before:] == []
    assert unreachable_names(town, unit) == [AMY]

    # Between: the waiting reminder goes to Bob and Carol, never to Amy, and spends no quota on her.
    calls_before, used_before = len(h.line_api.calls), h.line_api.usage
    _, result, line, _ = await town.remind(local(2026, 4, 2, 8, 0))
    calls = h.line_api.calls[calls_before:]
    assert pushed_to(calls, "Uamy") == []
    assert pushed_to(calls, "Ubob") and pushed_to(calls, "Ucarol")
    assert h.line_api.usage - used_before == 2 and result.dropped == 1

    # The coordinator's 現場 says who cannot be reached.
    live = await h.line_says("Ucarol", "現場", at=h.now, now=h.now)
    assert AMY in live[0] and "封鎖" in live[0] and BOB not in live[0]
    # … and so does the award list (an award's news cannot reach Amy by chat).
    listed = await h.line_says("Ucarol", "獎勵名單", at=h.now, now=h.now)
    assert "封鎖" in listed[-1] and AMY in listed[-1].split("封鎖")[1]

    # Amy unblocks: LINE sends a follow; she is greeted by name, and everything resumes.
    h.now = local(2026, 4, 3, 10, 0)
    before = len(h.line_api.delivered_texts())
    await h.post_line(line_membership_event(h, "Uamy", "follow", h.now))
    await h.drain(h.now)
    [greeting] = h.line_api.delivered_texts()[before:]
    assert AMY in greeting and "歡迎回來" in greeting
    assert h.line_api.sent("/reply")[-1].body["replyToken"].startswith("reply-token-")  # free, not a push
    assert unreachable_names(town, unit) == []
    live = await h.line_says("Ucarol", "現場", at=h.now, now=h.now)
    assert AMY not in live[0]

    # After: the next reminder reaches her again.
    calls_before = len(h.line_api.calls)
    await town.remind(local(2026, 4, 8, 18, 0))
    texts = [t for c in pushed_to(h.line_api.calls[calls_before:], "Uamy") for t in [str(c.body)]]
    assert len(texts) == 1 and "第二次訓練" in texts[0]


async def test_a_telegram_block_stops_every_message_and_unblocking_greets_by_name_and_resumes(town):
    h = town.h
    unit = h.add_unit()
    await town.person(unit, telegram_user=501, name=AMY)
    await town.person(unit, telegram_user=502, name=BOB)
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.training(unit, local(2026, 4, 9, 9, 30), title="第二次訓練")

    def sent_to(calls, chat: int) -> list:
        return [c for c in calls if c.path.endswith("/sendMessage") and int(c.body["chat_id"]) == chat]

    calls_before = len(h.telegram_api.calls)
    await town.remind(local(2026, 4, 1, 18, 0))  # before
    assert len(sent_to(h.telegram_api.calls[calls_before:], 501)) == 1

    h.now = local(2026, 4, 1, 20, 0)
    response = await h.post_telegram(telegram_member_update(h, 501, "kicked", h.now))
    assert response.status_code == 200
    calls_before = len(h.telegram_api.calls)
    await h.drain(h.now)
    assert sent_to(h.telegram_api.calls[calls_before:], 501) == []  # nothing said to a blocked chat
    assert unreachable_names(town, unit) == [AMY]

    calls_before = len(h.telegram_api.calls)
    await town.remind(local(2026, 4, 2, 8, 30))  # between: the hour-before reminder
    calls = h.telegram_api.calls[calls_before:]
    assert sent_to(calls, 501) == [] and len(sent_to(calls, 502)) == 1

    h.now = local(2026, 4, 3, 10, 0)
    before = len(h.telegram_api.delivered_texts())
    await h.post_telegram(telegram_member_update(h, 501, "member", h.now))
    await h.drain(h.now)
    [greeting] = h.telegram_api.delivered_texts()[before:]
    assert AMY in greeting and "歡迎回來" in greeting
    assert unreachable_names(town, unit) == []

    calls_before = len(h.telegram_api.calls)
    await town.remind(local(2026, 4, 8, 18, 0))  # after
    [resumed] = sent_to(h.telegram_api.calls[calls_before:], 501)
    assert "第二次訓練" in resumed.body["text"]


async def test_a_telegram_start_after_a_block_also_resumes_and_greets(town):
    """Telegram's 重新啟動 (Restart) sends /start; if the member update was lost, /start alone brings them back."""
    h = town.h
    unit = h.add_unit()
    await town.person(unit, telegram_user=501, name=AMY)
    h.now = local(2026, 4, 1, 20, 0)
    await h.post_telegram(telegram_member_update(h, 501, "kicked", h.now))
    await h.drain(h.now)
    assert unreachable_names(town, unit) == [AMY]
    [greeting] = await h.telegram_says(501, "/start", at=h.now, now=h.now)
    assert AMY in greeting and "歡迎回來" in greeting
    assert unreachable_names(town, unit) == []
    # A second /start is the everyday help again, not another welcome back.
    [again] = await h.telegram_says(501, "/start", at=h.now, now=h.now)
    assert "歡迎回來" not in again


async def test_someone_unknown_who_blocks_or_unblocks_changes_nothing_and_gets_no_answer(town):
    h = town.h
    await h.post_line(line_membership_event(h, "Ustranger", "unfollow", h.now))
    await h.post_telegram(telegram_member_update(h, 999, "kicked", h.now))
    await h.post_telegram(telegram_member_update(h, 999, "member", h.now))
    line_before, telegram_before = len(h.line_api.calls), len(h.telegram_api.calls)
    await h.drain(h.now)
    assert [c.path for c in h.line_api.calls[line_before:]] == []
    assert [c.path for c in h.telegram_api.calls[telegram_before:] if "send" in c.path] == []


async def test_vbot_lists_who_of_a_unit_cannot_be_reached(town, database_url, tmp_path):
    h = town.h
    unit = h.add_unit()
    amy = await town.person(unit, line_user="Uamy", name=AMY)
    await town.person(unit, telegram_user=502, name=BOB)
    other = h.add_unit("國立歷史博物館")
    await town.person(other, line_user="Ucat", name="陳美玲")
    for event in (
        line_membership_event(h, "Uamy", "unfollow", h.now),
        line_membership_event(h, "Ucat", "unfollow", h.now),
    ):
        await h.post_line(event)
    await h.drain(h.now)

    env = clean_env(VBOT_DATABASE_URL=database_url)
    listed = last_json(
        await asyncio.to_thread(
            vbot, tmp_path, "volunteer", "unreachable", "--unit", str(unit), "--json", env=env
        )
    )
    assert [(p["id"], p["name"], p["platform"]) for p in listed["unreachable"]] == [(amy, AMY, "line")]
    human = await asyncio.to_thread(vbot, tmp_path, "volunteer", "unreachable", "--unit", str(unit), env=env)
    succeeded(human)
    assert "1 chat accounts cannot be reached" in human.stdout and AMY in human.stdout
    missing = await asyncio.to_thread(vbot, tmp_path, "volunteer", "unreachable", "--unit", "99", env=env)
    assert (
        missing.returncode != 0
        and "there is no unit 99" in missing.stderr
        and "Traceback" not in missing.stderr
    )


async def test_a_telegram_403_marks_the_chat_unreachable_when_the_block_itself_was_missed(town):
    """Telegram answers 403 (bot was blocked by the user) to a push: no further push is tried."""
    h = town.h
    unit = h.add_unit()
    await town.person(unit, telegram_user=501, name=AMY)
    town.training(unit, local(2026, 4, 2, 9, 30))

    def sends_to_amy(calls) -> int:
        return sum(c.path.endswith("/sendMessage") and int(c.body["chat_id"]) == 501 for c in calls)

    h.telegram_api.fail_next("/sendMessage", 403)
    calls_before = len(h.telegram_api.calls)
    await town.remind(local(2026, 4, 1, 18, 0))
    assert sends_to_amy(h.telegram_api.calls[calls_before:]) == 1  # tried once, refused, not retried
    assert unreachable_names(town, unit) == [AMY]
    calls_before = len(h.telegram_api.calls)
    await town.remind(local(2026, 4, 2, 8, 30))
    assert sends_to_amy(h.telegram_api.calls[calls_before:]) == 0
    [greeting] = await h.telegram_says(501, "/start", at=h.now, now=h.now)
    assert AMY in greeting and "歡迎回來" in greeting
