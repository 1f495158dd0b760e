"""Issue 14: a record-book balance is not service of its half-year; one answer to "how many hours".

domain.md, "Hours": a record-book balance (hours served before the bot, brought in with their date) counts
toward totals and awards, but reports, person-times and exports for a period leave it out; only actual service
from both trainings counts; a new category counts only after its special training; waiting for review is not
counted. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io

import pytest

from bot.commands import export as export_cli
from bot.commands import hours as hours_cli
from bot.commands import report as report_cli
from bot.config import Settings
from handlers.awards.progress import facts_for, rules_in_store, seed_award_rules
from handlers.awards.rules import progress_all
from handlers.files import report
from handlers.files.export import export_hours
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.service.hours import hours_standing
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import ServiceRecord
from tests.conftest import T0

NOW = dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC)  # the 2026H1 report is due
TODAY = dt.date(2026, 7, 2)
BALANCE_DAY = dt.date(2026, 3, 31)  # inside 2026H1, the half-year of the report
TRAINED = dt.date(2026, 1, 5)
ZH = Catalogs().translator("zh_TW")


@pytest.fixture
def world(database_url):
    """A trained volunteer of a Taipei social-welfare unit: a 1,000 h balance dated in 2026H1, 2 h served
    after the training, 3 h waiting for review; and an untrained one."""
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as s:
        seed_award_rules(s, NOW)
        unit = admin.add_unit(
            s, NOW, "test", name="臺北市社會局志工隊", category="social-welfare", city="taipei"
        )
        person, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=unit.id, name="王小明", invite_valid_for=dt.timedelta(days=1)
        )
        for kind in ("basic", "special"):
            admin.add_training(
                s,
                NOW,
                "test",
                volunteer_id=person.id,
                kind=kind,
                day=TRAINED,
                hours=6,
                category="social-welfare" if kind == "special" else None,
            )
        balance = admin.add_hours(
            s,
            NOW,
            "test",
            volunteer_id=person.id,
            unit_id=unit.id,
            day=BALANCE_DAY,
            hours=1000,
            kind="balance",
        )
        admin.add_hours(
            s, NOW, "test", volunteer_id=person.id, unit_id=unit.id, day=dt.date(2026, 4, 10), hours=2
        )
        s.add(
            ServiceRecord(
                volunteer_id=person.id,
                unit_id=unit.id,
                kind="service",
                source="chat",
                status="review",
                check_in=dt.datetime(2026, 5, 1, 1, tzinfo=dt.UTC),
                check_out=dt.datetime(2026, 5, 1, 4, tzinfo=dt.UTC),
                minutes=180,
                service_date=dt.date(2026, 5, 1),
                recorded_by="line:U1",
                created_at=NOW,
            )
        )
        s.commit()
        ids = {"unit": unit.id, "person": person.id, "balance": balance.id}
    yield uow, ids
    engine.dispose()


def test_a_balance_dated_in_the_half_year_is_left_out_of_its_report_and_the_report_says_so(world):
    """domain.md: a balance "is not service of the half-year it is dated in: reports, person-times … leave it out"."""
    uow, ids = world
    period = report.parse_period("2026H1")
    with uow() as s:
        built = report.build_report(s, period, ids["unit"])
        everyone = report.build_report(s, period, None)
    for r in (built, everyone):
        assert (r.served, r.person_times, r.minutes) == (1, 1, 120)  # the 2 h served, not the 1,000 h balance
        assert (r.left_out.balance_records, r.left_out.balance_minutes) == (1, 60_000)
        assert (r.left_out.review_records, r.left_out.review_minutes) == (1, 180)
    as_json = report.to_dict(built)
    assert as_json["summary"]["hours"] == 2.0
    assert as_json["left_out"]["record_book_balances"] == {
        "records": 1,
        "hours": 1000.0,
        "why": "hours served before the bot, counted in totals and awards, not service of this period",
    }
    rows = list(csv.reader(io.StringIO(report.to_csv(built, ZH).decode("utf-8-sig"))))
    assert ["未計入", "", "", "紀錄冊時數結餘：筆數", "1"] in rows
    assert ["未計入", "", "", "紀錄冊時數結餘：時數", "1000.0"] in rows
    args = argparse.Namespace(
        unit=ids["unit"], all=False, period="2026H1", format="json", output=None, chart=None
    )
    with uow() as s:
        _result, human = report_cli.run(args, s, Settings(locale="en"))
    assert "Left out: 1 record-book balances (1,000 h)" in human
    assert "Left out: 1 sessions waiting for review (3 h)." in human


def test_the_hours_export_leaves_the_balance_out_and_says_so(world, tmp_path):
    """Uploaded, the balance would be filed twice: the platforms hold it already."""
    uow, ids = world
    path = tmp_path / "hours.csv"
    with uow() as s:
        result = export_hours(
            s, ids["unit"], dt.date(2026, 1, 1), dt.date(2026, 6, 30), path, "csv", Settings().zone, t=ZH
        )
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert (result.rows, result.minutes, len(lines)) == (1, 120, 2)  # the header and the 2 h
    assert "115/04/10" in lines[1] and "1000" not in path.read_text(encoding="utf-8-sig")
    assert (result.left_out.balance_records, result.left_out.balance_minutes) == (1, 60_000)
    args = argparse.Namespace(
        unit=ids["unit"],
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 6, 30),
        file_format=None,
        output=tmp_path / "again.csv",
    )
    with uow() as s:
        as_json, human = export_cli.run(args, s, Settings(locale="en"))
    assert as_json["rows"] == 1 and as_json["left_out"]["record_book_balances"]["records"] == 1
    assert "Left out: 1 record-book balances" in human


def test_the_balance_counts_toward_totals_and_awards(world):
    """domain.md: a balance "counts toward totals and awards"; the year and half-year hold only service."""
    uow, ids = world
    with uow() as s:
        standing = hours_standing(s, ids["person"], TODAY)
        steps = {p.code: p for p in progress_all(rules_in_store(s), facts_for(s, ids["person"]), TODAY)}
    assert (standing.counted, standing.balance) == (60_120, 60_000)
    assert (standing.this_year, standing.this_half) == (
        120,
        0,
    )  # the 2 h of April; July–December has none yet
    with uow() as s:
        earlier = hours_standing(s, ids["person"], dt.date(2026, 6, 30))
    assert (earlier.this_year, earlier.this_half) == (120, 120)  # not the balance dated in it
    assert standing.review == 180  # waits for review, apart
    assert steps["performance-certificate"].counted_minutes >= 60_120


def test_service_entered_by_hand_before_the_trainings_warns_and_does_not_count(world):
    """domain.md: hours count only from the day both trainings are done; hand-entered ones too."""
    uow, ids = world
    args = argparse.Namespace(
        volunteer=ids["person"],
        unit=ids["unit"],
        date=dt.date(2025, 12, 20),
        hours=5.0,
        kind="service",
        note=None,
    )
    with uow() as s:
        as_json, human = hours_cli.run(args, s, Settings(locale="en"))
    assert as_json["warning"].startswith("2025-12-20 is before volunteer")
    assert "warning: 2025-12-20 is before" in human and "2026-01-05" in human
    with uow() as s:
        standing = hours_standing(s, ids["person"], TODAY)
        steps = {p.code: p for p in progress_all(rules_in_store(s), facts_for(s, ids["person"]), TODAY)}
    assert standing.counted == 60_120 and standing.before_training == 300
    assert standing.counts_from == TRAINED
    assert steps["performance-certificate"].counted_minutes == 60_120  # the 5 h do not count
    # A balance of the same date is no service: no warning, and it counts.
    args.kind = "balance"
    with uow() as s:
        as_json, _ = hours_cli.run(args, s, Settings())
        assert as_json["warning"] is None
        assert hours_standing(s, ids["person"], TODAY).counted == 60_420


def test_a_unit_of_a_new_category_counts_only_after_its_special_training(world):
    """domain.md: "Serving in a new category counts only after that category's special training"."""
    uow, ids = world
    with uow() as s:
        culture = admin.add_unit(s, NOW, "test", name="臺北市立美術館", category="culture", city="taipei")
        from storage import people_store

        people_store.add_membership(s, ids["person"], culture.id)
        admin.add_hours(
            s, NOW, "test", volunteer_id=ids["person"], unit_id=culture.id, day=dt.date(2026, 6, 1), hours=4
        )
        s.commit()
        standing = hours_standing(s, ids["person"], TODAY)
    assert standing.without_special == {"臺北市立美術館": 240}
    assert standing.counted == 60_120
    args = argparse.Namespace(
        volunteer=ids["person"],
        unit=culture.id,
        date=dt.date(2026, 6, 2),
        hours=1.0,
        kind="service",
        note=None,
    )
    with uow() as s:
        as_json, _ = hours_cli.run(args, s, Settings())
    assert "no special training for unit" in as_json["warning"]


def test_a_corrected_balance_stays_a_balance(world):
    """A correction is a new entry (domain.md); of a balance, it must not turn into service of the half-year."""
    from storage import service_store

    uow, ids = world
    with uow() as s:
        original = service_store.record(s, ids["balance"])
        fixed = service_store.add_correction(s, original, 59_000, "test", "typo in the record book", NOW)
        service_store.settle_record(s, original.id, ("counted",), "void")
        s.commit()
        assert fixed.source == "balance"
        built = report.build_report(s, report.parse_period("2026H1"), ids["unit"])
    assert built.minutes == 120 and built.left_out.balance_minutes == 59_000


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_TW",
            [
                "累計：1,002 小時",
                "今年：2 小時",
                "累計中有 1,000 小時是您紀錄冊帶入的時數結餘。",
                "尚未計入：",
                "· 5 小時是在您完成訓練前服務的（時數自 115年1月5日 起計入）",
                "· 3 小時等待督導審核",
            ],
        ),
        (
            "en",
            [
                "Total: 1,002 hours",
                "This year: 2 hours",
                "Of the total, 1,000 hours are your record-book balance.",
                "Not counted yet:",
                "· 5 hours served before your training (hours count from Jan 5, 2026)",
                "· 3 hours waiting for a coordinator's review",
            ],
        ),
    ],
)
async def test_the_hours_answer_says_what_counts_and_apart_what_does_not_yet(harness, locale, expected):
    unit = harness.add_unit(category="social-welfare")
    volunteer_id, code = harness.add_volunteer(unit)
    await harness.line_says("Uvol1", f"綁定 {code}")
    if locale == "en":
        await harness.line_says("Uvol1", "語言 en")
    with UnitOfWork(harness.vbot.engine)() as s:
        for kind in ("basic", "special"):
            admin.add_training(
                s,
                T0,
                "test",
                volunteer_id=volunteer_id,
                kind=kind,
                day=TRAINED,
                hours=6,
                category="social-welfare" if kind == "special" else None,
            )
        for day, hours, kind in (
            (dt.date(2025, 6, 1), 1000, "balance"),
            (dt.date(2026, 2, 1), 2, "service"),
            (dt.date(2025, 12, 1), 5, "service"),  # before the training
        ):
            admin.add_hours(
                s, T0, "test", volunteer_id=volunteer_id, unit_id=unit, day=day, hours=hours, kind=kind
            )
        s.add(
            ServiceRecord(
                volunteer_id=volunteer_id,
                unit_id=unit,
                kind="service",
                source="chat",
                status="review",
                minutes=180,
                service_date=dt.date(2026, 3, 1),
                recorded_by="line:Uvol1",
                created_at=T0,
            )
        )
        s.commit()
    answer = (await harness.line_says("Uvol1", "時數" if locale == "zh_TW" else "hours"))[0]
    for line in expected:
        assert line in answer.splitlines(), (line, answer)


def test_the_migration_turns_earlier_balances_into_balances_and_gives_phones_their_zero(database_url):
    """Stores made before: the roster's balances were `manual`, an Excel phone lost its 0."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.db import MIGRATIONS

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO unit (id, name, category, city, created_at) VALUES (1, 'u', 'culture', 'taipei', :t)"
            ),
            {"t": NOW},
        )
        for id_, phone in ((1, "912345678"), (2, "0922333444"), (3, None)):
            c.execute(
                text("INSERT INTO volunteer (id, name, phone, created_at) VALUES (:id, 'v', :phone, :t)"),
                {"id": id_, "phone": phone, "t": NOW},
            )
        for id_, note in ((1, "record-book balance (roster import)"), (2, "a coordinator's entry")):
            c.execute(
                text(
                    "INSERT INTO servicerecord (id, volunteer_id, unit_id, kind, source, status, minutes,"
                    " service_date, recorded_by, note, created_at)"
                    " VALUES (:id, 1, 1, 'service', 'manual', 'counted', 600, :d, 'test', :note, :t)"
                ),
                {"id": id_, "d": BALANCE_DAY, "note": note, "t": NOW},
            )
    migrate(engine)
    with engine.connect() as c:
        sources = dict(c.execute(text("SELECT id, source FROM servicerecord")).all())
        phones = dict(c.execute(text("SELECT id, phone FROM volunteer")).all())
    engine.dispose()
    assert sources == {1: "balance", 2: "manual"}
    assert phones == {1: "0912345678", 2: "0922333444", 3: None}
