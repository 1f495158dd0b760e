"""`vbot backup` and `vbot restore`: the whole database into one file and back (storage/backup.py)."""

from __future__ import annotations

from pathlib import Path

from bot.commands.shared import emit, translator
from bot.config import Settings
from handlers.validation import InputError, _

COMMANDS = ("backup", "restore")


def add_parser(commands) -> None:
    backup = commands.add_parser(
        "backup",
        help="copy the whole database into one file (SQLite: a copy of the file; PostgreSQL: pg_dump)",
        description="Writes a consistent copy of VBOT_DATABASE_URL while the bot may keep running. "
        "Example: vbot backup -o vbot-2026-12-06.backup",
    )
    backup.add_argument("-o", "--output", type=Path, required=True, help="the new file to write")
    backup.add_argument("--json", action="store_true", help="print one JSON object")

    restore = commands.add_parser(
        "restore",
        help="load a backup into an empty database (then run vbot init)",
        description="Loads a file written by `vbot backup` into VBOT_DATABASE_URL, which must be empty. "
        "Example: VBOT_DATABASE_URL=sqlite:///restored.db vbot restore vbot-2026-12-06.backup",
    )
    restore.add_argument("file", type=Path, help="a file written by vbot backup")
    restore.add_argument("--json", action="store_true", help="print one JSON object")


def run(args, settings: Settings) -> int:
    from storage.backup import BackupError, backup, restore

    t = translator(settings)
    try:
        if args.command == "backup":
            kind = backup(settings.database_url, args.output)
            human = t("backup written to {file}", file=args.output)
            emit(args, {"file": str(args.output), "format": kind}, human)
        else:
            kind = restore(settings.database_url, args.file)
            emit(
                args,
                {"file": str(args.file), "format": kind},
                t("restored {file}; run `vbot init` to bring its schema up to this version", file=args.file),
            )
    except BackupError as error:
        said = _("The backup was not written.") if args.command == "backup" else _("Nothing was restored.")
        raise InputError(str(error), said=said) from None
    return 0
