"""2,000 volunteers checking in at one event within five minutes, through the LINE webhook.

    python -m benchmarks.event_checkin_load [--database postgresql|sqlite|both] [--volunteers 2000]
                                            [--minutes 5] [--concurrency 16]

The real bot under uvicorn with its worker and sender, the LINE stand-in and the load generator each in
their own process (benchmarks/webhook_load.py's). One event with four posts of 500 places; every volunteer
is on a shift's roster and linked (through the webhook, beforehand). Then each sends `簽到 CODE` once, the
arrivals spread evenly over --minutes.

Figures: webhook latency p50 / p99 (goal: p99 < 200 ms on PostgreSQL), and from the store: sessions opened
at the event (each volunteer exactly once, on their own shift), answers delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from benchmarks._common import database, kinds, median, percentile
from benchmarks.webhook_load import PATH, Child, LoadGenerator, line_webhook, make_roster, wait_for_answers

POSTS = ("服務台", "東門", "西門", "醫護站")


def make_event(database_url: str, volunteers: int) -> str:
    """The event, its shifts and the roster (everyone on one shift); returns the poster code."""
    from handlers.events import admin as event_admin
    from storage.db import UnitOfWork, make_engine
    from storage.models import Volunteer

    engine = make_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine)() as session:
        people = list(session.execute(sa.select(Volunteer.id).order_by(Volunteer.id)).scalars())
        event = event_admin.add_event(
            session,
            now,
            "bench",
            unit_id=1,
            title="臺北燈節",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=6),
            place="中正紀念堂",
        )
        size = -(-volunteers // len(POSTS))
        for n, post in enumerate(POSTS):
            shift = event_admin.add_shift(
                session,
                now,
                "bench",
                event_id=event.id,
                starts_at=now + dt.timedelta(minutes=30),
                ends_at=now + dt.timedelta(hours=4),
                capacity=size,
                post=post,
            )
            for person in people[n * size : (n + 1) * size]:
                event_admin.add_to_roster(session, now, "bench", shift.id, person)
        session.commit()
        code = event.code
    engine.dispose()
    return code


def check_store(database_url: str) -> dict:
    from storage.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as c:

        def one(sql: str) -> int:
            return c.execute(sa.text(sql)).scalar_one()

        figures = {
            "sessions at the event": one("SELECT count(*) FROM servicerecord WHERE shift_id IS NOT NULL"),
            "people with one session": one(
                "SELECT count(DISTINCT volunteer_id) FROM servicerecord WHERE shift_id IS NOT NULL"
            ),
            "on their own shift": one(
                "SELECT count(*) FROM servicerecord s JOIN rosterentry r ON r.shift_id = s.shift_id "
                "AND r.volunteer_id = s.volunteer_id"
            ),
            "walk-ups": one("SELECT count(*) FROM servicerecord WHERE walk_up"),
            "events failed": one("SELECT count(*) FROM inboxevent WHERE error IS NOT NULL"),
        }
    engine.dispose()
    return figures


async def run(kind: str, url: str, args, log_dir: Path) -> tuple[list[float], dict, int]:
    users = [f"Uevent{v:05d}" for v in range(args.volunteers)]
    codes = await asyncio.to_thread(make_roster, url, args.volunteers)
    code = await asyncio.to_thread(make_event, url, args.volunteers)
    async with contextlib.AsyncExitStack() as stack:
        standin = await stack.enter_async_context(Child(f"standin-{kind}", ["--role", "standin"], log_dir))
        bot = await stack.enter_async_context(
            Child(f"bot-{kind}", ["--role", "bot", "--database-url", url, "--line-api", standin.url], log_dir)
        )
        generator = await stack.enter_async_context(LoadGenerator(bot.url, args.concurrency, "httpx"))
        probe = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        await generator.blast(PATH, [line_webhook(u, f"綁定 {c}") for u, c in zip(users, codes, strict=True)])
        await wait_for_answers(probe, standin, len(users))

        gap = args.minutes * 60 / len(users)
        latencies: list[float] = []
        start = time.perf_counter()

        async def arrive(n: int, user: str) -> None:
            await asyncio.sleep(max(0.0, start + n * gap - time.perf_counter()))
            body, headers = line_webhook(user, f"簽到 {code}")
            sent = time.perf_counter()
            response = await generator._httpx[n % args.concurrency].post(PATH, content=body, headers=headers)
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}")

        # At most `concurrency` requests in flight, as the generator has that many connections.
        slots = asyncio.Semaphore(args.concurrency)

        async def limited(n: int, user: str) -> None:
            async with slots:
                await arrive(n, user)

        await asyncio.gather(*(limited(n, u) for n, u in enumerate(users)))
        accepted, _last, _split = await wait_for_answers(probe, standin, 2 * len(users))
    return latencies, await asyncio.to_thread(check_store, url), accepted - len(users)


async def orchestrate(args) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="vbot-event-load-"))
    verdict = 0
    for kind in kinds(args.database):
        print(f"… {kind}: {args.volunteers:,} volunteers over {args.minutes} minutes", flush=True)
        with database(kind) as url:
            latencies, figures, answered = await run(kind, url, args, log_dir)
        ms = [x * 1000 for x in latencies]
        p99 = percentile(ms, 99)
        print(
            f"  webhook p50 {median(ms):.1f} ms, p99 {p99:.1f} ms, max {max(ms):.1f} ms  goal p99 < 200 ms → "
            f"{'meets' if p99 < 200 else 'MISSES'}"
        )
        print(f"  store: {figures}; check-in answers delivered {answered:,}", flush=True)
        verdict |= kind == "postgresql" and p99 >= 200
        verdict |= figures["people with one session"] != args.volunteers
    return int(verdict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="postgresql")
    parser.add_argument("--volunteers", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    if not (4 <= args.volunteers <= 100_000 and 0 < args.minutes <= 60 and 1 <= args.concurrency <= 256):
        parser.error("need 4 ≤ --volunteers ≤ 100,000, 0 < --minutes ≤ 60, 1 ≤ --concurrency ≤ 256")
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
