"""One reminder pass over a city: 100,000 volunteers, 10,000 of them due a training reminder at 18:00.

    python -m benchmarks.reminder_pass [--database sqlite|postgresql|both] [--volunteers 100000] [--due 10000]

For each database: a fresh store, units of 500 volunteers each (every one with a chat account: 4 in 5 on
LINE, 1 in 5 on Telegram, all in Traditional Chinese), one coordinator per unit, and a training session
tomorrow at 09:30 in as many units as make `--due` reminders; then VBot.remind's work at 18:00 (every
job, then the dispatch), timed, and the outbox it wrote counted as the API calls it will take.

Figures:
  pass          the jobs and the dispatch at 18:00                         goal < 10 s on PostgreSQL
  API calls     LINE multicasts and pushes, Telegram sendMessage calls    at most one multicast per 500
  quiet pass    the next minute's pass, nothing new due (it runs every minute)
  monthly pass  10:00 on the 1st: the award nudges read every unit's award list once
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from benchmarks._common import database, kinds

UNIT_SIZE = 500
BATCH = 10_000
TAIPEI = ZoneInfo("Asia/Taipei")


def fill(engine: sa.Engine, volunteers: int, due: int, now: dt.datetime, start: dt.datetime) -> float:
    from storage.models import ChatAccount, Membership, TrainingClass, Unit, Volunteer

    began = time.perf_counter()
    units = max(1, volunteers // UNIT_SIZE)
    with engine.begin() as c:
        c.execute(
            sa.insert(Unit.__table__),
            [
                {
                    "name": f"志工隊{u:04d}",
                    "category": "social-welfare",
                    "city": "taipei",
                    "quiet_hours": "21:00-08:00",
                    "created_at": now,
                }
                for u in range(units)
            ],
        )
        unit_ids = list(c.execute(sa.select(Unit.__table__.c.id).order_by(Unit.__table__.c.id)).scalars())
        for first in range(0, volunteers, BATCH):
            c.execute(
                sa.insert(Volunteer.__table__),
                [
                    {"name": f"志工{v:06d}", "created_at": now}
                    for v in range(first, min(volunteers, first + BATCH))
                ],
            )
        people = list(
            c.execute(sa.select(Volunteer.__table__.c.id).order_by(Volunteer.__table__.c.id)).scalars()
        )
        memberships, accounts = [], []
        for n, person in enumerate(people):
            memberships.append(
                {
                    "volunteer_id": person,
                    "unit_id": unit_ids[min(n // UNIT_SIZE, units - 1)],
                    "role": "coordinator" if n % UNIT_SIZE == 0 else "volunteer",
                }
            )
            platform = "telegram" if n % 5 == 0 else "line"
            user = str(700_000_000 + n) if platform == "telegram" else f"U{n:032x}"
            accounts.append(
                {
                    "platform": platform,
                    "platform_user_id": user,
                    "volunteer_id": person,
                    "chosen_locale": "zh_TW",
                    "linked_at": now,
                    "wrong_codes": 0,
                }
            )
        for first in range(0, len(people), BATCH):
            c.execute(sa.insert(Membership.__table__), memberships[first : first + BATCH])
            c.execute(sa.insert(ChatAccount.__table__), accounts[first : first + BATCH])
        with_training = unit_ids[: max(1, due // UNIT_SIZE)]
        c.execute(
            sa.insert(TrainingClass.__table__),
            [
                {
                    "unit_id": u,
                    "title": "在職訓練：長者陪伴技巧",
                    "kind": "in-service",
                    "starts_at": start,
                    "ends_at": start + dt.timedelta(hours=3),
                    "place": "3樓會議室",
                    "created_at": now,
                }
                for u in with_training
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - began


def one_pass(engine: sa.Engine, now: dt.datetime) -> tuple[dict[str, int], object, float]:
    """What VBot.remind does, without the HTTP call for LINE's quota (unlimited here)."""
    from bot.config import Settings
    from handlers.context import Rules
    from handlers.i18n import Catalogs
    from handlers.jobs.reminders import dispatch
    from handlers.jobs.schedule import REMINDER_JOBS, job_name
    from storage.db import UnitOfWork

    rules, catalogs = Rules(timezone=Settings().zone), Catalogs()
    uow = UnitOfWork(engine)
    began = time.perf_counter()
    stored = {}
    for job in REMINDER_JOBS:
        with uow() as session:
            stored[job_name(job)] = job(session, now, rules, catalogs)
            session.commit()
    with uow() as session:
        result = dispatch(session, now, rules, catalogs, None)
        session.commit()
    return stored, result, time.perf_counter() - began


def api_calls(engine: sa.Engine) -> dict[str, int]:
    from storage.models import OutboxMessage

    table = OutboxMessage.__table__
    with engine.connect() as c:
        rows = c.execute(
            sa.select(table.c.platform, table.c.recipients.is_not(None), sa.func.count()).group_by(
                table.c.platform, table.c.recipients.is_not(None)
            )
        ).all()
    names = {("line", True): "line_multicast", ("line", False): "line_push", ("telegram", False): "telegram"}
    return {names[platform, multi]: count for platform, multi, count in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args(argv)
    if not 1 <= args.due <= args.volunteers <= 2_000_000:
        parser.error("need 1 ≤ --due ≤ --volunteers ≤ 2,000,000")
    from storage.db import make_engine, migrate

    evening = dt.datetime(2026, 4, 2, 18, 0, tzinfo=TAIPEI).astimezone(dt.UTC)
    start = dt.datetime(2026, 4, 3, 9, 30, tzinfo=TAIPEI).astimezone(dt.UTC)
    first_of_month = dt.datetime(2026, 4, 1, 10, 0, tzinfo=TAIPEI).astimezone(dt.UTC)
    verdict = 0
    for kind in kinds(args.database):
        with database(kind) as url:
            engine = make_engine(url)
            migrate(engine)
            load = fill(engine, args.volunteers, args.due, evening - dt.timedelta(days=3), start)
            print(f"… {kind}: {args.volunteers:,} volunteers loaded in {load:.1f} s", flush=True)
            _, _, monthly = one_pass(engine, first_of_month)  # the month's nudges, as on any 1 April
            before = api_calls(engine)
            stored, result, seconds = one_pass(engine, evening)
            calls = {name: count - before.get(name, 0) for name, count in api_calls(engine).items()}
            _, _, quiet = one_pass(engine, evening + dt.timedelta(minutes=1))
            engine.dispose()
        people = result.notifications
        line_people = people - calls.get("telegram", 0)
        print(
            f"  pass at 18:00       {seconds:6.2f} s  stored {stored}; {people:,} reminders → "
            f"{sum(calls.values()):,} API calls {calls}  goal < 10 s → {'meets' if seconds < 10 else 'MISSES'}"
        )
        print(
            f"  multicast           {line_people:,} LINE recipients in {calls.get('line_multicast', 0):,} calls "
            f"(≤ 500 each: at least {-(-line_people // 500):,})"
        )
        print(f"  next minute's pass  {quiet * 1000:6.0f} ms (nothing new due)")
        print(
            f"  monthly nudge pass  {monthly:6.2f} s  (10:00 on the 1st: every unit's award list)", flush=True
        )
        verdict |= seconds >= 10 and kind == "postgresql"
    return int(verdict)


if __name__ == "__main__":
    sys.exit(main())
