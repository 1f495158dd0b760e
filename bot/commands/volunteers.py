"""`vbot volunteer add|import|set`: people one by one, a unit's whole roster from a file, their details."""

from __future__ import annotations

import datetime as dt
import sys

from bot.commands.arguments import a_date, a_positive_int, a_text, read_file, write_file
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.people import admin
from storage.vocabulary import GENDERS, ROLES

COMMANDS = ("volunteer",)


def add_parser(commands) -> None:
    volunteer = commands.add_parser(
        "volunteer", help="volunteers and coordinators: add, import a roster, set record-book facts"
    ).add_subparsers(dest="action", required=True)
    volunteer_add = volunteer.add_parser(
        "add",
        help="add a person to a unit; prints their id and invite code",
        description="Example: vbot volunteer add --unit 1 --name 王小明 --birth-date 1958-03-02 --gender male",
    )
    volunteer_add.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_add.add_argument("--name", type=a_text, required=True)
    volunteer_add.add_argument("--birth-date", type=a_date)
    volunteer_add.add_argument("--gender", choices=GENDERS)
    volunteer_add.add_argument("--trained-on", type=a_date)
    volunteer_add.add_argument("--role", choices=ROLES, default="volunteer")
    volunteer_add.add_argument(
        "--allow-duplicate",
        action="store_true",
        help="add even though a member of the unit has the same name and birth date (another person)",
    )
    volunteer_add.add_argument("--json", action="store_true")

    volunteer_import = volunteer.add_parser("import", help="a unit's roster: CSV (UTF-8 or Big5) or XLSX")
    volunteer_import.add_argument("file", type=a_text)
    volunteer_import.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_import.add_argument(
        "--invites",
        type=a_text,
        help="write the new volunteers' invite codes to this CSV, or as printable QR invites to a .pdf",
    )
    volunteer_import.add_argument("--json", action="store_true")
    volunteer_set = volunteer.add_parser(
        "set",
        help="set a person's record-book number and dates, English name, training and birth dates",
        description="Example: vbot volunteer set 1 --record-book 北市志字第123號 --record-book-date 2023-09-20 "
        '--english-name "Hsiao-Ming Wang"',
    )
    volunteer_set.add_argument("id", type=a_positive_int)
    volunteer_set.add_argument("--record-book", dest="record_book_no", type=a_text)
    volunteer_set.add_argument("--record-book-date", type=a_date)
    volunteer_set.add_argument("--english-name", type=a_text)
    volunteer_set.add_argument("--first-service-date", type=a_date)
    volunteer_set.add_argument("--trained-on", type=a_date)
    volunteer_set.add_argument("--birth-date", type=a_date)
    volunteer_set.add_argument("--json", action="store_true")
    volunteer_unreachable = volunteer.add_parser(
        "unreachable",
        help="who of a unit blocked the bot: no reminder reaches them until they follow it again",
        description="Example: vbot volunteer unreachable --unit 1",
    )
    volunteer_unreachable.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_unreachable.add_argument("--json", action="store_true")


OPTION_OF = {
    "record_book_no": "--record-book"
}  # the fields `volunteer set` changed, as the options that set them


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, today = now_and_today(settings)
    if args.action == "add":
        person, invite = admin.add_volunteer(
            session,
            now,
            operator(),
            unit_id=args.unit,
            name=args.name,
            invite_valid_for=dt.timedelta(days=30),
            birth_date=args.birth_date,
            gender=args.gender,
            trained_on=args.trained_on,
            role=args.role,
            today=today,
            allow_duplicate=args.allow_duplicate,
        )
        session.commit()
        t = translator(settings)
        return (
            {"id": person.id, "invite_code": invite.code},
            t(
                "volunteer {id} added; invite code {code} (valid 30 days, once)",
                id=person.id,
                code=invite.code,
            ),
        )
    if args.action == "import":
        return import_roster(args, session, now, today, settings)
    if args.action == "unreachable":
        return unreachable(args, session)
    fields = {f: getattr(args, f) for f in admin.VOLUNTEER_FIELDS if getattr(args, f) is not None}
    person = admin.set_volunteer(session, now, operator(), args.id, fields)
    session.commit()
    t = translator(settings)
    options = ", ".join(OPTION_OF.get(field, "--" + field.replace("_", "-")) for field in sorted(fields))
    return {
        "id": person.id,
        "changed": sorted(fields),
    }, t("volunteer {id}: {options} set", id=person.id, options=options)


def unreachable(args, session) -> tuple[dict, str]:
    from handlers.notifications import unreachable_people
    from handlers.validation import unit_or_error

    unit = unit_or_error(session, args.unit)
    people = unreachable_people(session, args.unit)
    listed = [
        {"id": p.volunteer_id, "name": p.name, "platform": p.platform, "since": p.since.isoformat()}
        for p in people
    ]
    lines = [
        f"{p.volunteer_id}\t{p.name}\t{p.platform}\tblocked since {p.since:%Y-%m-%d %H:%M} UTC"
        for p in people
    ]
    human = f"{unit.name}: {len(people)} chat accounts cannot be reached (blocked the bot)"
    return {"unit": unit.id, "unreachable": listed}, "\n".join([human, *lines])


def import_roster(args, session, now: dt.datetime, today: dt.date, settings: Settings) -> tuple[dict, str]:
    from handlers.people import roster_import
    from handlers.validation import unit_or_error

    rows = roster_import.read_rows(read_file(args.file), args.file)
    cards = args.invites and args.invites.lower().endswith(".pdf")
    if cards:  # asked first: a platform that cannot be reached stops the import before it changes anything
        from bot.commands import printouts as posters

        names = posters.asked_platform_names(settings)
        unit_name = unit_or_error(session, args.unit).name
    report = roster_import.import_roster(
        session, now, operator(), args.unit, rows, today, roster_import.rows_progress(sys.stderr)
    )
    session.commit()
    if cards:  # after the commit: the codes on the cards are the ones stored
        write_file(args.invites, posters.invite_cards_pdf(settings, names, unit_name, report.invites))
    elif args.invites:
        write_file(args.invites, roster_import.invites_csv(report.invites))
    t = translator(settings)
    summary = t(
        "{created} created, {updated} updated, {unchanged} unchanged, {errors} errors",
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=len(report.errors),
    )
    lines = [t("line {line}: {error}", line=line, error=words) for line, words in report.error_lines(t)]
    return report.as_json(), "\n".join([summary, *lines])
