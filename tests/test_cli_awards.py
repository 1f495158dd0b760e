"""`vbot volunteer set`, `training add`, `training session add`, `award grant` and `awards eligible`, as an
operator runs them (real processes; CONTRACT.md, "Command line", the awards and training row)."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from storage.db import make_engine
from tests.conftest import POSTGRES_URL
from tests.test_cli import (  # noqa: F401 (target: fixture)
    PAST,
    assert_refused_in_one_line,
    clean_env,
    last_json,
    seed,
    sqlite_url,
    target,
    vbot,
)

TABLES = ("volunteer", "trainingrecord", "trainingsession", "awardgrant", "auditentry", "servicerecord")


def snapshot(url: str) -> dict:
    """Row counts, and the volunteers' rows themselves (volunteer set changes no count)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
            found["volunteers"] = [
                tuple(r) for r in connection.execute(sa.text("SELECT * FROM volunteer ORDER BY id"))
            ]
            return found
    finally:
        engine.dispose()


def audit_actions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT action FROM auditentry ORDER BY id")).scalars())
    finally:
        engine.dispose()


def test_awards_and_training_commands_print_json_and_are_audited(tmp_path, target):  # noqa: F811
    env, url = target
    run = lambda *args: last_json(vbot(tmp_path, *args, "--json", env=env))  # noqa: E731
    run("init")
    unit = str(
        run("unit", "add", "--name", "臺北市立圖書館", "--category", "culture", "--city", "taipei")["id"]
    )
    v = str(run("volunteer", "add", "--unit", unit, "--name", "王小明")["id"])
    near = str(run("volunteer", "add", "--unit", unit, "--name", "林小華")["id"])

    assert run(
        "volunteer",
        "set",
        v,
        "--record-book",
        "北市志字第1號",
        "--english-name",
        "Wang Hsiao-ming",
        "--birth-date",
        "1958-03-02",
    ) == {"id": int(v), "changed": ["birth_date", "english_name", "record_book_no"]}
    for who in (v, near):
        assert set(
            run(
                "training",
                "add",
                "--volunteer",
                who,
                "--kind",
                "basic",
                "--date",
                "2023-01-05",
                "--hours",
                "12",
                "--course",
                "基礎訓練",
            )
        ) == {"id"}
        run(
            "training",
            "add",
            "--volunteer",
            who,
            "--kind",
            "special",
            "--category",
            "culture",
            "--date",
            "2023-01-12",
            "--hours",
            "6",
        )
    run("hours", "add", "--volunteer", v, "--unit", unit, "--date", PAST, "--hours", "150")
    run("hours", "add", "--volunteer", near, "--unit", unit, "--date", PAST, "--hours", "135")

    session = run(
        "training",
        "session",
        "add",
        "--unit",
        unit,
        "--title",
        "特殊訓練",
        "--kind",
        "special",
        "--start",
        "2026-05-01T09:00",
        "--end",
        "2026-05-01T17:30+08:00",
        "--place",
        "三樓會議室",
    )
    assert set(session) == {"id"}
    engine = make_engine(url)
    with engine.connect() as connection:
        starts, ends = connection.execute(sa.text("SELECT starts_at, ends_at FROM trainingsession")).one()
    engine.dispose()
    assert (str(starts)[:16], str(ends)[:16]) == ("2026-05-01 01:00", "2026-05-01 09:30")  # Taipei → UTC

    listed = run(
        "awards", "eligible", "--unit", unit, "--award", "performance-certificate", "--as-of", "2025-06-01"
    )
    assert listed == {
        "volunteers": [
            {
                "id": int(v),
                "name": "王小明",
                "award": "performance-certificate",
                "eligible": True,
                "hours_needed": 0,
                "missing": [],
                "round": None,  # the certificate has no rounds (issue 14: every view says the round)
                "counted_until": "2025-06-01",
            }
        ]
    }
    nearly = run("awards", "eligible", "--unit", unit, "--award", "performance-certificate", "--within", "20")
    assert [(r["name"], r["eligible"], r["hours_needed"]) for r in nearly["volunteers"]] == [
        ("王小明", True, 0),
        ("林小華", False, 15),
    ]

    grant = run(
        "award", "grant", "--volunteer", v, "--award", "performance-certificate", "--date", "2025-06-02"
    )
    assert set(grant) == {"id"}
    after = run("awards", "eligible", "--unit", unit, "--award", "performance-certificate")
    assert after == {"volunteers": []}  # granted: no longer on the list

    actions = audit_actions(url)
    for action in ("volunteer.set", "training.add", "training_session.add", "award.grant"):
        assert action in actions
    assert actions.count("training.add") == 4


# --- bad input: one line on stderr, non-zero exit, nothing changed --------------------------------------------

SESSION = ["training", "session", "add", "--unit", "{u}", "--title", "基礎訓練", "--kind", "basic"]
BAD = {
    "set-unknown-volunteer": (["volunteer", "set", "999", "--english-name", "Nobody"], "999"),
    "set-nothing": (["volunteer", "set", "{v}"], "nothing to set"),
    "set-future-date": (["volunteer", "set", "{v}", "--record-book-date", "2999-01-01"], "2999-01-01"),
    "training-unknown-volunteer": (
        ["training", "add", "--volunteer", "999", "--kind", "basic", "--date", PAST, "--hours", "12"],
        "999",
    ),
    "special-training-without-category": (
        ["training", "add", "--volunteer", "{v}", "--kind", "special", "--date", PAST, "--hours", "6"],
        "--category",
    ),
    "training-bad-date": (
        ["training", "add", "--volunteer", "{v}", "--kind", "basic", "--date", "2025-02-30", "--hours", "12"],
        "2025-02-30",
    ),
    "training-zero-hours": (
        ["training", "add", "--volunteer", "{v}", "--kind", "basic", "--date", PAST, "--hours", "0"],
        "hours",
    ),
    "grant-unknown-volunteer": (
        ["award", "grant", "--volunteer", "999", "--award", "honor-card", "--date", PAST],
        "999",
    ),
    "grant-unknown-award": (
        ["award", "grant", "--volunteer", "{v}", "--award", "golden-medal", "--date", PAST],
        "golden-medal",
    ),
    "grant-bad-date": (
        ["award", "grant", "--volunteer", "{v}", "--award", "honor-card", "--date", "2025-1-32"],
        "2025-1-32",
    ),
    "session-end-before-start": (
        [*SESSION, "--start", "2026-05-01T17:00", "--end", "2026-05-01T09:00"],
        "not after",
    ),
    "session-end-equals-start": (
        [*SESSION, "--start", "2026-05-01T09:00", "--end", "2026-05-01T09:00"],
        "not after",
    ),
    "session-bad-time": ([*SESSION, "--start", "tomorrow 9am", "--end", "2026-05-01T09:00"], "tomorrow"),
    "session-unknown-unit": (
        [*SESSION[:4], "999", *SESSION[5:], "--start", "2026-05-01T09:00", "--end", "2026-05-01T10:00"],
        "999",
    ),
    "session-unknown-kind": (
        [*SESSION[:-1], "party", "--start", "2026-05-01T09:00", "--end", "2026-05-01T10:00"],
        "party",
    ),
    "eligible-unknown-unit": (["awards", "eligible", "--unit", "999"], "999"),
    "eligible-unknown-award": (
        ["awards", "eligible", "--unit", "{u}", "--award", "golden-medal"],
        "golden-medal",
    ),
    "eligible-bad-date": (["awards", "eligible", "--unit", "{u}", "--as-of", "yesterday"], "yesterday"),
    "eligible-negative-within": (["awards", "eligible", "--unit", "{u}", "--within", "-5"], "within"),
}
ON_POSTGRESQL = (
    "set-unknown-volunteer",
    "grant-unknown-award",
    "session-end-before-start",
    "special-training-without-category",
)
CASES = [pytest.param(name, "sqlite", id=f"{name}-sqlite") for name in BAD] + [
    pytest.param(name, "postgresql", id=f"{name}-postgresql") for name in ON_POSTGRESQL
]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every case at once, each on its own copy of a seeded database: {(case, backend): (process, url, before)}."""
    from tests.conftest import postgres_schema

    template = tmp_path_factory.mktemp("template")
    ids = seed(sqlite_url(template))
    jobs = {}
    schemas = []
    try:
        for param in CASES:
            name, backend = param.values
            if backend == "postgresql" and not POSTGRES_URL:
                continue
            folder = tmp_path_factory.mktemp(name)
            env = clean_env()
            if backend == "sqlite":
                shutil.copy(template / "vbot.db", folder / "vbot.db")
                url, case_ids = sqlite_url(folder), ids
            else:
                schema = postgres_schema()
                url = schema.__enter__()
                schemas.append(schema)
                case_ids = seed(url)
                env["VBOT_DATABASE_URL"] = url
            jobs[name, backend] = (
                folder,
                [a.format(**case_ids) for a in BAD[name][0]],
                env,
                url,
                snapshot(url),
            )
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            futures = {key: pool.submit(vbot, job[0], *job[1], env=job[2]) for key, job in jobs.items()}
            yield {key: (futures[key].result(), job[3], job[4]) for key, job in jobs.items()}
    finally:
        for schema in schemas:
            schema.__exit__(None, None, None)


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_bad_input_is_one_line_on_stderr_and_changes_nothing(bad_runs, name, backend):
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("VBOT_TEST_POSTGRES_URL is not set")
    done, url, before = bad_runs[name, backend]
    assert_refused_in_one_line(done, BAD[name][1])
    assert snapshot(url) == before


def test_the_contract_json_shape_is_what_json_loads_gives(tmp_path):
    """--json output is one line of JSON even when nobody is listed."""
    ids = seed(sqlite_url(tmp_path))
    done = vbot(tmp_path, "awards", "eligible", "--unit", ids["u"], "--json")
    assert last_json(done) == {"volunteers": []}  # the seeded volunteer has 3 hours: near no award
    assert len(done.stdout.splitlines()) == 1


def test_hours_add_says_which_award_came_within_reach(tmp_path):
    def run(*args: str) -> dict:
        return last_json(vbot(tmp_path, *args, "--json"))

    unit = run("unit", "add", "--name", "臺北市立圖書館", "--city", "taipei")["id"]
    person = run("volunteer", "add", "--unit", str(unit), "--name", "王小明", "--trained-on", "2020-01-01")[
        "id"
    ]
    run("volunteer", "set", str(person), "--record-book", "北市志字第1號", "--record-book-date", "2020-02-01")
    hours = ("hours", "add", "--volunteer", str(person), "--unit", str(unit), "--hours")
    assert run(*hours, "100", "--date", "2025-01-10")["reached"] == []
    assert run(*hours, "50", "--date", "2025-02-10")["reached"] == ["performance-certificate"]
