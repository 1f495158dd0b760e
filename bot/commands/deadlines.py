"""`vbot deadline add`: a unit's own deadline or plan item, alerted to its coordinators ahead of the date."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_day_list, a_positive_int, a_text
from bot.commands.shared import now_and_today, operator
from bot.config import Settings
from handlers.people import admin

COMMANDS = ("deadline",)


def add_parser(commands) -> None:
    deadline = commands.add_parser("deadline").add_subparsers(dest="action", required=True)
    deadline_add = deadline.add_parser(
        "add", help="a unit's own deadline or plan item, alerted to its coordinators"
    )
    deadline_add.add_argument("--unit", type=a_positive_int, required=True)
    deadline_add.add_argument("--title", type=a_text, required=True)
    deadline_add.add_argument("--date", type=a_date, required=True)
    deadline_add.add_argument(
        "--remind",
        type=a_day_list,
        default=(14, 3, 1, 0),
        help="days before the date to alert, e.g. 14,3,1 (0 = on the day)",
    )
    deadline_add.add_argument("--yearly", action="store_true")
    deadline_add.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, _today = now_and_today(settings)
    row = admin.add_deadline(
        session,
        now,
        operator(),
        unit_id=args.unit,
        title=args.title,
        date=args.date,
        remind=args.remind,
        yearly=args.yearly,
    )
    session.commit()
    return {"id": row.id}, f"deadline {row.id} added: {row.title} on {row.date.isoformat()}"
