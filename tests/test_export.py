"""`vbot export hours`: the counted service records of a unit in a period, as CSV and XLSX for import."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from bot.commands import export as export_cli
from bot.config import Settings
from handlers.files.export import HEADERS, hours_one_decimal, local_time, roc_date
from handlers.people import admin
from handlers.validation import InputError
from storage import service_store
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import Event, Membership, ServiceRecord, Shift

NOW = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)
TAIPEI = dt.timezone(dt.timedelta(hours=8))
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 20)
EXPECTED_HEADERS = [
    "姓名",
    "紀錄冊編號",
    "服務日期",
    "開始時間",
    "結束時間",
    "服務時數",
    "服務項目",
    "服務單位",
]
LIB = "臺北市立圖書館"

# What the file must hold, by date; within a date the order is by name (compared as a set: a
# PostgreSQL collation may order Chinese names differently from SQLite's code points).
EXPECTED = [
    ("李大華", "", "115/03/01", "", "", "1.0", "文化", LIB),  # first day of the period, by hand
    ("王小明", "0001234", "115/03/05", "09:00", "11:30", "2.5", "文化", LIB),
    ("李大華", "", "115/03/05", "09:00", "12:00", "3.0", "文化", LIB),
    ("王小明", "0001234", "115/03/10", "23:00", "24:00", "1.0", "文化", LIB),  # split at midnight ...
    ("王小明", "0001234", "115/03/11", "00:00", "01:00", "1.0", "文化", LIB),  # ... continues
    ("李大華", "", "115/03/12", "", "", "2.5", "文化", LIB),  # by hand: no times
    ("陳美玲", "A-77", "115/03/15", "10:00", "12:00", "2.0", "引導組", LIB),  # a shift's post
    ("陳美玲", "A-77", "115/03/16", "14:00", "15:00", "1.0", "春季書展", LIB),  # a shift without post
    ("李大華", "", "115/03/20", "", "", "0.5", "文化", LIB),  # last day of the period
]


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=TAIPEI).astimezone(dt.UTC)


def visit_record(
    volunteer_id, unit_id, start, end, status="counted", shift_id=None, note=None
) -> ServiceRecord:
    return ServiceRecord(
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        kind="service",
        source="chat",
        status=status,
        check_in=start,
        check_out=end,
        minutes=int((end - start).total_seconds() // 60) if end else 0,
        service_date=start.astimezone(TAIPEI).date(),
        recorded_by="chat",
        created_at=NOW,
        shift_id=shift_id,
        note=note,
    )


@pytest.fixture
def world(database_url):
    """A unit with chat sessions, hand-entered hours, shifts — and records that must be left out."""
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as s:
        unit = admin.add_unit(s, NOW, "test", name=LIB, category="culture", city="taipei")
        other = admin.add_unit(s, NOW, "test", name="臺北市立動物園", category="education", city="taipei")
        wang, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=unit.id, name="王小明", invite_valid_for=dt.timedelta(days=1)
        )
        lee, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=unit.id, name="李大華", invite_valid_for=dt.timedelta(days=1)
        )
        chen, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=unit.id, name="陳美玲", invite_valid_for=dt.timedelta(days=1)
        )
        admin.set_volunteer(s, NOW, "test", wang.id, {"record_book_no": "0001234"})
        admin.set_volunteer(s, NOW, "test", chen.id, {"record_book_no": "A-77"})
        s.add(Membership(volunteer_id=wang.id, unit_id=other.id))
        event = Event(
            unit_id=unit.id,
            title="春季書展",
            starts_at=local(15, 9),
            ends_at=local(16, 18),
            code="EXPORT1",
            secret="s",
            created_at=NOW,
        )
        s.add(event)
        s.flush()
        guide = Shift(
            event_id=event.id,
            post="引導組",
            starts_at=local(15, 10),
            ends_at=local(15, 12),
            capacity=5,
            created_at=NOW,
        )
        plain = Shift(
            event_id=event.id,
            post=None,
            starts_at=local(16, 14),
            ends_at=local(16, 15),
            capacity=5,
            created_at=NOW,
        )
        s.add_all([guide, plain])
        s.flush()

        # Counted, in the unit, in the period: exported.
        s.add(visit_record(wang.id, unit.id, local(5, 9), local(5, 11, 30)))
        s.add(visit_record(lee.id, unit.id, local(5, 9), local(5, 12)))
        # 23:00 on the 10th to 01:00 on the 11th, stored as check-out stores it: one record per local day.
        midnight = local(11, 0)
        first = visit_record(wang.id, unit.id, local(10, 23), midnight)
        s.add(first)
        s.flush()
        s.add(
            visit_record(
                wang.id, unit.id, midnight, local(11, 1), note=f"continues service record {first.id}"
            )
        )
        admin.add_hours(
            s, NOW, "test", volunteer_id=lee.id, unit_id=unit.id, day=dt.date(2026, 3, 12), hours=2.5
        )
        s.add(visit_record(chen.id, unit.id, local(15, 10), local(15, 12), shift_id=guide.id))
        s.add(visit_record(chen.id, unit.id, local(16, 14), local(16, 15), shift_id=plain.id))
        admin.add_hours(s, NOW, "test", volunteer_id=lee.id, unit_id=unit.id, day=FIRST, hours=1)
        admin.add_hours(s, NOW, "test", volunteer_id=lee.id, unit_id=unit.id, day=LAST, hours=0.5)

        # Left out: void, review, open, training, meeting, another unit, before and after the period.
        s.add(visit_record(wang.id, unit.id, local(6, 9), local(6, 10), status="void"))
        s.add(visit_record(lee.id, unit.id, local(7, 9), local(7, 23), status="review"))
        s.add(visit_record(wang.id, unit.id, local(20, 9), None, status="open"))
        admin.add_hours(
            s,
            NOW,
            "test",
            volunteer_id=wang.id,
            unit_id=unit.id,
            day=dt.date(2026, 3, 8),
            hours=3,
            kind="training",
        )
        admin.add_hours(
            s,
            NOW,
            "test",
            volunteer_id=chen.id,
            unit_id=unit.id,
            day=dt.date(2026, 3, 8),
            hours=1,
            kind="meeting",
        )
        admin.add_hours(
            s, NOW, "test", volunteer_id=wang.id, unit_id=other.id, day=dt.date(2026, 3, 9), hours=4
        )
        admin.add_hours(
            s, NOW, "test", volunteer_id=lee.id, unit_id=unit.id, day=dt.date(2026, 2, 28), hours=5
        )
        admin.add_hours(
            s, NOW, "test", volunteer_id=lee.id, unit_id=unit.id, day=dt.date(2026, 3, 21), hours=6
        )
        s.commit()
        ids = {"unit": unit.id, "other": other.id, "wang": wang.id, "lee": lee.id, "chen": chen.id}
    yield engine, uow, ids, Settings(database_url=database_url, locale="en")
    engine.dispose()


def parse(*argv: str) -> argparse.Namespace:
    top = argparse.ArgumentParser()
    export_cli.add_parser(top.add_subparsers(dest="command", required=True))
    return top.parse_args(["export", "hours", *argv])


def counted_minutes_in_period(engine, unit_id: int) -> int:
    """The bot's own rule for service hours (counted, kind service), summed directly in SQL."""
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT COALESCE(SUM(minutes), 0) FROM servicerecord WHERE unit_id = :unit AND status = 'counted'"
                " AND kind = 'service' AND service_date BETWEEN :first AND :last"
            ),
            {"unit": unit_id, "first": FIRST, "last": LAST},
        ).scalar()


def assert_rows(rows: list[tuple]) -> None:
    dates = [row[2] for row in rows]
    assert dates == sorted(dates)
    assert sorted(rows) == sorted(EXPECTED)
    for day in set(dates):  # ordered by name within a day: each volunteer's rows are together
        names = [row[0] for row in rows if row[2] == day]
        runs = [name for n, name in enumerate(names) if n == 0 or names[n - 1] != name]
        assert len(runs) == len(set(runs))


def test_csv_export_holds_the_counted_service_records_of_the_unit_in_the_period(world, tmp_path):
    engine, uow, ids, settings = world
    path = tmp_path / "hours.csv"
    with uow() as session:
        result, human = export_cli.run(
            parse(
                "--unit",
                str(ids["unit"]),
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-20",
                "--format",
                "csv",
                "-o",
                str(path),
            ),
            session,
            settings,
        )
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM
    body = raw[3:].decode("utf-8")
    assert body.count("\r\n") == len(EXPECTED) + 1 and "\n" not in body.replace("\r\n", "")
    with open(path, encoding="utf-8-sig", newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == EXPECTED_HEADERS == list(HEADERS)
    rows = [tuple(row) for row in table[1:]]
    assert_rows(rows)  # no totals line: every line is a record

    total = counted_minutes_in_period(engine, ids["unit"])
    assert total == 14 * 60 + 30
    assert sum(Decimal(row[5]) for row in rows) == Decimal(total) / 60
    assert {k: result[k] for k in ("file", "rows", "hours")} == {
        "file": str(path),
        "rows": len(EXPECTED),
        "hours": 14.5,
    }
    assert "14.5 hours" in human and "9 records" in human


def test_xlsx_export_holds_the_same_rows(world, tmp_path):
    engine, uow, ids, settings = world
    path = tmp_path / "hours.xlsx"
    with uow() as session:
        result, _ = export_cli.run(
            parse("--unit", str(ids["unit"]), "--from", "2026-03-01", "--to", "2026-03-20", "-o", str(path)),
            session,
            settings,
        )
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == EXPECTED_HEADERS
    hours = [row[5] for row in table[1:]]
    assert all(isinstance(h, int | float) for h in hours)  # a number cell (1.0 reads back as 1), so it sums
    rows = [
        tuple("" if v is None else v if isinstance(v, str) else f"{v:.1f}" for v in row) for row in table[1:]
    ]
    assert_rows(rows)
    assert round(sum(hours), 1) * 60 == counted_minutes_in_period(engine, ids["unit"])
    assert result["rows"] == len(EXPECTED) and result["hours"] == 14.5


def test_the_export_agrees_with_the_bots_hours_query(world, tmp_path):
    """陳美玲 served only in this unit and period: her rows sum to what `時數` tells her."""
    engine, uow, ids, settings = world
    path = tmp_path / "hours.csv"
    with uow() as session:
        export_cli.run(
            parse("--unit", str(ids["unit"]), "--from", "2026-03-01", "--to", "2026-03-20", "-o", str(path)),
            session,
            settings,
        )
        [mine] = service_store.counted_service_minutes(
            session, ids["chen"], dt.date(2026, 1, 1), dt.date(2026, 1, 1)
        )
    with open(path, encoding="utf-8-sig", newline="") as file:
        hers = [row for row in csv.DictReader(file) if row["姓名"] == "陳美玲"]
    assert sum(Decimal(row["服務時數"]) for row in hers) * 60 == mine.total == 180


def test_an_empty_period_writes_only_the_headers(world, tmp_path):
    engine, uow, ids, settings = world
    path = tmp_path / "none.csv"
    with uow() as session:
        result, _ = export_cli.run(
            parse("--unit", str(ids["other"]), "--from", "2026-01-01", "--to", "2026-01-31", "-o", str(path)),
            session,
            settings,
        )
    assert {k: result[k] for k in ("file", "rows", "hours")} == {"file": str(path), "rows": 0, "hours": 0}
    assert path.read_bytes() == "\ufeff".encode() + ",".join(HEADERS).encode() + b"\r\n"


def test_bad_input_is_refused_and_writes_nothing(world, tmp_path):
    engine, uow, ids, settings = world
    out = tmp_path / "out"
    out.mkdir()
    path = out / "x.csv"
    with uow() as session:
        with pytest.raises(InputError, match="after"):
            export_cli.run(
                parse(
                    "--unit", str(ids["unit"]), "--from", "2026-03-21", "--to", "2026-03-20", "-o", str(path)
                ),
                session,
                settings,
            )
        with pytest.raises(InputError, match="there is no unit 9999"):
            export_cli.run(
                parse("--unit", "9999", "--from", "2026-03-01", "--to", "2026-03-20", "-o", str(path)),
                session,
                settings,
            )
        with pytest.raises(InputError, match="cannot write"):
            export_cli.run(
                parse(
                    "--unit",
                    str(ids["unit"]),
                    "--from",
                    "2026-03-01",
                    "--to",
                    "2026-03-20",
                    "-o",
                    str(out / "missing" / "x.csv"),
                ),
                session,
                settings,
            )
        with pytest.raises(InputError, match="directory"):
            export_cli.run(
                parse(
                    "--unit", str(ids["unit"]), "--from", "2026-03-01", "--to", "2026-03-20", "-o", str(out)
                ),
                session,
                settings,
            )
    assert list(out.iterdir()) == []  # no file, no partial file


@pytest.mark.parametrize(
    "argv",
    [
        ["--unit", "1", "--from", "03/01/2026", "--to", "2026-03-20", "-o", "x.csv"],
        ["--unit", "1", "--from", "2026-02-30", "--to", "2026-03-20", "-o", "x.csv"],
        ["--unit", "0", "--from", "2026-03-01", "--to", "2026-03-20", "-o", "x.csv"],
        ["--unit", "1", "--from", "2026-03-01", "--to", "2026-03-20", "--format", "ods", "-o", "x.csv"],
        ["--unit", "1", "--from", "2026-03-01", "--to", "2026-03-20"],
    ],
)
def test_the_parser_refuses_malformed_arguments(argv, capsys):
    with pytest.raises(SystemExit):
        parse(*argv)


def test_many_records_stream_through_in_order(database_url, tmp_path):
    """More rows than one fetch batch: all arrive, in order, and the totals hold."""
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as s:
        unit = admin.add_unit(s, NOW, "test", name="大量", category="general", city="other")
        person, _ = admin.add_volunteer(
            s, NOW, "test", unit_id=unit.id, name="甲", invite_valid_for=dt.timedelta(days=1)
        )
        s.execute(
            sa.insert(ServiceRecord),
            [
                dict(
                    volunteer_id=person.id,
                    unit_id=unit.id,
                    kind="service",
                    source="manual",
                    status="counted",
                    minutes=6,
                    service_date=dt.date(2025, 1, 1) + dt.timedelta(days=n % 365),
                    recorded_by="t",
                    created_at=NOW,
                    walk_up=False,
                )
                for n in range(2500)
            ],
        )
        s.commit()
    path = tmp_path / "many.csv"
    streamed = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def note_cursor(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "servicerecord JOIN volunteer" in statement:
            streamed.append((type(cursor).__name__, context.execution_options.get("stream_results")))

    with uow() as session:
        result, _ = export_cli.run(
            parse("--unit", str(unit.id), "--from", "2025-01-01", "--to", "2025-12-31", "-o", str(path)),
            session,
            Settings(database_url=database_url),
        )
    engine.dispose()
    # Fetched in batches: on PostgreSQL through a server-side (named) cursor.
    assert [flag for _, flag in streamed] == [True]
    if engine.dialect.name == "postgresql":
        assert streamed[0][0] == "ServerCursor"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]
    assert result["rows"] == len(rows) == 2500 and result["hours"] == 250
    assert [r[2] for r in rows] == sorted(r[2] for r in rows)
    assert {r[6] for r in rows} == {"綜合"}


def test_formats():
    assert roc_date(dt.date(2026, 3, 5)) == "115/03/05"
    assert roc_date(dt.date(2011, 12, 31)) == "100/12/31"
    assert [str(hours_one_decimal(m)) for m in (135, 25, 3, 60, 0)] == ["2.3", "0.4", "0.1", "1.0", "0.0"]
    zone = ZoneInfo("Asia/Taipei")
    assert local_time(local(11, 0), dt.date(2026, 3, 10), zone) == "24:00"
    assert local_time(local(11, 0), dt.date(2026, 3, 11), zone) == "00:00"
    assert local_time(None, dt.date(2026, 3, 11), zone) == ""


def test_the_vbot_command_exports_a_units_hours(tmp_path):
    import csv as csv_module

    from tests.test_cli import PAST, clean_env, last_json, vbot

    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'e.db'}")
    unit = str(last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立圖書館", "--json", env=env))["id"])
    person = str(
        last_json(vbot(tmp_path, "volunteer", "add", "--unit", unit, "--name", "王小明", "--json", env=env))[
            "id"
        ]
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
        "2.5",
        env=env,
    )
    done = last_json(
        vbot(
            tmp_path,
            "export",
            "hours",
            "--unit",
            unit,
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
            "--format",
            "csv",
            "-o",
            "hours.csv",
            "--json",
            env=env,
        )
    )
    assert done["rows"] == 1 and done["hours"] == 2.5
    rows = list(csv_module.reader((tmp_path / "hours.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1][0] == "王小明" and rows[1][5] == "2.5"
