"""The half-year report of every unit on PostgreSQL: 100,000 volunteers, 1,000 units, 10 million records.

    python -m benchmarks.report_all [--volunteers 100000] [--units 1000] [--records 10000000] [--period 2026H1]

Loads a fresh schema with INSERT … SELECT FROM generate_series (two years of records, 1 in 40 void and
1 in 50 training, one in ten volunteers with an honor card), then times `vbot report --all` (the figures,
an XLSX and the PNG chart) and prints the process's peak RSS before and after it.

Figures:
  report     build + XLSX + chart                     goal < 30 s on PostgreSQL
  peak RSS   before and after the report              goal: flat (the report holds one row per unit and month)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database, kinds

BATCH = 1_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def fill(engine: sa.Engine, volunteers: int, units: int, records: int) -> float:
    began = time.perf_counter()
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO unit (name, category, city, quiet_hours, created_at) "
                "SELECT '志工隊' || lpad(g::text, 4, '0'), 'social-welfare', 'taipei', '21:00-08:00', now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": units},
        )
        c.execute(
            sa.text(
                "INSERT INTO volunteer (name, birth_date, gender, record_book_no, insured_until, created_at) "
                "SELECT '志工' || g, CASE WHEN g % 20 = 0 THEN NULL ELSE date '1936-01-01' + (g * 7919) % 32000 END, "
                "(ARRAY['female', 'male', 'other', NULL])[1 + g % 4], CASE WHEN g % 3 = 0 THEN 'R' || g END, "
                "CASE WHEN g % 2 = 0 THEN date '2026-12-31' END, now() FROM generate_series(1, :n) g"
            ),
            {"n": volunteers},
        )
        first_unit = c.execute(sa.text("SELECT min(id) FROM unit")).scalar()
        first_volunteer = c.execute(sa.text("SELECT min(id) FROM volunteer")).scalar()
        c.execute(
            sa.text(
                "INSERT INTO membership (volunteer_id, unit_id, role) "
                "SELECT :v + g, :u + g % :units, 'volunteer' FROM generate_series(0, :n - 1) g"
            ),
            {"v": first_volunteer, "u": first_unit, "units": units, "n": volunteers},
        )
        c.execute(
            sa.text(
                "INSERT INTO awardgrant (volunteer_id, award_code, granted_on, recorded_by, created_at) "
                "SELECT :v + g, 'honor-card', date '2021-01-01' + g % 2000, 'bench', now() "
                "FROM generate_series(0, :n - 1, 10) g"
            ),
            {"v": first_volunteer, "n": volunteers},
        )
    for start in range(0, records, BATCH):
        with engine.begin() as c:
            # a volunteer serves in their own unit; dates spread over 2025 and 2026
            c.execute(
                sa.text(
                    "INSERT INTO servicerecord (volunteer_id, unit_id, kind, source, status, minutes, service_date, "
                    "recorded_by, created_at, walk_up) "
                    "SELECT :v + (g * 7) % :people, :u + ((g * 7) % :people) % :units, "
                    "CASE WHEN g % 50 = 0 THEN 'training' ELSE 'service' END, 'chat', "
                    "CASE WHEN g % 40 = 0 THEN 'void' ELSE 'counted' END, 30 + g % 240, "
                    "date '2025-01-01' + (g * 13) % 730, 'bench', now(), false "
                    "FROM generate_series(:first, :last) g"
                ),
                {
                    "v": first_volunteer,
                    "u": first_unit,
                    "people": volunteers,
                    "units": units,
                    "first": start,
                    "last": min(records, start + BATCH) - 1,
                },
            )
        print(f"  … {min(records, start + BATCH):,} records", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--period", default="2026H1")
    args = parser.parse_args(argv)
    if not 1 <= args.units <= args.volunteers or args.records < 1:
        parser.error("need 1 ≤ --units ≤ --volunteers and --records ≥ 1")
    if "postgresql" not in kinds("postgresql"):
        return 1
    from bot.commands import report as report_cli
    from bot.config import Settings
    from storage.db import UnitOfWork, make_engine, migrate

    with database("postgresql") as url, tempfile.TemporaryDirectory(prefix="vbot-report-") as directory:
        engine = make_engine(url)
        migrate(engine)
        load = fill(engine, args.volunteers, args.units, args.records)
        print(
            f"… {args.volunteers:,} volunteers, {args.units:,} units, {args.records:,} records loaded in "
            f"{load:.1f} s",
            flush=True,
        )
        before = peak_rss_mb()
        namespace = argparse.Namespace(
            unit=None,
            all=True,
            period=args.period,
            format="xlsx",
            output=str(Path(directory) / "report.xlsx"),
            chart=str(Path(directory) / "report.png"),
        )
        began = time.perf_counter()
        with UnitOfWork(engine)() as session:
            result, summary = report_cli.run(namespace, session, Settings())
        seconds = time.perf_counter() - began
        after = peak_rss_mb()
        engine.dispose()
    print(summary)
    print(
        f"  report --all {args.period}  {seconds:6.2f} s  goal < 30 s → {'meets' if seconds < 30 else 'MISSES'}"
    )
    print(
        f"  peak RSS     {before:6.1f} MB before, {after:6.1f} MB after (+{after - before:.1f} MB); "
        f"{len(result['units']):,} unit rows, xlsx {result['output']['bytes']:,} B, png {result['chart']['bytes']:,} B"
    )
    return int(seconds >= 30)


if __name__ == "__main__":
    sys.exit(main())
