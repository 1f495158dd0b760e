"""Issue 14: reports and the hours export count what the authority counts, and say what they left out.

domain.md, "Hours": "Hours count only from the day the volunteer completed both basic training and the special
training of the unit's category". The 時數 answer and the awards already leave service before the trainings
out; the half-year report, its person-times, the report-window summary and the hours export must too, and say
so in the reader's language. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from bot.commands import export as export_cli
from bot.commands import report as report_cli
from bot.config import Settings
from handlers.files import report
from handlers.files.chat import left_out_lines
from handlers.files.export import export_hours
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.service.hours import hours_standing
from storage.db import UnitOfWork, make_engine, migrate
from tests.test_reminders import Town, local

NOW = dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC)
FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
ZH = Catalogs().translator("zh_TW")
EN = Catalogs().translator("en")


def trained(session, person: int, day: dt.date, category="social-welfare") -> None:
    for kind in ("basic", "special"):
        admin.add_training(
            session,
            NOW,
            "test",
            volunteer_id=person,
            kind=kind,
            day=day,
            hours=6,
            category=category if kind == "special" else None,
        )


def served(session, person: int, unit: int, day: dt.date, hours: float) -> None:
    admin.add_hours(session, NOW, "test", volunteer_id=person, unit_id=unit, day=day, hours=hours, today=day)


@pytest.fixture
def world(database_url):
    """One Taipei social-welfare unit in 2026H1: 王 trained in January and served 2 h in April; 李 trained on
    1 March, served 3 h in February (before) and 1 h in April; 陳 trained on 1 May and served 2 h in February
    only (none of 陳's service of the half-year counts)."""
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as s:
        unit = admin.add_unit(
            s, NOW, "test", name="臺北市社會局志工隊", category="social-welfare", city="taipei"
        ).id
        people = {}
        for name in ("王小明", "李阿姨", "陳伯伯"):
            person, _ = admin.add_volunteer(
                s, NOW, "test", unit_id=unit, name=name, invite_valid_for=dt.timedelta(days=1)
            )
            people[name] = person.id
        trained(s, people["王小明"], dt.date(2026, 1, 5))
        trained(s, people["李阿姨"], dt.date(2026, 3, 1))
        trained(s, people["陳伯伯"], dt.date(2026, 5, 1))
        served(s, people["王小明"], unit, dt.date(2026, 4, 10), 2)
        served(s, people["李阿姨"], unit, dt.date(2026, 2, 10), 3)  # before 李's training
        served(s, people["李阿姨"], unit, dt.date(2026, 4, 1), 1)
        served(s, people["陳伯伯"], unit, dt.date(2026, 2, 15), 2)  # before 陳's training
        s.commit()
    yield uow, unit, people
    engine.dispose()


def test_the_report_leaves_service_before_training_out_of_every_figure_and_says_so(world):
    uow, unit, people = world
    period = report.parse_period("2026H1")
    with uow() as s:
        one = report.build_report(s, period, unit)
        everyone = report.build_report(s, period, None)
        standing = hours_standing(s, people["李阿姨"], dt.date(2026, 7, 2))
    for r in (one, everyone):
        assert (r.served, r.person_times, r.minutes) == (2, 2, 180)  # 王 2 h and 李 1 h; not 陳
        assert sum(r.served_by.values()) == 2
        assert [(line.served, line.person_times, line.minutes) for line in r.units] == [(2, 2, 180)]
        assert r.units[0].monthly_minutes.get(2, 0) == 0 and r.units[0].monthly_minutes[4] == 180
        assert (r.left_out.before_training_records, r.left_out.before_training_minutes) == (2, 300)
    assert standing.before_training == 180  # the same rule as the 時數 answer: 李's 3 h of February

    lines = left_out_lines(ZH, one.left_out)
    assert lines == ["未計入：2 筆完成訓練前的服務（5 小時）。完成基礎訓練及特殊訓練之日起的服務時數才計入。"]
    assert report.to_dict(one)["left_out"]["served_before_training"]["records"] == 2
    book = load_workbook(io.BytesIO(report.to_xlsx(one, ZH)))
    left = [row for row in book["未計入"].iter_rows(values_only=True)]
    assert left[0] == ("未計入", "筆數", "時數", "說明")
    assert ("完成訓練前的服務", 2, 5.0) in [row[:3] for row in left]
    rows = list(csv.reader(io.StringIO(report.to_csv(one, EN).decode("utf-8-sig"))))
    assert ["Left out", "", "", "Served before training: records", "2"] in rows
    assert ["Left out", "", "", "Served before training: hours", "5.0"] in rows

    with uow() as s:
        _json, human = report_cli.run(
            argparse.Namespace(unit=unit, all=False, period="2026H1", format="json", output=None, chart=None),
            s,
            Settings(),
        )
    # The operator reads VBOT_LOCALE (zh_TW unless set), the same left-out line as the chat's.
    assert "服務志工 2 人，2 人次，3.00 小時" in human
    assert "未計入：2 筆完成訓練前的服務（5 小時）。" in human


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_hours_export_leaves_service_before_training_out_and_says_so(world, tmp_path, file_format):
    uow, unit, _people = world
    path = tmp_path / f"hours.{file_format}"
    with uow() as s:
        result = export_hours(s, unit, FIRST, LAST, path, file_format, Settings().zone, t=ZH)
    assert (result.rows, result.minutes) == (2, 180)
    assert (result.left_out.before_training_records, result.left_out.before_training_minutes) == (2, 300)
    if file_format == "csv":
        records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]
    else:
        book = load_workbook(path)
        records = [list(row) for row in book["服務時數"].iter_rows(min_row=2, values_only=True)]
        left = list(book["未計入"].iter_rows(values_only=True))
        assert ("完成訓練前的服務", 2, 5.0) in [row[:3] for row in left]
        assert book["服務時數"].freeze_panes == "A2"
    assert sorted((row[0], row[2]) for row in records) == [("李阿姨", "115/04/01"), ("王小明", "115/04/10")]
    args = argparse.Namespace(
        unit=unit, date_from=FIRST, date_to=LAST, file_format=None, output=tmp_path / "again.csv"
    )
    with uow() as s:
        as_json, human = export_cli.run(args, s, Settings())
    assert as_json["rows"] == 2 and as_json["left_out"]["served_before_training"]["records"] == 2
    assert "未計入：2 筆完成訓練前的服務（5 小時）" in human


async def test_the_report_window_summary_counts_the_same_and_names_what_it_left_out(harness):
    town = Town(harness)
    harness.now = local(2026, 3, 30, 9)  # invites are valid for some days from the harness's T0
    unit = harness.add_unit("臺北市社會局志工隊", category="social-welfare")
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    amy = await town.person(unit, line_user="Uamy", name="李阿姨")
    with town.uow() as session:
        trained(session, amy, dt.date(2026, 3, 1))
        served(session, amy, unit, dt.date(2026, 2, 10), 3)  # before the training
        served(session, amy, unit, dt.date(2026, 4, 1), 1)
        session.commit()
    *_, line, _ = await town.remind(local(2026, 7, 1, 9, 30))
    summary = next(text for text in line if "人次" in text and "臺北市社會局志工隊" in text)
    assert "未計入：1 筆完成訓練前的服務（3 小時）" in summary, summary
    assert "1 小時" in summary and "4 小時" not in summary


def test_every_branch_of_the_rule_reaches_the_report(world):
    """A new category without its special training counts nothing there; without trainings on record the
    record book's date decides; a special training of one's own category long before lets everything count."""
    uow, unit, people = world
    with uow() as s:
        museum = admin.add_unit(s, NOW, "test", name="臺北市立美術館", category="culture", city="taipei").id
        from storage import people_store

        people_store.add_membership(s, people["王小明"], museum)
        served(s, people["王小明"], museum, dt.date(2026, 4, 20), 4)  # no culture special training: left out
        book, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=museum, name="周先生", invite_valid_for=dt.timedelta(days=1)
        )
        admin.set_volunteer(s, NOW, "test", book.id, {"record_book_date": dt.date(2026, 5, 1)})
        served(s, book.id, museum, dt.date(2026, 3, 1), 2)  # before the record book: left out
        served(s, book.id, museum, dt.date(2026, 5, 2), 1)  # counts
        veteran, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=museum, name="吳老師", invite_valid_for=dt.timedelta(days=1)
        )
        trained(s, veteran.id, dt.date(2019, 5, 1), category="culture")
        served(s, veteran.id, museum, dt.date(2026, 2, 2), 3)  # counts
        s.commit()
        r = report.build_report(s, report.parse_period("2026H1"), museum)
    assert (r.served, r.person_times, r.minutes) == (2, 2, 240)  # 周 1 h and 吳 3 h
    assert (r.left_out.before_training_records, r.left_out.before_training_minutes) == (2, 360)
