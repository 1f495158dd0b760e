"""Webhook answers keep pace with the workers (bot/backlog_gate.py): while more than a few stored events wait for a
worker, a webhook's answer waits for the next claim, so a sender that waits for each answer cannot pile up a
backlog of seconds. A claim is heard from the worker in the same process, or from another process by
PostgreSQL's NOTIFY; with no worker claiming, an answer waits at most the hold, once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot import backlog_gate
from bot.channels.base import StoredEvent
from storage import queue_store
from storage.db import UnitOfWork
from tests.conftest import T0
from tests.test_metrics import TOKEN, scrape

LEASE = dt.timedelta(seconds=60)


async def until(condition, what: str) -> None:
    """Waits (up to 10 s) for something another task or process does."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still not {what} after 10 s")


async def paced_webhooks(harness_factory, database_url, hold: float, **settings):
    """A webhook process as `vbot serve --no-workers` runs it: its gate in place, hearing claims by LISTEN
    on PostgreSQL; on SQLite as `vbot serve`, whose worker would tell it (here no worker runs unless the test
    works the inbox off)."""
    web = await harness_factory(**settings)
    gate = web.vbot.pipeline.gate
    gate.limit, gate.hold = backlog_gate.WAITING_LIMIT, hold
    if database_url.startswith("postgresql"):
        await asyncio.wait_for(web.vbot.pipeline.listening.wait(), timeout=10)
    else:
        gate.hears_claims = True
    return web, gate


def linking(web, count: int) -> list[dict]:
    unit = web.add_unit()
    return [
        web.line_event(f"Upace{n}", f"綁定 {web.add_volunteer(unit, f'志工{n}')[1]}") for n in range(count)
    ]


async def test_answers_held_while_events_wait_go_when_a_worker_claims_them(
    harness_factory, database_url, line_api
):
    web, gate = await paced_webhooks(harness_factory, database_url, hold=60)  # no hold runs out here
    events = linking(web, 6)
    posts = [asyncio.create_task(web.post_line(event)) for event in events]  # six volunteers at once
    await until(lambda: gate.holding > 0, "holding an answer")
    await until(lambda: sum(post.done() for post in posts) + gate.holding == len(posts), "all stored")
    held = gate.holding
    assert (
        held >= len(events) - backlog_gate.WAITING_LIMIT - 1
    )  # those stored beyond the limit (a batch or two)
    assert not any(post.done() for post in posts[-1:])  # the last of them, at least, waits for a worker
    assert line_api.delivered_texts() == []

    if database_url.startswith("postgresql"):  # `vbot work` in another process; its claim is heard by LISTEN
        await harness_factory(workers=True)
    else:  # the worker of the same process
        await web.vbot.pipeline.process_inbox_once(T0)
    responses = await asyncio.wait_for(asyncio.gather(*posts), timeout=10)
    assert [response.status_code for response in responses] == [200] * len(events)
    assert gate.held == held and not gate.behind
    if not database_url.startswith("postgresql"):
        await web.drain(T0)
    await until(lambda: len(line_api.delivered_texts()) == len(events), "answered")


async def test_with_no_worker_claiming_an_answer_waits_the_hold_once(
    harness_factory, database_url, line_api, caplog
):
    web, gate = await paced_webhooks(harness_factory, database_url, hold=0.2, metrics_token=TOKEN)
    events = linking(web, 6)
    with caplog.at_level(logging.WARNING, logger="bot.backlog_gate"):
        responses = await asyncio.wait_for(
            asyncio.gather(*(web.post_line(event) for event in events[:5])), timeout=10
        )
        assert [response.status_code for response in responses] == [200] * 5  # stored; the hold ran out
        assert gate.behind and gate.held >= 1
        held = gate.held
        assert (await web.post_line(events[5])).status_code == 200
        assert gate.held == held  # not held again while no worker claims anything
    warnings = [record.getMessage() for record in caplog.records if record.name == "bot.backlog_gate"]
    assert len(warnings) == 1 and "no worker claimed any within 0.2 s" in warnings[0]
    figures = await scrape(web)  # what the operator's monitoring sees
    assert figures[("vbot_webhook_answers_held_total", ())] == held >= 1
    assert figures[("vbot_webhook_holds_ran_out_total", ())] == held

    await web.drain(T0)  # a worker claims again: answers keep pace again
    assert not gate.behind
    assert len(line_api.delivered_texts()) == len(events)  # nothing lost or doubled meanwhile


async def test_a_lone_webhook_is_not_held(harness_factory, database_url, line_api):
    web, gate = await paced_webhooks(harness_factory, database_url, hold=60)
    for event in linking(web, backlog_gate.WAITING_LIMIT):  # each left waiting, none worked off
        assert (await asyncio.wait_for(web.post_line(event), timeout=10)).status_code == 200
    assert gate.held == 0


async def test_a_claim_heard_while_the_events_were_stored_lets_the_answer_go():
    """That claim may have taken them, and no other may come soon: the answer must not wait for one."""
    gate = backlog_gate.BacklogGate(hold=60)
    gate.hears_claims = True
    claims_before = gate.claims
    gate.claimed()
    await asyncio.wait_for(gate.wait_for_workers(backlog_gate.WAITING_LIMIT + 10, claims_before), timeout=5)
    assert gate.held == 0


@pytest.fixture
def inbox(harness):
    return harness.vbot.pipeline, UnitOfWork(harness.vbot.engine)


async def test_the_events_waiting_are_those_no_worker_holds(inbox):
    pipeline, uow = inbox
    events = [StoredEvent(f"wait-{n}", f"Uwait{n}", "{}") for n in range(4)]
    assert await pipeline.store("line", events, T0) == 4

    def waiting(at: dt.datetime) -> int:
        with uow() as session:
            return queue_store.waiting_inbox_count(session, at)

    with uow() as session:
        first, second = queue_store.claim_inbox_events(session, T0, LEASE, 2)
        session.commit()
    assert waiting(T0) == 2  # held by a worker: not waiting
    with uow() as session:
        queue_store.release_inbox_event(session, first, T0 + dt.timedelta(hours=1), "boom")
        session.commit()
    assert waiting(T0 + LEASE / 2) == 2  # the failed one waits for its retry time, not for a worker
    assert waiting(T0 + LEASE + dt.timedelta(seconds=1)) == 3  # the worker's lease ran out: it waits again
    assert waiting(T0 + dt.timedelta(hours=2)) == 4
    with uow() as session:
        assert queue_store.finish_inbox_event(session, second, T0)
        session.commit()
    assert waiting(T0 + dt.timedelta(hours=2)) == 3
    # Stored again (a redelivery) adds nothing.
    assert await pipeline.store("line", events[:1], T0) == 2
