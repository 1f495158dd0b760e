"""`vbot hours add`: a record of service (or other) hours, and the awards it brings within reach."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text
from bot.commands.shared import english, now_and_today, operator, translator
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
    t = translator(settings)
    reached: list[str] = []
    reached_names: list[str] = []
    waiting = hand_entry_counts_from(session, record)
    if record.kind == "service" and record.minutes > 0 and waiting is None:
        from handlers.awards.progress import newly_reached_awards
        from storage.models import Unit

        unit = session.get(Unit, args.unit)
        added = [(args.date, record.minutes, unit.category, unit.city)]
        served = record.source != "balance"  # the engine keeps served hours apart: they wait for the training
        steps = newly_reached_awards(session, args.volunteer, today, added, from_chat=served)
        reached = [step.code for step in steps]
        reached_names = [step.name(t.locale) for step in steps]
    session.commit()
    result = {
        "id": record.id,
        "kind": args.kind,
        "reached": reached,
        "warning": _warning(english(), args, waiting),
    }
    kind = {"service": t("service"), "training": t("training"), "meeting": t("meeting")}.get(
        args.kind, args.kind
    )
    hours = hours_from_minutes(record.minutes, t.locale)
    lines = [t("record {id}: {hours} hours of {kind}", id=record.id, hours=hours, kind=kind)]
    if reached:
        lines.append(t("now within reach: {awards}", awards=t(", ").join(reached_names)))
    if warning := _warning(t, args, waiting):
        lines.append(t("warning: {warning}", warning=warning))
    return result, "\n".join(lines)


def _warning(t, args, waiting) -> str | None:
    """Why hours entered by hand do not count yet (domain.md: only from both trainings, per category)."""
    if waiting is None:
        return None
    if waiting.missing_special:
        return t(
            "volunteer {volunteer} has no special training for unit {unit}'s category: these hours are kept but"
            " count only once it is recorded (vbot training add --kind special --category ...)",
            volunteer=args.volunteer,
            unit=args.unit,
        )
    return t(
        "{date} is before volunteer {volunteer}'s trainings were both done ({done}): these hours are kept but"
        " do not count as service hours; a record book's balance is --kind balance",
        date=args.date.isoformat(),
        volunteer=args.volunteer,
        done=waiting.day.isoformat(),
    )
