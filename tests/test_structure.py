"""Rules of the codebase that must not rot: the layers, the catalogs, the scheduler's jobs, the migrations."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LOCALES_DIR, SHIPPED

ROOT = pathlib.Path(__file__).resolve().parent.parent
SDKS = ("linebot", "telegram", "starlette", "uvicorn", "apscheduler", "aiohttp", "httpx")


def imports_of(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_layers_import_one_way():
    assert {(f, m) for f, m in imports_of("storage") if m in ("bot", "handlers", *SDKS)} == set()
    assert {(f, m) for f, m in imports_of("handlers") if m in ("bot", *SDKS)} == set()


def extracted_messages() -> set[str]:
    messages = set()
    for directory in ("handlers", "bot"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / directory, keywords={"t": None, "_": None}
        ):
            messages.add(message if isinstance(message, str) else message[0])
    return messages


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_message_is_translated_in_every_shipped_language(locale):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = extracted_messages() - translated
    assert not missing, f"{locale} lacks translations for: {sorted(missing)}"


@pytest.mark.parametrize("locale", SHIPPED)
def test_translations_keep_their_placeholders(locale):
    import string

    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    for message in catalog:
        if message.id and message.string:
            names = {f[1] for f in string.Formatter().parse(message.id) if f[1]}
            assert names == {f[1] for f in string.Formatter().parse(message.string) if f[1]}, message.id


async def test_the_scheduler_only_registers_the_jobs_of_handlers(tmp_path):
    from bot.app import build_app
    from bot.config import Settings
    from bot.scheduler import build_scheduler

    vbot = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), workers=False, scheduler=False)
    scheduler = build_scheduler(vbot)
    scheduler.start(paused=True)  # registers the jobs with their defaults, runs nothing
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"close_overlong_sessions", "prune_delivered", "reminders"}
    assert jobs["reminders"].func == vbot.remind  # the reminder pass: every job of handlers.jobs.schedule.REMINDER_JOBS
    assert jobs["reminders"].trigger.interval == dt.timedelta(minutes=1)
    assert jobs["close_overlong_sessions"].trigger.interval == dt.timedelta(minutes=5)
    assert jobs["prune_delivered"].trigger.interval == dt.timedelta(minutes=60)
    for job in jobs.values():
        assert job.misfire_grace_time >= 60  # not APScheduler's 1 s default
        assert job.coalesce and job.max_instances == 1
    scheduler.shutdown(wait=False)
    vbot.engine.dispose()


def test_migrations_build_the_same_schema_as_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from storage.db import make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # a second run changes nothing
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert differences == []
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0007"
    engine.dispose()


def test_every_data_file_the_code_reads_is_packaged():
    """`pip install .` (not -e) must carry the catalogs, the award table and the migration template."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = config["package-data"]
    for path in [*(ROOT / "locales").rglob("*.po"), *(ROOT / "storage").rglob("*.toml"), *(ROOT / "storage").rglob("*.mako")]:
        relative = path.relative_to(ROOT)
        owners = [p for p in config["packages"] if relative.parts[: len(p.split("."))] == tuple(p.split("."))]
        package = max(owners, key=len)
        inside = str(relative.relative_to(*package.split(".")))
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in packaged.get(package, [])), relative
