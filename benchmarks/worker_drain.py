"""How fast one worker process works off a backlog of check-ins and check-outs, beside the database's floor.

    python -m benchmarks.worker_drain [--database sqlite|postgresql|both] [--events 2000] [--volunteers 500]
                                      [--runs 3] [--history 0]

The project: `--events` LINE events (all volunteers check in, then all check out, and so on) are stored in the
inbox, then the real pipeline (bot/pipeline.py, the LINE channel against the stand-in of tests/standins.py in
a child process) works them off in this process: the inbox worker first, then the sender, each timed alone.
Measured with the worker's claim batch at 1 (one transaction an event) and at the pipeline's batch (one
transaction a batch). At the pipeline's batch also "together": in a fresh database, the same backlog worked
off as `vbot work` does it, the pipeline's own loops (inbox worker, LISTEN on PostgreSQL, sender) running at
once in this process, timed from their start until every answer is delivered (the end found by waiting for
the inbox worker to be idle, then looking at the outbox every 50 ms).

The floor: the same durable work with the plain driver (sqlite3 / psycopg), same schema and indexes, no
SQLAlchemy, no handlers: claim the events, read the person's account, open or close their visit, write the
answer's outbox row, mark the event done; one transaction an event, and 50 events a transaction.

`--history N` gives every volunteer N counted visits of past days first (one a day, two hours, ending before the
backlog; trained before the first), as a city's long-serving volunteers have: what a check-in and a check-out
read grows with them unless the statements read only what they need. Both the project and the floor get them;
in the project each volunteer then checks in and out once more before the measure (not measured), as on any
day after their first with the bot, so that a check-out finds what the one before kept.

Figures (medians of `--runs`): events/s by wall clock and ms of CPU an event (this process; the stable one on a
shared machine); the sender's messages/s and CPU; "sender incl." = events / (worker + sender time); project ÷
floor (CPU an event, and rate); "together" events/s and the whole process's CPU an event. Every run checks
that every event was done once and answered once (one answer sent an event, none left, none failed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from benchmarks._common import database, kinds, median
from benchmarks.webhook_load import LINE_SECRET, LINE_TOKEN, Child, line_text_event, make_roster

FLOOR_BATCH = 50
RUNS = itertools.count(1)  # numbers the runs against the stand-in (see line_event)
POLL_SECONDS = 0.05  # how often the run of the loops together looks whether every answer is out


@dataclass
class Drain:
    events: int
    seconds: float
    cpu: float
    send_seconds: float = 0.0
    send_cpu: float = 0.0
    messages: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.events * 1000

    @property
    def with_sender(self) -> float:
        return self.events / (self.seconds + self.send_seconds)

    @property
    def send_cpu_ms(self) -> float:
        return self.send_cpu / max(self.messages, 1) * 1000


def line_event(user: str, text: str, n: int, at: dt.datetime, run: int = 0) -> tuple[str, str, str]:
    """(event key, sender, payload) of one LINE text message. Its reply token names the run: the stand-in,
    which lives through all runs, refuses a token used before (as LINE does), and every answer would then be
    a refused reply and a push, twice the calls."""
    event = line_text_event(
        user,
        text,
        n,
        int(at.timestamp() * 1000),
        f"01DRAIN{os.getpid():08d}{n:012d}",
        f"drain-reply-{os.getpid()}-{run}-{n}",
    )
    return event["webhookEventId"], user, json.dumps(event, ensure_ascii=False)


def backlog_start(users: list[str], events: int) -> dt.datetime:
    """When the backlog's first round was sent: its last round half an hour ago. Within the day for which a
    LINE message's own timestamp is trusted (handlers/service/counting.py): a message older than that is
    recorded at the time it is handled, which would send the next check-out to review and change the work
    measured (it did, for the first 64 people of a backlog that began a day ago)."""
    rounds = -(-events // len(users))
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30 * (rounds + 1))


HISTORY_MARK = "history"  # recorded_by of the visits --history gives


def give_history(url: str, visits: int, before: dt.datetime) -> None:
    """Every volunteer gets `visits` counted two-hour visits of past days, one a day, the last one ending a day
    before `before`, and was trained the day before the first. Written in bulk (the service-total triggers fire as for any visit); PostgreSQL then
    gathers the table's statistics, as its autovacuum does once a table has grown."""
    from storage.db import make_engine
    from storage.models import ServiceRecord

    if visits <= 0:
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        people = connection.execute(sa.text("SELECT volunteer_id, unit_id FROM membership")).all()
        for volunteer_id, unit_id in people:
            rows = []
            for day in range(visits):
                start = before - dt.timedelta(days=visits - day, hours=3)
                rows.append(
                    {
                        "volunteer_id": volunteer_id,
                        "unit_id": unit_id,
                        "kind": "service",
                        "source": "chat",
                        "status": "counted",
                        "check_in": start,
                        "check_out": start + dt.timedelta(hours=2),
                        "minutes": 120,
                        "service_date": start.date(),
                        "recorded_by": HISTORY_MARK,
                        "created_at": start,
                        "walk_up": False,
                    }
                )
            connection.execute(sa.insert(ServiceRecord), rows)
        # Trained before their first visit (both trainings, as a roster says): their hours and years count, so
        # a check-out finds the awards they reached, as it does for a city's long-serving volunteers.
        connection.execute(
            sa.text("UPDATE volunteer SET trained_on = :day"),
            {"day": (before - dt.timedelta(days=visits + 1)).date()},
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def backlog(
    users: list[str], events: int, start: dt.datetime, first: int, run: int = 0
) -> list[tuple[str, str, str]]:
    """All check in, then all check out, …; a second apart per round so each visit counts minutes."""
    rows = []
    for i in range(events):
        rnd = i // len(users)
        at = start + dt.timedelta(minutes=30 * rnd, milliseconds=i % len(users))
        rows.append(line_event(users[i % len(users)], "簽到" if rnd % 2 == 0 else "簽退", first + i, at, run))
    return rows


# --- the project ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def linked_app(url: str, standin_url: str, args) -> AsyncIterator[tuple[Any, Any, list[str], int]]:
    """The app on a fresh database, its loops not running, every volunteer linked and the answers sent (this
    warms up everything: connections, caches, the profile lookups). Yields the app, its pipeline, the users and
    the run's number."""
    from bot.app import build_app
    from bot.config import Settings

    users = [f"Udrain{v:05d}" for v in range(args.volunteers)]
    codes = await asyncio.to_thread(make_roster, url, args.volunteers)
    await asyncio.to_thread(give_history, url, args.history, backlog_start(users, args.events))
    settings = Settings(
        database_url=url,
        line_channel_secret=LINE_SECRET,
        line_channel_access_token=LINE_TOKEN,
        line_api_base_url=standin_url,
        api_timeout_seconds=10,
    )
    vbot = build_app(settings, workers=False, scheduler=False)
    vbot.migrate()
    await vbot.start()
    run = next(RUNS)
    try:
        links = [
            line_event(u, f"綁定 {c}", 10**9 + i, dt.datetime.now(dt.UTC), run)
            for i, (u, c) in enumerate(zip(users, codes, strict=True))
        ]
        await store(vbot.pipeline, links)
        await drain_inbox(vbot)
        await drain_outbox(vbot.pipeline)
        if args.history:
            # With the bot for a while already: each checked in and out once before (not measured), as on any
            # day after their first, so a check-out finds what the last one kept (their award headroom).
            start = backlog_start(users, args.events) - dt.timedelta(hours=2)
            await store(vbot.pipeline, backlog(users, 2 * len(users), start, 2 * 10**9, run))
            await drain_inbox(vbot)
            await drain_outbox(vbot.pipeline)
        yield vbot, vbot.pipeline, users, run
    finally:
        await vbot.stop()


async def store(pipeline, rows) -> None:
    now = dt.datetime.now(dt.UTC)
    for chunk in range(0, len(rows), 500):
        await pipeline.store("line", list(rows[chunk : chunk + 500]), now)


async def drain_inbox(vbot) -> None:
    while await vbot.pipeline.process_inbox_once() or await asyncio.to_thread(pending, vbot):
        pass


async def drain_outbox(pipeline) -> int:
    sent = 0
    while n := await pipeline.send_outbox_once():
        sent += n
    return sent


async def project_run(kind: str, url: str, standin_url: str, args, batch: int) -> Drain:
    """The inbox worker works the backlog off, then the sender delivers the answers, each measured alone."""
    from bot.pipeline import BATCH

    async with linked_app(url, standin_url, args) as (vbot, pipeline, users, run):
        await store(pipeline, backlog(users, args.events, backlog_start(users, args.events), 0, run))
        sent_before, pushes_before = answers(vbot)[0], await pushes(standin_url)
        pipeline.batch = batch
        wall, cpu = time.perf_counter(), time.process_time()
        await drain_inbox(vbot)
        drain = Drain(args.events, time.perf_counter() - wall, time.process_time() - cpu)
        pipeline.batch = BATCH
        wall, cpu = time.perf_counter(), time.process_time()
        drain.messages = await drain_outbox(pipeline)
        drain.send_seconds, drain.send_cpu = time.perf_counter() - wall, time.process_time() - cpu
        check(kind, vbot, drain.messages, args.events, answers(vbot)[0] - sent_before)
        await check_replies(kind, standin_url, pushes_before)
        return drain


async def together_run(kind: str, url: str, standin_url: str, args) -> Drain:
    """The backlog worked off as `vbot work` does it: the pipeline's own loops (the inbox worker, LISTEN on
    PostgreSQL, the sender) running together in this process, timed from their start until every answer is
    delivered. Waits for the inbox worker to say it is idle, then looks at the outbox every POLL_SECONDS."""
    async with linked_app(url, standin_url, args) as (vbot, pipeline, users, run):
        await store(pipeline, backlog(users, args.events, backlog_start(users, args.events), 0, run))
        sent_before, pushes_before = answers(vbot)[0], await pushes(standin_url)
        wall, cpu = time.perf_counter(), time.process_time()
        tasks = [
            asyncio.create_task(pipeline.run_inbox(), name="inbox"),
            asyncio.create_task(pipeline.listen_for_events(), name="listen"),
            asyncio.create_task(pipeline.run_outbox(), name="outbox"),
        ]
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                if pipeline.inbox_idle.is_set() and not await asyncio.to_thread(answers_pending, vbot):
                    break
            drain = Drain(args.events, time.perf_counter() - wall, time.process_time() - cpu)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        drain.messages = answers(vbot)[0] - sent_before
        check(kind, vbot, drain.messages, args.events, drain.messages)
        await check_replies(kind, standin_url, pushes_before)
        return drain


async def pushes(standin_url: str) -> int:
    """The pushes the stand-in took so far."""
    async with aiohttp.ClientSession() as session, session.get(f"{standin_url}/_stats") as response:
        return (await response.json())["accepted"].get("push", 0)


async def check_replies(kind: str, standin_url: str, pushes_before: int) -> None:
    """Every answer went as a reply (one call): none was refused and pushed instead."""
    if (pushed := await pushes(standin_url) - pushes_before) != 0:
        raise RuntimeError(f"{kind}: {pushed} answers pushed instead of replied")


def answers(vbot) -> tuple[int, int]:
    """(sent, not) answers in the outbox."""
    with vbot.pipeline.uow() as session:
        rows = session.execute(
            sa.text("SELECT status = 'sent', count(*) FROM outboxmessage GROUP BY status = 'sent'")
        ).all()
    counts = {bool(sent): n for sent, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


def answers_pending(vbot) -> bool:
    """An event not done yet, or an answer not sent yet."""
    with vbot.pipeline.uow() as session:
        unsent = session.execute(
            sa.text("SELECT 1 FROM outboxmessage WHERE status = 'pending' LIMIT 1")
        ).first()
    return unsent is not None or bool(pending(vbot))


def check(kind: str, vbot, sent: int, events: int, answered: int) -> None:
    """Every event done once and answered once: none left, one answer sent an event, none failed."""
    left = pending(vbot)
    unsent = answers(vbot)[1]
    if left or sent != events or answered != events or unsent or vbot.pipeline.failed:
        raise RuntimeError(
            f"{kind}: {left} events left, {sent} of {events} answers sent ({unsent} not), "
            f"{vbot.pipeline.failed} failed"
        )


def pending(vbot) -> int:
    from storage import queue_store

    with vbot.pipeline.uow() as session:
        return queue_store.pending_inbox_count(session)


# --- the floor: the same durable work with the plain driver ----------------------------------------


class Floor:
    """The durable work of a check-in or check-out with the plain driver, on one raw connection."""

    def __init__(self, kind: str, driver, now: dt.datetime):
        self.sqlite = kind == "sqlite"
        self.driver = driver
        self.cursor = driver.cursor()
        self.now = now
        self.unit_id = 0
        sql = self.sql
        self.claim = sql(
            "SELECT id, payload FROM inboxevent WHERE processed_at IS NULL ORDER BY id LIMIT ?"
            + ("" if self.sqlite else " FOR UPDATE SKIP LOCKED")
        )
        self.account = sql("SELECT volunteer_id FROM chataccount WHERE platform = ? AND platform_user_id = ?")
        self.open_visit = sql(
            "INSERT INTO servicerecord (volunteer_id, unit_id, kind, source, status, check_in, minutes, "
            "service_date, recorded_by, created_at, walk_up) "
            "VALUES (?, ?, 'service', 'chat', 'open', ?, 0, ?, ?, ?, ?)"
        )
        self.find_open = sql(
            "SELECT id, check_in FROM servicerecord WHERE volunteer_id = ? AND status = 'open'"
        )
        self.close_visit = sql(
            "UPDATE servicerecord SET status = 'counted', check_out = ?, minutes = ? "
            "WHERE id = ? AND status = 'open'"
        )
        self.answer = sql(
            "INSERT INTO outboxmessage (platform, recipient, reply_token, payload, retry_key, status, "
            "attempts, parts_sent, in_doubt, next_attempt_at, created_at) "
            "VALUES ('line', ?, ?, ?, ?, 'pending', 0, 0, ?, ?, ?)"
        )
        self.done = sql("UPDATE inboxevent SET processed_at = ?, claimed_until = NULL WHERE id = ?")

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def begin(self) -> None:
        if self.sqlite:
            self.cursor.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.sqlite:
            self.cursor.execute("COMMIT")
        else:
            self.driver.commit()

    def prepare(self, users: list[str], events: int) -> None:
        """Links each user to a volunteer and stores the backlog, outside the measured part."""
        cursor = self.cursor
        self.begin()
        cursor.execute("SELECT id FROM volunteer ORDER BY id")
        volunteer_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT unit_id FROM membership ORDER BY id LIMIT 1")
        self.unit_id = cursor.fetchone()[0]
        for user, volunteer_id in zip(users, volunteer_ids, strict=True):
            cursor.execute(
                self.sql(
                    "INSERT INTO chataccount (platform, platform_user_id, volunteer_id, wrong_codes) "
                    "VALUES (?, ?, ?, 0)"
                ),
                ("line", user, volunteer_id),
            )
        for key, sender, payload in backlog(users, events, backlog_start(users, events), 0):
            cursor.execute(
                self.sql(
                    "INSERT INTO inboxevent (platform, event_key, sender, payload, received_at, attempts) "
                    "VALUES (?, ?, ?, ?, ?, 0)"
                ),
                ("line", key, sender, payload, self.now),
            )
        self.commit()

    def work_one(self, event_id: int, payload: str) -> None:
        cursor, now = self.cursor, self.now
        event = json.loads(payload)
        at = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC).replace(tzinfo=None)
        user = event["source"]["userId"]
        cursor.execute(self.account, ("line", user))
        volunteer_id = cursor.fetchone()[0]
        if event["message"]["text"] == "簽到":
            cursor.execute(
                self.open_visit, (volunteer_id, self.unit_id, at, at.date(), f"line:{user}", now, False)
            )
            text = "Checked in"
        else:
            cursor.execute(self.find_open, (volunteer_id,))
            visit_id, check_in = cursor.fetchone()
            if isinstance(check_in, str):
                check_in = dt.datetime.fromisoformat(check_in)
            minutes = int((at - check_in.replace(tzinfo=None)).total_seconds() // 60)
            cursor.execute(self.close_visit, (at, minutes, visit_id))
            text = f"Checked out: {minutes} minutes"
        cursor.execute(
            self.answer,
            (user, event["replyToken"], json.dumps([{"text": text}]), str(event_id), False, now, now),
        )
        cursor.execute(self.done, (now, event_id))

    def drain(self, per_transaction: int) -> int:
        worked = 0
        while True:
            self.begin()
            self.cursor.execute(self.claim, (per_transaction,))
            events = self.cursor.fetchall()
            for event_id, payload in events:
                self.work_one(event_id, payload)
            self.commit()
            if not events:
                return worked
            worked += len(events)


def floor_run(kind: str, url: str, args, per_transaction: int) -> Drain:
    from storage.db import make_engine

    make_roster(url, args.volunteers)  # the schema (migrated), a unit and its volunteers, as the project has
    users = [f"Ufloor{v:05d}" for v in range(args.volunteers)]
    give_history(url, args.history, backlog_start(users, args.events))
    engine = make_engine(url)
    raw = engine.raw_connection()
    floor = Floor(kind, raw.driver_connection, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    floor.prepare(users, args.events)
    wall, cpu = time.perf_counter(), time.process_time()
    worked = floor.drain(per_transaction)
    drain = Drain(worked, time.perf_counter() - wall, time.process_time() - cpu)
    raw.close()
    with engine.connect() as connection:
        counted = connection.execute(
            sa.text(
                "SELECT count(*) FROM servicerecord WHERE status = 'counted' AND recorded_by <> :history"
            ),
            {"history": HISTORY_MARK},
        ).scalar()
    engine.dispose()
    expected = sum(1 for i in range(args.events) if (i // args.volunteers) % 2 == 1)
    if worked != args.events or counted != expected:
        raise RuntimeError(
            f"floor on {kind}: {worked} events worked, {counted} visits counted (expected {expected})"
        )
    return drain


# --- the report ------------------------------------------------------------------------------------


def med(drains: list[Drain], key) -> float:
    return median([key(d) for d in drains])


async def orchestrate(args) -> int:
    from bot.pipeline import BATCH

    log_dir = Path(tempfile.mkdtemp(prefix="vbot-worker-drain-"))
    load = os.getloadavg()
    print(
        f"{args.events} events (half 簽到, half 簽退), {args.volunteers} volunteers"
        + (f" with {args.history} past visits each" if args.history else "")
        + f", {args.runs} runs, medians; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores",
        flush=True,
    )
    table: list[tuple[str, str, list[Drain], list[Drain], list[Drain]]] = []
    async with Child("standin", ["--role", "standin"], log_dir) as standin:
        for kind in kinds(args.database):
            for label, batch, floor_batch in (("1 tx/event", 1, 1), (f"{BATCH}/tx", BATCH, FLOOR_BATCH)):
                projects, floors, together = [], [], []
                for _ in range(args.runs):
                    with database(kind) as url:
                        floors.append(await asyncio.to_thread(floor_run, kind, url, args, floor_batch))
                    with database(kind) as url:
                        projects.append(await project_run(kind, url, standin.url, args, batch))
                    if batch == BATCH:  # the loops run at the pipeline's own batch only
                        with database(kind) as url:
                            together.append(await together_run(kind, url, standin.url, args))
                    print(
                        f"  … {kind} {label}: project {projects[-1].rate:.0f} ev/s, floor {floors[-1].rate:.0f}"
                        + (f", together {together[-1].rate:.0f}" if together else ""),
                        flush=True,
                    )
                table.append((kind, label, projects, floors, together))

    print()
    print(
        f"{'database':<11}{'batch':<11}{'floor ev/s':>11}{'floor ms':>9}{'proj ev/s':>10}{'proj ms':>9}"
        f"{'÷ rate':>8}{'× CPU':>7}{'send msg/s':>11}{'send ms':>8}{'sender incl.':>13}"
        f"{'together ev/s':>14}{'tog. ms':>8}"
    )
    for kind, label, projects, floors, together in table:
        rate, floor_rate = med(projects, lambda d: d.rate), med(floors, lambda d: d.rate)
        cpu, floor_cpu = med(projects, lambda d: d.cpu_ms), med(floors, lambda d: d.cpu_ms)
        both = (
            f"{med(together, lambda d: d.rate):14.0f}{med(together, lambda d: d.cpu_ms):8.3f}"
            if together
            else f"{'—':>14}{'—':>8}"
        )
        print(
            f"{kind:<11}{label:<11}{floor_rate:11.0f}{floor_cpu:9.3f}{rate:10.0f}{cpu:9.3f}"
            f"{rate / floor_rate:8.3f}{cpu / floor_cpu:7.1f}"
            f"{med(projects, lambda d: d.messages / d.send_seconds):11.0f}{med(projects, lambda d: d.send_cpu_ms):8.3f}"
            f"{med(projects, lambda d: d.with_sender):13.0f}{both}"
        )
    print()
    print(
        "floor/proj ms: CPU of this process an event; ÷ rate: project ev/s ÷ floor ev/s; × CPU: project CPU ÷ "
        "floor CPU; sender incl.: events ÷ (worker + sender time); together: the loops of `vbot work` running "
        "at once, events ÷ time until every answer was delivered, and the whole process's CPU an event"
    )
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--volunteers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--history", type=int, default=0, help="past counted visits of every volunteer")
    args = parser.parse_args(argv)
    if not (
        1 <= args.events <= 1_000_000
        and 1 <= args.volunteers <= 100_000
        and 1 <= args.runs <= 20
        and 0 <= args.history <= 10_000
    ):
        parser.error("--events, --volunteers, --runs or --history out of range")
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
