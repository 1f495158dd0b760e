"""`vbot deadline add`: a unit's own deadline or plan item, alerted to its coordinators ahead of the date.

Once on --date; --yearly on its month and day every year; --monthly on its day of every month; --months 7-12
on its day of each of those months every year (招募 July–December). Each occurrence is alerted on its own.
"""

from __future__ import annotations

import argparse

from bot.commands.arguments import a_date, a_day_list, a_positive_int, a_text
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.awards.deadlines import parse_months
from handlers.formatting import local_date
from handlers.people import admin

COMMANDS = ("deadline",)
EVERY_MONTH = frozenset(range(1, 13))


def a_months(text: str) -> frozenset[int]:
    try:
        return parse_months(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(commands) -> None:
    deadline = commands.add_parser("deadline", help="a unit's own dates to be alerted of").add_subparsers(
        dest="action", required=True
    )
    deadline_add = deadline.add_parser(
        "add", help="a unit's own deadline or plan item, alerted to its coordinators"
    )
    deadline_add.add_argument("--unit", type=a_positive_int, required=True)
    deadline_add.add_argument("--title", type=a_text, required=True)
    deadline_add.add_argument(
        "--date", type=a_date, required=True, help="the date; repeating, its day of the month"
    )
    deadline_add.add_argument(
        "--remind",
        type=a_day_list,
        default=(14, 3, 1, 0),
        help="days before the date to alert, e.g. 14,3,1 (0 = on the day)",
    )
    repeat = deadline_add.add_mutually_exclusive_group()
    repeat.add_argument("--yearly", action="store_true", help="every year on the date")
    repeat.add_argument("--monthly", action="store_true", help="every month on the date's day")
    repeat.add_argument(
        "--months", type=a_months, help="on the date's day of these months every year, e.g. 7-12 or 1,7"
    )
    deadline_add.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, _today = now_and_today(settings)
    months = EVERY_MONTH if args.monthly else args.months
    row = admin.add_deadline(
        session,
        now,
        operator(),
        unit_id=args.unit,
        title=args.title,
        date=args.date,
        remind=args.remind,
        yearly=args.yearly,
        months=months,
    )
    session.commit()
    t = translator(settings)
    if row.months:
        human = t(
            "deadline {id} added: {title}, day {day} of the months {months}",
            id=row.id,
            title=row.title,
            day=row.date.day,
            months=row.months,
        )
    else:
        human = t(
            "deadline {id} added: {title} on {date}",
            id=row.id,
            title=row.title,
            date=local_date(row.date, t.locale),
        )
    return {"id": row.id, "months": [int(m) for m in row.months.split(",")] if row.months else None}, human
