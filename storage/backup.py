"""Backups of the whole database into one file, and their restore into an empty database.

SQLite: the online backup API (a consistent copy while the bot runs), the file itself is the backup.
PostgreSQL: `pg_dump` in its custom format and `pg_restore`, the tools that match the server's own rules.
A restore refuses a database that already holds tables: it never mixes a backup with live data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """What went wrong, in one line an operator can act on."""


def backup(url: str, target: Path) -> str:
    """Writes the database at `url` into `target`; returns the format written ("sqlite" or "pg_dump")."""
    parsed = sa.engine.make_url(url)
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_path(parsed), target)
        return "sqlite"
    if parsed.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(parsed)], parsed)
        return "pg_dump"
    raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")


def restore(url: str, source: Path) -> str:
    """Loads the backup `source` into the empty database at `url`; returns the format read."""
    parsed = sa.engine.make_url(url)
    kind = backup_kind(source)
    backend = parsed.get_backend_name()
    if (kind, backend) not in (("sqlite", "sqlite"), ("pg_dump", "postgresql")):
        raise BackupError(f"{source} is a {kind} backup; it cannot be restored into a {backend} database")
    _refuse_unless_empty(url)
    if kind == "sqlite":
        _sqlite_copy(source, _sqlite_path(parsed))
    else:
        command = [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={_libpq_url(parsed)}",
            str(source),
        ]
        _run(command, parsed)
    return kind


def backup_kind(source: Path) -> str:
    try:
        with source.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"cannot read {source}: {error.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "pg_dump"
    raise BackupError(f"{source} is not a vbot backup (neither an SQLite file nor a pg_dump archive)")


def _sqlite_path(parsed: sa.engine.URL) -> Path:
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(parsed.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database file at {source}")
    # Read-only on the source: a backup never creates or changes the database it copies.
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def _refuse_unless_empty(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
    except sa.exc.OperationalError as error:
        raise BackupError(f"the database cannot be opened: {error.orig or error}") from None
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the database already holds {len(tables)} tables: restore only into an empty database"
        )


def _libpq_url(parsed: sa.engine.URL) -> str:
    """The SQLAlchemy URL as libpq reads it: no `+psycopg` driver part, the query options kept, and no
    password (that goes in PGPASSWORD, not on a command line every user of the machine can read)."""
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], parsed: sa.engine.URL) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{command[0]} failed: {lines[0] if lines else f'exit {done.returncode}'}")
