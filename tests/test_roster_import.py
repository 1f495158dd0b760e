"""`vbot volunteer import`: a unit's roster in CSV (UTF-8, with or without BOM, Big5) or XLSX, row by row."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlmodel import select

from handlers.people import admin, roster_import
from handlers.validation import InputError
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import Membership, ServiceRecord, TrainingRecord, Volunteer

NOW = dt.datetime(2026, 3, 25, 1, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 25)
ROSTER = (
    "姓名,性別,出生日期,手機,紀錄冊編號,紀錄冊發給日期,基礎訓練日期,特殊訓練日期,時數結餘,結餘日期,英文姓名,保險到期日\r\n"
    "王小明,男,1958-03-02,0912-345-678,北市志字第1號,2020/05/01,2020/03/01,2020/03/08,1234.5,2025-12-31,WANG HSIAO-MING,115/12/31\r\n"
    "李美玲,女,63/7/1,0922333444,,,,,,,,\r\n"
    "壞日期,女,1960-13-01,0933000000,,,,,,,,\r\n"
    "重複,男,,0912345678,,,,,,,,\r\n"
    "無日期結餘,男,,,,,,,10,,,\r\n"
)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    with uow() as session:
        unit = admin.add_unit(
            session, NOW, "test", name="臺北市立聯合醫院", category="health", city="taipei"
        ).id
        session.commit()
    yield uow, unit
    engine.dispose()


def run(uow, unit, data: bytes, name="roster.csv"):
    with uow() as session:
        report = roster_import.import_roster(
            session, NOW, "test", unit, roster_import.read_rows(data, name), TODAY
        )
        session.commit()
    return report


def people(uow) -> dict[str, Volunteer]:
    with uow() as session:
        return {v.name: v for v in session.exec(select(Volunteer)).all()}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp950"])
def test_good_rows_are_taken_in_bad_ones_reported_and_a_second_import_changes_nothing(store, encoding):
    uow, unit = store
    first = run(uow, unit, ROSTER.encode(encoding))
    assert (first.created, first.updated, first.unchanged) == (2, 1, 0)
    assert [(e["line"], e["error"].split(":")[0]) for e in first.errors] == [
        (4, "出生日期"),  # the file's own header, not the field's name in the code
        (6, "時數結餘 needs 結餘日期 (the date of the balance)"),
    ]
    # Line 5 shares Wang's phone: it is Wang, and his name changes to the roster's (audited), not a new person.
    found = people(uow)
    assert set(found) == {"重複", "李美玲"}
    wang = found["重複"]
    assert (wang.record_book_no, wang.phone, wang.birth_date) == (
        "北市志字第1號",
        "0912345678",
        dt.date(1958, 3, 2),
    )
    assert wang.english_name == "WANG HSIAO-MING" and wang.insured_until == dt.date(2026, 12, 31)
    assert found["李美玲"].birth_date == dt.date(1974, 7, 1)  # ROC 63 = 1974
    with uow() as session:
        balance = session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == wang.id)).all()
        trainings = session.exec(select(TrainingRecord).where(TrainingRecord.volunteer_id == wang.id)).all()
    assert [(r.minutes, r.service_date, r.source) for r in balance] == [
        (
            74070,
            dt.date(2025, 12, 31),
            "balance",
        )  # a balance: counts in totals and awards, no period's service
    ]
    assert sorted((t.kind, t.category) for t in trainings) == [("basic", None), ("special", "health")]
    assert len(first.invites) == 2

    fixed = ROSTER.replace("重複", "王小明").encode(encoding)
    second = run(uow, unit, fixed)
    assert (second.created, second.updated) == (0, 1)  # line 5 renames him back
    third = run(uow, unit, fixed)
    assert (third.created, third.updated, third.unchanged) == (0, 0, 3) and len(third.errors) == 2
    with uow() as session:
        assert len(session.exec(select(ServiceRecord)).all()) == 1
        assert len(session.exec(select(TrainingRecord)).all()) == 2
        assert len(session.exec(select(Membership)).all()) == 2


def test_an_xlsx_roster_with_english_headers_and_real_dates(store):
    from openpyxl import Workbook

    uow, unit = store
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "gender", "birth_date", "phone", "record_book_no"])
    sheet.append(["陳志工", "F", dt.datetime(1950, 1, 2), 912000111, "中市志字第9號"])  # noqa: DTZ001 (Excel has no zones)
    out = io.BytesIO()
    book.save(out)
    report = run(uow, unit, out.getvalue(), "roster.xlsx")
    assert (report.created, report.errors) == (1, [])
    person = people(uow)["陳志工"]
    # Excel stored the phone as a number and dropped its leading 0: it is put back.
    assert (person.gender, person.birth_date, person.phone) == ("female", dt.date(1950, 1, 2), "0912000111")


def test_files_that_are_not_rosters_are_refused_in_one_line(store):
    uow, unit = store
    with pytest.raises(InputError, match="name"):
        roster_import.read_rows("電話,生日\r\n0912,1950-01-01\r\n".encode(), "r.csv")
    with pytest.raises(InputError, match="xlsx"):
        roster_import.read_rows(b"PK\x03\x04 broken", "r.xlsx")
    with pytest.raises(InputError, match="UTF-8"):
        roster_import.read_rows(b"\xff\xfe\xfa\x80\x81", "r.csv")
    assert roster_import.parse_date("115年3月25日") == dt.date(2026, 3, 25)
    assert roster_import.parse_date("1150325") == dt.date(2026, 3, 25)


def test_the_command_prints_the_report_and_writes_the_invite_codes(tmp_path):
    from tests.test_cli import clean_env, last_json, vbot

    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'v.db'}")
    unit = str(
        last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立聯合醫院", "--json", env=env))["id"]
    )
    (tmp_path / "roster.csv").write_bytes(ROSTER.encode("cp950"))
    report = last_json(
        vbot(
            tmp_path,
            "volunteer",
            "import",
            "roster.csv",
            "--unit",
            unit,
            "--invites",
            "codes.csv",
            "--json",
            env=env,
        )
    )
    assert (report["created"], report["updated"], report["unchanged"], len(report["errors"])) == (2, 1, 0, 2)
    codes = (tmp_path / "codes.csv").read_text(encoding="utf-8-sig").splitlines()
    assert (
        codes[0] == "id,name,invite_code"
        and len(codes) == 3
        and all(len(line.split(",")[2]) == 8 for line in codes[1:])
    )


async def test_printable_invites_carry_each_new_volunteers_code_as_qr_codes_that_open_the_chats(
    tmp_path, line_api, telegram_api
):
    import asyncio

    import pypdf
    import pypdfium2
    import zxingcpp

    from tests.conftest import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN
    from tests.test_cli import clean_env, last_json, vbot

    env = clean_env(
        VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'v.db'}",
        LINE_CHANNEL_SECRET=LINE_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        LINE_API_BASE_URL=line_api.url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL=telegram_api.url,
    )
    run = lambda *args: asyncio.to_thread(lambda: last_json(vbot(tmp_path, *args, "--json", env=env)))  # noqa: E731
    unit = str((await run("unit", "add", "--name", "臺北市立聯合醫院"))["id"])
    names = [f"志工{n:02d}" for n in range(9)]  # nine: a second page
    (tmp_path / "roster.csv").write_text("姓名\n" + "\n".join(names) + "\n", encoding="utf-8")
    report = await run("volunteer", "import", "roster.csv", "--unit", unit, "--invites", "cards.pdf")
    assert report["created"] == 9
    with UnitOfWork(make_engine(env["VBOT_DATABASE_URL"]))() as session:
        from storage.models import InviteCode

        codes = {
            person.name: invite.code
            for person, invite in session.exec(
                select(Volunteer, InviteCode).join(InviteCode, InviteCode.volunteer_id == Volunteer.id)
            ).all()
        }
    data = (tmp_path / "cards.pdf").read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    from tests.test_poster import pdfium_text, poppler_text

    for text in (poppler_text(data, tmp_path), pdfium_text(data, tmp_path)):  # two engines, the same words
        assert all(name in text and f"綁定 {codes[name]}" in text for name in names)
    document = pypdfium2.PdfDocument(data)
    try:
        found = {
            code.text
            for page in document
            for code in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())
        }
    finally:
        document.close()
    for code in codes.values():  # each card's codes open the chat with its own invite code
        assert f"https://line.me/R/oaMessage/%40123abcde/?%E7%B6%81%E5%AE%9A%20{code}" in found
        assert f"https://t.me/vbot_test_bot?start={code}" in found
    assert len(found) == 18


def test_printable_invites_need_the_platforms_to_answer_before_anything_is_imported(tmp_path):
    from tests.test_cli import clean_env, last_json, vbot

    env = clean_env(
        VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'v.db'}",
        LINE_CHANNEL_SECRET="s",
        LINE_CHANNEL_ACCESS_TOKEN="t",
        LINE_API_BASE_URL="http://127.0.0.1:9",
    )  # nothing listens
    unit = str(
        last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立聯合醫院", "--json", env=env))["id"]
    )
    (tmp_path / "roster.csv").write_text("姓名\n王小明\n", encoding="utf-8")
    done = vbot(
        tmp_path, "volunteer", "import", "roster.csv", "--unit", unit, "--invites", "cards.pdf", env=env
    )
    assert done.returncode != 0 and "LINE" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "cards.pdf").exists()
    with UnitOfWork(make_engine(env["VBOT_DATABASE_URL"]))() as session:
        assert session.exec(select(Volunteer)).all() == []


# ---- files that must not go wrong quietly (issue 14) ------------------------------------------------------

BAD_ROSTER = (
    "姓名,手機,出生日期,時數結餘,結餘日期\r\n"
    '"Unclosed,0912000001,1950-01-01,,\r\n'  # line 2: a quote never closed
    "林小華,912000002,1951-02-03,12.5,2025-12-31\r\n"  # line 3: Excel dropped the phone's leading 0
    "張大同,0912000003,1952-03-04,十二,2025-12-31\r\n"  # line 4: not a number
    "陳,志明,0912000004,1953-04-05,,2025-12-31\r\n"  # line 5: a comma in the name, no quotes: a cell too many
    '"吳 ""阿美""",0912000005,1954-05-06,,\r\n'  # line 6: quotes done right
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp950"])
def test_an_unclosed_quote_is_a_bad_row_not_a_person_and_rows_are_named_by_the_files_headers(store, encoding):
    uow, unit = store
    result = run(uow, unit, BAD_ROSTER.encode(encoding))
    errors = {e["line"]: e["error"] for e in result.errors}
    assert sorted(errors) == [2, 4, 5]
    assert "quote" in errors[2]
    assert errors[4].startswith("時數結餘: not a number")  # the file's own header, not balance_hours
    assert "6 cells, the header 5" in errors[5]
    found = people(uow)
    assert set(found) == {"林小華", '吳 "阿美"'}  # nobody named `Unclosed,0912…`, nobody named 陳
    assert found["林小華"].phone == "0912000002"
    assert found['吳 "阿美"'].phone == "0912000005"
    assert result.created == 2


def test_a_phone_excel_stored_as_a_number_keeps_its_leading_zero_in_xlsx_and_matches_the_same_person(store):
    from openpyxl import Workbook

    uow, unit = store
    run(uow, unit, "姓名,手機\r\n林小華,0912-345-678\r\n".encode())
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手機", "紀錄冊編號"])
    sheet.append(["林小華", 912345678, "北市志字第7號"])  # the same phone, as Excel keeps it: a number
    sheet.append(["市話", 223456789.0, None])  # a Taipei landline 02-2345-6789
    out = io.BytesIO()
    book.save(out)
    result = run(uow, unit, out.getvalue(), "roster.xlsx")
    assert (result.created, result.updated, result.errors) == (1, 1, [])
    found = people(uow)
    assert found["林小華"].phone == "0912345678" and found["林小華"].record_book_no == "北市志字第7號"
    assert found["市話"].phone == "0223456789"
    assert roster_import.normal_phone("+886 912-345-678") == "0912345678"
    with pytest.raises(ValueError, match="Excel shortened"):
        roster_import.normal_phone("9.12346E+08")


def test_a_person_already_in_the_unit_is_matched_or_flagged_never_created_twice(store):
    uow, unit = store
    first = run(
        uow,
        unit,
        (
            "姓名,出生日期,手機,紀錄冊編號\r\n"
            "王小明,1958-03-02,,\r\n"
            "李美玲,,,\r\n"
            "陳志工,,0922000001,北市志字第1號\r\n"
            "林志工,,0922000002,北市志字第2號\r\n"
        ).encode(),
    )
    assert first.created == 4
    again = run(
        uow,
        unit,
        (
            "姓名,出生日期,手機,紀錄冊編號\r\n"
            "王小明,1958-03-02,0933000001,\r\n"  # line 2: same name and birth date: matched, phone added
            "李美玲,,,\r\n"  # line 3: same name, nothing to tell them apart: flagged
            "陳志工,,0922000002,北市志字第1號\r\n"  # line 4: record book of one, phone of another: flagged
            "林志工,,0922000002,北市志字第9號\r\n"  # line 5: a phone of someone with another record book
            "王小明,1960-01-01,,\r\n"  # line 6: same name, another birth date: another person
        ).encode(),
    )
    errors = {e["line"]: e["error"] for e in again.errors}
    assert sorted(errors) == [3, 4, 5]
    assert (
        "李美玲 is already in the unit (volunteer" in errors[3]
        and "出生日期, 手機 or 紀錄冊編號" in errors[3]
    )
    assert "紀錄冊編號 is volunteer" in errors[4] and "手機 volunteer" in errors[4]
    assert "two people with one phone" in errors[5]
    assert (again.created, again.updated) == (1, 1)
    with uow() as session:
        wangs = session.exec(select(Volunteer).where(Volunteer.name == "王小明").order_by(Volunteer.id)).all()
        assert [(w.birth_date, w.phone) for w in wangs] == [
            (dt.date(1958, 3, 2), "0933000001"),
            (dt.date(1960, 1, 1), None),
        ]
        assert len(session.exec(select(Volunteer).where(Volunteer.name == "李美玲")).all()) == 1


def test_volunteer_add_refuses_a_person_already_in_the_unit_unless_told_it_is_another(store):
    uow, unit = store
    with uow() as session:
        first, _ = admin.add_volunteer(
            session,
            NOW,
            "test",
            unit_id=unit,
            name="王小明",
            birth_date=dt.date(1958, 3, 2),
            invite_valid_for=dt.timedelta(days=30),
        )
        session.commit()
        for birth_date in (dt.date(1958, 3, 2), None):
            with pytest.raises(InputError, match=f"volunteer {first.id} \\(王小明, born 1958-03-02\\)"):
                admin.add_volunteer(
                    session,
                    NOW,
                    "test",
                    unit_id=unit,
                    name="王小明",
                    birth_date=birth_date,
                    invite_valid_for=dt.timedelta(days=30),
                )
        other, _ = admin.add_volunteer(  # another birth date: another person
            session,
            NOW,
            "test",
            unit_id=unit,
            name="王小明",
            birth_date=dt.date(1970, 1, 1),
            invite_valid_for=dt.timedelta(days=30),
        )
        same, _ = admin.add_volunteer(
            session,
            NOW,
            "test",
            unit_id=unit,
            name="王小明",
            birth_date=dt.date(1958, 3, 2),
            invite_valid_for=dt.timedelta(days=30),
            allow_duplicate=True,
        )
        session.commit()
        assert len({first.id, other.id, same.id}) == 3


def test_the_command_refuses_the_duplicate_naming_the_existing_id(tmp_path):
    from tests.test_cli import clean_env, last_json, vbot

    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path}/vbot.db")
    unit = str(last_json(vbot(tmp_path, "unit", "add", "--name", "臺北市立圖書館", "--json", env=env))["id"])
    add = ["volunteer", "add", "--unit", unit, "--name", "王小明", "--birth-date", "1958-03-02"]
    first = last_json(vbot(tmp_path, *add, "--json", env=env))["id"]
    refused = vbot(tmp_path, *add, env=env)
    assert refused.returncode != 0 and f"volunteer {first} (王小明, born 1958-03-02)" in refused.stderr
    assert "--allow-duplicate" in refused.stderr and "Traceback" not in refused.stderr
    allowed = last_json(vbot(tmp_path, *add, "--allow-duplicate", "--json", env=env))
    assert allowed["id"] != first
