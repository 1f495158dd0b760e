"""Dates on the command line as an office in Taiwan writes them: ISO, or the ROC (民國) year of government
papers — `115/06/30`, `115-06-30`, `民國115年6月30日` — read by the one rule the roster import uses; a date
that is not one, or a day that does not exist, is one clear line. The operations issue (issue 18)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from handlers.formatting import read_date
from tests.test_cli import clean_env, last_json, sqlite_url, vbot


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-30",
        "115/06/30",
        "115-06-30",
        "115.6.30",
        "115年6月30日",
        "民國115年6月30日",
        "民國 115 年 6 月 30 日",
        "1150630",
    ],
)
def test_every_written_form_is_the_same_day(text):
    assert read_date(text) == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    "text", ["115/02/30", "2026-13-01", "0/1/1", "next tuesday", "115/06", "2026-06-30T09:00"]
)
def test_what_is_not_a_day_is_refused(text):
    with pytest.raises(ValueError, match="not a date|no such day"):
        read_date(text)


def test_the_commands_take_roc_dates_and_say_plainly_what_is_wrong(tmp_path):
    url = sqlite_url(tmp_path)
    env = clean_env(VBOT_DATABASE_URL=url)
    last_json(vbot(tmp_path, "init", "--json", env=env))
    unit = last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立圖書館", "--json", env=env))["id"]
    person = last_json(
        vbot(
            tmp_path,
            *("volunteer", "add", "--unit", str(unit), "--name", "王小明"),
            *("--birth-date", "民國79年5月1日", "--json"),
            env=env,
        )
    )["id"]
    hours = ["hours", "add", "--volunteer", str(person), "--unit", str(unit), "--hours", "2", "--json"]
    for written in ("114/01/02", "114-01-03", "民國114年1月4日", "2025-01-05"):
        last_json(vbot(tmp_path, *hours, "--date", written, env=env))

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        days = (
            connection.execute(sa.text("SELECT service_date FROM servicerecord ORDER BY id")).scalars().all()
        )
        birth = connection.execute(sa.text("SELECT birth_date FROM volunteer")).scalar_one()
    engine.dispose()
    assert [str(day) for day in days] == ["2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"]
    assert str(birth) == "1990-05-01"

    no_such_day = vbot(tmp_path, *hours, "--date", "114/02/30", env=env)
    assert no_such_day.returncode == 2 and "Traceback" not in no_such_day.stderr
    assert len(no_such_day.stderr.splitlines()) == 1
    assert "no such day" in no_such_day.stderr and "114/02/30" in no_such_day.stderr
    nonsense = vbot(tmp_path, *hours, "--date", "下週二", env=env)
    assert nonsense.returncode == 2 and len(nonsense.stderr.splitlines()) == 1
    assert "not a date" in nonsense.stderr and "115/06/30" in nonsense.stderr  # the forms it takes

    # A time takes a ROC date too.
    remind = vbot(tmp_path, "remind", "--now", "114/12/04 18:00", "--json", env=env)
    assert remind.returncode == 0 and json.loads(remind.stdout.splitlines()[-1])["sent"] == 0
    bad_time = vbot(tmp_path, "remind", "--now", "114/12/04 25:00", env=env)
    assert (
        bad_time.returncode == 2 and "not a time" in bad_time.stderr and "115/04/01 09:00" in bad_time.stderr
    )
