"""The record is consistent by construction: for one person, counted visits never overlap and a check-in never
opens before their latest check-out, whatever order LINE delivers in and however many processes work at
once. An event that arrives after a later one goes to the coordinators' review with both times, and the
volunteer is told. On SQLite and PostgreSQL, through the real pipeline and LINE webhooks."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import random
import subprocess
import sys
import threading
import time

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from handlers import router
from handlers.people import admin
from handlers.types import Incoming, ReplyTo
from storage.db import UnitOfWork
from storage.models import InboxEvent, ServiceRecord
from tests.conftest import LINE_SECRET, LINE_TOKEN, T0, TELEGRAM_SECRET, TELEGRAM_TOKEN

MINUTE = dt.timedelta(minutes=1)
LATE_WORDS = "才送達"  # zh_TW: "… reached me only after …"
PEOPLE = itertools.count(1)


async def person(harness, unit: int | None = None) -> tuple[int, int, str]:
    """A linked volunteer of a new unit (or of `unit`): (unit, volunteer id, LINE user id)."""
    unit = unit or harness.add_unit(name=f"單位{next(PEOPLE)}")
    n = next(PEOPLE)
    volunteer_id, code = harness.add_volunteer(unit, f"志工{n}")
    user = f"Urecord{n}"
    await harness.line_says(
        user, f"綁定 {code}", at=T0 - dt.timedelta(hours=1), now=T0 - dt.timedelta(hours=1)
    )
    return unit, volunteer_id, user


def records(engine, volunteer_id: int) -> list[ServiceRecord]:
    with UnitOfWork(engine)() as session:
        return list(
            session.exec(
                select(ServiceRecord)
                .where(ServiceRecord.volunteer_id == volunteer_id)
                .order_by(ServiceRecord.id)
            ).all()
        )


def assert_consistent(rows: list[ServiceRecord]) -> None:
    """No two counted visits overlap, no counted visit holds more minutes than it spans, and the open visit
    (if any) began at or after every closed visit's end."""
    counted = sorted((r for r in rows if r.status == "counted"), key=lambda r: r.check_in)
    for before, after in itertools.pairwise(counted):
        assert before.check_out <= after.check_in, f"overlap: {before} / {after}"
    for r in counted:
        assert 0 <= r.minutes <= (r.check_out - r.check_in) // MINUTE
    closed = [r.check_out for r in rows if r.status in ("counted", "review")]
    for r in rows:
        if r.status == "open" and closed:
            assert r.check_in >= max(closed)


def counted_minutes(rows: list[ServiceRecord]) -> int:
    return sum(r.minutes for r in rows if r.status == "counted")


# ---- (1) the red-team's scenario ------------------------------------------------------------------


async def test_a_check_in_redelivered_after_a_later_check_out_goes_to_review_with_both_times(harness):
    unit, volunteer_id, user = await person(harness)
    _boss, boss_code = harness.add_volunteer(unit, "陳組長", role="coordinator")
    await harness.line_says("Uboss", f"綁定 {boss_code}", at=T0 - MINUTE, now=T0 - MINUTE)
    # 09:00: the volunteer taps 簽到, and the bot answers 503 (a database hiccup): LINE will redeliver it.
    first = harness.line_event(user, "簽到", at=T0)
    # No answer came, so the volunteer taps again at 09:05, and checks out at 13:00.
    assert "09:05" in (await harness.line_says(user, "簽到", at=T0 + 5 * MINUTE))[0]
    out = await harness.line_says(user, "簽退", at=T0 + 240 * MINUTE)
    assert "3.9" in out[0]  # 235 minutes
    # The 09:00 check-in now arrives, redelivered.
    harness.now = T0 + 250 * MINUTE
    before = len(harness.line_api.delivered_texts())
    redelivery = dict(first, deliveryContext={"isRedelivery": True})
    assert (await harness.post_line(redelivery)).status_code == 200
    await harness.drain(harness.now)
    told = harness.line_api.delivered_texts()[before:]
    assert len(told) == 1 and LATE_WORDS in told[0] and "09:00" in told[0] and "13:00" in told[0]
    assert "審核" in told[0]

    rows = records(harness.vbot.engine, volunteer_id)
    assert_consistent(rows)
    assert counted_minutes(rows) == 235  # nothing counted twice (it was 504 for 271 before)
    [late] = [r for r in rows if r.status == "review"]
    assert (late.check_in, late.late_after) == (T0, T0 + 240 * MINUTE)  # both times
    assert (late.check_out, late.minutes) == (T0 + 5 * MINUTE, 5)  # only the minutes nobody counted
    assert [r.status for r in rows if r.status == "open"] == []  # no session opened in the past

    # The same redelivery once more: nothing changes, nobody is told twice.
    assert (await harness.post_line(redelivery)).status_code == 200
    await harness.drain(harness.now)
    assert len(harness.line_api.delivered_texts()) == before + 1
    assert len(records(harness.vbot.engine, volunteer_id)) == len(rows)

    # The coordinator sees both times in 審核 and approves: the counted minutes equal the presence.
    listing = await harness.line_says("Uboss", "審核", at=harness.now, now=harness.now)
    assert f"#{late.id}" in listing[0] and "09:00" in listing[0] and "13:00" in listing[0]
    assert "晚到" in listing[0]
    await harness.line_says("Uboss", f"核准 #{late.id}", at=harness.now, now=harness.now)
    rows = records(harness.vbot.engine, volunteer_id)
    assert_consistent(rows)
    assert counted_minutes(rows) == 240  # 09:00–13:00, each minute once


async def test_a_check_out_older_than_the_open_visit_goes_to_review_and_leaves_the_visit_open(harness):
    _unit, volunteer_id, user = await person(harness)
    lost_out = harness.line_event(user, "簽退", at=T0 + 60 * MINUTE)  # 10:00, answered 503, redelivered later
    lost_in = harness.line_event(user, "簽到", at=T0)  # 09:00, the same
    await harness.line_says(user, "簽到", at=T0 + 120 * MINUTE)  # 11:00: a new visit
    harness.now = T0 + 130 * MINUTE
    before = len(harness.line_api.delivered_texts())
    await harness.post_line(dict(lost_out, deliveryContext={"isRedelivery": True}))
    await harness.drain(harness.now)
    told = harness.line_api.delivered_texts()[before:]
    assert LATE_WORDS in told[0] and "10:00" in told[0] and "11:00" in told[0]
    rows = records(harness.vbot.engine, volunteer_id)
    assert [(r.status, r.check_in) for r in rows] == [
        ("open", T0 + 120 * MINUTE),
        ("review", T0 + 60 * MINUTE),
    ]
    assert rows[1].late_after == T0 + 120 * MINUTE
    # The 09:00 check-in arrives too: before the late check-out's time, so it is late as well.
    await harness.post_line(dict(lost_in, deliveryContext={"isRedelivery": True}))
    await harness.drain(harness.now)
    rows = records(harness.vbot.engine, volunteer_id)
    assert [r.status for r in rows] == ["open", "review", "review"]
    assert (rows[2].check_in, rows[2].check_out) == (T0, T0 + 60 * MINUTE)  # 09:00 until the 10:00 check-out
    await harness.line_says(user, "簽退", at=T0 + 180 * MINUTE, now=T0 + 180 * MINUTE)
    rows = records(harness.vbot.engine, volunteer_id)
    assert_consistent(rows)
    assert counted_minutes(rows) == 60


async def test_a_check_in_redelivered_while_its_visit_is_open_moves_the_start_back(harness):
    _unit, volunteer_id, user = await person(harness)
    first = harness.line_event(user, "簽到", at=T0)
    await harness.line_says(user, "簽到", at=T0 + 5 * MINUTE)
    harness.now = T0 + 10 * MINUTE
    before = len(harness.line_api.delivered_texts())
    await harness.post_line(dict(first, deliveryContext={"isRedelivery": True}))
    await harness.drain(harness.now)
    assert "09:00" in harness.line_api.delivered_texts()[before]
    await harness.line_says(user, "簽退", at=T0 + 60 * MINUTE)
    rows = records(harness.vbot.engine, volunteer_id)
    assert [(r.status, r.minutes) for r in rows] == [("counted", 60)]


async def test_a_check_out_arriving_after_a_later_check_in_closes_the_visit_and_checks_in_again(harness):
    _unit, volunteer_id, user = await person(harness)
    await harness.line_says(user, "簽到", at=T0)  # 09:00
    lost_out = harness.line_event(
        user, "簽退", at=T0 + 180 * MINUTE
    )  # 12:00, answered 503, redelivered later
    again = await harness.line_says(
        user, "簽到", at=T0 + 240 * MINUTE
    )  # 13:00: "already checked in since 09:00"
    assert "09:00" in again[0]
    harness.now = T0 + 250 * MINUTE
    before = len(harness.line_api.delivered_texts())
    await harness.post_line(dict(lost_out, deliveryContext={"isRedelivery": True}))
    await harness.drain(harness.now)
    told = harness.line_api.delivered_texts()[before:]
    assert "12:00" in told[0] and "13:00" in told[0]  # checked out at 12:00, in again since 13:00
    await harness.line_says(user, "簽退", at=T0 + 480 * MINUTE)  # 17:00
    rows = records(harness.vbot.engine, volunteer_id)
    assert_consistent(rows)
    assert [(r.status, r.minutes) for r in rows] == [("counted", 180), ("counted", 240)]  # nothing lost


async def test_a_check_out_and_a_later_check_in_decided_at_once_lose_nothing(harness):
    """The same person on LINE and Telegram: their messages are not ordered against each other, so two
    workers may decide for them at the same instant. One decision per person: whichever goes first, the
    12:00 check-out closes the visit and the 12:30 check-in opens the next one."""
    _unit, volunteer_id, user = await person(harness)
    with UnitOfWork(harness.vbot.engine)() as session:
        code = admin.new_invite(session, volunteer_id, T0 + dt.timedelta(days=1)).code
        session.commit()
    await harness.telegram_says(4141, f"/start {code}", at=T0 - MINUTE, now=T0 - MINUTE)
    await harness.line_says(user, "簽到", at=T0)
    vbot, now = harness.vbot, T0 + 240 * MINUTE
    barrier = threading.Barrier(2)

    def decide(incoming: Incoming) -> None:
        barrier.wait()  # both transactions begin at the same instant
        with UnitOfWork(vbot.engine)() as session:
            router.handle(session, incoming, now, vbot.rules, vbot.catalogs)
            session.commit()

    out = Incoming("line", user, "text", "簽退", T0 + 180 * MINUTE, ReplyTo(user))
    back = Incoming("telegram", "4141", "text", "簽到", T0 + 210 * MINUTE, ReplyTo("4141"))
    await asyncio.gather(asyncio.to_thread(decide, out), asyncio.to_thread(decide, back))
    rows = records(vbot.engine, volunteer_id)
    assert_consistent(rows)
    assert [(r.status, r.check_in) for r in rows] == [("counted", T0), ("open", T0 + 210 * MINUTE)]


# ---- (2) property: random orders, redeliveries and retries ----------------------------------------


@st.composite
def deliveries(draw):
    """One person's true day (visits with check-ins and check-outs, a few stray taps), delivered by LINE in a
    random order, some events delivered again (a redelivery or a retried POST: the same webhookEventId)."""
    visits = draw(st.integers(1, 4))
    gaps = draw(st.lists(st.integers(1, 80), min_size=2 * visits, max_size=2 * visits))
    moments = list(itertools.accumulate(gaps))
    events = [("簽到" if n % 2 == 0 else "簽退", minute) for n, minute in enumerate(moments)]
    strays = draw(
        st.lists(st.tuples(st.sampled_from(["簽到", "簽退"]), st.integers(0, moments[-1])), max_size=3)
    )
    events += strays
    order = draw(st.permutations(range(len(events))))
    plan = [(index, False) for index in order]
    for index in draw(st.lists(st.integers(0, len(events) - 1), max_size=4)):
        after = plan.index((index, False))
        plan.insert(draw(st.integers(after + 1, len(plan))), (index, True))
    return events, plan


def state(rows: list[ServiceRecord]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(the open visit's start, the latest end of a counted or reviewed visit)."""
    opened = next((r.check_in for r in rows if r.status == "open"), None)
    ends = [r.check_out for r in rows if r.status in ("counted", "review")]
    return opened, max(ends, default=None)


async def play(harness, events, plan) -> None:
    _unit, volunteer_id, user = await person(harness)
    engine = harness.vbot.engine
    stamped = [harness.line_event(user, text, at=T0 + minute * MINUTE) for text, minute in events]
    harness.now = T0 + (max(m for _t, m in events) + 1) * MINUTE  # a backlog, worked after the fact
    for index, again in plan:
        text, minute = events[index]
        at = T0 + minute * MINUTE
        rows = records(engine, volunteer_id)
        opened, latest = state(rows)
        before = len(harness.line_api.delivered_texts())
        body = dict(stamped[index], deliveryContext={"isRedelivery": again})
        assert (await harness.post_line(body)).status_code == 200
        await harness.drain(harness.now)
        told = harness.line_api.delivered_texts()[before:]
        after = records(engine, volunteer_id)
        assert_consistent(after)
        added_reviews = [r for r in after[len(rows) :] if r.status == "review" and r.late_after]
        waiting = next((r.late_after for r in rows if r.status == "open"), None)  # a check-in while open
        if again:  # the same event once more: nothing changes, no answer
            assert told == [] and [(r.id, r.status) for r in after] == [(r.id, r.status) for r in rows]
            continue
        assert len(told) == 1
        if text == "簽到":  # late: from before the latest check-out
            later = latest if latest is not None and at < latest else None
        elif opened is not None:  # late: from before the open visit began
            later = opened if at < opened else None
        else:  # late: from before the latest check-out
            later = latest if latest is not None and at < latest else None
        if (
            later is not None
        ):  # to review with both times, the volunteer told; nothing counted, nothing opened
            assert [(r.check_in, r.late_after) for r in added_reviews] == [(at, later)]
            assert LATE_WORDS in told[0]
            assert counted_minutes(after) == counted_minutes(rows)
        else:
            assert added_reviews == [] and LATE_WORDS not in told[0]
        if text == "簽退" and later is None and waiting is not None and waiting > at:
            # the check-out came after a later check-in: that one opens the next visit, as it was meant to
            assert [r.check_in for r in after if r.status == "open"] == [waiting]


async def run_property(harness, examples: int) -> None:
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # no .hypothesis/ in the repo
        suppress_health_check=list(HealthCheck),
    )
    @given(deliveries())
    def check(case):
        events, plan = case
        # The harness lives on the test's event loop: run each example there, from this thread.
        asyncio.run_coroutine_threadsafe(play(harness, events, plan), loop).result(timeout=300)

    await asyncio.to_thread(check)


async def test_any_delivery_order_keeps_one_persons_record_consistent(harness):
    await run_property(harness, int(os.environ.get("VBOT_RECORD_EXAMPLES", "25")))


# ---- (3) two worker processes on one database --------------------------------------------------


def worker_env(database_url: str, line_api, telegram_api) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VBOT_", "LINE_", "TELEGRAM_"))}
    return env | {
        "VBOT_DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "LINE_API_BASE_URL": line_api.url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }


def answers(line_api, telegram_api) -> int:
    return len(line_api.sent("/reply")) + len(line_api.sent("/push")) + len(telegram_api.sent("/sendMessage"))


def pending(engine) -> int:
    with UnitOfWork(engine)() as session:
        return session.exec(
            select(sa.func.count()).select_from(InboxEvent).where(InboxEvent.processed_at.is_(None))
        ).one()


async def test_two_worker_processes_on_a_shuffled_backlog_never_overlap_counted_visits(
    harness_factory, database_url, line_api, telegram_api
):
    harness = await harness_factory()  # webhooks only: the two `vbot work` processes do the work
    unit, volunteer_id, user = await person(harness)
    with UnitOfWork(harness.vbot.engine)() as session:  # the same person on Telegram too: their LINE and
        code = admin.new_invite(session, volunteer_id, T0 + dt.timedelta(days=1)).code  # Telegram messages
        session.commit()  # are not ordered against each other, so both processes decide for them at once
    await harness.telegram_says(
        4040, f"/start {code}", at=T0 - dt.timedelta(hours=1), now=T0 - dt.timedelta(hours=1)
    )
    harness.now = dt.datetime.now(dt.UTC)
    # 40 alternating check-ins and check-outs a minute apart, in the last hour by the real clock (the
    # workers use it), from either app, arriving shuffled while both processes work.
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=50)
    shuffle = random.Random(int(os.environ.get("VBOT_RECORD_SEED", "13")))
    events = []
    for n in range(40):
        text, at = "簽到" if n % 2 == 0 else "簽退", start + n * MINUTE
        on_line = shuffle.random() < 0.5
        events.append(
            ("line", harness.line_event(user, text, at=at))
            if on_line
            else ("telegram", harness.telegram_update(4040, text, at=at))
        )
    shuffle.shuffle(events)
    env = worker_env(database_url, line_api, telegram_api)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "work",
            "--no-scheduler",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 120
        before = answers(line_api, telegram_api)
        await harness.post_line(
            harness.line_event("Unobody1", "你好"), harness.line_event("Unobody2", "你好")
        )
        while answers(line_api, telegram_api) < before + 2:  # noqa: ASYNC110  (the workers are up)
            assert time.monotonic() < deadline, "the workers did not start"
            await asyncio.sleep(0.1)
        before = answers(line_api, telegram_api)
        for platform, event in events:
            post = harness.post_line(event) if platform == "line" else harness.post_telegram(event)
            assert (await post).status_code == 200

        def worked() -> bool:
            return not pending(harness.vbot.engine) and answers(line_api, telegram_api) - before >= 40

        while not worked():  # noqa: ASYNC110  (other processes: polled, nothing is timed)
            assert time.monotonic() < deadline, "the workers did not work through the backlog"
            await asyncio.sleep(0.2)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await worker.wait()
    assert pending(harness.vbot.engine) == 0
    with UnitOfWork(harness.vbot.engine)() as session:
        assert session.exec(select(InboxEvent.error).where(InboxEvent.error.is_not(None))).all() == []
    rows = records(harness.vbot.engine, volunteer_id)
    assert_consistent(rows)
    counted = sum(r.minutes for r in rows if r.status == "counted")
    assert counted <= 39  # never more than the 39 minutes between the first check-in and the last check-out
