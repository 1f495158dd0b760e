"""`vbot hours add`: a record of service (or other) hours, and the awards it brings within reach."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text
from bot.commands.shared import now_and_today, operator
from bot.config import Settings
from handlers.formatting import hours_from_minutes
from handlers.people import admin
from storage.vocabulary import KINDS

COMMANDS = ("hours",)


def add_parser(commands) -> None:
    hours = commands.add_parser("hours").add_subparsers(dest="action", required=True)
    hours_add = hours.add_parser("add")
    hours_add.add_argument("--volunteer", type=a_positive_int, required=True)
    hours_add.add_argument("--unit", type=a_positive_int, required=True)
    hours_add.add_argument("--date", type=a_date, required=True)
    hours_add.add_argument("--hours", type=a_number, required=True)
    hours_add.add_argument("--kind", choices=KINDS, default="service")
    hours_add.add_argument("--note", type=a_text)
    hours_add.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, today = now_and_today(settings)
    record = admin.add_hours(
        session,
        now,
        operator(),
        volunteer_id=args.volunteer,
        unit_id=args.unit,
        day=args.date,
        hours=args.hours,
        kind=args.kind,
        note=args.note,
        today=today,
    )
    reached = []
    if record.kind == "service" and record.minutes > 0:
        from handlers.awards.progress import newly_reached_awards
        from storage.models import Unit

        unit = session.get(Unit, args.unit)
        added = [(args.date, record.minutes, unit.category, unit.city)]
        reached = [step.code for step in newly_reached_awards(session, args.volunteer, today, added)]
    session.commit()
    return (
        {"id": record.id, "reached": reached},
        f"record {record.id}: {hours_from_minutes(record.minutes, 'en')} hours of {record.kind}"
        + (f"; now within reach: {', '.join(reached)}" if reached else ""),
    )
