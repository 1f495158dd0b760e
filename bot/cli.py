"""The `vbot` command. Every error is one line on stderr with a non-zero exit, and changes nothing."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import logging
import sys

import sqlalchemy as sa

from bot.config import ConfigError, Settings
from handlers import admin
from handlers.admin import InputError
from storage.db import UnitOfWork, make_engine, migrate

log = logging.getLogger("vbot")


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise InputError(f"{self.prog}: {message}")


def a_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def a_positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}")
    return int(text)


def a_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog="vbot", description="志工小幫手 — the volunteer assistant bot")
    commands = top.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create or upgrade the database").add_argument("--json", action="store_true")

    serve = commands.add_parser("serve", help="run the webhook server and the scheduled jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--no-scheduler", action="store_true")

    commands.add_parser("demo", help="chat with the bot in the terminal as a sample volunteer")

    unit = commands.add_parser("unit").add_subparsers(dest="action", required=True)
    unit_add = unit.add_parser("add")
    unit_add.add_argument("--name", required=True)
    unit_add.add_argument("--category", choices=admin.CATEGORIES, default="general")
    unit_add.add_argument("--city", choices=admin.CITIES, default="other")
    unit_add.add_argument("--json", action="store_true")

    volunteer = commands.add_parser("volunteer").add_subparsers(dest="action", required=True)
    volunteer_add = volunteer.add_parser("add")
    volunteer_add.add_argument("--unit", type=a_positive_int, required=True)
    volunteer_add.add_argument("--name", required=True)
    volunteer_add.add_argument("--birth-date", type=a_date)
    volunteer_add.add_argument("--gender", choices=admin.GENDERS)
    volunteer_add.add_argument("--trained-on", type=a_date)
    volunteer_add.add_argument("--role", choices=admin.ROLES, default="volunteer")
    volunteer_add.add_argument("--json", action="store_true")

    hours = commands.add_parser("hours").add_subparsers(dest="action", required=True)
    hours_add = hours.add_parser("add")
    hours_add.add_argument("--volunteer", type=a_positive_int, required=True)
    hours_add.add_argument("--unit", type=a_positive_int, required=True)
    hours_add.add_argument("--date", type=a_date, required=True)
    hours_add.add_argument("--hours", type=a_number, required=True)
    hours_add.add_argument("--kind", choices=admin.KINDS, default="service")
    hours_add.add_argument("--note")
    hours_add.add_argument("--json", action="store_true")
    return top


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def emit(args, result: dict, human: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if getattr(args, "json", False) else human)


def run(args, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(settings, args.host, args.port, scheduler=not args.no_scheduler)
    if args.command == "demo":
        from bot.terminal import demo

        return demo(settings)

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        if args.command == "init":
            emit(args, {"database": engine.url.render_as_string(hide_password=True), "schema": "current"},
                 "database is ready")
            return 0
        now = dt.datetime.now(dt.UTC)
        with UnitOfWork(engine)() as session:
            if args.command == "unit":
                unit = admin.add_unit(session, now, operator(), args.name, args.category, args.city)
                session.commit()
                emit(args, {"id": unit.id}, f"unit {unit.id} added: {unit.name}")
            elif args.command == "volunteer":
                person, invite = admin.add_volunteer(
                    session, now, operator(), args.unit, args.name, dt.timedelta(days=30),
                    args.birth_date, args.gender, args.trained_on, args.role,
                )
                session.commit()
                emit(args, {"id": person.id, "invite_code": invite.code},
                     f"volunteer {person.id} added; invite code {invite.code} (valid 30 days, once)")
            elif args.command == "hours":
                record = admin.add_hours(
                    session, now, operator(), args.volunteer, args.unit, args.date, args.hours, args.kind, args.note
                )
                session.commit()
                emit(args, {"id": record.id}, f"record {record.id}: {record.minutes} minutes of {record.kind}")
        return 0
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args = parser().parse_args(argv)
        settings = Settings.from_environment()
        return run(args, settings)
    except (InputError, ConfigError) as error:
        print(f"vbot: {error}", file=sys.stderr)
        return 2
    except sa.exc.OperationalError as error:
        print(f"vbot: the database cannot be reached: {str(error.orig).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as error:
        print(f"vbot: database error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
