"""訓練 in chat on LINE: the two trainings, the record book, and the units' upcoming sessions."""

from __future__ import annotations

import datetime as dt

from storage.db import UnitOfWork
from storage.models import TrainingClass, TrainingRecord, Volunteer
from tests.conftest import T0

TAIPEI = dt.timezone(dt.timedelta(hours=8))


def add_training(harness, volunteer_id: int, kind: str, minutes: int, category: str | None = None) -> None:
    with UnitOfWork(harness.vbot.engine)() as session:
        session.add(
            TrainingRecord(
                volunteer_id=volunteer_id,
                kind=kind,
                category=category,
                date=dt.date(2025, 5, 1),
                minutes=minutes,
                recorded_by="test",
                created_at=T0,
            )
        )
        session.commit()


def add_training_class_row(
    harness, unit_id: int, title: str, starts_at: dt.datetime, hours: int = 3, place=None
) -> None:
    with UnitOfWork(harness.vbot.engine)() as session:
        session.add(
            TrainingClass(
                unit_id=unit_id,
                title=title,
                kind="special",
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=hours),
                place=place,
                created_at=T0,
            )
        )
        session.commit()


async def linked(harness, user="Uvol1") -> tuple[int, int]:
    unit = harness.add_unit()  # culture, Taipei
    volunteer_id, code = harness.add_volunteer(unit)
    await harness.line_says(user, f"綁定 {code}")
    return unit, volunteer_id


async def test_nothing_recorded_says_what_is_missing(harness):
    await linked(harness)
    [answer] = await harness.line_says("Uvol1", "訓練", at=T0)
    assert "❌ 基礎訓練" in answer and "❌ 特殊訓練" in answer
    assert "服務紀錄冊" in answer and "基礎訓練、特殊訓練" in answer  # what the record book still needs
    assert "現在可以申請" not in answer
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert [item["action"]["text"] for item in items] == ["獎勵", "時數"]


async def test_both_trainings_done_and_no_book_says_apply_now(harness):
    _unit, volunteer_id = await linked(harness)
    add_training(harness, volunteer_id, "basic", 6 * 60)
    add_training(
        harness, volunteer_id, "special", 90, category="health"
    )  # another unit's category: not counted
    [answer] = await harness.line_says("Uvol1", "training", at=T0)
    assert "✅ 基礎訓練" in answer and "6 小時" in answer
    assert "❌ 特殊訓練" in answer and "現在可以申請" not in answer

    add_training(harness, volunteer_id, "special", 6 * 60 + 30, category="culture")
    [answer] = await harness.line_says("Uvol1", "/training", at=T0)
    assert "✅ 特殊訓練" in answer and "6.5 小時" in answer
    assert "現在可以申請" in answer


async def test_a_record_book_shows_its_number_and_roc_date_and_no_apply_hint(harness):
    _unit, volunteer_id = await linked(harness)
    with UnitOfWork(harness.vbot.engine)() as session:
        person = session.get(Volunteer, volunteer_id)
        person.record_book_no = "北市志字第123號"
        person.record_book_date = dt.date(2023, 9, 20)
        session.add(person)
        session.commit()
    [answer] = await harness.line_says("Uvol1", "訓練", at=T0)
    assert "北市志字第123號" in answer and "112年9月20日" in answer
    assert "✅ 基礎訓練" in answer and "✅ 特殊訓練" in answer  # the book vouches for both
    assert "現在可以申請" not in answer and "還需要" not in answer


async def test_upcoming_sessions_of_own_units_only_in_local_time(harness):
    unit, _volunteer = await linked(harness)
    other = harness.add_unit("臺中市立圖書館", city="taichung")
    add_training_class_row(
        harness, unit, "特殊訓練：說故事", dt.datetime(2026, 4, 10, 9, 0, tzinfo=TAIPEI), place="三樓會議室"
    )
    add_training_class_row(harness, unit, "去年的課", dt.datetime(2026, 3, 1, 9, 0, tzinfo=TAIPEI))
    add_training_class_row(harness, other, "別的單位的課", dt.datetime(2026, 4, 11, 9, 0, tzinfo=TAIPEI))
    # 23:30 in Taipei on 9 April is still 9 April there (15:30 UTC), ending the next day.
    add_training_class_row(harness, unit, "夜間觀星", dt.datetime(2026, 4, 9, 23, 30, tzinfo=TAIPEI), hours=2)
    for day in range(12, 17):
        add_training_class_row(
            harness, unit, f"第{day}日課程", dt.datetime(2026, 4, day, 14, 0, tzinfo=TAIPEI)
        )

    [answer] = await harness.line_says("Uvol1", "訓練", at=T0)
    assert "115年4月10日 09:00–12:00" in answer
    assert "臺北市立圖書館：特殊訓練：說故事（特殊訓練）" in answer and "三樓會議室" in answer
    assert "115年4月9日 23:30–115年4月10日 01:30" in answer
    assert "去年的課" not in answer  # already held
    assert "別的單位的課" not in answer  # not the volunteer's unit
    assert answer.count("📅") == 5  # at most five
    assert answer.index("夜間觀星") < answer.index("說故事") < answer.index("第12日課程")
    assert "第15日課程" not in answer


async def test_no_sessions_planned_says_so(harness):
    await linked(harness)
    [answer] = await harness.line_says("Uvol1", "訓練", at=T0)
    assert "沒有排定的訓練" in answer
