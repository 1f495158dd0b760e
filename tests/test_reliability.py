"""Nothing lost, nothing twice: redeliveries, retries, restarts, concurrent check-ins and several processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import sqlalchemy as sa
from sqlmodel import select

from handlers import router
from handlers.types import Incoming, ReplyTo
from storage import queue_store
from storage.db import UnitOfWork
from storage.models import InboxEvent, OutboxMessage, ServiceRecord
from tests.conftest import T0


async def linked(harness, user="Uvol1", name="王小明"):
    unit = harness.add_unit()
    volunteer_id, code = harness.add_volunteer(unit, name)
    await harness.line_says(user, f"綁定 {code}")
    return volunteer_id


def records(harness, volunteer_id) -> list[ServiceRecord]:
    with UnitOfWork(harness.vbot.engine)() as session:
        return list(
            session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id)).all()
        )


async def test_a_redelivered_event_is_processed_once(harness):
    volunteer_id = await linked(harness)
    event = harness.line_event("Uvol1", "簽到")
    assert (await harness.post_line(event)).status_code == 200
    redelivery = dict(event, deliveryContext={"isRedelivery": True})
    assert (await harness.post_line(redelivery)).status_code == 200
    await harness.drain(T0)
    assert len(records(harness, volunteer_id)) == 1
    assert sum("簽到了" in text for text in harness.line_api.delivered_texts()) == 1


async def test_two_check_ins_at_the_same_instant_open_one_session(harness):
    volunteer_id = await linked(harness)
    vbot = harness.vbot
    barrier = threading.Barrier(2)
    answers = []

    def check_in(n: int) -> None:
        incoming = Incoming("line", "Uvol1", "text", "簽到", T0, ReplyTo("Uvol1"))
        barrier.wait()  # both threads open their transaction at the same instant
        with UnitOfWork(vbot.engine)() as session:
            replies = router.handle(session, incoming, T0, vbot.rules, vbot.catalogs)
            session.commit()
        answers.append(replies[0].text)

    await asyncio.gather(asyncio.to_thread(check_in, 1), asyncio.to_thread(check_in, 2))
    assert [r.status for r in records(harness, volunteer_id)] == ["open"]
    assert sorted("已經" in a for a in answers) == [False, True]


async def test_check_out_after_a_restart_counts_the_session(harness_factory, line_api):
    first = await harness_factory()
    volunteer_id = await linked(first)
    await first.line_says("Uvol1", "簽到", at=T0)
    await first.vbot.stop()  # the process goes away between check-in and check-out

    second = await harness_factory()
    answer = await second.line_says("Uvol1", "簽退", at=T0 + dt.timedelta(hours=3))
    assert "3 小時" in answer[0]
    assert [(r.status, r.minutes) for r in records(second, volunteer_id)] == [("counted", 180)]


async def test_events_stored_before_a_crash_are_processed_at_the_next_start(harness_factory, line_api):
    first = await harness_factory()
    await linked(first)
    assert (await first.post_line(first.line_event("Uvol1", "時數"))).status_code == 200
    await first.vbot.stop()  # died after answering 200, before its worker got to the event

    line_api.arrived.clear()
    second = await harness_factory(workers=True)  # a normal start: the worker runs by itself
    await asyncio.wait_for(line_api.arrived.wait(), timeout=10)
    assert "您的服務時數" in line_api.delivered_texts()[-1]
    with UnitOfWork(second.vbot.engine)() as session:
        assert queue_store.pending_inbox_count(session) == 0


async def test_an_event_left_half_processed_is_taken_over_after_its_lease(harness_factory):
    first = await harness_factory()
    await linked(first)
    await first.post_line(first.line_event("Uvol1", "時數"))
    with UnitOfWork(first.vbot.engine)() as session:  # a worker claims the event, then its process is killed
        claimed = queue_store.claim_inbox_events(session, T0, dt.timedelta(seconds=60), 10)
        session.commit()
    assert len(claimed) == 1

    second = await harness_factory()
    assert await second.vbot.pipeline.process_inbox_once(T0 + dt.timedelta(seconds=30)) == 0  # still leased
    assert await second.vbot.pipeline.process_inbox_once(T0 + dt.timedelta(seconds=61)) == 1
    await second.vbot.pipeline.send_outbox_once(T0 + dt.timedelta(seconds=61))
    assert "您的服務時數" in second.line_api.delivered_texts()[-1]


async def test_a_reply_failing_500_twice_is_delivered_once(harness):
    await linked(harness)
    harness.line_api.fail_next("/reply", 500, 500)
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    pipeline = harness.vbot.pipeline
    await pipeline.process_inbox_once(T0)
    assert await pipeline.send_outbox_once(T0) == 0
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=1)) == 0  # backing off: nothing due yet
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=3)) == 0  # second 500
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(seconds=10)) == 1
    assert await pipeline.send_outbox_once(T0 + dt.timedelta(minutes=10)) == 0
    texts = harness.line_api.delivered_texts()
    assert sum("您的服務時數" in text for text in texts) == 1
    assert len(harness.line_api.sent("/reply")) == 4  # the link answer, then three tries of this one


async def test_a_push_retried_after_a_lost_answer_is_not_delivered_twice(harness):
    await linked(harness)
    harness.line_api.fail_next("/push", 599, 500, 0)  # accepted-but-lost, then a 500, then a time-out
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    pipeline = harness.vbot.pipeline
    late = T0 + dt.timedelta(minutes=5)  # the reply token is stale: push
    await pipeline.process_inbox_once(late)
    for minutes in range(6, 12):
        await pipeline.send_outbox_once(T0 + dt.timedelta(minutes=minutes))
    pushes = harness.line_api.sent("/push")
    assert len({call.headers["X-Line-Retry-Key"] for call in pushes}) == 1
    assert [call.status for call in pushes][-1] == 409  # LINE: already accepted → counted as sent
    assert sum("您的服務時數" in text for text in harness.line_api.delivered_texts()) == 1
    with UnitOfWork(harness.vbot.engine)() as session:
        assert session.exec(select(OutboxMessage.status).order_by(OutboxMessage.id.desc())).first() == "sent"


async def test_a_4xx_is_not_retried(harness):
    await linked(harness)
    harness.line_api.fail_next("/reply", 403)
    await harness.post_line(harness.line_event("Uvol1", "時數"))
    await harness.drain(T0)
    await harness.vbot.pipeline.send_outbox_once(T0 + dt.timedelta(hours=1))
    assert len(harness.line_api.sent("/reply")) == 2  # the link answer, and one try of this one
    with UnitOfWork(harness.vbot.engine)() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert len(failed) == 1 and "403" in failed[0].last_error


async def test_several_processes_take_each_event_and_message_once(harness_factory, line_api):
    first = await harness_factory()
    second = await harness_factory()
    unit = first.add_unit()
    events = []
    for n in range(30):
        volunteer_id, code = first.add_volunteer(unit, f"志工{n}")
        events.append(first.line_event(f"U{n}", f"綁定 {code}"))
    for start in range(0, 30, 10):
        assert (await first.post_line(*events[start : start + 10])).status_code == 200

    async def work(harness):
        done = 0
        for _ in range(10):
            done += await harness.vbot.pipeline.process_inbox_once(T0)
        return done

    processed = await asyncio.gather(work(first), work(second))
    assert sum(processed) == 30
    sent = await asyncio.gather(
        first.vbot.pipeline.send_outbox_once(T0), second.vbot.pipeline.send_outbox_once(T0)
    )
    sent2 = await asyncio.gather(
        first.vbot.pipeline.send_outbox_once(T0), second.vbot.pipeline.send_outbox_once(T0)
    )
    assert sum(sent) + sum(sent2) == 30
    assert len(line_api.sent("/reply")) == 30
    assert len({call.body["replyToken"] for call in line_api.sent("/reply")}) == 30
    with UnitOfWork(first.vbot.engine)() as session:
        assert (
            session.exec(
                select(sa.func.count()).select_from(InboxEvent).where(InboxEvent.processed_at.is_(None))
            ).one()
            == 0
        )


async def test_old_delivered_rows_are_pruned_but_a_late_redelivery_is_still_recognised(harness):
    from handlers.jobs.schedule import prune_delivered

    volunteer_id = await linked(harness)
    event = harness.line_event("Uvol1", "簽到")
    await harness.post_line(event)
    await harness.drain(T0)
    assert await harness.vbot.run_job(prune_delivered, T0 + dt.timedelta(days=6)) == 0
    await harness.post_line(dict(event, deliveryContext={"isRedelivery": True}))  # six days later
    await harness.drain(T0 + dt.timedelta(days=6))
    assert len(records(harness, volunteer_id)) == 1
    assert await harness.vbot.run_job(prune_delivered, T0 + dt.timedelta(days=40)) == 4  # 2 events, 2 answers
    with UnitOfWork(harness.vbot.engine)() as session:
        assert session.exec(select(sa.func.count()).select_from(OutboxMessage)).one() == 0


async def test_a_persons_messages_are_handled_in_order_across_processes(harness_factory):
    first = await harness_factory()
    second = await harness_factory()
    volunteer_id = await linked(first)
    await first.post_line(first.line_event("Uvol1", "簽到", at=T0))
    await first.post_line(first.line_event("Uvol1", "簽退", at=T0 + dt.timedelta(hours=2)))
    later = T0 + dt.timedelta(hours=2, seconds=10)
    with UnitOfWork(first.vbot.engine)() as session:  # the first process takes the check-in, and is slow
        slow = queue_store.claim_inbox_events(session, later, dt.timedelta(seconds=60), 1)
        session.commit()
    assert len(slow) == 1

    assert await second.vbot.pipeline.process_inbox_once(later) == 0  # the check-out waits for its check-in
    assert records(second, volunteer_id) == []
    assert await second.vbot.pipeline.process_inbox_once(later + dt.timedelta(seconds=61)) == 2
    assert [(r.status, r.minutes) for r in records(second, volunteer_id)] == [("counted", 120)]
