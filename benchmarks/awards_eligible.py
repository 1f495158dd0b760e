"""獎勵名單 / `vbot awards eligible` for a unit of 5,000 volunteers with 1,000,000 service records, and 獎勵
(one volunteer's progress) for someone with ten years of daily records.

    python -m benchmarks.awards_eligible [--database sqlite|postgresql|both] [--records 1000000]
                                         [--volunteers 5000] [--repeat 5]

For each database: a fresh store (storage.db.migrate plus the award table), one Taipei unit whose members all
have record books and trainings, 5% holding an honor card (their renewals are read day by day), the records
spread over the last three years but none before the member's training day, except for 3% who checked in on
probation in the weeks before it (read day by day: those hours do not count); then one more volunteer with a
record every day for ten years.

Figures (median of --repeat runs, each in its own transaction):
  eligible  handlers.awards.eligibility.eligible_list(unit, today, within 20 h)   goal < 2 s
  progress  facts_for + progress_all for the ten-year volunteer            goal < 50 ms
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

import sqlalchemy as sa

from benchmarks._common import database, kinds, median, timed

BATCH = 10_000


def fill(
    engine: sa.Engine, records: int, volunteers: int, now: dt.datetime, today: dt.date
) -> tuple[int, int, float]:
    """Returns the unit, the ten-year volunteer and the seconds the load took."""
    from storage import standing_store, totals_store
    from storage.models import AwardGrant, Membership, ServiceRecord, TrainingRecord, Unit, Volunteer

    rng = random.Random(5)
    start = time.perf_counter()
    with engine.begin() as c:
        # A bulk load without the per-record triggers, then the sums computed once: what migration 0017 does for
        # a store that already holds its records.
        totals_store.drop_triggers(c)
        standing_store.drop_triggers(c)
        unit = c.execute(
            sa.insert(Unit.__table__).returning(Unit.__table__.c.id),
            [{"name": "臺北市立圖書館", "category": "culture", "city": "taipei", "created_at": now}],
        ).scalar_one()
        other = c.execute(
            sa.insert(Unit.__table__).returning(Unit.__table__.c.id),
            [{"name": "臺中市志工隊", "category": "health", "city": "taichung", "created_at": now}],
        ).scalar_one()
        people = []
        for v in range(volunteers + 1):
            trained = today - dt.timedelta(days=rng.randrange(200, 3000))
            people.append(
                {
                    "name": f"志工{v:05d}",
                    "created_at": now,
                    "trained_on": trained,
                    "record_book_no": f"北市志字第{v}號" if rng.random() < 0.9 else None,
                    "record_book_date": trained,
                    "english_name": "Volunteer" if rng.random() < 0.5 else None,
                }
            )
        people[-1] |= {
            "trained_on": today - dt.timedelta(days=3700),
            "record_book_date": today - dt.timedelta(days=3700),
        }
        for first in range(0, len(people), BATCH):
            c.execute(sa.insert(Volunteer.__table__), people[first : first + BATCH])
        ids = list(
            c.execute(sa.select(Volunteer.__table__.c.id).order_by(Volunteer.__table__.c.id)).scalars()
        )
        members, veteran = ids[:-1], ids[-1]
        trained_on = {v: person["trained_on"] for v, person in zip(ids, people, strict=True)}
        on_probation = set(members[1::33])  # not among those with training records (members[::3])
        c.execute(
            sa.insert(Membership.__table__),
            [{"volunteer_id": v, "unit_id": unit, "role": "volunteer"} for v in ids],
        )
        c.execute(
            sa.insert(Membership.__table__),
            [{"volunteer_id": v, "unit_id": other, "role": "volunteer"} for v in members[::10]],
        )
        c.execute(
            sa.insert(TrainingRecord.__table__),
            [
                {
                    "volunteer_id": v,
                    "kind": kind,
                    "category": category,
                    "date": today - dt.timedelta(days=3000),
                    "minutes": 720,
                    "recorded_by": "bench",
                    "created_at": now,
                }
                for v in members[::3]
                for kind, category in (("basic", None), ("special", "culture"))
            ],
        )
        c.execute(
            sa.insert(AwardGrant.__table__),
            [
                {
                    "volunteer_id": v,
                    "award_code": "honor-card",
                    "granted_on": today - dt.timedelta(days=rng.randrange(30, 900)),
                    "recorded_by": "bench",
                    "created_at": now,
                }
                for v in members[::20]
            ],
        )

        table = ServiceRecord.__table__
        batch = []
        for _ in range(records):
            v = rng.choice(members)
            minutes = rng.randrange(30, 300)
            if v in on_probation and rng.random() < 0.1:
                day = trained_on[v] - dt.timedelta(days=rng.randrange(1, 60))
            else:
                day = today - dt.timedelta(days=rng.randrange(1, min(3 * 365, (today - trained_on[v]).days)))
            batch.append(
                {
                    "volunteer_id": v,
                    "unit_id": other if v % 10 == 0 and rng.random() < 0.3 else unit,
                    "kind": "service" if rng.random() < 0.93 else "training",
                    "source": "chat",
                    "status": "counted" if rng.random() < 0.95 else "void",
                    "minutes": minutes,
                    "service_date": day,
                    "recorded_by": "bench",
                    "created_at": now,
                }
            )
            if len(batch) >= BATCH:
                c.execute(sa.insert(table), batch)
                batch = []
        batch += [
            {
                "volunteer_id": veteran,
                "unit_id": unit,
                "kind": "service",
                "source": "chat",
                "status": "counted",
                "minutes": 180,
                "service_date": today - dt.timedelta(days=d),
                "recorded_by": "bench",
                "created_at": now,
            }
            for d in range(1, 3651)
        ]
        c.execute(sa.insert(table), batch)
        totals_store.install(c)
        standing_store.install(c)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE"))
    return unit, veteran, time.perf_counter() - start


def measure(kind: str, records: int, volunteers: int, repeat: int) -> dict:
    from handlers.awards.eligibility import eligible_list
    from handlers.awards.progress import facts_for, rules_in_store, seed_award_rules
    from handlers.awards.rules import progress_all
    from storage.db import UnitOfWork, make_engine, migrate

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    with database(kind) as url:
        engine = make_engine(url)
        migrate(engine)
        uow = UnitOfWork(engine)
        with uow() as session:
            seed_award_rules(session, now)
            session.commit()
        unit, veteran, load_seconds = fill(engine, records, volunteers, now, today)

        def eligible():
            with uow() as session:
                return eligible_list(session, unit, today, within_hours=20, from_scratch=True)

        def progress():
            with uow() as session:
                return progress_all(rules_in_store(session), facts_for(session, veteran), today)

        rows = eligible()
        result = {
            "kind": kind,
            "load_s": load_seconds,
            "rows": len(rows),
            "eligible_now": sum(r.eligible for r in rows),
            "eligible": timed(repeat, eligible),
            "progress": timed(max(repeat, 20), progress),
        }
        engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--volunteers", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not (1 <= args.volunteers <= args.records <= 10_000_000 and 1 <= args.repeat <= 1000):
        parser.error("need 1 ≤ --volunteers ≤ --records ≤ 10,000,000 and 1 ≤ --repeat ≤ 1000")
    verdict = 0
    for kind in kinds(args.database):
        print(f"… {kind}: {args.volunteers:,} volunteers, {args.records:,} records", flush=True)
        r = measure(kind, args.records, args.volunteers, args.repeat)
        e, p = median(r["eligible"]), median(r["progress"])
        print(
            f"  loaded in {r['load_s']:.1f} s; {r['rows']:,} rows listed ({r['eligible_now']:,} can apply now)"
        )
        print(
            f"  eligible_list  median {e:8.1f} ms  (max {max(r['eligible']):.1f})  goal < 2000 ms "
            f"→ {'meets' if e < 2000 else 'MISSES'}"
        )
        print(
            f"  progress (10 y daily, 3,650 records)  median {p:6.1f} ms  goal < 50 ms "
            f"→ {'meets' if p < 50 else 'MISSES'}",
            flush=True,
        )
        verdict |= e >= 2000 or p >= 50
    return int(verdict)


if __name__ == "__main__":
    sys.exit(main())
