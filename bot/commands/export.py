"""`vbot export hours`: a unit's counted service hours of a period as a file for the government platforms.

bot/commands/main.py adds the parser with `add_parser(commands)` and, for `args.command == "export"`, calls
`run(args, session, settings)` inside a unit of work and emits what it returns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.arguments import a_date, a_positive_int, a_text
from bot.commands.shared import translator
from handlers.files.export import FORMATS, export_hours
from handlers.formatting import hours_from_minutes, local_date
from handlers.validation import InputError, _, unknown
from storage.models import Unit

COMMANDS = ("export",)


def _path(text: str) -> Path:
    if not a_text(text).strip():
        raise argparse.ArgumentTypeError("the output file needs a name")
    return Path(text)


def add_parser(commands) -> argparse.ArgumentParser:
    """Adds `export hours` to an argparse subparsers object; returns the `hours` parser."""
    export = commands.add_parser("export", help="files for the government volunteer platforms")
    actions = export.add_subparsers(dest="action", required=True)
    hours = actions.add_parser(
        "hours", help="one row per counted service record of a unit in a period (CSV or XLSX, for import)"
    )
    hours.add_argument("--unit", type=a_positive_int, required=True)
    hours.add_argument(
        "--from",
        dest="date_from",
        type=a_date,
        required=True,
        metavar="DATE",
        help="YYYY-MM-DD or ROC 115/03/25",
    )
    hours.add_argument(
        "--to", dest="date_to", type=a_date, required=True, metavar="DATE", help="YYYY-MM-DD or ROC 115/03/25"
    )
    hours.add_argument(
        "--format",
        dest="file_format",
        choices=FORMATS,
        help="csv or xlsx (default: from the file's suffix, else csv)",
    )
    hours.add_argument("-o", "--output", dest="output", type=_path, required=True, metavar="FILE")
    hours.add_argument("--json", action="store_true")
    return hours


def run(args, session, settings) -> tuple[dict, str]:
    """Writes the file; returns ({"file", "rows", "hours"}, a line for a person). Commits nothing."""
    if args.date_from > args.date_to:
        raise InputError(
            f"--from {args.date_from.isoformat()} is after --to {args.date_to.isoformat()}",
            said=_("--from is after --to."),
        )
    unit = session.get(Unit, args.unit)
    if unit is None:
        raise unknown("unit", args.unit)
    file_format = args.file_format or ("xlsx" if args.output.suffix.lower() == ".xlsx" else "csv")
    output = Path(args.output)
    if output.is_dir():
        raise InputError(
            f"cannot write {output}: it is a directory", said=_("{file} cannot be written."), file=str(output)
        )
    try:
        result = export_hours(
            session,
            unit.id,
            args.date_from,
            args.date_to,
            output,
            file_format,
            settings.zone,
            t=translator(settings),
        )
    except OSError as error:
        raise InputError(
            f"cannot write {output}: {error.strerror or error}",
            said=_("{file} cannot be written."),
            file=str(output),
        ) from None
    hours = round(result.minutes / 60, 1)
    t = translator(settings)
    human = t(
        "{file}: {rows} records of unit {unit} ({name}), {first} to {last}, {hours} hours",
        file=output,
        rows=result.rows,
        unit=unit.id,
        name=unit.name,
        first=local_date(args.date_from, t.locale),
        last=local_date(args.date_to, t.locale),
        hours=hours_from_minutes(result.minutes, t.locale),
    )
    from handlers.files.chat import left_out_lines
    from handlers.files.report import left_out_dict

    human = "\n".join([human, *left_out_lines(t, result.left_out)])
    return {
        "file": str(output),
        "rows": result.rows,
        "hours": hours,
        "left_out": left_out_dict(result.left_out),
    }, human
