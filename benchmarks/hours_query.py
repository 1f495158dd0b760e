"""The answer to 時數 (hours) with 1,000 service records in the store and with 1,000,000.

    python -m benchmarks.hours_query [--database sqlite|postgresql|both] [--records 1000000] [--volunteers 20000]

For each database and size: a fresh store (SQLite temp file / new PostgreSQL schema, made by
storage.db.migrate), service records bulk-inserted with SQLAlchemy core in batches, spread over the
volunteers in insertion order as a real table fills over the years. The measured volunteer has the same
200 records (same dates, units, statuses) in both sizes, scattered through the table.

Two figures, each over many repetitions, each repetition in its own transaction as the inbox worker does:
  repo     storage.service_store.counted_service_minutes(...) alone
  handler  handlers.router.handle(...) for an Incoming text "時數" from the linked volunteer: the account
           lookup, the sums, the open-session check and the formatted answer

PostgreSQL gets VACUUM ANALYZE after the load (autovacuum does the same to an insert-only table soon after);
SQLite is left as the product leaves it (no ANALYZE). The goal: at 1M no more than 2× slower than at 1k.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

import sqlalchemy as sa

from benchmarks._common import database, kinds, median, percentile, timed
from storage import service_store

SMALL = 1_000
MEASURED_RECORDS = 200
OTHERS_PER_VOLUNTEER_SMALL = 50
UNITS = 10
BATCH = 10_000
WARMUP = 50
USER = "Ubench-hours"
ZONE = "Asia/Taipei"


def record_rows(
    rng: random.Random, volunteer_id: int, count: int, today: dt.date, units: list[int], now: dt.datetime
):
    """`count` plausible service records of one volunteer over the last three years."""
    home = units[volunteer_id % len(units)]
    for _ in range(count):
        day = today - dt.timedelta(days=rng.randrange(1, 3 * 365))
        check_in = dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randrange(0, 480)
        )
        minutes = rng.randrange(30, 300)
        roll = rng.random()
        status = "counted" if roll < 0.95 else "review" if roll < 0.98 else "void"
        kind = "service" if rng.random() < 0.93 else "training"
        yield {
            "volunteer_id": volunteer_id,
            "unit_id": home if rng.random() < 0.9 else rng.choice(units),
            "kind": kind,
            "source": "chat",
            "status": status,
            "check_in": check_in,
            "check_out": check_in + dt.timedelta(minutes=minutes),
            "minutes": minutes,
            "service_date": day,
            "recorded_by": f"line:U{volunteer_id}",
            "created_at": check_in,
        }


def fill(
    engine: sa.Engine, records: int, volunteers: int, now: dt.datetime, today: dt.date
) -> tuple[int, float]:
    """Units, volunteers, memberships, the measured volunteer's chat account and `records` service records.
    Returns the measured volunteer's id and the seconds the load took."""
    from storage.models import ChatAccount, Membership, ServiceRecord, Unit, Volunteer

    start = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Unit.__table__),
            [
                {"name": f"單位{u:02d}", "category": "culture", "city": "taipei", "created_at": now}
                for u in range(UNITS)
            ],
        )
        units = list(
            connection.execute(sa.select(Unit.__table__.c.id).order_by(Unit.__table__.c.id)).scalars()
        )
        for first in range(0, volunteers, BATCH):
            connection.execute(
                sa.insert(Volunteer.__table__),
                [
                    {"name": f"志工{v:05d}", "created_at": now}
                    for v in range(first, min(volunteers, first + BATCH))
                ],
            )
        ids = list(
            connection.execute(
                sa.select(Volunteer.__table__.c.id).order_by(Volunteer.__table__.c.id)
            ).scalars()
        )
        for first in range(0, len(ids), BATCH):
            connection.execute(
                sa.insert(Membership.__table__),
                [
                    {"volunteer_id": v, "unit_id": units[v % len(units)], "role": "volunteer"}
                    for v in ids[first : first + BATCH]
                ],
            )
        measured, others = ids[len(ids) // 2], [v for v in ids if v != ids[len(ids) // 2]]
        connection.execute(
            sa.insert(ChatAccount.__table__),
            [{"platform": "line", "platform_user_id": USER, "volunteer_id": measured, "linked_at": now}],
        )

    # The measured volunteer's records: the same in every size (own seed), spread evenly through the table.
    mine = list(record_rows(random.Random(7), measured, MEASURED_RECORDS, today, units, now))
    rng = random.Random(11)
    every = max(1, records // MEASURED_RECORDS)

    def rows():
        for i in range(records):
            if i % every == 0 and mine:
                yield mine.pop()
            else:
                yield next(record_rows(rng, rng.choice(others), 1, today, units, now))

    batch: list[dict] = []
    table = ServiceRecord.__table__
    with engine.begin() as connection:
        for row in rows():
            batch.append(row)
            if len(batch) >= BATCH:
                connection.execute(sa.insert(table), batch)
                batch = []
        if batch:
            connection.execute(sa.insert(table), batch)
        assert not mine, "records too few for the measured volunteer's 200"
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    return measured, time.perf_counter() - start


def plan_of(engine: sa.Engine, run) -> list[str]:
    """The database's plan for the statements `run` sends that read servicerecord."""
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "servicerecord" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    lines = []
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        for statement, parameters in seen:
            cursor = raw.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                lines += ["  " + row[-1] for row in cursor.fetchall()]
            else:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {statement}", parameters)
                lines += ["  " + row[0] for row in cursor.fetchall()]
            cursor.close()
            lines.append("  --")
        raw.rollback()
    return lines


def measure(kind: str, records: int, volunteers: int, repeat: int, explain: bool) -> dict:
    from zoneinfo import ZoneInfo

    from handlers import router
    from handlers.context import Rules
    from handlers.i18n import Catalogs
    from handlers.service.counting import half_year_start, year_start
    from handlers.types import Incoming, ReplyTo
    from storage.db import UnitOfWork, make_engine, migrate

    now = dt.datetime.now(dt.UTC)
    rules = Rules(timezone=ZoneInfo(ZONE))
    today = now.astimezone(rules.timezone).date()
    catalogs = Catalogs()
    with database(kind) as url:
        engine = make_engine(url)
        migrate(engine)
        measured, load_seconds = fill(engine, records, volunteers, now, today)
        uow = UnitOfWork(engine)
        incoming = Incoming("line", USER, "text", "時數", now, ReplyTo(USER, "reply-token"))

        def repo_call():
            with uow() as session:
                return service_store.counted_service_minutes(
                    session, measured, year_start(today), half_year_start(today)
                )

        def handler_call():
            with uow() as session:
                return router.handle(session, incoming, now, rules, catalogs)

        answer = handler_call()[0].text
        assert "時數" in answer or "小時" in answer, answer
        total = sum(u.total for u in repo_call())
        result = {
            "kind": kind,
            "records": records,
            "load_s": load_seconds,
            "total_minutes": total,
            "repo": timed(repeat, repo_call, WARMUP),
            "handler": timed(max(1, repeat // 2), handler_call, WARMUP),
            "plan": plan_of(engine, handler_call) if explain else [],
        }
        engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records in the large store (default 1,000,000)"
    )
    parser.add_argument("--volunteers", type=int, default=20_000, help="volunteers in the large store")
    parser.add_argument(
        "--repeat", type=int, default=2000, help="repetitions of the repo call (the handler gets half)"
    )
    parser.add_argument("--explain", action="store_true", help="print the query plans at the large size")
    args = parser.parse_args(argv)
    if not (
        SMALL < args.records <= 10_000_000
        and 2 <= args.volunteers <= args.records
        and 1 <= args.repeat <= 100_000
    ):
        parser.error(
            f"--records must be in ({SMALL}, 10,000,000], --volunteers in [2, records], --repeat in [1, 100,000]"
        )

    small_volunteers = (SMALL - MEASURED_RECORDS) // OTHERS_PER_VOLUNTEER_SMALL + 1
    results = []
    for kind in kinds(args.database):
        for records, volunteers in ((SMALL, small_volunteers), (args.records, args.volunteers)):
            print(f"… {kind}: {records:,} records over {volunteers:,} volunteers", flush=True)
            result = measure(kind, records, volunteers, args.repeat, args.explain and records == args.records)
            print(
                f"  loaded in {result['load_s']:.1f} s; measured volunteer: {MEASURED_RECORDS} records, "
                f"{result['total_minutes']} counted service minutes",
                flush=True,
            )
            results.append(result)

    print()
    print(
        f"{'database':<11}{'records':>10}  {'what':<8}{'n':>6}{'median ms':>11}{'p99 ms':>9}{'× at 1k (median/p99)':>23}"
    )
    base = {}
    for r in results:
        for what in ("repo", "handler"):
            samples = r[what]
            med, p99 = median(samples), percentile(samples, 99)
            key = (r["kind"], what)
            if r["records"] == SMALL:
                base[key] = (med, p99)
                ratio = ""
            else:
                ratio = f"{med / base[key][0]:.2f} / {p99 / base[key][1]:.2f}"
            print(
                f"{r['kind']:<11}{r['records']:>10,}  {what:<8}{len(samples):>6}{med:>11.3f}{p99:>9.3f}{ratio:>23}"
            )
    verdict = 0
    print()
    for r in results:
        if r["records"] == SMALL:
            continue
        for what in ("repo", "handler"):
            ratio = median(r[what]) / base[(r["kind"], what)][0]
            ok = ratio <= 2
            verdict |= not ok
            print(
                f"{r['kind']} {what}: median at {r['records']:,} is {ratio:.2f}× the one at {SMALL:,} (goal ≤ 2×) → "
                f"{'meets the goal' if ok else 'MISSES the goal'}"
            )
        if r["plan"]:
            print(f"{r['kind']} plans at {r['records']:,} records (the handler's reads of servicerecord):")
            print("\n".join(r["plan"]))
    return verdict


if __name__ == "__main__":
    sys.exit(main())
