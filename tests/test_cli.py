"""The `vbot` command as an operator runs it: a real process (`python -m bot`), a working directory of its own,
a clean environment. CONTRACT.md, "Configuration" and "Command line".

Bad input is run concurrently (one process per case, each on its own copy of a seeded database) by a
module fixture; each case is still its own test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from handlers import router
from handlers.context import Rules
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.types import Incoming, ReplyTo
from storage.db import UnitOfWork, make_engine, migrate
from tests.conftest import POSTGRES_URL, postgres_schema

TABLES = (
    "unit",
    "volunteer",
    "servicerecord",
    "auditentry",
    "unitdeadline",
    "notification",
    "event",
    "shift",
    "rosterentry",
)
PAST = "2025-01-02"  # a service date safely in the past
TIMEOUT = 60  # seconds for one process: a `serve` that wrongly starts must not hang the suite


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VBOT_", "LINE_", "TELEGRAM_"))}
    return env | extra


def vbot(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def succeeded(done) -> None:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == "", "a successful command writes nothing on stderr (no migration chatter)"


def last_json(done) -> dict:
    succeeded(done)
    value = json.loads(done.stdout.splitlines()[-1])
    assert isinstance(value, dict)
    return value


def sqlite_url(directory: Path, name: str = "vbot.db") -> str:
    return f"sqlite:///{directory / name}"


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    finally:
        engine.dispose()


def chat(url: str, user: str, *texts: str) -> list[str]:
    """The volunteer's side, through the same handlers the platforms use (as bot/terminal.py does)."""
    engine = make_engine(url)
    rules, catalogs = Rules(timezone=ZoneInfo("Asia/Taipei")), Catalogs()
    answers = []
    try:
        for text in texts:
            now = dt.datetime.now(dt.UTC)
            with UnitOfWork(engine)() as session:
                replies = router.handle(
                    session,
                    Incoming("terminal", user, "text", text, now, ReplyTo(user)),
                    now,
                    rules,
                    catalogs,
                )
                session.commit()
            answers.append("\n".join(reply.text for reply in replies))
    finally:
        engine.dispose()
    return answers


# --- the happy paths -------------------------------------------------------------------------------------------


def test_python_m_bot_help_exits_zero(tmp_path):
    done = vbot(tmp_path, "--help")
    succeeded(done)
    assert "usage: vbot" in done.stdout
    assert not (tmp_path / "vbot.db").exists()


def test_init_with_no_variable_creates_vbot_db_here_and_is_safe_to_run_again(tmp_path):
    first = last_json(vbot(tmp_path, "init", "--json"))
    assert first["schema"] == "current"
    assert (tmp_path / "vbot.db").is_file()
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    with UnitOfWork(engine)() as session:
        admin.add_unit(
            session, dt.datetime.now(dt.UTC), "test", name="臺北市立圖書館", category="culture", city="taipei"
        )
        session.commit()
    engine.dispose()

    again = vbot(tmp_path, "init")
    succeeded(again)
    assert counts(url)["unit"] == 1  # kept, not recreated
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["vbot.db"]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """(environment, database URL): SQLite with no variable at all (vbot.db in the working directory),
    or PostgreSQL through VBOT_DATABASE_URL."""
    if request.param == "sqlite":
        yield clean_env(), sqlite_url(tmp_path)
        return
    if not POSTGRES_URL:
        pytest.skip("VBOT_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        yield clean_env(VBOT_DATABASE_URL=url), url


def test_json_output_audit_and_only_service_hours_count(tmp_path, target):
    env, url = target
    assert "database" in last_json(vbot(tmp_path, "init", "--json", env=env))

    unit = last_json(
        vbot(
            tmp_path,
            "unit",
            "add",
            "--name",
            "臺北市立圖書館",
            "--category",
            "culture",
            "--city",
            "taipei",
            "--json",
            env=env,
        )
    )
    assert set(unit) == {"id"} and isinstance(unit["id"], int)

    person = last_json(
        vbot(
            tmp_path,
            "volunteer",
            "add",
            "--unit",
            str(unit["id"]),
            "--name",
            "王小明",
            "--birth-date",
            "1990-05-01",
            "--gender",
            "female",
            "--json",
            env=env,
        )
    )
    assert set(person) == {"id", "invite_code"} and isinstance(person["id"], int)
    assert re.fullmatch(r"[0-9]{8}", person["invite_code"])

    common = ["hours", "add", "--volunteer", str(person["id"]), "--unit", str(unit["id"]), "--date", PAST]
    service = last_json(vbot(tmp_path, *common, "--hours", "2.5", "--json", env=env))
    training = last_json(
        vbot(tmp_path, *common, "--hours", "4", "--kind", "training", "--note", "基礎訓練", "--json", env=env)
    )
    assert (
        set(service) == set(training) == {"id", "kind", "reached", "warning"}
        and service["warning"] is None
        and service["id"] != training["id"]
    )

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        audits = connection.execute(
            sa.text("SELECT actor, target FROM auditentry WHERE action = 'hours.add' ORDER BY id")
        ).all()
        kinds = dict(connection.execute(sa.text("SELECT id, kind FROM servicerecord")).all())
    engine.dispose()
    assert [target for _, target in audits] == [
        f"service_record:{service['id']}",
        f"service_record:{training['id']}",
    ]
    assert all(actor.startswith("cli:") for actor, _ in audits)
    assert kinds == {service["id"]: "service", training["id"]: "training"}

    linked, hours = chat(url, "tester", f"綁定 {person['invite_code']}", "時數")
    assert "王小明" in linked
    assert "累計：2.5 小時" in hours  # the 4 training hours are not service hours


def test_a_units_deadlines_and_quiet_hours_from_the_command_line(tmp_path):
    url = sqlite_url(tmp_path)
    env = clean_env(VBOT_DATABASE_URL=url)
    unit = last_json(
        vbot(
            tmp_path, "unit", "add", "--name", "夜間服務隊", "--quiet-hours", "22:00-07:30", "--json", env=env
        )
    )["id"]
    changed = last_json(
        vbot(tmp_path, "unit", "set", str(unit), "--quiet-hours", "21:30-7:00", "--json", env=env)
    )
    assert changed == {"id": unit, "quiet_hours": "21:30-07:00"}
    added = last_json(
        vbot(
            tmp_path,
            "deadline",
            "add",
            "--unit",
            str(unit),
            "--title",
            "志工聯繫會議",
            "--date",
            "2030-12-05",
            "--remind",
            "7, 1",
            "--yearly",
            "--json",
            env=env,
        )
    )
    engine = make_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT title, date, remind, yearly FROM unitdeadline WHERE id = :id"),
            {"id": added["id"]},
        ).one()
        actions = connection.execute(sa.text("SELECT action FROM auditentry ORDER BY id")).scalars().all()
    engine.dispose()
    assert tuple(row) == ("志工聯繫會議", "2030-12-05", "7,1", 1)
    assert actions[-2:] == ["unit.quiet_hours", "deadline.add"]


def test_env_file_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("# settings\nVBOT_DATABASE_URL=sqlite:///elsewhere.db\n", encoding="utf-8")
    # An empty variable counts as unset, so the .env value still applies.
    done = vbot(
        tmp_path, "unit", "add", "--name", "臺中市志工隊", "--json", env=clean_env(VBOT_DATABASE_URL="")
    )
    unit = last_json(done)
    assert not (tmp_path / "vbot.db").exists()
    assert counts(sqlite_url(tmp_path, "elsewhere.db"))["unit"] == 1 == unit["id"]


def test_demo_chats_on_its_own_database_and_ends_with_the_input(tmp_path):
    done = vbot(tmp_path, "demo", stdin="簽到\n時數\n簽退\n1\n")
    succeeded(done)
    for expected in ("簽到了", "累計", "簽退了"):
        assert expected in done.stdout
    assert "累計" in done.stdout.split("簽退了", 1)[1], "button 1 after checking out is 我的時數"
    assert list(tmp_path.iterdir()) == []


def test_demo_as_a_coordinator_shows_a_day_under_way(tmp_path):
    done = vbot(tmp_path, "demo", "--coordinator", stdin="現場\n審核\n獎勵名單\n匯出\n報表\n")
    succeeded(done)
    live, review, eligible, export, report = done.stdout.split("\n> ")[1:6]
    assert "已到 1" in live and "未到：張淑芬" in live
    assert "林志明" in review and "13." in review and "核准 #" in review
    assert "張淑芬" in eligible and "銅牌" in eligible
    assert "共 2 筆、7 小時" in export
    assert "服務志工：2 人" in report
    assert list(tmp_path.iterdir()) == []


# --- bad input: one line on stderr, non-zero exit, no traceback, nothing changed ------------------------------

BOTH = ("sqlite", "postgresql")
SQLITE = ("sqlite",)
HOURS = ["hours", "add", "--volunteer", "{v}", "--unit", "{u}", "--date", PAST]
ADD_UNIT = ["unit", "add", "--name", "新單位"]

# id: (arguments, extra environment, files to write, backends). {u}, {v}: the seeded unit and volunteer;
# {other}: a unit the volunteer is not in.
BAD = {
    "unknown-unit": (["volunteer", "add", "--unit", "999", "--name", "林小華"], {}, {}, BOTH),
    "unknown-volunteer": (
        ["hours", "add", "--volunteer", "999", "--unit", "{u}", "--date", PAST, "--hours", "1"],
        {},
        {},
        BOTH,
    ),
    "bad-date": ([*HOURS[:-1], "2026-13-01", "--hours", "1"], {}, {}, SQLITE),
    "non-numeric-hours": ([*HOURS, "--hours", "three"], {}, {}, SQLITE),
    "zero-hours": ([*HOURS, "--hours", "0"], {}, {}, SQLITE),
    "negative-without-note": ([*HOURS, "--hours", "-1"], {}, {}, SQLITE),
    "unknown-category": ([*ADD_UNIT, "--category", "space"], {}, {}, SQLITE),
    "missing-name": (["unit", "add", "--category", "health"], {}, {}, SQLITE),
    "unknown-sub-command": (["frobnicate"], {}, {}, SQLITE),
    "unreachable-postgresql": (
        ADD_UNIT,
        {"VBOT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/vbot"},
        {},
        SQLITE,
    ),
    "bad-timezone": (ADD_UNIT, {"VBOT_TIMEZONE": "Asia/Taipie"}, {}, SQLITE),
    "telegram-token-without-secret": (ADD_UNIT, {"TELEGRAM_BOT_TOKEN": "123:abc"}, {}, SQLITE),
    # found while writing these tests (each was a traceback or a wrong record before the fix)
    "id-too-large-for-the-database": (
        ["volunteer", "add", "--unit", "99999999999999999999", "--name", "林小華"],
        {},
        {},
        SQLITE,
    ),
    "name-not-utf8": (["unit", "add", "--name", "\udcff\udcfe"], {}, {}, SQLITE),
    "env-file-not-utf8": (ADD_UNIT, {}, {".env": b"VBOT_LOCALE=\xff\xfe\n"}, SQLITE),
    "schema-from-a-newer-vbot": (ADD_UNIT, {}, {}, SQLITE),  # see NEWER_SCHEMA
    "hours-round-to-no-minutes": ([*HOURS, "--hours", "0.001"], {}, {}, SQLITE),
    "correction-below-zero": ([*HOURS, "--hours", "-3.5", "--note", "重複登錄"], {}, {}, BOTH),
    "volunteer-not-in-unit": (
        ["hours", "add", "--volunteer", "{v}", "--unit", "{other}", "--date", PAST, "--hours", "1"],
        {},
        {},
        SQLITE,
    ),
    "service-date-in-the-future": ([*HOURS[:-1], "2999-01-01", "--hours", "1"], {}, {}, SQLITE),
    "argument-with-a-line-break": (["init", "a\nb"], {}, {}, SQLITE),
    "deadline-of-an-unknown-unit": (
        ["deadline", "add", "--unit", "999", "--title", "聯繫會議", "--date", "2030-01-05"],
        {},
        {},
        BOTH,
    ),
    "deadline-remind-not-days": (
        [
            "deadline",
            "add",
            "--unit",
            "{u}",
            "--title",
            "聯繫會議",
            "--date",
            "2030-01-05",
            "--remind",
            "14,x",
        ],
        {},
        {},
        SQLITE,
    ),
    "deadline-already-past": (
        ["deadline", "add", "--unit", "{u}", "--title", "聯繫會議", "--date", "2020-01-05"],
        {},
        {},
        SQLITE,
    ),
    "quiet-hours-unreadable": (["unit", "set", "{u}", "--quiet-hours", "9pm-8am"], {}, {}, SQLITE),
    "remind-at-no-time": (["remind", "--now", "tomorrow"], {}, {}, SQLITE),
    "event-ends-before-it-starts": (
        [
            "event",
            "add",
            "--unit",
            "{u}",
            "--title",
            "燈節",
            "--start",
            "2026-04-01T10:00",
            "--end",
            "2026-04-01T09:00",
        ],
        {},
        {},
        BOTH,
    ),
    "shift-of-an-unknown-event": (
        [
            "shift",
            "add",
            "--event",
            "999",
            "--start",
            "2026-04-01T10:00",
            "--end",
            "2026-04-01T12:00",
            "--capacity",
            "5",
        ],
        {},
        {},
        SQLITE,
    ),
    "roster-file-missing": (["roster", "import", "nope.csv", "--event", "1"], {}, {}, SQLITE),
    "poster-of-an-unknown-event": (["event", "poster", "--event", "1", "-o", "p.png"], {}, {}, SQLITE),
}
# What the one line must mention for the operator to know what to fix.
MENTIONS = {
    "unknown-unit": "999",
    "unknown-volunteer": "999",
    "bad-date": "2026-13-01",
    "non-numeric-hours": "three",
    "unknown-category": "space",
    "missing-name": "--name",
    "unknown-sub-command": "frobnicate",
    "unreachable-postgresql": "port 1",
    "bad-timezone": "VBOT_TIMEZONE",
    "env-file-not-utf8": ".env",
    "telegram-token-without-secret": "TELEGRAM_WEBHOOK_SECRET",
    "schema-from-a-newer-vbot": "ffffffffffff",
    "volunteer-not-in-unit": "not in unit",
    "correction-below-zero": "below zero",
    "deadline-of-an-unknown-unit": "999",
    "deadline-remind-not-days": "14,x",
    "deadline-already-past": "2020-01-05",
    "quiet-hours-unreadable": "9pm-8am",
    "remind-at-no-time": "tomorrow",
    "event-ends-before-it-starts": "end after",
    "shift-of-an-unknown-event": "999",
    "roster-file-missing": "nope.csv",
    "poster-of-an-unknown-event": "event 1",
}
NEWER_SCHEMA = "UPDATE alembic_version SET version_num = 'ffffffffffff'"
CASES = [
    pytest.param(name, backend, id=f"{name}-{backend}") for name, case in BAD.items() for backend in case[3]
]


def seed(url: str) -> dict[str, str]:
    """A unit with a volunteer who has 3 counted service hours, and a second unit."""
    engine = make_engine(url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(session, now, "seed", name="臺北市立圖書館", category="culture", city="taipei")
        other = admin.add_unit(
            session, now, "seed", name="臺北市立聯合醫院", category="health", city="taipei"
        )
        person, _ = admin.add_volunteer(
            session, now, "seed", unit_id=unit.id, name="王小明", invite_valid_for=dt.timedelta(days=30)
        )
        admin.add_hours(
            session, now, "seed", volunteer_id=person.id, unit_id=unit.id, day=dt.date(2024, 5, 1), hours=3
        )
        session.commit()
        ids = {"u": str(unit.id), "other": str(other.id), "v": str(person.id)}
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every bad-input case, run at once; {(case, backend): (process, url, counts before)}."""
    template = tmp_path_factory.mktemp("template")
    ids = seed(sqlite_url(template))
    jobs = {}
    with ExitStack() as schemas:
        for param in CASES:
            name, backend = param.values
            args, extra, files, _ = BAD[name]
            if backend == "postgresql" and not POSTGRES_URL:
                continue
            folder = tmp_path_factory.mktemp(name)
            for filename, content in files.items():
                (folder / filename).write_bytes(content)
            env = clean_env(**extra)
            if backend == "sqlite":
                shutil.copy(template / "vbot.db", folder / "vbot.db")
                url, case_ids = sqlite_url(folder), ids
            else:
                url = schemas.enter_context(postgres_schema())
                case_ids = seed(url)
                env.setdefault("VBOT_DATABASE_URL", url)
            if name == "schema-from-a-newer-vbot":
                engine = sa.create_engine(url)
                with engine.begin() as connection:
                    connection.execute(sa.text(NEWER_SCHEMA))
                engine.dispose()
            jobs[name, backend] = (folder, [a.format(**case_ids) for a in args], env, url, counts(url))
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            futures = {key: pool.submit(vbot, job[0], *job[1], env=job[2]) for key, job in jobs.items()}
            results = {key: (futures[key].result(), job[3], job[4]) for key, job in jobs.items()}
        yield results


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_bad_input_is_one_line_on_stderr_and_changes_nothing(bad_runs, name, backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("VBOT_TEST_POSTGRES_URL is not set")
    done, url, before = bad_runs[name, backend]
    assert_refused_in_one_line(done, MENTIONS.get(name, ""))
    assert counts(url) == before


def assert_refused_in_one_line(done, mention: str) -> None:
    """Non-zero exit, one line on stderr naming the problem, no traceback."""
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.endswith("\n"), done.stderr
    assert done.stderr.startswith("vbot"), done.stderr
    assert mention in done.stderr, done.stderr


def test_a_command_line_vbot_does_not_take_is_refused_in_the_office_language(tmp_path):
    """argparse's refusal (its English names the argument) comes after the words of VBOT_LOCALE (zh_TW unset)."""
    done = vbot(
        tmp_path, "hours", "add", "--volunteer", "1", "--unit", "1", "--date", PAST, "--hours", "three"
    )
    assert_refused_in_one_line(done, "argument --hours: not a number: 'three'")
    assert done.returncode == 2
    assert done.stderr.startswith("vbot: vbot 不接受這樣的指令；`vbot --help` 列出所有指令"), done.stderr
    done = vbot(tmp_path, "frobnicate", env=clean_env(VBOT_LOCALE="vi"))
    assert_refused_in_one_line(done, "invalid choice: 'frobnicate'")
    assert done.stderr.startswith("vbot: vbot không nhận dòng lệnh này"), done.stderr
