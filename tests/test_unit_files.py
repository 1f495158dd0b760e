"""A coordinator's unit files in chat (匯出, 報表), the signed download links, city administrators and the
report-window summaries: each only for the people who may see the unit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import select

from handlers.files.report import build_report, parse_period
from handlers.people import admin
from storage.db import UnitOfWork
from storage.models import AuditEntry, CityAdministrator, Membership, ServiceRecord
from tests.test_cli import clean_env, last_json, sqlite_url, vbot
from tests.test_reminders import Town, local

UNIT_NAME = "臺北市立聯合醫院志工隊"


@pytest.fixture
async def ward(harness):
    """A Taipei hospital unit: coordinator on LINE, another on Telegram, two volunteers with hours in April."""
    harness.now = local(2026, 3, 30, 9)  # invite codes (made at T0) are still valid
    town = Town(harness)
    town.unit = harness.add_unit(UNIT_NAME, category="health", city="taipei")
    town.boss = await town.person(town.unit, line_user="Uboss", role="coordinator", name="林組長")
    town.deputy = await town.person(town.unit, telegram_user=8001, role="coordinator", name="吳副組長")
    town.amy = await town.person(town.unit, line_user="Uamy", name="陳美玲")
    town.bob = await town.person(town.unit, telegram_user=7001, name="李大同")
    for day, start, end in ((6, 9, 12), (13, 9, 11), (20, 14, 17)):
        at, until = local(2026, 4, day, start), local(2026, 4, day, end, 30)
        await harness.line_says("Uamy", "簽到", at=at, now=at)
        await harness.line_says("Uamy", "簽退", at=until, now=until)
    at, until = local(2026, 4, 7, 9), local(2026, 4, 7, 10)
    await harness.telegram_says(7001, "簽到", at=at, now=at)
    await harness.telegram_says(7001, "簽退", at=until, now=until)
    town.other = harness.add_unit("新北市立圖書館", city="other")
    await town.person(town.other, line_user="Uother", role="coordinator", name="外單位組長")
    return town


def link_in(text: str) -> str:
    parts = urlsplit(re.search(r"https?://\S+", text).group(0))
    return f"{parts.path}?{parts.query}"


def counted_minutes(town, unit_id: int, first: dt.date, last: dt.date) -> int:
    with town.uow() as session:
        return (
            session.execute(
                sa.select(sa.func.sum(ServiceRecord.minutes)).where(
                    ServiceRecord.unit_id == unit_id,
                    ServiceRecord.status == "counted",
                    ServiceRecord.service_date.between(first, last),
                )
            ).scalar()
            or 0
        )


async def test_export_in_chat_sends_the_months_hours_as_a_file_that_sums_to_the_answer(ward):
    h = ward.h
    at = local(2026, 5, 4, 9)
    answer = await h.line_says("Uboss", "匯出", at=at, now=at)
    minutes = counted_minutes(ward, ward.unit, dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert minutes == 630  # 3.5 + 2.5 + 3.5 + 1 h
    assert (
        UNIT_NAME in answer[0] and "4 筆" in answer[0] and "10.5 小時" in answer[0]
    )  # last month by default
    h.now = at
    download = await h.http.get(link_in(answer[0]))
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["姓名", "紀錄冊編號"] and len(rows) == 5
    assert sum(float(row[5]) for row in rows[1:]) == 10.5
    assert {row[0] for row in rows[1:]} == {"陳美玲", "李大同"}

    await h.telegram_says(8001, "/export 2026-04", at=at, now=at)
    [(chat, name, data)] = h.telegram_api.documents
    assert (chat, name) == (8001, f"hours-unit{ward.unit}-2026-04.csv")
    assert data == download.content


async def test_download_links_are_refused_when_changed_expired_or_no_longer_the_coordinators(ward):
    h = ward.h
    at = local(2026, 5, 4, 9)
    h.now = at
    path = link_in((await h.line_says("Uboss", "匯出 2026-04", at=at, now=at))[0])
    assert (await h.http.get(path)).status_code == 200
    url = urlsplit(path)
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    forged = [
        url.path.replace(f"/hours/{ward.unit}/", f"/hours/{ward.other}/") + "?" + url.query,  # another unit
        url.path.replace("/hours/", "/report/").replace("2026-04", "2026H1")
        + "?"
        + url.query,  # another file
        url.path + "?" + urlencode({**query, "by": str(ward.amy)}),  # another person
        url.path
        + "?"
        + urlencode({**query, "expires": str(int(query["expires"]) + 86400)}),  # a later expiry
        url.path + "?" + urlencode({k: v for k, v in query.items() if k != "sig"}),  # no signature
        url.path + "?" + urlencode({**query, "sig": "簽名ä" + query["sig"][3:]}),  # not even ASCII
        url.path + "?" + urlencode({**query, "sig": query["sig"] + "%00"}),
    ]
    for forgery in forged:
        refused = await h.http.get(forgery)
        assert refused.status_code == 403, forgery
        assert "陳美玲" not in refused.text
    h.now = at + dt.timedelta(hours=24)
    assert (await h.http.get(path)).status_code == 403  # expired

    h.now = at
    with ward.uow() as session:  # the coordinator steps down: yesterday's link stops working
        membership = session.exec(select(Membership).where(Membership.volunteer_id == ward.boss)).one()
        membership.role = "volunteer"
        session.add(membership)
        session.commit()
    assert (await h.http.get(path)).status_code == 403


async def test_the_report_in_chat_matches_a_direct_count_and_comes_with_the_spreadsheet(ward):
    h = ward.h
    at = local(2026, 7, 5, 10)
    answer = await h.line_says("Uboss", "報表", at=at, now=at)  # in July: the half-year just ended
    text = answer[0]
    minutes = counted_minutes(ward, ward.unit, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert "115年1月1日" in text and "115年6月30日" in text
    assert "服務志工：2 人" in text and "服務人次：4" in text and "時數：10.5" in text
    h.now = at
    download = await h.http.get(link_in(text))
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.content))
    summary = {
        row[0]: row[1] for row in book["摘要"].iter_rows(values_only=True)
    }  # the coordinator's language
    assert summary["期間"] == "2026H1" and summary["服務人數"] == 2 and summary["服務時數"] == minutes / 60

    month = await h.line_says("Uboss", "報表 2026-04", at=at, now=at)
    assert "半年" in month[0]  # a report is for a half-year or a year
    bad = await h.line_says("Uboss", "報表 下半年", at=at, now=at)
    assert "2026H1" in bad[0]


async def test_a_year_after_the_unit_is_the_period_not_another_unit(ward):
    h = ward.h
    at = local(2027, 1, 5, 10)
    for word in ("匯出", "報表"):
        answer = (await h.line_says("Uboss", f"{word} {ward.unit} 2026", at=at, now=at))[0]
        assert "115年1月1日" in answer and "115年12月31日" in answer, answer
    alone = (await h.line_says("Uboss", "報表 2026", at=at, now=at))[0]
    assert "115年1月1日" in alone and "115年12月31日" in alone
    assert "只能" not in alone  # not read as unit 2026


async def test_a_coordinator_of_another_unit_gets_neither_files_nor_figures(ward):
    h = ward.h
    at = local(2026, 5, 4, 9)
    with ward.uow() as session:
        audit_before = session.execute(sa.text("SELECT count(*) FROM auditentry")).scalar()
    for text in (
        f"匯出 {ward.unit}",
        f"匯出 {ward.unit} 2026-04",
        f"報表 {ward.unit}",
        f"報表 {ward.unit} 2026H1",
    ):
        answer = await h.line_says("Uother", text, at=at, now=at)
        assert len(answer) == 1 and "管理" in answer[0], text
        assert not any(word in answer[0] for word in (UNIT_NAME, "陳美玲", "李大同", "http")), answer[0]
    volunteer = await h.line_says("Uamy", "匯出", at=at, now=at)
    assert "督導" in volunteer[0] and "http" not in volunteer[0]
    with ward.uow() as session:
        assert session.execute(sa.text("SELECT count(*) FROM auditentry")).scalar() == audit_before


async def test_a_city_administrator_sees_every_unit_of_the_city_and_no_other(ward):
    h = ward.h
    second = h.add_unit("臺北市立圖書館", city="taipei")
    with ward.uow() as session:
        person, invite = admin.add_city_administrator(
            session, h.now, "operator", city="taipei", invite_valid_for=dt.timedelta(days=30), name="市府承辦"
        )
        session.commit()
        admin_id = person.id
    at = local(2026, 5, 4, 9)
    await h.line_says("Ucity", f"綁定 {invite.code}", at=at, now=at)
    which = await h.line_says("Ucity", "匯出", at=at, now=at)
    assert "哪一個單位" in which[0]
    answer = await h.line_says("Ucity", f"匯出 {ward.unit}", at=at, now=at)
    assert UNIT_NAME in answer[0] and "10.5 小時" in answer[0]
    assert "臺北市立圖書館" in (await h.line_says("Ucity", f"報表 {second}", at=at, now=at))[0]
    refused = await h.line_says("Ucity", f"匯出 {ward.other}", at=at, now=at)
    assert "新北市立圖書館" not in refused[0] and "http" not in refused[0]
    review = await h.line_says("Ucity", "審核", at=at, now=at)
    assert "督導" not in review[0]  # may review the city's sessions
    with ward.uow() as session:
        assert session.get(CityAdministrator, (admin_id, "taipei")) is not None
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "city_administrator.add")).one()
        assert entry.actor == "operator" and entry.target == f"volunteer:{admin_id}"


def test_the_command_line_makes_a_city_administrator(tmp_path):
    env = clean_env(VBOT_DATABASE_URL=sqlite_url(tmp_path))
    made = last_json(
        vbot(tmp_path, "admin", "add", "--city", "taipei", "--name", "市府承辦", "--json", env=env)
    )
    assert made["city"] == "taipei" and re.fullmatch(r"\d{8}", made["invite_code"])
    again = last_json(
        vbot(tmp_path, "admin", "add", "--city", "taipei", "--volunteer", str(made["id"]), "--json", env=env)
    )
    assert again == {"id": made["id"], "city": "taipei", "invite_code": None}
    for bad in (
        ["--city", "taipei"],
        ["--city", "taipei", "--volunteer", "999"],
        ["--city", "kaohsiung", "--name", "x"],
    ):
        done = vbot(tmp_path, "admin", "add", *bad, env=env)
        assert (
            done.returncode != 0
            and "Traceback" not in done.stderr
            and len(done.stderr.strip().splitlines()) == 1
        )
    engine = sa.create_engine(sqlite_url(tmp_path))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM cityadministrator")).scalar() == 1
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM auditentry WHERE action = 'city_administrator.add'")
            ).scalar()
            == 1
        )
    engine.dispose()


async def test_coordinators_get_their_units_figures_once_when_the_report_window_opens(ward):
    h = ward.h
    _, _, line, telegram = await ward.remind(local(2026, 7, 1, 8, 59))
    assert not any("服務人次：" in text for text in line + telegram)
    _, _, line, telegram = await ward.remind(local(2026, 7, 1, 9, 0))
    summaries = [text for text in line + telegram if "服務人次：" in text]
    ours = [text for text in summaries if UNIT_NAME in text]
    assert len(ours) == 2  # the two coordinators, not the volunteers
    assert all("服務人次：4" in text and "時數：10.5" in text for text in ours)
    # New Taipei's calendar has no half-year report on the Taipei platform: its coordinator is not asked.
    assert not any("服務人次：" in text for text in h.line_api.texts_to("Uother"))
    alert = next(
        call.body["messages"][-1]
        for call in h.line_api.calls
        if call.body.get("to") in ("Uboss", ["Uboss"]) and "半年成果報表" in str(call.body)
    )
    taps = [item["action"]["text"] for item in alert["quickReply"]["items"]]
    assert f"報表 {ward.unit} 2026H1" in taps  # the deadline alert links to the report
    assert any("服務人次：" in text for text in h.line_api.texts_to("Uboss"))
    assert not any("服務人次：" in text for text in h.line_api.texts_to("Uamy"))
    _, _, line, telegram = await ward.remind(local(2026, 7, 2, 9, 0))
    assert not any("服務人次：" in text for text in line + telegram)  # once per window
    with ward.uow() as session:
        report = build_report(session, parse_period("2026H1"), ward.unit)
    assert report.person_times == 4 and report.minutes == 630


async def test_export_and_report_in_chat_leave_a_balance_out_and_say_so(ward):
    """domain.md: a record-book balance is no service of the period it is dated in (issue 14)."""
    h = ward.h
    with UnitOfWork(h.vbot.engine)() as session:
        admin.add_hours(
            session,
            local(2026, 5, 1, 9),
            "test",
            volunteer_id=ward.amy,
            unit_id=ward.unit,
            day=dt.date(2026, 4, 15),
            hours=100,
            kind="balance",
        )
        session.commit()
    at = local(2026, 7, 2, 9)
    export = (await h.line_says("Uboss", "匯出 2026-04", at=at, now=at))[0]
    assert "4 筆" in export and "10.5 小時" in export  # the balance is no record of April's service
    assert "未列入：1 筆紀錄冊時數結餘（100 小時）。結餘計入累計時數與獎勵，但不是本期間的服務。" in export
    report = (await h.line_says("Uboss", "報表 2026H1", at=at, now=at))[0]
    assert "服務人次：4　時數：10.5" in report and "未列入：1 筆紀錄冊時數結餘（100 小時）" in report
