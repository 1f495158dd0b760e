"""`vbot training add` (a volunteer's training record) and `vbot training session add` (a course to sign up for)."""

from __future__ import annotations

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text, a_time
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.people import admin
from storage.vocabulary import CATEGORIES

COMMANDS = ("training",)


def add_parser(commands) -> None:
    training = commands.add_parser(
        "training", help="a volunteer's completed training, and the unit's planned classes"
    ).add_subparsers(dest="action", required=True)
    training_add = training.add_parser(
        "add",
        help="record a training a volunteer completed",
        description="Example: vbot training add --volunteer 1 --kind special --category culture "
        "--date 2023-09-01 --hours 6",
    )
    training_add.add_argument("--volunteer", type=a_positive_int, required=True, help="the volunteer's id")
    training_add.add_argument("--kind", choices=admin.TRAINING_KINDS, required=True, help="which training")
    training_add.add_argument(
        "--category", choices=CATEGORIES, help="the service category of a special training"
    )
    training_add.add_argument(
        "--date", type=a_date, required=True, help="completed on, YYYY-MM-DD or ROC 115/03/25"
    )
    training_add.add_argument("--hours", type=a_number, required=True, help="its length in hours, e.g. 6")
    training_add.add_argument("--course", type=a_text, help="the course's name")
    training_add.add_argument("--json", action="store_true", help="print one JSON object")
    class_add = (
        training.add_parser("session", help="planned training classes and meetings (members get reminders)")
        .add_subparsers(dest="session_action", required=True)
        .add_parser(
            "add",
            help="plan a class or meeting",
            description="Example: vbot training session add --unit 1 --title 在職訓練 --kind in-service "
            "--start 2026-04-01T09:00 --end 2026-04-01T12:00 --place 3樓會議室",
        )
    )
    class_add.add_argument("--unit", type=a_positive_int, required=True, help="the unit's id")
    class_add.add_argument("--title", type=a_text, required=True, help="what members see")
    class_add.add_argument("--kind", choices=admin.CLASS_KINDS, required=True, help="what kind of class")
    class_add.add_argument(
        "--start",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-04-01T09:00 (local), or ROC 115/04/01 09:00",
    )
    class_add.add_argument(
        "--end",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-04-01T12:00 (local), or ROC 115/04/01 09:00",
    )
    class_add.add_argument("--place", type=a_text, help="where")
    class_add.add_argument("--json", action="store_true", help="print one JSON object")


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
        t = translator(settings)
        return {"id": row.id}, t("training session {id} added: {title}", id=row.id, title=row.title)
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
    t = translator(settings)
    return {"id": record.id}, t("training {id} recorded", id=record.id)
