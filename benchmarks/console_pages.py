"""The coordinator console's heaviest pages for a unit of 5,000 volunteers with 1,000,000 service records,
over HTTP against the real server (uvicorn), signed in as the unit's coordinator.

    python -m benchmarks.console_pages [--database sqlite|postgresql|both] [--records 1000000]
                                       [--volunteers 5000] [--repeat 30]

The store is the one of benchmarks.awards_eligible (records over three years, trainings, record books);
then a few visits wait for review and a few members are checked in.

Figures (milliseconds, median and p95 of --repeat requests; goal p95 < 150 ms; "first": the page's first request,
which for awards is the day's first reading of the unit's list, every member computed):
  today     /console/u/UNIT/today                       who is in, the review queue, shifts, deadlines
  search    /console/u/UNIT/volunteers?q=…              a name fragment that matches a handful
  awards    /console/u/UNIT/awards                      who qualifies or is within 20 h (eligible_list)
  near      /console/u/UNIT/volunteers?only=near-award  the Volunteers filter "within 20 h of an award" (the same)
  awards-write  /console/u/UNIT/awards, each request after a check-out of another member was written (that member's
            standing is computed again)
  print     /console/u/UNIT/awards/print                the whole list to print (every row, every award)
  duplicates /console/u/UNIT/volunteers/duplicates      pairs with the same name and birth date, or phone
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

import httpx
from sqlmodel import select

from benchmarks._common import database, kinds, median, percentile
from benchmarks.awards_eligible import fill

PAGES = {
    "today": "/today",
    "search": "/volunteers?q=%E5%BF%97%E5%B7%A501234",
    "awards": "/awards",
    "near": "/volunteers?only=near-award",
    "awards-write": "/awards",
    "print": "/awards/print",
    "duplicates": "/volunteers/duplicates",
}


async def measure(kind: str, records: int, volunteers: int, repeat: int, pages: list[str]) -> dict:
    from bot.app import build_app
    from bot.config import Settings
    from handlers.awards.progress import seed_award_rules
    from handlers.people import admin, console_access
    from storage.db import UnitOfWork
    from storage.models import Membership
    from tests.conftest import start_server, stop_server

    now = dt.datetime.now(dt.UTC)
    today = now.date()
    result: dict = {"kind": kind}
    with database(kind) as url:
        vbot = build_app(Settings(database_url=url), workers=False, scheduler=False)
        vbot.migrate()
        uow = UnitOfWork(vbot.engine)
        with uow() as session:
            seed_award_rules(session, now)
            session.commit()
        unit, _veteran, result["load_s"] = fill(vbot.engine, records, volunteers, now, today)
        with uow() as session:
            person, _ = admin.add_volunteer(
                session,
                now,
                "bench",
                unit_id=unit,
                name="陳協調",
                invite_valid_for=dt.timedelta(days=1),
                role="coordinator",
            )
            link = console_access.console_link(session, now, "http://bench", person.id)
            signed = console_access.sign_in(session, now, link.rsplit("/", 1)[1])
            session.commit()
        with uow() as session:
            members = list(
                session.exec(select(Membership.volunteer_id).where(Membership.unit_id == unit)).all()
            )
        server, task, base = await start_server(vbot)
        try:
            async with httpx.AsyncClient(
                base_url=base, timeout=60, cookies={"vbot_console": signed.token}
            ) as http:
                for name in pages:
                    path = PAGES[name]
                    page = f"/console/u/{unit}{path}"
                    start = asyncio.get_running_loop().time()
                    first = await http.get(page)
                    result[f"{name}:first"] = (asyncio.get_running_loop().time() - start) * 1000
                    assert first.status_code == 200, (name, first.status_code)
                    samples = []
                    for n in range(repeat):
                        if name == "awards-write":
                            check_out(uow, unit, members[n * 97 % len(members)], today, now)
                        start = asyncio.get_running_loop().time()
                        response = await http.get(page)
                        samples.append((asyncio.get_running_loop().time() - start) * 1000)
                        assert response.status_code == 200
                    result[name] = samples
        finally:
            await stop_server(server, task)
    return result


def check_out(uow, unit: int, volunteer: int, today: dt.date, now: dt.datetime) -> None:
    """A counted visit of today written for the member, as a check-out writes it (its own transaction)."""
    from storage.models import ServiceRecord

    with uow() as session:
        session.add(
            ServiceRecord(
                volunteer_id=volunteer,
                unit_id=unit,
                kind="service",
                source="chat",
                status="counted",
                minutes=120,
                service_date=today,
                recorded_by="bench",
                created_at=now,
            )
        )
        session.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--volunteers", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help="which of today,search,awards,near,awards-write,print,duplicates",
    )
    args = parser.parse_args(argv)
    pages = [name for name in args.pages.split(",") if name in PAGES]
    for kind in kinds(args.database):
        result = asyncio.run(measure(kind, args.records, args.volunteers, args.repeat, pages))
        print(
            f"{kind}: {args.volunteers:,} volunteers, {args.records:,} records (loaded in {result['load_s']:.0f} s)"
        )
        for name in pages:
            samples = result[name]
            print(
                f"  {name:12s} median {median(samples):7.1f} ms   p95 {percentile(samples, 95):7.1f} ms"
                f"   first {result[f'{name}:first']:7.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
