"""`vbot training add` (a volunteer's training record) and `vbot training session add` (a course to sign up for)."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text, a_time
from bot.commands.shared import now_and_today, operator
from bot.config import Settings
from handlers.people import admin
from storage.vocabulary import CATEGORIES

COMMANDS = ("training",)


def add_parser(commands) -> None:
    training = commands.add_parser("training").add_subparsers(dest="action", required=True)
    training_add = training.add_parser("add")
    training_add.add_argument("--volunteer", type=a_positive_int, required=True)
    training_add.add_argument("--kind", choices=admin.TRAINING_KINDS, required=True)
    training_add.add_argument("--category", choices=CATEGORIES)
    training_add.add_argument("--date", type=a_date, required=True)
    training_add.add_argument("--hours", type=a_number, required=True)
    training_add.add_argument("--course", type=a_text)
    training_add.add_argument("--json", action="store_true")
    class_add = (
        training.add_parser("session").add_subparsers(dest="session_action", required=True).add_parser("add")
    )
    class_add.add_argument("--unit", type=a_positive_int, required=True)
    class_add.add_argument("--title", type=a_text, required=True)
    class_add.add_argument("--kind", choices=admin.CLASS_KINDS, required=True)
    class_add.add_argument("--start", type=a_time, required=True)
    class_add.add_argument("--end", type=a_time, required=True)
    class_add.add_argument("--place", type=a_text)
    class_add.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, _today = now_and_today(settings)
    if args.action == "session":
        zone = settings.zone
        start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (args.start, args.end))
        row = admin.add_training_class(
            session,
            now,
            operator(),
            unit_id=args.unit,
            title=args.title,
            kind=args.kind,
            starts_at=start,
            ends_at=end,
            place=args.place,
        )
        session.commit()
        return {"id": row.id}, f"training session {row.id} added: {row.title}"
    record = admin.add_training(
        session,
        now,
        operator(),
        volunteer_id=args.volunteer,
        kind=args.kind,
        day=args.date,
        hours=args.hours,
        category=args.category,
        course=args.course,
    )
    session.commit()
    return {"id": record.id}, f"training {record.id} recorded"
