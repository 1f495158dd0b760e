"""Every CSV the bot writes opens in a spreadsheet as text: a name, a unit or a note that starts like a formula
(`=`, `+`, `-`, `@`, tab, carriage return) is not run, and negative hours stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from handlers.files.export import csv_bytes, export_hours
from handlers.files.my_records import records_csv
from handlers.files.report import build_report, parse_period, to_csv
from handlers.formatting import FORMULA_STARTS
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.people.roster_import import invites_csv
from storage import export_store
from storage.db import UnitOfWork, make_engine, migrate

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
HOSTILE_NAME = '=HYPERLINK("http://evil.example/","點我")'
HOSTILE_UNIT = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_NOTE = "-2+3+cmd|' /C calc'!A0"


ZH = Catalogs().translator("zh_TW")


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            number = cell.lstrip("+-").replace(".", "", 1).isdigit()
            assert number or not cell.startswith(FORMULA_STARTS), (cell, row)


def test_every_csv_keeps_formulas_as_text(database_url, tmp_path):
    engine = make_engine(database_url)
    migrate(engine)
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(session, NOW, "test", name=HOSTILE_UNIT, category="culture", city="taipei")
        person, _invite = admin.add_volunteer(
            session, NOW, "test", unit_id=unit.id, name=HOSTILE_NAME, invite_valid_for=dt.timedelta(days=30)
        )
        day = dt.date(2026, 4, 20)
        admin.add_hours(session, NOW, "test", volunteer_id=person.id, unit_id=unit.id, day=day, hours=3)
        admin.add_hours(
            session,
            NOW,
            "test",
            volunteer_id=person.id,
            unit_id=unit.id,
            day=day,
            hours=-1,
            note=HOSTILE_NOTE,
        )
        session.commit()
        unit_id, person_id = unit.id, person.id

    with UnitOfWork(engine)() as session:
        rows = export_store.counted_service_rows(session, unit_id, dt.date(2026, 4, 1), dt.date(2026, 4, 30))
        export, _result = csv_bytes(rows, TAIPEI)
        export_hours(
            session,
            unit_id,
            dt.date(2026, 4, 1),
            dt.date(2026, 4, 30),
            tmp_path / "hours.csv",
            "csv",
            TAIPEI,
            t=ZH,
        )
        mine, _count, _minutes = records_csv(session, person_id, TAIPEI, ZH)
        report = to_csv(build_report(session, parse_period("2026H1"), unit_id), ZH)
    invites = invites_csv([{"id": person_id, "name": HOSTILE_NAME, "invite_code": "12345678"}])

    files = {
        "export": export,
        "export file": (tmp_path / "hours.csv").read_bytes(),
        "my records": mine,
        "report": report,
        "invites": invites,
    }
    for name, data in files.items():
        rows = rows_of(data)
        assert_no_formula(rows)
        cells = {cell for row in rows for cell in row}
        assert cells & {f"'{HOSTILE_NAME}", f"'{HOSTILE_UNIT}", f"'{HOSTILE_NOTE}"}, name  # kept, as text
    assert f"'{HOSTILE_NAME}" in {cell for row in rows_of(files["export"]) for cell in row}
    assert f"'{HOSTILE_UNIT}" in {cell for row in rows_of(files["report"]) for cell in row}
    hours = [row[5] for row in rows_of(files["my records"])[1:]]
    assert sorted(hours) == ["-1.00", "3.00"]  # a negative correction is still a number
    engine.dispose()
