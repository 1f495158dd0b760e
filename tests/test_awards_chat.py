"""獎勵 in chat, and the milestone a check-out brings, on LINE and Telegram."""

from __future__ import annotations

import datetime as dt

from handlers.awards.progress import requirement_name
from handlers.i18n import Catalogs
from handlers.people import admin
from storage.db import UnitOfWork
from storage.models import AwardGrant, Volunteer
from tests.conftest import T0

HOUR = dt.timedelta(hours=1)


def prepare(
    harness, balance_hours: float, trained_on=dt.date(2020, 5, 1), record_book=True, born=None
) -> tuple[int, int, str]:
    unit = harness.add_unit()  # 臺北市立圖書館, culture, Taipei
    volunteer_id, code = harness.add_volunteer(unit)
    with UnitOfWork(harness.vbot.engine)() as session:
        person = session.get(Volunteer, volunteer_id)
        person.trained_on = trained_on
        person.birth_date = born
        if record_book:
            person.record_book_no = "北市志字第123號"
            person.record_book_date = trained_on
        session.add(person)
        admin.add_hours(
            session,
            T0,
            "cli:test",
            volunteer_id=volunteer_id,
            unit_id=unit,
            day=dt.date(2025, 12, 31),
            hours=balance_hours,
            kind="balance",  # a record book's balance: counts whatever the training day
            note="record-book balance",
        )
        session.commit()
    return unit, volunteer_id, code


async def test_a_check_out_that_reaches_an_award_says_so_and_how_to_apply(harness):
    _unit, _volunteer, code = prepare(harness, 149)
    await harness.line_says("Uvol1", f"綁定 {code}")
    await harness.line_says("Uvol1", "簽到", at=T0)
    answer = (await harness.line_says("Uvol1", "簽退", at=T0 + 2 * HOUR))[0]
    assert "這次服務 2 小時" in answer
    assert "您已達到「志願服務績效證明書」" in answer and "7天內" in answer
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert items[0]["action"]["text"] == "獎勵"
    # The next check-out reaches nothing new: no congratulations twice.
    await harness.line_says("Uvol1", "簽到", at=T0 + 3 * HOUR)
    again = (await harness.line_says("Uvol1", "簽退", at=T0 + 4 * HOUR))[0]
    assert "您已達到" not in again


async def test_awards_show_hours_to_go_dates_and_what_is_missing(harness):
    _unit, _volunteer, code = prepare(harness, 280, trained_on=dt.date(2023, 6, 1))
    await harness.line_says("Uvol1", f"綁定 {code}")
    answer = (await harness.line_says("Uvol1", "獎勵", at=T0))[0]
    assert "🎉 志願服務績效證明書：已達到！" in answer
    assert "志願服務榮譽卡" in answer and "還差 20 小時" in answer
    assert "115年6月1日 滿 3 年" in answer  # ROC date: the honor card's three years
    assert "臺北市志願服務貢獻獎" in answer and "申請期限：115年5月31日" in answer
    assert "臺中市" not in answer  # a Taipei unit's volunteer does not see Taichung's awards
    assert "英文姓名" in answer and "績效證明書" in answer  # the national medal needs both


async def test_a_granted_award_shows_as_granted_on_telegram(harness):
    _unit, volunteer_id, code = prepare(harness, 400, trained_on=dt.date(2019, 1, 1))
    with UnitOfWork(harness.vbot.engine)() as session:
        session.add(
            AwardGrant(
                volunteer_id=volunteer_id,
                award_code="performance-certificate",
                granted_on=dt.date(2024, 3, 1),
                recorded_by="test",
                created_at=T0,
            )
        )
        session.commit()
    await harness.telegram_says(7001, f"/start {code}")
    answer = (await harness.telegram_says(7001, "/awards", at=T0))[0]
    assert "✅ 志願服務績效證明書：113年3月1日 已獲頒" in answer
    details = await award_details(harness, 7001, "志願服務榮譽卡")
    assert "▓" in details  # text bars on Telegram


async def award_details(harness, user: int, award: str) -> str:
    """On Telegram 獎勵 is a numbered line per award; `獎勵 N` gives one award's card as text."""
    listed = (await harness.telegram_says(user, "/awards", at=T0))[0]
    number = next(line.split(".")[0] for line in listed.splitlines() if award in line)
    return (await harness.telegram_says(user, f"/awards {number}", at=T0))[0]


async def test_someone_without_a_training_record_is_told_it_is_missing(harness):
    _unit, _volunteer, code = prepare(harness, 10, trained_on=None, record_book=False)
    await harness.line_says("Uvol1", f"link {code}")
    answer = (await harness.line_says("Uvol1", "awards", at=T0))[0]
    assert "缺訓練日期" in answer and "服務紀錄冊" in answer


async def test_a_session_past_midnight_counts_on_both_days_and_years(harness):
    _unit, volunteer_id, code = prepare(harness, 10)
    await harness.telegram_says(7002, f"/start {code}")
    new_year_eve = dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC)  # 23:30 in Taipei
    await harness.telegram_says(7002, "/checkin", at=new_year_eve)
    answer = (await harness.telegram_says(7002, "/checkout", at=new_year_eve + HOUR))[0]
    assert "這次服務 1 小時" in answer and "今天共 0.5 小時" in answer
    hours = (await harness.telegram_says(7002, "/hours", at=new_year_eve + HOUR))[0]
    assert "今年：0.5 小時" in hours and "本半年（1至6月）：0.5 小時" in hours
    assert "累計：11 小時" in hours


async def test_a_check_out_reaching_an_award_on_telegram(harness):
    _unit, _volunteer, code = prepare(harness, 299.5)
    await harness.telegram_says(7003, f"/start {code}")
    await harness.telegram_says(7003, "/checkin", at=T0)
    answer = (await harness.telegram_says(7003, "/checkout", at=T0 + HOUR))[0]
    assert "您已達到「志願服務榮譽卡」" in answer


async def test_hours_checked_out_before_the_training_do_not_count_towards_awards(harness):
    """On probation: 2 hours checked out on 25 March, the special training on 26 March, 3 hours on 27 March.
    The record book's balance (entered by hand) counts; of the chat hours only those after the training."""
    _unit, volunteer_id, code = prepare(harness, 100, trained_on=None, record_book=False)
    await harness.line_says("Uvol1", f"綁定 {code}")
    await harness.line_says("Uvol1", "簽到", at=T0)
    assert "這次服務 2 小時" in (await harness.line_says("Uvol1", "簽退", at=T0 + 2 * HOUR))[0]
    later = T0 + dt.timedelta(days=2)
    with UnitOfWork(harness.vbot.engine)() as session:
        admin.add_training(
            session,
            later,
            "cli:test",
            volunteer_id=volunteer_id,
            kind="basic",
            day=dt.date(2026, 3, 20),
            hours=6,
        )
        admin.add_training(
            session,
            later,
            "cli:test",
            volunteer_id=volunteer_id,
            kind="special",
            day=dt.date(2026, 3, 26),
            hours=6,
            category="culture",
        )
        session.commit()
    await harness.line_says("Uvol1", "簽到", at=later)
    await harness.line_says("Uvol1", "簽退", at=later + 3 * HOUR)
    answer = (await harness.line_says("Uvol1", "獎勵", at=later + 3 * HOUR))[0]
    contribution = answer.split("臺北市志願服務貢獻獎")[1]
    assert "103 小時，還差 497 小時" in contribution.split("\n\n")[0]


async def test_the_lifetime_award_says_when_the_volunteer_turns_65_or_that_the_birth_date_is_missing(harness):
    _unit, volunteer_id, code = prepare(
        harness, 700, trained_on=dt.date(2019, 1, 1), born=dt.date(1961, 10, 2)
    )
    await harness.telegram_says(7004, f"/start {code}")
    lifetime = await award_details(harness, 7004, "臺北市志願服務終身成就獎")
    assert lifetime.startswith("▫️")  # hours and years are there, the age not yet
    assert any("115年10月2日" in line and "65" in line for line in lifetime.splitlines())

    with UnitOfWork(harness.vbot.engine)() as session:
        session.get(Volunteer, volunteer_id).birth_date = None
        session.commit()
    lifetime = await award_details(harness, 7004, "臺北市志願服務終身成就獎")
    still_needed = next(line for line in lifetime.splitlines() if line.startswith("還需要"))
    assert requirement_name(Catalogs().translator("zh_TW"), "birth_date") in still_needed
