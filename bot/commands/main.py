"""The `vbot` command. Every error is one line on stderr with a non-zero exit, and changes nothing."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import logging
import sys

import sqlalchemy as sa

from bot.commands.arguments import (
    a_date,
    a_day_list,
    a_number,
    a_port,
    a_positive_int,
    a_text,
    a_time,
    read_file,
    write_file,
)
from bot.config import ConfigError, Settings
from handlers.formatting import hours_from_minutes
from handlers.people import admin
from handlers.validation import InputError
from storage.vocabulary import CATEGORIES, CITIES, GENDERS, KINDS, ROLES

log = logging.getLogger("vbot")


class UsageError(InputError):
    """A command line argparse refused; its message already names the command."""


class DatabaseUnreachable(Exception):
    pass


class SchemaError(Exception):
    """alembic could not bring the schema to this version's head (e.g. a newer vbot upgraded the database)."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


def one_line(text: str) -> str:
    """Error text as a single line: line breaks and other control characters are shown escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text.strip()) or "unknown error"


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog="vbot", description="志工小幫手 — the volunteer assistant bot")
    commands = top.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create or upgrade the database").add_argument("--json", action="store_true")

    serve = commands.add_parser("serve", help="run the webhook server and the scheduled jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=a_port, default=8080)
    serve.add_argument("--no-scheduler", action="store_true")
    serve.add_argument("--no-workers", action="store_true",
                       help="only answer webhooks; `vbot work` processes and sends, in another process")

    work = commands.add_parser("work", help="process stored events and send answers, without a web server")
    work.add_argument("--no-scheduler", action="store_true")

    commands.add_parser("scheduler", help="run the scheduled jobs (and send what they queue), no web server")

    remind = commands.add_parser("remind", help="run one reminder pass as if at --now, deliver, and report")
    remind.add_argument("--now", type=a_time, required=True)
    remind.add_argument("--json", action="store_true")

    deadline = commands.add_parser("deadline").add_subparsers(dest="action", required=True)
    deadline_add = deadline.add_parser("add", help="a unit's own deadline or plan item, alerted to its coordinators")
    deadline_add.add_argument("--unit", type=a_positive_int, required=True)
    deadline_add.add_argument("--title", type=a_text, required=True)
    deadline_add.add_argument("--date", type=a_date, required=True)
    deadline_add.add_argument("--remind", type=a_day_list, default=(14, 3, 1, 0),
                              help="days before the date to alert, e.g. 14,3,1 (0 = on the day)")
    deadline_add.add_argument("--yearly", action="store_true")
    deadline_add.add_argument("--json", action="store_true")

    event = commands.add_parser("event").add_subparsers(dest="action", required=True)
    event_add = event.add_parser("add")
    event_add.add_argument("--unit", type=a_positive_int, required=True)
    event_add.add_argument("--title", type=a_text, required=True)
    event_add.add_argument("--start", type=a_time, required=True)
    event_add.add_argument("--end", type=a_time, required=True)
    event_add.add_argument("--place", type=a_text)
    event_add.add_argument("--lat", type=a_number)
    event_add.add_argument("--lon", type=a_number)
    event_add.add_argument("--radius", type=a_positive_int, help="metres: checking in needs a location within it")
    event_add.add_argument("--rotating-code", action="store_true", help="the code changes every minute (kiosk page)")
    event_add.add_argument("--walk-ups", choices=("allow", "refuse"), default="allow")
    event_add.add_argument("--credit", choices=("actual", "capped", "lateness"), default="actual")
    event_add.add_argument("--grace", type=int, default=0, help="minutes after the shift's end still credited")
    event_add.add_argument("--json", action="store_true")
    event_poster = event.add_parser("poster", help="the check-in poster: PNG, or PDF when FILE ends in .pdf")
    event_poster.add_argument("--event", type=a_positive_int, required=True)
    event_poster.add_argument("-o", "--output", type=a_text, required=True)
    event_poster.add_argument("--json", action="store_true")

    event_kiosk = event.add_parser("kiosk", help="a signed link to the page showing an event's rotating code")
    event_kiosk.add_argument("--event", type=a_positive_int, required=True)
    event_kiosk.add_argument("--hours", type=a_positive_int, default=24, help="how long the link works")
    event_kiosk.add_argument("--json", action="store_true")

    shift = commands.add_parser("shift").add_subparsers(dest="action", required=True)
    shift_add = shift.add_parser("add")
    shift_add.add_argument("--event", type=a_positive_int, required=True)
    shift_add.add_argument("--start", type=a_time, required=True)
    shift_add.add_argument("--end", type=a_time, required=True)
    shift_add.add_argument("--capacity", type=a_positive_int, required=True)
    shift_add.add_argument("--post", type=a_text)
    shift_add.add_argument("--json", action="store_true")

    roster = commands.add_parser("roster").add_subparsers(dest="action", required=True)
    roster_add = roster.add_parser("add")
    roster_add.add_argument("--shift", type=a_positive_int, required=True)
    roster_add.add_argument("--volunteer", type=a_positive_int, required=True)
    roster_add.add_argument("--json", action="store_true")
    roster_import = roster.add_parser("import", help="a CSV with the columns shift and volunteer (ids)")
    roster_import.add_argument("file", type=a_text)
    roster_import.add_argument("--event", type=a_positive_int, required=True)
    roster_import.add_argument("--json", action="store_true")

    from bot.commands import export as export_cli
    from bot.commands import menus as menus_cli
    from bot.commands import report as report_cli

    export_cli.add_parser(commands)
    report_cli.add_parser(commands)
    menus_cli.add_parser(commands)

    commands.add_parser("demo", help="chat with the bot in the terminal as a sample volunteer")

    unit = commands.add_parser("unit").add_subparsers(dest="action", required=True)
    unit_add = unit.add_parser("add")
    unit_add.add_argument("--name", type=a_text, required=True)
    unit_add.add_argument("--category", choices=CATEGORIES, default="general")
    unit_add.add_argument("--city", choices=CITIES, default="other")
    unit_add.add_argument("--quiet-hours", type=a_text, help="no reminders pushed then, e.g. 21:00-08:00 (the default)")
    unit_add.add_argument("--json", action="store_true")
    unit_set = unit.add_parser("set")
    unit_set.add_argument("id", type=a_positive_int)
    unit_set.add_argument("--quiet-hours", type=a_text, required=True)
    unit_set.add_argument("--json", action="store_true")

    administrator = commands.add_parser("admin", help="city administrators: every unit of their city")
    administrator_add = administrator.add_subparsers(dest="action", required=True).add_parser("add")
    administrator_add.add_argument("--city", choices=CITIES, required=True)
    administrator_add.add_argument("--volunteer", type=a_positive_int, help="an existing person")
    administrator_add.add_argument("--name", type=a_text, help="a new person, who gets an invite code")
    administrator_add.add_argument("--json", action="store_true")

    volunteer = commands.add_parser("volunteer").add_subparsers(dest="action", required=True)
    volunteer_add = volunteer.add_parser("add")
    volunteer_add.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_add.add_argument("--name", type=a_text, required=True)
    volunteer_add.add_argument("--birth-date", type=a_date)
    volunteer_add.add_argument("--gender", choices=GENDERS)
    volunteer_add.add_argument("--trained-on", type=a_date)
    volunteer_add.add_argument("--role", choices=ROLES, default="volunteer")
    volunteer_add.add_argument("--json", action="store_true")

    volunteer_import = volunteer.add_parser("import", help="a unit's roster: CSV (UTF-8 or Big5) or XLSX")
    volunteer_import.add_argument("file", type=a_text)
    volunteer_import.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_import.add_argument("--invites", type=a_text, help="write the new volunteers' invite codes to this CSV, or as printable QR invites to a .pdf")
    volunteer_import.add_argument("--json", action="store_true")
    volunteer_set = volunteer.add_parser("set")
    volunteer_set.add_argument("id", type=a_positive_int)
    volunteer_set.add_argument("--record-book", dest="record_book_no", type=a_text)
    volunteer_set.add_argument("--record-book-date", type=a_date)
    volunteer_set.add_argument("--english-name", type=a_text)
    volunteer_set.add_argument("--first-service-date", type=a_date)
    volunteer_set.add_argument("--trained-on", type=a_date)
    volunteer_set.add_argument("--birth-date", type=a_date)
    volunteer_set.add_argument("--json", action="store_true")

    training = commands.add_parser("training").add_subparsers(dest="action", required=True)
    training_add = training.add_parser("add")
    training_add.add_argument("--volunteer", type=a_positive_int, required=True)
    training_add.add_argument("--kind", choices=admin.TRAINING_KINDS, required=True)
    training_add.add_argument("--category", choices=CATEGORIES)
    training_add.add_argument("--date", type=a_date, required=True)
    training_add.add_argument("--hours", type=a_number, required=True)
    training_add.add_argument("--course", type=a_text)
    training_add.add_argument("--json", action="store_true")
    session_add = training.add_parser("session").add_subparsers(dest="session_action", required=True).add_parser("add")
    session_add.add_argument("--unit", type=a_positive_int, required=True)
    session_add.add_argument("--title", type=a_text, required=True)
    session_add.add_argument("--kind", choices=admin.SESSION_KINDS, required=True)
    session_add.add_argument("--start", type=a_time, required=True)
    session_add.add_argument("--end", type=a_time, required=True)
    session_add.add_argument("--place", type=a_text)
    session_add.add_argument("--json", action="store_true")

    award = commands.add_parser("award").add_subparsers(dest="action", required=True)
    award_grant = award.add_parser("grant")
    award_grant.add_argument("--volunteer", type=a_positive_int, required=True)
    award_grant.add_argument("--award", required=True)
    award_grant.add_argument("--date", type=a_date, required=True)
    award_grant.add_argument("--json", action="store_true")

    awards = commands.add_parser("awards").add_subparsers(dest="action", required=True)
    awards_eligible = awards.add_parser("eligible", help="who in a unit can apply for an award, or nearly")
    awards_eligible.add_argument("--unit", type=a_positive_int, required=True)
    awards_eligible.add_argument("--award", type=a_text)
    awards_eligible.add_argument("--as-of", type=a_date)
    awards_eligible.add_argument("--within", type=a_number, default=0, help="also those this many hours short")
    awards_eligible.add_argument("--json", action="store_true")

    hours = commands.add_parser("hours").add_subparsers(dest="action", required=True)
    hours_add = hours.add_parser("add")
    hours_add.add_argument("--volunteer", type=a_positive_int, required=True)
    hours_add.add_argument("--unit", type=a_positive_int, required=True)
    hours_add.add_argument("--date", type=a_date, required=True)
    hours_add.add_argument("--hours", type=a_number, required=True)
    hours_add.add_argument("--kind", choices=KINDS, default="service")
    hours_add.add_argument("--note", type=a_text)
    hours_add.add_argument("--json", action="store_true")
    return top


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def emit(args, result: dict, human: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if getattr(args, "json", False) else human)


def prepare(engine: sa.Engine) -> None:
    """Opens the database and brings its schema up to date, failing in one line if either cannot be done."""
    from alembic.util import CommandError  # alembic is imported only by commands that use the database

    from bot.database import prepare_database

    try:
        engine.connect().close()
    except sa.exc.OperationalError as error:
        raise DatabaseUnreachable(str(error.orig or error)) from None
    try:
        prepare_database(engine)
    except CommandError as error:
        raise SchemaError(str(error)) from None


def run(args, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(settings, args.host, args.port, scheduler=not args.no_scheduler, workers=not args.no_workers)
    if args.command == "work":
        from bot.serve import work

        return work(settings, scheduler=not args.no_scheduler)
    if args.command == "scheduler":
        from bot.serve import work

        return work(settings, scheduler=True, workers=False)
    if args.command == "remind":
        from bot.serve import remind_once

        now = args.now if args.now.tzinfo else args.now.replace(tzinfo=settings.zone)
        stored, sent = remind_once(settings, now.astimezone(dt.UTC))
        emit(args, {"queued": stored, "sent": sent},
             "\n".join(f"{job}: {count} queued" for job, count in stored.items()) + f"\nsent: {sent}")
        return 0
    if args.command == "demo":
        from bot.channels.terminal import demo

        return demo(settings)
    if args.command in ("line", "telegram"):
        from bot.commands import menus as menus_cli

        return menus_cli.run(args, settings)

    from storage.db import UnitOfWork, make_engine

    engine = make_engine(settings.database_url)
    try:
        prepare(engine)
        if args.command == "init":
            emit(args, {"database": engine.url.render_as_string(hide_password=True), "schema": "current"},
                 "database is ready")
            return 0
        now = dt.datetime.now(dt.UTC)
        today = now.astimezone(settings.zone).date()
        with UnitOfWork(engine)() as session:
            if args.command == "unit" and args.action == "set":
                unit = admin.set_quiet_hours(session, now, operator(), args.id, args.quiet_hours)
                session.commit()
                emit(args, {"id": unit.id, "quiet_hours": unit.quiet_hours}, f"unit {unit.id}: quiet hours {unit.quiet_hours}")
            elif args.command == "unit":
                unit = admin.add_unit(session, now, operator(), args.name, args.category, args.city, args.quiet_hours)
                session.commit()
                emit(args, {"id": unit.id}, f"unit {unit.id} added: {unit.name}")
            elif args.command == "export":
                from bot.commands import export as export_cli

                emit(args, *export_cli.run(args, session, settings))
            elif args.command == "report":
                from bot.commands import report as report_cli

                emit(args, *report_cli.run(args, session, settings))
            elif args.command in ("event", "shift", "roster"):
                emit_event_command(args, session, now, settings)
            elif args.command == "deadline":
                row = admin.add_deadline(session, now, operator(), args.unit, args.title, args.date, args.remind,
                                         args.yearly)
                session.commit()
                emit(args, {"id": row.id}, f"deadline {row.id} added: {row.title} on {row.date.isoformat()}")
            elif args.command == "volunteer" and args.action == "add":
                person, invite = admin.add_volunteer(
                    session, now, operator(), args.unit, args.name, dt.timedelta(days=30),
                    args.birth_date, args.gender, args.trained_on, args.role, today=today,
                )
                session.commit()
                emit(args, {"id": person.id, "invite_code": invite.code},
                     f"volunteer {person.id} added; invite code {invite.code} (valid 30 days, once)")
            elif args.command == "admin":
                person, invite = admin.add_city_administrator(session, now, operator(), args.city,
                                                              dt.timedelta(days=30), args.volunteer, args.name)
                session.commit()
                code = invite.code if invite else None
                emit(args, {"id": person.id, "city": args.city, "invite_code": code},
                     f"volunteer {person.id} administers {args.city}" + (f"; invite code {code}" if code else ""))
            elif args.command == "volunteer" and args.action == "import":
                emit_roster_import(args, session, now, today, settings)
            elif args.command == "volunteer" and args.action == "set":
                fields = {f: getattr(args, f) for f in admin.VOLUNTEER_FIELDS if getattr(args, f) is not None}
                person = admin.set_volunteer(session, now, operator(), args.id, fields)
                session.commit()
                emit(args, {"id": person.id, "changed": sorted(fields)}, f"volunteer {person.id}: {', '.join(sorted(fields))} set")
            elif args.command == "training" and args.action == "session":
                zone = settings.zone
                start, end = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (args.start, args.end))
                row = admin.add_training_session(
                    session, now, operator(), args.unit, args.title, args.kind, start, end, args.place
                )
                session.commit()
                emit(args, {"id": row.id}, f"training session {row.id} added: {row.title}")
            elif args.command == "training":
                record = admin.add_training(
                    session, now, operator(), args.volunteer, args.kind, args.date, args.hours, args.category, args.course
                )
                session.commit()
                emit(args, {"id": record.id}, f"training {record.id} recorded")
            elif args.command == "award":
                from handlers.awards.progress import rules_in_store

                known = {rule.code for rule in rules_in_store(session)}
                grant = admin.grant_award(session, now, operator(), args.volunteer, args.award, args.date, known)
                session.commit()
                emit(args, {"id": grant.id}, f"{grant.award_code} granted to volunteer {grant.volunteer_id}")
            elif args.command == "awards":
                emit_eligible(args, session, today)
            elif args.command == "hours":
                record = admin.add_hours(
                    session, now, operator(), args.volunteer, args.unit, args.date, args.hours, args.kind, args.note,
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
                emit(args, {"id": record.id, "reached": reached},
                     f"record {record.id}: {hours_from_minutes(record.minutes, 'en')} hours of {record.kind}"
                     + (f"; now within reach: {', '.join(reached)}" if reached else ""))
        return 0
    finally:
        engine.dispose()


def emit_roster_import(args, session, now: dt.datetime, today: dt.date, settings: Settings) -> None:
    from handlers.people import roster_import

    rows = roster_import.read_rows(read_file(args.file), args.file)
    cards = args.invites and args.invites.lower().endswith(".pdf")
    if cards:  # asked first: a platform that cannot be reached stops the import before it changes anything
        from bot.commands import printouts as posters

        names = posters.asked_platform_names(settings)
        unit_name = admin.unit_or_error(session, args.unit).name
    report = roster_import.import_roster(session, now, operator(), args.unit, rows, today,
                                         roster_import.rows_progress(sys.stderr))
    session.commit()
    if cards:  # after the commit: the codes on the cards are the ones stored
        write_file(args.invites, posters.invite_cards_pdf(settings, names, unit_name, report.invites))
    elif args.invites:
        write_file(args.invites, roster_import.invites_csv(report.invites))
    emit(args, report.as_json(), f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
         f"{len(report.errors)} errors" + "".join(f"\nline {e['line']}: {e['error']}" for e in report.errors))


def local_time(moment: dt.datetime, settings: Settings) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


def emit_event_command(args, session, now: dt.datetime, settings: Settings) -> None:
    from handlers.events import admin as event_admin

    if args.command == "event" and args.action == "add":
        location = None
        if (args.lat, args.lon, args.radius) != (None, None, None):
            if None in (args.lat, args.lon, args.radius):
                raise InputError("--lat, --lon and --radius go together")
            location = (args.lat, args.lon, args.radius)
        event = event_admin.add_event(
            session, now, operator(), args.unit, args.title, local_time(args.start, settings),
            local_time(args.end, settings), args.place, location, args.rotating_code, args.walk_ups, args.credit,
            args.grace,
        )
        session.commit()
        emit(args, {"id": event.id, "code": event.code}, f"event {event.id} added; check-in code {event.code}")
    elif args.command == "event" and args.action == "kiosk":
        from handlers.events.codes import kiosk_link

        event = event_admin.event_or_error(session, args.event)
        if not event.rotating_code:
            raise InputError(f"event {event.id} has no rotating code (add it with --rotating-code)")
        expires = int(now.timestamp()) + min(args.hours, 24 * 31) * 3600
        url = kiosk_link(settings.public_url, event.id, event.secret, expires)
        emit(args, {"url": url}, url)
    elif args.command == "event":
        from bot.commands.printouts import write_poster

        event = event_admin.event_or_error(session, args.event)
        path = write_poster(settings, session, event, args.output)
        emit(args, {"file": path}, f"poster written to {path}")
    elif args.command == "shift":
        shift = event_admin.add_shift(session, now, operator(), args.event, local_time(args.start, settings),
                                      local_time(args.end, settings), args.capacity, args.post)
        session.commit()
        emit(args, {"id": shift.id}, f"shift {shift.id} added ({shift.capacity} places)")
    elif args.action == "add":
        entry, _new = event_admin.add_to_roster(session, now, operator(), args.shift, args.volunteer)
        session.commit()
        emit(args, {"id": entry.id}, f"volunteer {args.volunteer} is on shift {args.shift}")
    else:
        data = read_file(args.file, 10 * 1024 * 1024)
        report = event_admin.import_roster(session, now, operator(), args.event, data)
        session.commit()
        emit(args, report, f"{report['added']} added, {report['unchanged']} already on, {len(report['errors'])} errors"
             + "".join(f"\nline {e['line']}: {e['error']}" for e in report["errors"]))


def emit_eligible(args, session, today: dt.date) -> None:
    from handlers.awards.eligibility import eligible_list
    from handlers.awards.progress import rules_in_store
    from storage.models import Unit

    if session.get(Unit, args.unit) is None:
        raise InputError(f"there is no unit {args.unit}")
    rules = rules_in_store(session)
    known = {rule.code for rule in rules}
    if args.award is not None and args.award not in known:
        raise InputError(f"there is no award {args.award!r}; known: {', '.join(sorted(known))}")
    if not 0 <= args.within <= 100_000:
        raise InputError(f"--within must be between 0 and 100000 hours, not {args.within:g}")
    rows = eligible_list(session, args.unit, args.as_of or today, args.award, args.within, rules)
    human = "\n".join(
        f"{r.volunteer_id}\t{r.name}\t{r.award}\t{'eligible' if r.eligible else 'reached' if r.reached else f'{r.hours_needed:g} h to go'}"
        + (f"\tmissing: {', '.join(r.missing)}" if r.missing else "")
        for r in rows
    ) or "nobody"
    emit(args, {"volunteers": [r.as_json() for r in rows]}, human)


def configure_logging(command: str | None) -> None:
    """`serve` is a long-running service and logs what it does; the other commands only warn.

    (alembic logs every migration step at INFO, which would clutter a command's output
    and break its promise of exactly one line on stderr for an error.)
    """
    if command in ("serve", "work", "scheduler"):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, format="vbot: %(levelname)s: %(name)s: %(message)s")


def fail(message: str, code: int) -> int:
    print(one_line(message), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        configure_logging(args.command)
        settings = Settings.from_environment()
        return run(args, settings)
    except UsageError as error:
        return fail(str(error), 2)
    except (InputError, ConfigError) as error:
        return fail(f"vbot: {error}", 2)
    except DatabaseUnreachable as error:
        return fail(f"vbot: the database cannot be opened: {first_line(str(error))}", 1)
    except SchemaError as error:
        return fail(f"vbot: the database schema cannot be upgraded: {first_line(str(error))}", 1)
    except sa.exc.SQLAlchemyError as error:
        orig = getattr(error, "orig", None)
        return fail(f"vbot: database error: {first_line(str(orig or error))}", 1)
    except OSError as error:
        return fail(f"vbot: {error}", 1)
    except KeyboardInterrupt:
        return 130


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


if __name__ == "__main__":
    sys.exit(main())
