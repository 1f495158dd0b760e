"""What volunteers see for each rule of linking, check-in/out and hours (through LINE, as they would)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from handlers.people import admin
from handlers.validation import InputError
from storage.db import UnitOfWork
from storage.models import InviteCode, Membership, OutboxMessage, ServiceRecord, Volunteer
from tests.conftest import T0

HOUR = dt.timedelta(hours=1)


async def linked(harness, user="Uvol1"):
    unit = harness.add_unit()
    volunteer_id, code = harness.add_volunteer(unit)
    await harness.line_says(user, f"綁定 {code}")
    return unit, volunteer_id


def statuses(harness, volunteer_id):
    with UnitOfWork(harness.vbot.engine)() as session:
        rows = session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id)).all()
        return [(r.status, r.minutes) for r in rows]


def add_hours(harness, volunteer_id, unit, day, hours, kind="service"):
    with UnitOfWork(harness.vbot.engine)() as session:
        admin.add_hours(
            session, T0, "cli:test", volunteer_id=volunteer_id, unit_id=unit, day=day, hours=hours, kind=kind
        )
        session.commit()


async def test_someone_not_linked_is_told_how_to_link(harness):
    for text in ("簽到", "時數", "hello"):
        answer = await harness.line_says("Ustranger", text)
        assert "綁定" in answer[0] and "代碼" in answer[0]


async def test_an_invite_code_works_once(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    assert "歡迎" in (await harness.line_says("Ufirst", f"綁定 {code}"))[0]
    answer = await harness.line_says("Usecond", f"綁定 {code}")
    assert "已經用過" in answer[0]
    assert "綁定" in (await harness.line_says("Usecond", "時數"))[0]  # still not linked


async def test_unknown_used_and_expired_codes_get_one_clear_answer(harness):
    """A guesser cannot tell a code that exists from one that does not."""
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    _, used = harness.add_volunteer(unit)
    await harness.line_says("Uother", f"綁定 {used}")
    unknown = (await harness.line_says("Ua", "綁定 00000000"))[0]
    assert "00000000" in unknown and "過期" in unknown and "已經用過" in unknown
    late = T0 + dt.timedelta(days=31)
    expired = (await harness.line_says("Ub", f"綁定 {code}", at=late))[0]
    taken = (await harness.line_says("Uc", f"綁定 {used}"))[0]
    assert expired == unknown.replace("00000000", code) and taken == unknown.replace("00000000", used)
    with UnitOfWork(harness.vbot.engine)() as session:
        assert session.get(InviteCode, code).used_at is None


async def test_codes_typed_with_full_width_digits_and_spaces_work(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    wide = " ".join(chr(ord(d) + 0xFEE0) for d in code)  # １ ２ ３ …
    assert "歡迎" in (await harness.line_says("Uwide", f"綁定 {wide}"))[0]


async def test_checking_in_twice_says_since_when(harness):
    _, volunteer_id = await linked(harness)
    await harness.line_says("Uvol1", "簽到", at=T0)
    answer = await harness.line_says("Uvol1", "簽到", at=T0 + HOUR)
    assert "已經" in answer[0] and "09:00" in answer[0]
    assert statuses(harness, volunteer_id) == [("open", 0)]


async def test_checking_in_again_next_day_shows_the_roc_date(harness):
    _, volunteer_id = await linked(harness)
    await harness.line_says("Uvol1", "簽到", at=T0)
    answer = await harness.line_says("Uvol1", "簽到", at=T0 + 10 * HOUR, now=T0 + dt.timedelta(days=1))
    # The message is more than 24 h old by now: the server's clock is the time of record, 115年3月26日.
    assert "115年3月25日 09:00" in answer[0]


async def test_checking_out_without_a_session_records_nothing(harness):
    _, volunteer_id = await linked(harness)
    answer = await harness.line_says("Uvol1", "簽退")
    assert "還沒有簽到" in answer[0]
    assert statuses(harness, volunteer_id) == []


async def test_a_session_over_12_hours_goes_to_review_and_is_not_counted(harness):
    _, volunteer_id = await linked(harness)
    await harness.line_says("Uvol1", "簽到", at=T0)
    answer = await harness.line_says("Uvol1", "簽退", at=T0 + 13 * HOUR)
    assert "超過 12 小時" in answer[0] and "審核" in answer[0]
    assert statuses(harness, volunteer_id) == [("review", 780)]
    assert "累計：0 小時" in (await harness.line_says("Uvol1", "時數", at=T0 + 13 * HOUR))[0]


async def test_a_forgotten_check_out_is_closed_for_review_by_the_job_without_inventing_hours(harness):
    from handlers.jobs.schedule import close_overlong_sessions

    _, volunteer_id = await linked(harness)
    await harness.line_says("Uvol1", "簽到", at=T0)
    assert await harness.vbot.run_job(close_overlong_sessions, T0 + 11 * HOUR) == 0
    assert await harness.vbot.run_job(close_overlong_sessions, T0 + 20 * HOUR) == 1
    assert await harness.vbot.run_job(close_overlong_sessions, T0 + 21 * HOUR) == 0  # once only
    assert statuses(harness, volunteer_id) == [("review", 720)]
    await harness.vbot.pipeline.send_outbox_once(T0 + 20 * HOUR)
    push = harness.line_api.sent("/push")[-1]
    assert push.body["to"] == "Uvol1" and "沒有簽退" in push.body["messages"][0]["text"]


async def test_a_volunteer_in_two_units_chooses_with_buttons(harness):
    unit, volunteer_id = await linked(harness)
    other = harness.add_unit("臺北市立聯合醫院")
    harness.add_membership(volunteer_id, other)
    answer = await harness.line_says("Uvol1", "簽到", at=T0)
    assert "哪個單位" in answer[0]
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert [i["action"]["label"] for i in items] == ["臺北市立圖書館", "臺北市立聯合醫院"]
    tapped = items[1]["action"]["text"]
    assert "臺北市立聯合醫院" in (await harness.line_says("Uvol1", tapped, at=T0))[0]
    await harness.line_says("Uvol1", "簽退", at=T0 + 2 * HOUR)
    add_hours(harness, volunteer_id, unit, dt.date(2025, 12, 31), 100)
    hours = (await harness.line_says("Uvol1", "時數", at=T0 + 2 * HOUR))[0]
    assert "累計：102 小時" in hours
    assert "臺北市立圖書館：100 小時" in hours and "臺北市立聯合醫院：2 小時" in hours


async def test_hours_count_service_only_and_split_by_year_and_half_year(harness):
    unit, volunteer_id = await linked(harness)
    add_hours(harness, volunteer_id, unit, dt.date(2024, 5, 1), 1000)  # record-book balance
    add_hours(harness, volunteer_id, unit, dt.date(2026, 1, 10), 2.25)
    add_hours(harness, volunteer_id, unit, dt.date(2026, 2, 1), 6, kind="training")  # never service hours
    hours = (await harness.line_says("Uvol1", "時數", at=T0))[0]
    assert "累計：1,002.2 小時" in hours or "累計：1,002.3 小時" in hours
    assert "今年：2.2 小時" in hours or "今年：2.3 小時" in hours
    late = dt.datetime(2026, 8, 1, 4, tzinfo=dt.UTC)
    hours = (await harness.line_says("Uvol1", "hours", at=late))[0]
    assert "本半年（7至12月）：0 小時" in hours


async def test_the_platform_language_then_the_persons_choice(harness):
    harness.line_api.languages["Uen"] = "en"
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    assert "Welcome" in (await harness.line_says("Uen", f"link {code}"))[0]
    assert (
        "Checked in at 09:00" in (await harness.line_says("Uen", "簽到"))[0]
    )  # either language's words work
    assert "中文" in (await harness.line_says("Uen", "language zh"))[0]
    assert "您的服務時數" in (await harness.line_says("Uen", "hours"))[0]


async def test_answers_stay_in_outbox_until_sent(harness):
    await linked(harness)
    with UnitOfWork(harness.vbot.engine)() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_guessing_invite_codes_is_stopped_after_five_wrong_ones(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    for guess in range(5):
        assert "無法使用" in (await harness.line_says("Uguess", f"綁定 1000000{guess}"))[0]
    blocked = await harness.line_says("Uguess", f"綁定 {code}")  # even the right code, within the hour
    assert "太多次" in blocked[0]
    later = T0 + dt.timedelta(hours=1, minutes=1)
    assert "歡迎" in (await harness.line_says("Uguess", f"綁定 {code}", at=later))[0]


def name_of(harness, volunteer_id):
    with UnitOfWork(harness.vbot.engine)() as session:
        return session.get(Volunteer, volunteer_id).name


async def test_my_name_says_when_a_name_is_too_long_instead_of_cutting_it(harness):
    _, volunteer_id = await linked(harness)
    before = name_of(harness, volunteer_id)
    answer = await harness.line_says("Uvol1", "我的姓名 " + "林" * 250)
    assert "200" in answer[0]
    assert name_of(harness, volunteer_id) == before  # nothing cut, nothing changed
    longest = "林" * 200
    await harness.line_says("Uvol1", f"我的姓名 {longest}")
    assert name_of(harness, volunteer_id) == longest


async def test_names_with_emoji_joiners_and_right_to_left_marks_are_names(harness):
    _, volunteer_id = await linked(harness)
    for name in ("Nguyễn Thị 👩\u200d👩\u200d👧", "\u200fأحمد حسن", "ශ්\u200dරී ලංකා"):
        await harness.line_says("Uvol1", f"我的姓名 {name}")
        assert name_of(harness, volunteer_id) == name
    unit = harness.add_unit()
    with UnitOfWork(harness.vbot.engine)() as session:
        person, _ = admin.add_volunteer(
            session, T0, "test", unit_id=unit, name="Kim 👨\u200d🌾", invite_valid_for=dt.timedelta(days=30)
        )
        assert person.name == "Kim 👨\u200d🌾"
        with pytest.raises(InputError):
            admin.add_volunteer(
                session, T0, "test", unit_id=unit, name="bell\x07", invite_valid_for=dt.timedelta(days=30)
            )


async def test_every_waiting_session_and_every_unit_can_be_picked_on_line(harness):
    """審核 lists 8 sessions (16 approve/void words): LINE takes 13 quick replies, so the rest are listed as words
    to type, never dropped. A coordinator of 14 units asked 報表 can reach the 14th unit the same way."""
    from tests.test_console import add_review_record

    units = [harness.add_unit(f"單位{n:02d}") for n in range(14)]
    boss, code = harness.add_volunteer(units[0], "陳協調", role="coordinator")
    for unit in units[1:]:
        harness.add_membership(boss, unit)
        with UnitOfWork(harness.vbot.engine)() as session:
            membership = session.exec(
                select(Membership).where(Membership.volunteer_id == boss, Membership.unit_id == unit)
            ).one()
            membership.role = "coordinator"
            session.commit()
    await harness.line_says("Uboss", f"綁定 {code}")
    member, member_code = harness.add_volunteer(units[0], "王小明")
    records = [add_review_record(harness, member, units[0], minutes=60 + n) for n in range(8)]

    def reachable(answer: list[str]) -> str:
        """What the coordinator can tap or read: the quick replies' words and the texts."""
        request = harness.line_api.sent("/reply")[-1].body["messages"]
        taps = [item["action"]["text"] for item in request[-1].get("quickReply", {}).get("items", [])]
        assert len(taps) <= 13
        return "\n".join(taps + answer)

    shown = reachable(await harness.line_says("Uboss", "審核"))
    for record in records:
        assert f"核准 #{record}" in shown and f"作廢 #{record}" in shown, record

    shown = reachable(await harness.line_says("Uboss", "報表"))
    assert f"報表 {units[-1]} " in shown
