"""The `vbot` command. Every error is one line on stderr with a non-zero exit, and changes nothing.

Each command group is a module of bot/commands with `COMMANDS` (its sub-commands), `add_parser(commands)`
and `run`. The groups in ON_THEIR_OWN open what they need themselves: `run(args, settings)` returns the exit
code. Every other group runs in one unit of work on a prepared database: `run(args, session, settings)`
returns the JSON object and the line for a person, and main prints the one asked for.
"""

from __future__ import annotations

import argparse
import logging
import sys

import sqlalchemy as sa

from bot import redaction
from bot.commands import (
    awards,
    console,
    deadlines,
    demo,
    doctor,
    events,
    export,
    hours,
    menus,
    operations,
    report,
    runtime,
    training,
    units,
    volunteers,
)
from bot.commands.shared import (
    DatabaseUnreachable,
    SchemaError,
    configure_logging,
    emit,
    fail,
    first_line,
    prepare,
    said_line,
)
from bot.config import ConfigError, Settings
from handlers.validation import InputError, _

log = logging.getLogger("vbot")

# In the order `vbot --help` lists their commands.
GROUPS = (
    runtime,
    operations,
    doctor,
    console,
    deadlines,
    events,
    export,
    report,
    menus,
    demo,
    units,
    volunteers,
    training,
    awards,
    hours,
)
ON_THEIR_OWN = (runtime, operations, doctor, menus, demo)
GROUP_OF = {command: group for group in GROUPS for command in group.COMMANDS}


class UsageError(InputError):
    """A command line argparse refused; its message already names the command."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


# What the common options mean, for the commands that do not say it themselves.
OPTION_HELP = {
    "json": "print one JSON object as the last line (codes stay stable)",
    "unit": "the unit's id",
    "volunteer": "the volunteer's id",
    "id": "the volunteer's id",
    "title": "what people see",
    "name": "the person's name, as in the record book",
    "date": "YYYY-MM-DD or ROC 115/03/25",
    "birth_date": "YYYY-MM-DD or ROC 115/03/25",
    "gender": "female, male or other",
    "trained_on": "the day both trainings were complete, YYYY-MM-DD or ROC 115/03/25",
    "role": "volunteer (the default) or coordinator",
    "file": "the roster: .csv (UTF-8 or Big5) or .xlsx; dates may be ROC (115/03/25)",
    "record_book_no": "the record book's number, e.g. 北市志字第123號",
    "record_book_date": "its issue date, YYYY-MM-DD or ROC 115/03/25",
    "english_name": 'as on certificates, e.g. "Hsiao-Ming Wang"',
    "first_service_date": "the first day of service, YYYY-MM-DD or ROC 115/03/25",
    "hours": "hours, e.g. 2.5 (negative to correct, with --note)",
    "note": "why (needed for a negative correction)",
    "date_from": "the first day, YYYY-MM-DD or ROC 115/03/25",
    "date_to": "the last day, YYYY-MM-DD or ROC 115/03/25",
    "output": "the file to write",
}


def explain(parser: argparse.ArgumentParser) -> None:
    """Every option of every command says what it takes (OPTION_HELP for the common ones)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                explain(sub)
        elif action.help is None:
            action.help = OPTION_HELP.get(action.dest)


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog="vbot", description="志工小幫手 — the volunteer assistant bot")
    top.add_argument("--version", action="version", version=f"vbot {version()}")
    commands = top.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parser(commands)
    explain(top)
    return top


def version() -> str:
    """The installed package's version (pyproject.toml), which the README's changelog follows."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("vbot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def run(args, settings: Settings) -> int:
    group = GROUP_OF[args.command]
    if group in ON_THEIR_OWN:
        return group.run(args, settings)

    from storage.db import UnitOfWork, make_engine

    engine = make_engine(settings.database_url)
    try:
        prepare(engine)
        with UnitOfWork(engine)() as session:
            emit(args, *group.run(args, session, settings))
        return 0
    finally:
        engine.dispose()


COMMAND_LINE_REFUSED = _(
    "vbot does not take this command line; `vbot --help` lists the commands, `vbot COMMAND --help` what one takes."
)
DATABASE_UNREACHABLE = _("The database cannot be opened.")
SCHEMA_NOT_UPGRADED = _("The database cannot be brought up to this version.")
DATABASE_ERROR = _("The database refused the change; nothing was changed.")


def locale_of(settings: Settings | None) -> str | None:
    return settings.locale if settings is not None else None


def error_line(error: Exception, settings: Settings | None, args=None) -> str:
    """The line a command prints for bad input or a setting that cannot work: in VBOT_LOCALE's words where
    the error has them, the operator's English detail beside them (what a search or a support question
    needs); under --json the English detail alone."""
    if isinstance(error, UsageError):  # argparse's English, with the office's words before it
        return said_line(COMMAND_LINE_REFUSED, {}, str(error), locale_of(settings), args)
    said = getattr(error, "said", None)
    return said_line(said, getattr(error, "values", {}), str(error), locale_of(settings), args)


def main(argv: list[str] | None = None) -> int:
    settings = args = None
    try:
        args = parser().parse_args(argv)
        settings = Settings.from_environment()
        configure_logging(args.command, settings.log_format)
        redaction.protect(*settings.secrets())
        return run(args, settings)
    except (InputError, ConfigError) as error:  # UsageError too
        return fail(f"vbot: {error_line(error, settings, args)}", 2)
    except DatabaseUnreachable as error:
        detail = f"the database cannot be opened: {first_line(str(error))}"
        return fail(f"vbot: {said_line(DATABASE_UNREACHABLE, {}, detail, locale_of(settings), args)}", 1)
    except SchemaError as error:
        detail = f"the database schema cannot be upgraded: {first_line(str(error))}"
        return fail(f"vbot: {said_line(SCHEMA_NOT_UPGRADED, {}, detail, locale_of(settings), args)}", 1)
    except sa.exc.SQLAlchemyError as error:
        orig = getattr(error, "orig", None)
        detail = f"database error: {first_line(str(orig or error))}"
        return fail(f"vbot: {said_line(DATABASE_ERROR, {}, detail, locale_of(settings), args)}", 1)
    except OSError as error:
        return fail(f"vbot: {error}", 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
