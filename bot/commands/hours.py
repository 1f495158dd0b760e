"""`vbot hours add`: a record of service (or other) hours, and the awards it brings within reach."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text
from bot.commands.shared import now_and_today, operator
from bot.config import Settings
from handlers.formatting import hours_from_minutes
from handlers.people import admin
from handlers.service.hours import hand_entry_counts_from

COMMANDS = ("hours",)


def add_parser(commands) -> None:
    hours = commands.add_parser("hours", help="hours entered by hand").add_subparsers(
        dest="action", required=True
    )
    hours_add = hours.add_parser(
        "add",
        help="record hours by hand: a correction, past service, or a record-book balance",
        description="Example: vbot hours add --volunteer 1 --unit 1 --date 2025-12-31 --hours 120 --kind balance "
        '--note "record-book balance". A negative --hours corrects, with a --note saying why.',
    )
    hours_add.add_argument("--volunteer", type=a_positive_int, required=True)
    hours_add.add_argument("--unit", type=a_positive_int, required=True)
    hours_add.add_argument("--date", type=a_date, required=True)
    hours_add.add_argument("--hours", type=a_number, required=True)
    hours_add.add_argument(
        "--kind",
        choices=admin.HOUR_KINDS,
        default="service",
        help="service (served on --date), balance (a record book's balance brought in: counts toward totals and"
        " awards, no period's service in reports and exports), training or meeting",
    )
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
    reached: list[str] = []
    waiting = hand_entry_counts_from(session, record)
    if record.kind == "service" and record.minutes > 0 and waiting is None:
        from handlers.awards.progress import newly_reached_awards
        from storage.models import Unit

        unit = session.get(Unit, args.unit)
        added = [(args.date, record.minutes, unit.category, unit.city)]
        served = record.source != "balance"  # the engine keeps served hours apart: they wait for the training
        reached = [
            step.code
            for step in newly_reached_awards(session, args.volunteer, today, added, from_chat=served)
        ]
    session.commit()
    warning = _warning(args, waiting)
    result = {"id": record.id, "kind": args.kind, "reached": reached, "warning": warning}
    return result, (
        f"record {record.id}: {hours_from_minutes(record.minutes, 'en')} hours of {args.kind}"
        + (f"; now within reach: {', '.join(reached)}" if reached else "")
        + (f"\nwarning: {warning}" if warning else "")
    )


def _warning(args, waiting) -> str | None:
    """Why hours entered by hand do not count yet (domain.md: only from both trainings, per category)."""
    if waiting is None:
        return None
    if waiting.missing_special:
        return (
            f"volunteer {args.volunteer} has no special training for unit {args.unit}'s category: these hours are"
            " kept but count only once it is recorded (vbot training add --kind special --category ...)"
        )
    return (
        f"{args.date.isoformat()} is before volunteer {args.volunteer}'s trainings were both done"
        f" ({waiting.day.isoformat()}): these hours are kept but do not count as service hours;"
        " a record book's balance is --kind balance"
    )
