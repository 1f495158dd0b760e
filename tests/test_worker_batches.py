"""The worker takes a claim of events and works it off in one transaction. That must store exactly what working
the same events off one at a time stores: the same visits, the same answers to the same people in the same
order, every event done once. A mixed backlog (links, check-ins and check-outs, a person's several events
in one claim, a check-in that arrives after its check-out, two units, someone not linked, a visit past
midnight) goes through the real pipeline on two fresh databases, batched and one by one, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from bot import pipeline
from bot.pipeline import BATCH
from storage.db import UnitOfWork
from storage.models import AwardGrant, InboxEvent, OutboxMessage, ServiceRecord
from tests.conftest import T0, postgres_schema

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def second_database(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'one-by-one.db'}"
        return
    with postgres_schema() as url:
        yield url


def roster(harness) -> dict[str, str]:
    """Four volunteers in two units (one of them in both), made the same way on every database."""
    first = harness.add_unit(name="臺北市立圖書館")
    second = harness.add_unit(name="北投分館")
    codes = {}
    for user, name in (("Ua", "甲"), ("Ub", "乙"), ("Uc", "丙"), ("Ue", "戊")):
        volunteer_id, code = harness.add_volunteer(first, name)
        codes[user] = code
        if user == "Ub":
            harness.add_membership(volunteer_id, second)
    return codes


def backlog(harness, codes: dict[str, str], second_unit: int) -> list[dict]:
    """Everyone's events, interleaved as they would arrive."""
    e = harness.line_event
    per_person = [
        [
            e("Ua", f"綁定 {codes['Ua']}", T0 - MINUTE),
            e("Ua", "簽到", T0),
            e("Ua", "時數", T0 + MINUTE),
            e("Ua", "簽到", T0 + 2 * MINUTE),  # already checked in
            e("Ua", "簽退", T0 + 120 * MINUTE),
            e("Ua", "簽退", T0 + 125 * MINUTE),  # not checked in any more
            e("Ua", "簽到", T0 + 130 * MINUTE),
        ],
        [
            e("Ub", f"綁定 {codes['Ub']}", T0 - MINUTE),
            e("Ub", "簽到", T0 + 14 * HOUR),  # two units: which one?
            e("Ub", f"簽到 #{second_unit}", T0 + 14 * HOUR + MINUTE),  # 23:01 in Taipei
            e("Ub", "簽退", T0 + 16 * HOUR),  # past midnight: a part on each day
            e("Ub", "獎勵", T0 + 16 * HOUR + MINUTE),
        ],
        [
            e("Uc", f"綁定 {codes['Uc']}", T0 - MINUTE),
            e("Uc", "簽到", T0),
            e("Uc", "簽退", T0 + 60 * MINUTE),
            e("Uc", "簽到", T0 + 30 * MINUTE),  # reached the bot after the later check-out: to review
            e("Uc", "簽到", T0 + 90 * MINUTE),
            e("Uc", "狀態", T0 + 91 * MINUTE),
        ],
        [
            e("Ud", "簽到", T0),  # not linked
            e("Ud", "說明", T0 + MINUTE),
            e("Ud", "綁定 000000", T0 + 2 * MINUTE),  # a wrong code
        ],
        [
            e("Ue", f"綁定 {codes['Ue']}", T0 - MINUTE),
            e("Ue", "language", T0),
            e("Ue", "簽到", T0 + MINUTE),
            e("Ue", "你好", T0 + 2 * MINUTE),
            e("Ue", "簽退", T0 + 200 * MINUTE),
        ],
    ]
    longest = max(len(events) for events in per_person)
    return [events[n] for n in range(longest) for events in per_person if n < len(events)]


async def work_off(harness, events: list[dict], batch: int, now: dt.datetime) -> None:
    harness.now = now
    for event in events:
        assert (await harness.post_line(event)).status_code == 200
    harness.vbot.pipeline.batch = batch
    for _ in range(len(events) + 1):  # bounded: at least one event a pass while any is left
        if not await harness.vbot.pipeline.process_inbox_once(now):
            break


def stored(harness) -> dict[str, list]:
    """What the backlog left: visits, answers (by recipient, in order), awards, and the inbox's bookkeeping."""
    with UnitOfWork(harness.vbot.engine)() as session:

        def rows(model, leave_out: set[str], order) -> list[dict]:
            found = session.execute(sa.select(model.__table__).order_by(*order)).mappings().all()
            return [{k: v for k, v in row.items() if k not in leave_out} for row in found]

        return {
            "visits": rows(ServiceRecord, set(), [ServiceRecord.id]),
            "answers": rows(
                OutboxMessage,
                {"id", "retry_key", "claim_token", "claimed_until"},
                [OutboxMessage.recipient, OutboxMessage.id],
            ),
            "awards": rows(AwardGrant, {"id"}, [AwardGrant.volunteer_id, AwardGrant.award_code]),
            "inbox": rows(
                InboxEvent, {"id", "claim_token", "claimed_until", "payload", "event_key"}, [InboxEvent.id]
            ),
        }


async def test_a_mixed_backlog_worked_off_batched_stores_what_one_by_one_stores(
    harness_factory, second_database
):
    batched = await harness_factory()
    one_by_one = await harness_factory(on_database=second_database)
    codes_batched, codes_single = roster(batched), roster(one_by_one)
    second_unit = 2  # the second unit made on each fresh database
    events = backlog(batched, codes_batched, second_unit)
    # The same events on both, but each database's own invite codes.
    swap = {codes_batched[user]: codes_single[user] for user in codes_batched}
    single_events = []
    for event in events:
        text = event["message"]["text"]
        for mine, theirs in swap.items():
            text = text.replace(mine, theirs)
        single_events.append(dict(event, message=dict(event["message"], text=text)))

    now = T0 + dt.timedelta(days=1)
    await work_off(batched, events, BATCH, now)
    await work_off(one_by_one, single_events, 1, now)

    left, right = stored(batched), stored(one_by_one)
    assert len(left["inbox"]) == len(events) and all(row["processed_at"] == now for row in left["inbox"])
    assert all(row["attempts"] == 1 and row["error"] is None for row in left["inbox"])
    assert [row["status"] for row in left["visits"]].count("review") == 1  # Uc's late check-in
    assert any(row["note"] and row["note"].startswith("continues") for row in left["visits"])  # Ub's
    assert len(left["answers"]) == len(events)  # one answer an event
    for part in ("visits", "answers", "awards", "inbox"):
        assert left[part] == right[part], part


async def test_a_worker_in_another_process_is_woken_at_once_by_a_stored_event(
    harness_factory, line_api, database_url, monkeypatch
):
    """`vbot serve --no-workers` stores the event; `vbot work` (here: a second bot on the same database with
    its worker running) hears of it by PostgreSQL's NOTIFY, not by its poll, which is set to an hour."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: the worker runs in the webhook's own process, which wakes it directly")
    monkeypatch.setattr(pipeline, "IDLE_WAIT_SECONDS", 3600)
    webhooks = await harness_factory()  # stores events only; this test works off the link itself
    unit = webhooks.add_unit()
    _volunteer, code = webhooks.add_volunteer(unit)
    assert await webhooks.line_says("Uwake", f"綁定 {code}")

    worker = await harness_factory(workers=True)
    await asyncio.wait_for(worker.vbot.pipeline.listening.wait(), timeout=10)
    # Listening began by looking at the inbox once more; once that look is over, it waits.
    await asyncio.wait_for(worker.vbot.pipeline.inbox_idle.wait(), timeout=10)
    line_api.arrived.clear()
    assert (await webhooks.post_line(webhooks.line_event("Uwake", "時數"))).status_code == 200
    await asyncio.wait_for(line_api.arrived.wait(), timeout=10)  # an hour's poll would not have found it
    assert "時數" in line_api.delivered_texts()[-1]


async def test_a_waiting_worker_answers_each_message_without_its_poll(harness_factory, line_api, monkeypatch):
    """After a pass that took less than a full claim the worker and the sender look again only when woken
    (no claim that would find nothing): messages one after another, and several arriving together while the
    worker is busy, are all answered although the poll is set to an hour."""
    monkeypatch.setattr(pipeline, "IDLE_WAIT_SECONDS", 3600)
    setup = await harness_factory()
    unit = setup.add_unit()
    codes = {user: setup.add_volunteer(unit)[1] for user in ("Uw1", "Uw2", "Uw3", "Uw4", "Uw5")}
    bot = await harness_factory(workers=True)

    def answers() -> list[str]:  # each answer's reply token, or a push's retry key
        return [
            call.body.get("replyToken") or call.headers.get("X-Line-Retry-Key", "")
            for call in line_api.calls
            if call.path.endswith(("/reply", "/push")) and call.status == 200
        ]

    async def answered(count: int) -> None:
        while len(answers()) < count:
            line_api.arrived.clear()
            if len(answers()) < count:
                await asyncio.wait_for(line_api.arrived.wait(), timeout=10)  # an hour's poll would not

    for n, (user, code) in enumerate(codes.items(), start=1):  # one at a time, each answered first
        assert (await bot.post_line(bot.line_event(user, f"綁定 {code}"))).status_code == 200
        await answered(n)
    together = await asyncio.gather(*(bot.post_line(bot.line_event(user, "時數")) for user in codes))
    assert [response.status_code for response in together] == [200] * len(codes)
    await answered(2 * len(codes))
    assert len(answers()) == len(set(answers())) == 2 * len(codes)  # each message answered once
