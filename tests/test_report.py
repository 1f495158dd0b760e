"""`vbot report`: every figure against people and records whose answer is known, on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.commands import report as report_cli
from bot.config import Settings
from handlers.files import report
from handlers.i18n import Catalogs
from handlers.validation import InputError
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import AwardGrant, ServiceRecord, TrainingRecord, Unit, Volunteer

NOW = dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC)
D = dt.date


@pytest.fixture
def world(database_url):
    """Unit A (five who served in 2026H1, one who did not count), unit B, unit C (empty)."""
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as s:
        units = {
            k: Unit(name=name, created_at=NOW)
            for k, name in (("A", "臺北市立圖書館"), ("B", "臺中榮總志工隊"), ("C", "空的志工隊"))
        }
        s.add_all(units.values())
        people = {
            # exactly 65 on 30 June 2026; insured until the last day itself; a record book
            "p65": Volunteer(
                name="滿六十五",
                birth_date=D(1961, 6, 30),
                gender="female",
                insured_until=D(2026, 6, 30),
                record_book_no="R1",
                record_book_date=D(2010, 1, 1),
                created_at=NOW,
            ),
            # 64 (turns 65 the next day); insured until the day before; record book only after the period;
            # an honor card granted 2 years before the period's end (valid)
            "p64": Volunteer(
                name="六十四",
                birth_date=D(1961, 7, 1),
                gender="male",
                insured_until=D(2026, 6, 29),
                record_book_no="R2",
                record_book_date=D(2026, 7, 15),
                created_at=NOW,
            ),
            # exactly 12; insured; an honor card granted 4 years before (expired)
            "p12": Volunteer(
                name="十二歲",
                birth_date=D(2014, 6, 30),
                gender="other",
                insured_until=D(2027, 1, 1),
                created_at=NOW,
            ),
            "p11": Volunteer(name="十一歲", birth_date=D(2014, 7, 1), gender="female", created_at=NOW),
            "pu": Volunteer(name="不詳", record_book_no="", created_at=NOW),  # no birth date, no gender
            "p30": Volunteer(
                name="三十", birth_date=D(1996, 6, 30), gender="male", record_book_no="R3", created_at=NOW
            ),
            "none": Volunteer(name="沒算", birth_date=D(1980, 1, 1), gender="male", created_at=NOW),
        }
        s.add_all(people.values())
        s.flush()
        s.add_all(  # p64's record book comes after the period, the trainings long before: the hours count
            TrainingRecord(
                volunteer_id=people["p64"].id,
                kind=kind,
                category="general" if kind == "special" else None,
                date=D(2020, 1, 1),
                minutes=360,
                recorded_by="test",
                created_at=NOW,
            )
            for kind in ("basic", "special")
        )
        s.add_all(
            [
                AwardGrant(
                    volunteer_id=people["p64"].id,
                    award_code="honor-card",
                    granted_on=D(2024, 6, 30),
                    recorded_by="test",
                    created_at=NOW,
                ),
                AwardGrant(
                    volunteer_id=people["p12"].id,
                    award_code="honor-card",
                    granted_on=D(2022, 6, 30),
                    recorded_by="test",
                    created_at=NOW,
                ),
            ]
        )

        def record(person, unit, day, minutes, status="counted", kind="service"):
            s.add(
                ServiceRecord(
                    volunteer_id=people[person].id,
                    unit_id=units[unit].id,
                    service_date=day,
                    minutes=minutes,
                    status=status,
                    kind=kind,
                    recorded_by="test",
                    created_at=NOW,
                )
            )

        record("p65", "A", D(2026, 1, 1), 60)
        record("p65", "A", D(2026, 6, 30), 90)
        record("p65", "A", D(2026, 3, 3), 500, status="void")
        record("p65", "A", D(2026, 3, 3), 400, status="review")
        record("p64", "A", D(2026, 1, 1), 120)
        record("p12", "A", D(2026, 3, 15), 30)
        record("pu", "A", D(2026, 5, 5), 45)
        record("p11", "A", D(2026, 2, 10), 15)
        record("none", "A", D(2026, 4, 4), 100, status="void")
        record("none", "A", D(2026, 4, 4), 100, kind="training")
        record("none", "A", D(2026, 7, 1), 100)  # after the period
        record("none", "A", D(2025, 12, 31), 100)  # before it
        record("p30", "B", D(2026, 2, 2), 200)
        record("p65", "B", D(2026, 4, 4), 50)
        # the year before (2025H1)
        record("p65", "A", D(2025, 3, 1), 60)
        record("p64", "A", D(2025, 6, 30), 30)
        record("p64", "A", D(2025, 6, 1), 999, status="void")
        record("none", "B", D(2025, 1, 1), 30)
        s.commit()
        ids = {k: u.id for k, u in units.items()}
    yield uow, ids
    engine.dispose()


def build(uow, period, unit_id):
    with uow() as s:
        return report.build_report(s, report.parse_period(period), unit_id)


def test_parse_period():
    assert report.parse_period("2026H1") == report.Period("2026H1", D(2026, 1, 1), D(2026, 6, 30))
    assert report.parse_period(" 2026h2 ") == report.Period("2026H2", D(2026, 7, 1), D(2026, 12, 31))
    assert report.parse_period("2026") == report.Period("2026", D(2026, 1, 1), D(2026, 12, 31))
    assert report.parse_period("2026H1").year_before() == report.Period(
        "2025H1", D(2025, 1, 1), D(2025, 6, 30)
    )
    for bad in ("2026H3", "26H1", "2026Q1", "", "2026-H1", "H1", "20261"):
        with pytest.raises(ValueError, match="period must be"):
            report.parse_period(bad)


def test_one_unit_every_figure(world):
    uow, ids = world
    r = build(uow, "2026H1", ids["A"])
    assert r.served_by == {
        ("female", "65+"): 1,
        ("male", "55-64"): 1,
        ("other", "12-17"): 1,
        ("unknown", "unknown"): 1,
        ("female", "under 12"): 1,
    }
    assert (r.served, r.person_times, r.minutes, r.teams) == (5, 6, 60 + 90 + 120 + 30 + 45 + 15, 1)
    assert (r.insured, r.record_books, r.honor_cards) == (2, 1, 1)  # p65 and p12; p65; p64
    assert (r.seniors, r.middle_aged) == (1, 1)
    assert (r.previous_served, r.previous_minutes) == (2, 90)
    summary = report.to_dict(r)["summary"]
    assert summary["hours"] == 6.0
    assert summary["senior_rate"] == 0.2 and summary["middle_aged_rate"] == 0.2
    assert summary["served_growth"] == 1.5  # 5 against 2
    assert summary["hours_growth"] == 3.0  # 360 minutes against 90
    [line] = r.units
    assert (line.unit_id, line.name, line.served, line.person_times, line.minutes) == (
        ids["A"],
        "臺北市立圖書館",
        5,
        6,
        360,
    )
    assert line.monthly_minutes == {1: 180, 2: 15, 3: 30, 5: 45, 6: 90}
    months = report.to_dict(r)["units"][0]["monthly_hours"]
    assert list(months) == [f"2026-0{m}" for m in range(1, 7)] and months["2026-04"] == 0


def test_all_units_counts_a_person_once(world):
    uow, ids = world
    r = build(uow, "2026H1", None)
    assert (r.served, r.person_times, r.minutes, r.teams) == (6, 8, 610, 2)  # p65 served in A and B
    assert r.served_by[("female", "65+")] == 1 and r.served_by[("male", "30-49")] == 1
    assert (r.insured, r.record_books, r.honor_cards) == (2, 2, 1)
    assert (r.previous_served, r.previous_minutes) == (3, 120)
    assert [(u.unit_id, u.served, u.person_times, u.minutes) for u in r.units] == [
        (ids["A"], 5, 6, 360),
        (ids["B"], 2, 2, 250),
    ]
    assert r.units[1].monthly_minutes == {2: 200, 4: 50}


def test_year_and_second_half(world):
    uow, ids = world
    year = build(uow, "2026", ids["A"])
    assert (year.served, year.person_times, year.minutes) == (6, 7, 460)  # "none" served on 1 July
    assert (
        year.served_by[("male", "30-49")] == 1 and year.served_by[("male", "65+")] == 1
    )  # p64 is 65 by 31 Dec
    assert (year.previous_served, year.previous_minutes) == (3, 190)
    second = build(uow, "2026H2", ids["A"])
    assert (second.served, second.minutes, second.teams, second.previous_served) == (1, 100, 1, 1)
    assert report.to_dict(second)["summary"]["served_growth"] == 0.0


def test_empty_unit(world):
    uow, ids = world
    r = build(uow, "2026H1", ids["C"])
    assert (r.served, r.person_times, r.minutes, r.teams, r.previous_served) == (0, 0, 0, 0, 0)
    summary = report.to_dict(r)["summary"]
    assert summary["senior_rate"] is None and summary["served_growth"] is None
    assert [u.unit_id for u in r.units] == [ids["C"]]
    assert Image.open(io.BytesIO(report.to_png(r, Catalogs().translator("en")))).format == "PNG"


def args(**kw):
    base = {"unit": None, "all": False, "period": "2026H1", "format": "json", "output": None, "chart": None}
    return argparse.Namespace(**{**base, **kw})


def test_cli_files_read_back(world, tmp_path):
    """The files in English (VBOT_LOCALE=en); tests/test_report_files.py reads them in Chinese."""
    uow, ids = world
    english = Settings(locale="en")
    with uow() as s:
        result, text = report_cli.run(
            args(all=True, format="csv", output=str(tmp_path / "r.csv"), chart=str(tmp_path / "r.png")),
            s,
            english,
        )
        assert result["summary"]["hours"] == round(610 / 60, 2)
        assert "served 6 volunteers" in text and "all units" in text and "Jan 1, 2026" in text
        raw = (tmp_path / "r.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert {r["Unit"] for r in rows if r["Section"] == "Units"} == {"臺北市立圖書館", "臺中榮總志工隊"}
        unit_hours = sum(
            float(r["Value"]) for r in rows if r["Section"] == "Units" and r["Item"] == "Service hours"
        )
        month_hours = sum(float(r["Value"]) for r in rows if r["Section"] == "Service hours by month")
        [total] = [
            float(r["Value"]) for r in rows if r["Section"] == "Summary" and r["Item"] == "Service hours"
        ]
        assert unit_hours == pytest.approx(total, abs=0.01) and month_hours == pytest.approx(total, abs=0.02)
        assert sum(int(r["Value"]) for r in rows if r["Section"] == "Sex and age") == 6
        image = Image.open(tmp_path / "r.png")
        assert image.format == "PNG" and image.size[0] > 100
        image.verify()

        result, _ = report_cli.run(
            args(unit=ids["A"], format="xlsx", output=str(tmp_path / "r.xlsx")), s, english
        )
        assert result["output"]["format"] == "xlsx"
        book = load_workbook(tmp_path / "r.xlsx", read_only=True)
        units = list(book["Units"].iter_rows(values_only=True))
        assert units[0][:5] == (
            "Unit ID",
            "Unit",
            "Volunteers who served",
            "Person-times served",
            "Service hours",
        )
        assert [row[:5] for row in units[1:]] == [(ids["A"], "臺北市立圖書館", 5, 6, 6.0)]
        assert sum(units[1][5:]) == pytest.approx(6.0)
        summary = dict(row[:2] for row in book["Summary"].iter_rows(values_only=True))
        assert summary["Service hours"] == 6.0 and summary["Volunteers who served"] == 5
        sex_age = list(book["Sex and age"].iter_rows(values_only=True))
        assert sex_age[-1][0] == "Total" and sum(row[-1] for row in sex_age[1:-1]) == 5 == sex_age[-1][-1]
        book.close()

        result, _ = report_cli.run(args(unit=ids["A"], output=str(tmp_path / "r.json")), s, english)
        import json

        assert json.loads((tmp_path / "r.json").read_text("utf-8"))["summary"] == result["summary"]


def test_cli_bad_input(world, tmp_path):
    uow, ids = world
    with uow() as s:
        with pytest.raises(InputError, match="no unit 999999"):
            report_cli.run(args(unit=999999), s, Settings())
        with pytest.raises(InputError, match="period must be"):
            report_cli.run(args(unit=ids["A"], period="2026H3"), s, Settings())
        with pytest.raises(InputError, match="cannot write"):
            report_cli.run(
                args(unit=ids["A"], format="csv", output=str(tmp_path / "missing" / "r.csv")), s, Settings()
            )
        with pytest.raises(InputError, match="needs -o"):
            report_cli.run(args(unit=ids["A"], format="xlsx"), s, Settings())


def test_parser():
    parser = argparse.ArgumentParser()
    report_cli.add_parser(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args(["report", "--all", "--period", "2026H2", "--format", "csv", "-o", "x.csv"])
    assert (parsed.all, parsed.unit, parsed.period, parsed.format, parsed.output) == (
        True,
        None,
        "2026H2",
        "csv",
        "x.csv",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--all", "--unit", "1", "--period", "2026"])


def test_the_vbot_command_prints_the_report(tmp_path):
    from tests.test_cli import PAST, clean_env, last_json, vbot

    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    unit = str(last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立圖書館", "--json", env=env))["id"])
    person = str(
        last_json(
            vbot(
                tmp_path,
                "volunteer",
                "add",
                "--unit",
                unit,
                "--name",
                "王小明",
                "--gender",
                "male",
                "--json",
                env=env,
            )
        )["id"]
    )
    vbot(
        tmp_path,
        "hours",
        "add",
        "--volunteer",
        person,
        "--unit",
        unit,
        "--date",
        PAST,
        "--hours",
        "3",
        env=env,
    )
    report = last_json(vbot(tmp_path, "report", "--unit", unit, "--period", PAST[:4], "--json", env=env))
    summary = report["summary"]
    assert (summary["served"], summary["person_times"], summary["hours"], summary["teams"]) == (1, 1, 3.0, 1)
    refused = vbot(tmp_path, "report", "--all", "--period", "2025H3", env=env)
    assert refused.returncode == 2 and "2025H3" in refused.stderr
