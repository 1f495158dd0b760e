"""What every command group uses: printing a result, one-line errors, the operator's name, the database."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import logging
import os
import sys

import sqlalchemy as sa

from bot.config import Settings


class DatabaseUnreachable(Exception):
    pass


class SchemaError(Exception):
    """alembic could not bring the schema to this version's head (e.g. a newer vbot upgraded the database)."""


def one_line(text: str) -> str:
    """Error text as a single line: line breaks and other control characters are shown escaped."""
    return (
        "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text.strip()) or "unknown error"
    )


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def fail(message: str, code: int) -> int:
    print(one_line(message), file=sys.stderr)
    return code


def emit(args, result: dict, human: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if getattr(args, "json", False) else human)


def operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


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


class JsonLines(logging.Formatter):
    """VBOT_LOG_FORMAT=json: one JSON object a line, for a log collector. The record is already cleaned of
    secrets (bot/redaction.py); what the bot logs holds ids and outcomes, never message text."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # A line about one handled event (bot/event_log.py) also carries its fields as JSON values.
        entry |= {key: value for key, value in getattr(record, "fields", {}).items() if key not in entry}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(command: str | None, log_format: str = "text") -> None:
    """`serve` is a long-running service and logs what it does; the other commands only warn.

    (alembic logs every migration step at INFO, which would clutter a command's output
    and break its promise of exactly one line on stderr for an error.)
    """
    service = command in ("serve", "work", "scheduler")
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        logging.basicConfig(level=logging.INFO if service else logging.WARNING, handlers=[handler])
    elif service:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, format="vbot: %(levelname)s: %(name)s: %(message)s")


@functools.cache
def _catalogs():
    from handlers.i18n import Catalogs

    return Catalogs()


def translator(settings: Settings):
    """The words of VBOT_LOCALE (zh_TW by default) for what a command prints for a person; --json keeps codes."""
    catalogs = _catalogs()
    return catalogs.translator(catalogs.default_for(settings.locale))


def said_line(said: str | None, values: dict, detail: str, locale: str | None, args=None) -> str:
    """An error as the office reads it: the catalogs' words in `locale` (VBOT_LOCALE; zh_TW when unset),
    the operator's English detail beside them in brackets. Under --json (scripts) and without words, only
    the English detail, which stays the same in every language."""
    if said is None or getattr(args, "json", False):
        return detail
    catalogs = _catalogs()
    chosen = locale if locale is not None else os.environ.get("VBOT_LOCALE", "")
    words = catalogs.translator(catalogs.default_for(chosen))(said, **values)
    same = words.rstrip(".").casefold() == detail.rstrip(".").casefold()  # English says it once
    return words if same else f"{words} ({detail})"


def english():
    """The English words, for text that goes into a --json answer (stable for scripts)."""
    return _catalogs().translator("en")


def now_and_today(settings: Settings) -> tuple[dt.datetime, dt.date]:
    """The current UTC time, and the date it is where the bot works (VBOT_TIMEZONE)."""
    now = dt.datetime.now(dt.UTC)
    return now, now.astimezone(settings.zone).date()
