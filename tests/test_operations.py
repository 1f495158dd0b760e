"""Operating the bot: `vbot --version`, `vbot backup` and `vbot restore` on SQLite and PostgreSQL, as an
operator runs them (a real process, its own working directory). The operations issue, CONTRACT.md."""

from __future__ import annotations

import json
import tomllib
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import POSTGRES_URL
from tests.test_cli import clean_env, vbot

ROOT = Path(__file__).parent.parent


@contextmanager
def empty_postgres_database():
    """A database of its own (not a schema: pg_dump and pg_restore work on whole databases)."""
    name = f"vbot_restore_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request, tmp_path):
    """A database to back up and an empty one to restore into, of the same kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("VBOT_TEST_POSTGRES_URL is not set")
    with empty_postgres_database() as live, empty_postgres_database() as restored:
        yield live, restored


def run_json(cwd: Path, url: str, *args: str) -> dict:
    done = vbot(cwd, *args, "--json", env=clean_env(VBOT_DATABASE_URL=url))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def hours_of(cwd: Path, url: str, unit: int) -> list:
    found = run_json(cwd, url, "awards", "eligible", "--unit", str(unit), "--within", "100000")
    return sorted((row["name"], row["award"], row["hours_needed"]) for row in found["volunteers"])


def test_version_is_the_package_version(tmp_path):
    done = vbot(tmp_path, "--version")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert done.returncode == 0
    assert done.stdout.strip() == f"vbot {project['version']}"
    assert f"- {project['version']} " in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "the README's changelog names the package's version"
    )


def test_backup_then_restore_into_an_empty_database_keeps_everything(two_databases, tmp_path):
    live, restored = two_databases
    unit = run_json(tmp_path, live, "unit", "add", "--name", "臺北市立圖書館", "--city", "taipei")["id"]
    person = run_json(tmp_path, live, "volunteer", "add", "--unit", str(unit), "--name", "王小明")["id"]
    args = ("hours", "add", "--volunteer", str(person), "--unit", str(unit), "--date", "2025-01-02")
    run_json(tmp_path, live, *args, "--hours", "150")
    before = hours_of(tmp_path, live, unit)

    written = run_json(tmp_path, live, "backup", "-o", str(tmp_path / "vbot.backup"))
    assert written["format"] == ("sqlite" if live.startswith("sqlite") else "pg_dump")
    # The bot goes on after the backup; what it records later is not in the file.
    run_json(tmp_path, live, *args, "--hours", "5")

    run_json(tmp_path, restored, "restore", str(tmp_path / "vbot.backup"))
    run_json(tmp_path, restored, "init")
    assert hours_of(tmp_path, restored, unit) == before
    assert hours_of(tmp_path, live, unit) != before


def test_restore_refuses_a_database_that_holds_data(two_databases, tmp_path):
    live, _ = two_databases
    run_json(tmp_path, live, "unit", "add", "--name", "臺北市立圖書館")
    run_json(tmp_path, live, "backup", "-o", str(tmp_path / "vbot.backup"))
    done = vbot(tmp_path, "restore", str(tmp_path / "vbot.backup"), env=clean_env(VBOT_DATABASE_URL=live))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "empty database" in done.stderr
    assert "Traceback" not in done.stderr


def test_backup_never_overwrites_and_restore_reads_only_backups(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    run_json(tmp_path, url, "init")
    (tmp_path / "taken.backup").write_text("keep me", encoding="utf-8")
    done = vbot(tmp_path, "backup", "-o", "taken.backup", env=clean_env(VBOT_DATABASE_URL=url))
    assert done.returncode == 2 and "already exists" in done.stderr
    assert (tmp_path / "taken.backup").read_text(encoding="utf-8") == "keep me"

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    done = vbot(tmp_path, "restore", "taken.backup", env=clean_env(VBOT_DATABASE_URL=empty))
    assert done.returncode == 2 and "not a vbot backup" in done.stderr


def test_remind_without_any_platform_says_so_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    done = vbot(
        tmp_path, "remind", "--now", "2026-12-04T18:00", "--json", env=clean_env(VBOT_DATABASE_URL=url)
    )
    assert done.returncode == 0
    assert json.loads(done.stdout.splitlines()[-1])["sent"] == 0
    warnings = [line for line in done.stderr.splitlines() if "no chat platform is configured" in line]
    assert (
        len(warnings) == 1
        and "LINE_CHANNEL_ACCESS_TOKEN" in warnings[0]
        and "TELEGRAM_BOT_TOKEN" in warnings[0]
    )


def test_json_logs_are_one_object_a_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    env = clean_env(VBOT_DATABASE_URL=url, VBOT_LOG_FORMAT="json")
    done = vbot(tmp_path, "remind", "--now", "2026-12-04T18:00", env=env)
    assert done.returncode == 0
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any("no chat platform" in entry["message"] for entry in entries)

    done = vbot(tmp_path, "init", env=clean_env(VBOT_DATABASE_URL=url, VBOT_LOG_FORMAT="xml"))
    assert done.returncode == 2 and "VBOT_LOG_FORMAT" in done.stderr


def test_every_command_and_option_says_what_it_takes():
    """`vbot --help` and every `vbot COMMAND --help`: no command or option without a description."""
    import argparse

    from bot.commands.main import parser

    missing = []

    def walk(found: argparse.ArgumentParser, path: list[str]) -> None:
        for action in found._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(" ".join([*path, name]))
                    walk(sub, [*path, name])
            elif action.help is None:
                missing.append(f"{' '.join(path)} {action.option_strings or action.dest}")

    walk(parser(), ["vbot"])
    assert missing == []
    codes = vbot(ROOT, "awards", "eligible", "--help").stdout
    assert "national-bronze" in codes and "performance-certificate" in codes
