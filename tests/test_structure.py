"""Rules of the codebase that must not rot: the layers, the catalogs, the scheduler's jobs, the migrations."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import re

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LOCALES_DIR, SHIPPED

ROOT = pathlib.Path(__file__).resolve().parent.parent
SDKS = ("linebot", "telegram", "starlette", "uvicorn", "apscheduler", "aiohttp", "httpx")


CHAT_SDKS = ("linebot", "telegram")
ORM_STATEMENTS = re.compile(
    r"\bselect\(|session\.(exec|execute|get|add|add_all|delete|flush|scalar|scalars|merge|begin_nested)\b|\bsa\.(select|update|delete|insert|func)\b"
)

# handlers/: the shared core at the top of the package, then one package per capability, each importing only
# what lies before it here; the jobs read the features, the router composes them all.
HANDLER_ROOMS = ("core", "awards", "service", "events", "people", "files", "jobs", "router")
# bot/: what draws, then the channels, then the runtime that runs them, then the front ends.
BOT_ROOMS = (
    "config",
    "printing",
    "channels",
    "event_log",
    "backlog_gate",
    "pipeline",
    "web",
    "scheduler",
    "app",
    "serve",
    "commands",
    "main",
)


def python_files(package: str) -> list[pathlib.Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports, wherever the import stands (inside functions and TYPE_CHECKING too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def imports_of(package: str) -> set[tuple[str, str]]:
    """(file, top-level package) for every import of the package's files."""
    return {
        (str(path.relative_to(ROOT)), name.split(".")[0])
        for path in python_files(package)
        for name in imported_modules(path)
    }


def links_within(package: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports (a package's __init__ is not a module here)."""
    modules = {module_name(path): path for path in python_files(package) if path.name != "__init__.py"}
    return {
        name: {target for target in imported_modules(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def loops(links: dict[str, set[str]]) -> list[list[str]]:
    """The import loops (strongly connected groups of more than one module), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in links[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in links:
        if module not in index:
            visit(module)
    return found


def handler_room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2:
        return parts[1]
    return "router" if parts[1] == "router" else "core"


def bot_room(module: str) -> str:
    parts = module.split(".")
    name = parts[1]
    if name in ("config", "database", "redaction"):
        return "config"
    return "main" if name == "__main__" else name


def links_up(links: dict[str, set[str]], room, rooms: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted(
        (module, target)
        for module, targets in links.items()
        for target in targets
        if rooms.index(room(target)) > rooms.index(room(module))
    )


def test_layers_import_one_way():
    assert {(f, m) for f, m in imports_of("storage") if m in ("bot", "handlers", *SDKS)} == set()
    assert {(f, m) for f, m in imports_of("handlers") if m in ("bot", *SDKS)} == set()


def test_packages_inside_a_layer_import_one_way():
    assert links_up(links_within("handlers"), handler_room, HANDLER_ROOMS) == []
    assert links_up(links_within("bot"), bot_room, BOT_ROOMS) == []


def test_no_import_loops():
    assert loops(links_within("handlers")) == []
    assert loops(links_within("bot")) == []
    assert loops(links_within("storage")) == []


def test_handlers_reach_the_store_only_through_storage_functions():
    statements = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in python_files("handlers")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ORM_STATEMENTS.search(line)
    ]
    assert statements == []
    assert {(f, m) for f, m in imports_of("handlers") if m == "sqlalchemy"} == set()


def test_only_the_jobs_write_messages_to_the_outbox():
    """The worker writes a batch's answers together before its commit (bot/pipeline.py): that keeps each
    person's messages in order only while the chat's handlers queue no outbox rows of their own."""
    writers = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in python_files("handlers")
        if not path.relative_to(ROOT).as_posix().startswith("handlers/jobs/")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"queue_store\.queue_(message|multicast|answers)\b", line)
    ]
    assert writers == []


def test_chat_sdks_only_in_the_channels():
    outside = {(f, m) for f, m in imports_of("bot") if m in CHAT_SDKS and not f.startswith("bot/channels/")}
    assert outside == set()


def test_no_handler_branches_on_the_platform():
    branching = re.compile(r"""platform\s*[!=]=\s*(["'](line|telegram)["']|Platform\.)""")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_files("handlers")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if branching.search(line)
    ]
    assert found == []


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
    assert (
        jobs["reminders"].func == vbot.remind
    )  # the reminder pass: every job of handlers.jobs.schedule.REMINDER_JOBS
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
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    # The newest migration file's revision (one head: the migrations form one chain).
    assert version == max(path.name[:4] for path in (ROOT / "storage/migrations/versions").glob("[0-9]*.py"))


def test_every_data_file_the_code_reads_is_packaged():
    """`pip install .` (not -e) must carry the catalogs, the award table and the migration template."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = config["package-data"]
    for path in [
        *(ROOT / "locales").rglob("*.po"),
        *(ROOT / "storage").rglob("*.toml"),
        *(ROOT / "storage").rglob("*.mako"),
    ]:
        relative = path.relative_to(ROOT)
        owners = [p for p in config["packages"] if relative.parts[: len(p.split("."))] == tuple(p.split("."))]
        package = max(owners, key=len)
        inside = str(relative.relative_to(*package.split(".")))
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in packaged.get(package, [])), relative


def test_the_layout_picture_names_every_room_and_only_rooms_that_exist():
    """CONTRIBUTING.md's picture of the layout: each package and module at the top of bot/, handlers/ and
    storage/ stands in it, and each name in it is there."""
    picture = (ROOT / "CONTRIBUTING.md").read_text().split("```")[1]
    named: set[str] = set()
    layer = None
    for line in picture.splitlines():
        if match := re.match(r"(bot|handlers|storage|locales|tests|benchmarks)/", line):
            layer = match[1]
            continue
        if layer in ("bot", "handlers"):
            # only the first column: the description may name other things
            named |= {
                f"{layer}/{name}" for name in re.findall(r"\b([a-z0-9_]+(?:\.py|/))", line.split("   ")[0])
            }
    top = {
        f"{layer}/{path.name}" + ("/" if path.is_dir() else "")
        for layer in ("bot", "handlers")
        for path in (ROOT / layer).iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and not path.name.startswith("__"))
    }
    assert named == top


def test_every_package_is_installed():
    """`pip install .` takes only the packages pyproject.toml lists: a new room must be listed there."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(module.parent.relative_to(ROOT).parts)
        for layer in ("bot", "handlers", "storage", "locales")
        for module in (ROOT / layer).rglob("*.py")
        if "__pycache__" not in module.parts
    }
    assert found == listed
