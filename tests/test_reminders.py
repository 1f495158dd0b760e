"""Reminders: the jobs called with a fixed `now`, the real bot delivering through the LINE and Telegram stand-ins."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers import notifications
from handlers.context import Rules
from handlers.jobs import dispatch as dispatch_pass
from handlers.jobs import reminders
from handlers.people import admin
from handlers.types import Reply
from handlers.validation import InputError
from storage.db import UnitOfWork
from storage.models import Notification
from storage.reminder_store import Recipient

TAIPEI = ZoneInfo("Asia/Taipei")


def local(year, month, day, hour, minute=0) -> dt.datetime:
    """A moment given in Taipei time, as the UTC instant the bot works with."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TAIPEI).astimezone(dt.UTC)


class Town:
    """A unit with linked volunteers on LINE and Telegram, and a way to run reminder passes at `now`."""

    def __init__(self, harness):
        self.h = harness
        self.uow = UnitOfWork(harness.vbot.engine)

    async def person(
        self,
        unit_id: int,
        line_user: str | None = None,
        telegram_user: int | None = None,
        role="volunteer",
        name="王小明",
    ) -> int:
        volunteer_id, code = self.h.add_volunteer(unit_id, name, role)
        if line_user:
            await self.h.line_says(line_user, f"綁定 {code}", at=self.h.now, now=self.h.now)
        elif telegram_user:
            await self.h.telegram_says(telegram_user, f"/start {code}", at=self.h.now, now=self.h.now)
        return volunteer_id

    def training(
        self, unit_id: int, starts: dt.datetime, hours=3, title="在職訓練：長者陪伴", place="3樓會議室"
    ) -> int:
        with self.uow() as session:
            row = admin.add_training_class(
                session,
                self.h.now,
                "test",
                unit_id=unit_id,
                title=title,
                kind="in-service",
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=hours),
                place=place,
            )
            session.commit()
            return row.id

    async def remind(
        self, now: dt.datetime
    ) -> tuple[dict, dispatch_pass.DispatchResult, list[str], list[str]]:
        """One pass at `now`, delivered; returns what LINE and Telegram got during it."""
        line_before, telegram_before = len(self.h.line_api.calls), len(self.h.telegram_api.calls)
        self.h.now = now
        stored, result = await self.h.vbot.remind(now)
        await self.h.vbot.pipeline.deliver_due(now)
        return (
            stored,
            result,
            line_texts(self.h.line_api.calls[line_before:]),
            telegram_texts(self.h.telegram_api.calls[telegram_before:]),
        )

    def notifications(self) -> list[Notification]:
        with self.uow() as session:
            return list(session.exec(select(Notification).order_by(Notification.id)).all())


def line_texts(calls) -> list[str]:
    from tests.standins import message_text

    return [
        message_text(m)
        for c in calls
        if c.status == 200 and c.path.endswith(("/push", "/multicast"))
        for m in c.body["messages"]
    ]


def telegram_texts(calls) -> list[str]:
    return [c.body["text"] for c in calls if c.status == 200 and c.path.endswith("/sendMessage")]


@pytest.fixture
async def town(harness):
    harness.now = local(2026, 3, 30, 9)
    return Town(harness)


# ---- training sessions --------------------------------------------------------------------------------


async def test_a_training_is_reminded_at_18_the_evening_before_and_an_hour_before_and_not_earlier(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    await town.person(unit, telegram_user=501)
    town.training(unit, local(2026, 4, 2, 9, 30))

    *_, line, telegram = await town.remind(local(2026, 4, 1, 17, 59))
    assert line == [] and telegram == []
    *_, line, telegram = await town.remind(local(2026, 4, 1, 18, 0))
    assert len(line) == 1 and len(telegram) == 1
    assert "明天" in line[0] and "09:30" in line[0] and "3樓會議室" in line[0] and "長者陪伴" in line[0]
    assert "明天" in telegram[0] and "3樓會議室" in telegram[0]
    *_, line, telegram = await town.remind(local(2026, 4, 1, 18, 1))  # the next pass: nothing again
    assert line == [] and telegram == []
    *_, line, _ = await town.remind(local(2026, 4, 2, 8, 29))
    assert line == []
    *_, line, telegram = await town.remind(local(2026, 4, 2, 8, 30))
    assert len(line) == 1 and "一小時後" in line[0] and "09:30" in line[0] and len(telegram) == 1
    *_, line, telegram = await town.remind(local(2026, 4, 2, 9, 31))  # started: nothing more
    assert line == [] and telegram == []


async def test_nothing_is_pushed_in_quiet_hours_and_it_goes_out_in_the_morning(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 8, 45))  # the hour-before reminder falls due at 07:45, still quiet

    await town.remind(local(2026, 4, 1, 18, 0))  # the evening before, outside quiet hours: sent
    stored, result, line, _ = await town.remind(local(2026, 4, 2, 7, 45))
    assert stored["training-reminders"] == 1 and result.waiting == 1 and line == []
    *_, line, _ = await town.remind(local(2026, 4, 2, 8, 0))
    assert len(line) == 1 and "08:45" in line[0]


async def test_a_unit_sets_its_own_quiet_hours(town):
    unit = town.h.add_unit()
    with town.uow() as session:
        admin.set_quiet_hours(session, town.h.now, "test", unit, "17:30-19:00")
        session.commit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 10))
    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert line == []
    *_, line, _ = await town.remind(local(2026, 4, 1, 19, 0))
    assert len(line) == 1 and "明天" in line[0]
    with town.uow() as session, pytest.raises(InputError, match="HH:MM-HH:MM"):
        admin.set_quiet_hours(session, town.h.now, "test", unit, "9pm-8am")


async def test_a_training_at_half_past_midnight_is_reminded_the_evening_before_in_taipei_time(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 0, 30), title="夜間巡守訓練")  # 1 April 16:30 UTC

    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))  # 18:00 on 1 April in Taipei = 10:00 UTC
    assert len(line) == 1 and "明天" in line[0] and "00:30" in line[0]
    # The hour before (23:30) is quiet; by the morning the training is over: it is dropped, never sent.
    *_, line, _ = await town.remind(local(2026, 4, 1, 23, 30))
    assert line == []
    _, result, line, _ = await town.remind(local(2026, 4, 2, 8, 0))
    assert line == [] and result.dropped == 1
    assert {n.job: n.status for n in town.notifications()} == {
        "training-evening": "queued",
        "training-hour": "dropped",
    }


async def test_after_downtime_what_is_still_useful_goes_late_and_the_rest_is_dropped(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.training(unit, local(2026, 4, 3, 14, 0), title="觀摩研習")

    # Down from 17:00 on 1 April until 20:15: the evening reminder of 2 April goes late, still "tomorrow".
    *_, line, _ = await town.remind(local(2026, 4, 1, 20, 15))
    assert len(line) == 1 and "明天" in line[0] and "長者陪伴" in line[0]
    # Down again until 10:00 on 2 April: the 09:30 training has begun (nothing), the hour-before was never
    # stored; the evening reminder of 3 April is not due yet.
    *_, line, _ = await town.remind(local(2026, 4, 2, 10, 0))
    assert line == []
    # Down until 13:10 on 3 April: the evening reminder of the 14:00 training has lost its point ("tomorrow"),
    # the hour-before one is still true.
    *_, line, _ = await town.remind(local(2026, 4, 3, 13, 10))
    assert len(line) == 1 and "一小時後" in line[0] and "觀摩研習" in line[0]


async def test_several_reminders_for_one_person_at_once_are_one_message_and_many_people_one_multicast(town):
    library = town.h.add_unit()
    museum = town.h.add_unit("國立歷史博物館")
    amy = await town.person(library, line_user="Uamy")
    town.h.add_membership(amy, museum)
    await town.person(library, line_user="Ubob", name="李大同")
    await town.person(library, line_user="Ucat", name="陳美玲")
    town.training(library, local(2026, 4, 2, 9, 30), title="圖書館導覽訓練")
    town.training(museum, local(2026, 4, 2, 14, 0), title="博物館導覽訓練")

    calls_before = len(town.h.line_api.calls)
    await town.remind(local(2026, 4, 1, 18, 0))
    calls = [c for c in town.h.line_api.calls[calls_before:] if c.path.endswith(("/push", "/multicast"))]
    amy_texts = town.h.line_api.texts_to("Uamy")
    assert len(amy_texts) == 1 and "圖書館導覽訓練" in amy_texts[0] and "博物館導覽訓練" in amy_texts[0]
    multicast = [c for c in calls if c.path.endswith("/multicast")]
    assert len(multicast) == 1 and sorted(multicast[0].body["to"]) == ["Ubob", "Ucat"]
    assert len(calls) == 2  # Amy's digest as a push, Bob and Cat together


async def test_people_turn_reminders_off_and_on(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.training(unit, local(2026, 4, 9, 9, 30), title="第二次訓練")

    answer = await town.h.line_says("Uamy", "提醒 關 訓練", at=town.h.now, now=town.h.now)
    assert "🔕" in answer[0] and "訓練" in answer[0]
    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert line == []
    answer = await town.h.line_says("Uamy", "reminders on", at=town.h.now, now=town.h.now)
    assert "🔕" not in answer[0]
    *_, line, _ = await town.remind(local(2026, 4, 8, 18, 0))
    assert len(line) == 1 and "第二次訓練" in line[0]
    answer = await town.h.line_says("Uamy", "提醒 關", at=town.h.now, now=town.h.now)
    assert answer[0].count("🔕") == len(notifications.REMINDER_CATEGORIES)
    answer = await town.h.line_says("Uamy", "提醒 關 天氣", at=town.h.now, now=town.h.now)
    assert "沒有這種提醒" in answer[0]


# ---- forgotten check-out ------------------------------------------------------------------------------


async def test_a_session_open_8_hours_asks_whether_the_person_is_still_serving(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    start = local(2026, 4, 1, 9, 0)
    await town.h.line_says("Uamy", "簽到", at=start, now=start)

    *_, line, _ = await town.remind(local(2026, 4, 1, 16, 59))
    assert line == []
    *_, line, _ = await town.remind(local(2026, 4, 1, 17, 0))
    assert len(line) == 1 and "09:00" in line[0] and "還在服務" in line[0]
    push = [c for c in town.h.line_api.calls if c.path.endswith("/push")][-1]
    labels = [item["action"]["text"] for item in push.body["messages"][-1]["quickReply"]["items"]]
    assert labels == ["簽退", "繼續服務"]
    answer = await town.h.line_says(
        "Uamy", "繼續服務", at=local(2026, 4, 1, 17, 5), now=local(2026, 4, 1, 17, 5)
    )
    assert "簽退" in answer[0]
    answer = await town.h.line_says("Uamy", "簽退", at=local(2026, 4, 1, 18, 0), now=local(2026, 4, 1, 18, 0))
    assert "9" in answer[0]  # 9 hours, counted to the tap


async def test_the_question_is_dropped_when_the_person_checked_out_meanwhile(town):
    unit = town.h.add_unit("夜間服務隊")
    with town.uow() as session:
        admin.set_quiet_hours(session, town.h.now, "test", unit, "21:00-08:00")
        session.commit()
    await town.person(unit, line_user="Uamy")
    start = local(2026, 4, 1, 14, 0)
    await town.h.line_says("Uamy", "簽到", at=start, now=start)
    _, result, line, _ = await town.remind(local(2026, 4, 1, 22, 0))  # due, but quiet hours
    assert line == [] and result.waiting == 1
    await town.h.line_says("Uamy", "簽退", at=local(2026, 4, 1, 23, 0), now=local(2026, 4, 1, 23, 0))
    _, result, line, _ = await town.remind(local(2026, 4, 2, 8, 0))
    assert line == [] and result.dropped == 1


# ---- reliability --------------------------------------------------------------------------------------


async def test_two_passes_at_once_send_each_reminder_once(harness_factory, line_api):
    first = await harness_factory()
    second = await harness_factory()
    first.now = second.now = local(2026, 3, 30, 9)
    town = Town(first)
    unit = first.add_unit()
    users = [f"U{n:03d}" for n in range(12)]
    for user in users:
        await town.person(unit, line_user=user)
    town.training(unit, local(2026, 4, 2, 9, 30))
    now = local(2026, 4, 1, 18, 0)
    results = await asyncio.gather(first.vbot.remind(now), second.vbot.remind(now), first.vbot.remind(now))
    assert sum(stored["training-reminders"] for stored, _ in results) == len(users)
    await asyncio.gather(first.vbot.pipeline.deliver_due(now), second.vbot.pipeline.deliver_due(now))
    for user in users:
        assert len(line_api.texts_to(user)) == 1, user


async def test_a_pass_killed_halfway_sends_everything_once_at_the_next_pass(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    await town.person(unit, telegram_user=501)
    town.training(unit, local(2026, 4, 2, 9, 30))
    now = local(2026, 4, 1, 18, 0)
    vbot = town.h.vbot

    # Killed after the jobs stored their notifications, before the dispatch committed.
    with town.uow() as session:
        reminders.training_reminders(session, now, vbot.rules, vbot.catalogs)
        session.commit()
    with town.uow() as session:
        dispatch_pass.dispatch(session, now, vbot.rules, vbot.catalogs)
        session.rollback()  # the process died: nothing of the dispatch is kept
    stored, result, line, telegram = await town.remind(now + dt.timedelta(minutes=1))
    assert stored["training-reminders"] == 0 and result.notifications == 2
    assert len(line) == 1 and len(telegram) == 1
    *_, line, telegram = await town.remind(now + dt.timedelta(minutes=2))
    assert line == [] and telegram == []


async def test_line_429_and_500_during_a_pass_are_retried_and_delivered_once(town):
    unit = town.h.add_unit()
    for user in ("Uamy", "Ubob"):
        await town.person(unit, line_user=user)
    await town.person(unit, line_user="Ucat")
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.h.line_api.fail_next("/multicast", 429, 599)  # refused, then accepted with the answer lost
    now = local(2026, 4, 1, 18, 0)
    *_, line, _ = await town.remind(now)
    assert line == []
    for seconds in (2, 6, 20):
        await town.h.vbot.pipeline.deliver_due(now + dt.timedelta(seconds=seconds))
    for user in ("Uamy", "Ubob", "Ucat"):
        assert len(town.h.line_api.texts_to(user)) == 1, user


# ---- LINE's quota --------------------------------------------------------------------------------------


async def test_when_the_quota_runs_low_nudges_wait_reminders_go_and_coordinators_hear_once(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    amy = await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 9, 30))
    now = local(2026, 4, 1, 18, 0)
    with town.uow() as session:  # a nudge due now, for Amy
        account = Recipient(amy, unit, "volunteer", "line", "Uamy", None)
        session.add(
            Notification(
                **notifications.notice(
                    "award-nudge",
                    "2026-04:honor-card",
                    account,
                    [Reply("還差 12 小時")],
                    now,
                    None,
                    now,
                    category="awards",
                    priority=notifications.NUDGE,
                )
            )
        )
        session.commit()
    town.h.line_api.usage = 170  # 30 of 200 left: below a fifth

    _, result, line, _ = await town.remind(now)
    assert not any("12 小時" in text for text in line)
    assert sum("推播" in text and "30" in text for text in line) == 1  # the coordinator's warning
    assert len(town.h.line_api.texts_to("Uamy")) == 1 and "明天" in town.h.line_api.texts_to("Uamy")[0]
    *_, line, _ = await town.remind(now + dt.timedelta(hours=1))
    assert not any("推播" in text for text in line)  # warned once a month

    town.h.line_api.usage = 0  # a new month
    *_, line, _ = await town.remind(local(2026, 5, 1, 10, 0))
    assert any("12 小時" in text for text in line)


async def test_with_no_pushes_left_only_what_fits_is_sent_and_the_rest_waits(town):
    unit = town.h.add_unit()
    for user in ("Uamy", "Ubob", "Ucat"):
        await town.person(unit, line_user=user)
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.h.line_api.quota_limit, town.h.line_api.usage = 200, 198
    _, result, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert town.h.line_api.usage == 200 and result.waiting == 1
    assert sum(len(town.h.line_api.texts_to(u)) for u in ("Uamy", "Ubob", "Ucat")) == 2


async def test_a_line_plan_without_a_monthly_limit_sends_everything_and_warns_no_one(town):
    """LINE answers {"type": "none"} on plans without a limit: no quota to keep, nothing waits for it."""
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uboss", role="coordinator")
    for user in ("Uamy", "Ubob", "Ucat"):
        await town.person(unit, line_user=user)
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.h.line_api.quota_limit, town.h.line_api.usage = None, 100_000
    _, result, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert result.waiting == 0
    assert all(len(town.h.line_api.texts_to(u)) == 1 for u in ("Uamy", "Ubob", "Ucat"))
    assert not any("推播" in text for text in line)  # no warning that pushes run out


def test_quiet_hours_span_midnight_or_not():
    rules = Rules(timezone=TAIPEI)
    assert notifications.in_quiet_hours(local(2026, 4, 1, 23, 0), "21:00-08:00", rules)
    assert notifications.in_quiet_hours(local(2026, 4, 1, 7, 59), "21:00-08:00", rules)
    assert not notifications.in_quiet_hours(local(2026, 4, 1, 8, 0), "21:00-08:00", rules)
    assert notifications.in_quiet_hours(local(2026, 4, 1, 12, 30), "12:00-13:30", rules)
    assert not notifications.in_quiet_hours(local(2026, 4, 1, 13, 30), "12:00-13:30", rules)


# ---- coordinators' deadlines ------------------------------------------------------------------------------


async def test_a_half_year_report_alerts_the_coordinators_14_3_1_days_before_and_on_the_day_with_the_figures(
    town,
):
    unit = town.h.add_unit()  # in Taipei: the half-year report goes to the Taipei platform
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    amy = await town.person(unit, line_user="Uamy")
    with town.uow() as session:
        for day in (dt.date(2026, 2, 3), dt.date(2026, 5, 6)):
            admin.add_hours(
                session,
                town.h.now,
                "test",
                volunteer_id=amy,
                unit_id=unit,
                day=day,
                hours=2.5,
                today=dt.date(2026, 7, 1),
            )
        session.commit()

    days = [
        local(2026, 6, 25, 9),
        local(2026, 6, 26, 9),
        local(2026, 7, 7, 9),
        local(2026, 7, 9, 9),
        local(2026, 7, 10, 9),
        local(2026, 7, 11, 9),
    ]
    got = {}
    for moment in days:
        *_, line, _ = await town.remind(moment)
        got[moment.astimezone(TAIPEI).date()] = [text for text in line if "半年成果" in text]
    assert [len(texts) for texts in got.values()] == [0, 1, 1, 1, 1, 0]
    first = got[dt.date(2026, 6, 26)][0]
    assert "115年7月10日" in first and "14 天" in first and "1 位志工服務 2 人次，共 5 小時" in first
    assert "今天截止" in got[dt.date(2026, 7, 10)][0]
    assert town.h.line_api.texts_to("Uamy") == []  # volunteers do not get the coordinators' alerts


async def test_done_stops_the_alerts_until_the_next_occurrence(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    amy = await town.person(unit, line_user="Uamy")
    await town.remind(local(2026, 6, 26, 9))
    push = [c for c in town.h.line_api.calls if c.path.endswith("/push") and c.body["to"] == "Uboss"][-1]
    done = [i["action"]["text"] for i in push.body["messages"][-1]["quickReply"]["items"]][0]
    assert done.startswith("完成 ")

    answer = await town.h.line_says("Uamy", done, at=local(2026, 6, 26, 10), now=local(2026, 6, 26, 10))
    assert "只有" in answer[0]  # a volunteer cannot close the unit's deadline
    answer = await town.h.line_says("Uboss", done, at=local(2026, 6, 26, 10), now=local(2026, 6, 26, 10))
    assert "已標成完成" in answer[0]
    for moment in (local(2026, 7, 7, 9), local(2026, 7, 10, 9)):
        *_, line, _ = await town.remind(moment)
        assert not any("1–6月" in text for text in line)
    *_, line, _ = await town.remind(local(2026, 12, 27, 9))  # the next report (July–December) alerts again
    assert any("7–12月" in text for text in line)
    assert amy


async def test_an_award_deadline_lists_who_can_apply_and_what_each_still_lacks(town):
    unit = town.h.add_unit("臺北市立聯合醫院", category="health")
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    ready = await town.person(unit, line_user="Uamy", name="陳美玲")
    lacking = await town.person(unit, line_user="Ubob", name="李大同")
    with town.uow() as session:
        for person in (ready, lacking):
            admin.add_hours(
                session,
                town.h.now,
                "test",
                volunteer_id=person,
                unit_id=unit,
                day=dt.date(2025, 1, 5),
                hours=1600,
            )
            admin.set_volunteer(session, town.h.now, "test", person, {"trained_on": dt.date(2020, 1, 1)})
        admin.set_volunteer(session, town.h.now, "test", ready, {"record_book_no": "北市志字第1號"})
        session.commit()
    *_, line, _ = await town.remind(
        local(2027, 3, 17, 9)
    )  # 14 days before the MOHW welfare awards (31 March)
    alert = next(text for text in line if "衛生福利" in text)
    assert "陳美玲" in alert and "李大同" in alert
    lacking_line = next(row for row in alert.splitlines() if "李大同" in row)
    assert "紀錄冊" in lacking_line and "紀錄冊" not in next(r for r in alert.splitlines() if "陳美玲" in r)


async def test_a_units_own_deadline_alerts_on_its_days_and_yearly_ones_come_back(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    with town.uow() as session:
        admin.add_deadline(
            session,
            town.h.now,
            "test",
            unit_id=unit,
            title="志工聯繫會議",
            date=dt.date(2026, 12, 5),
            remind=(7, 0),
            yearly=True,
        )
        session.commit()
    texts = []
    for moment in (
        local(2026, 11, 27, 9),
        local(2026, 11, 28, 9),
        local(2026, 12, 5, 9),
        local(2027, 11, 28, 9),
    ):
        *_, line, _ = await town.remind(moment)
        texts.append([t for t in line if "聯繫會議" in t])
    assert [len(t) for t in texts] == [0, 1, 1, 1]
    assert "7 天" in texts[1][0] and "今天截止" in texts[2][0] and "116年12月5日" in texts[3][0]


# ---- the monthly nudge --------------------------------------------------------------------------------------


async def test_once_a_month_people_near_an_award_hear_how_close_with_the_deadline(town):
    unit = town.h.add_unit()  # Taipei: the contribution award (600 h, the unit applies by 31 May)
    near = await town.person(unit, line_user="Uamy", name="陳美玲")
    far = await town.person(unit, line_user="Ubob", name="李大同")
    quiet = await town.person(unit, line_user="Ucat", name="張靜")
    with town.uow() as session:
        for person, hours in ((near, 590), (far, 100), (quiet, 590)):
            admin.set_volunteer(
                session,
                town.h.now,
                "test",
                person,
                {"trained_on": dt.date(2020, 1, 1), "record_book_no": f"北市志字第{person}號"},
            )
            admin.add_hours(
                session,
                town.h.now,
                "test",
                volunteer_id=person,
                unit_id=unit,
                day=dt.date(2025, 6, 1),
                hours=hours,
            )
        session.commit()
    await town.h.line_says("Ucat", "提醒 關 獎勵", at=town.h.now, now=town.h.now)

    *_, line, _ = await town.remind(local(2026, 5, 1, 9, 59))
    assert line == []
    *_, line, _ = await town.remind(local(2026, 5, 1, 10, 0))
    assert town.h.line_api.texts_to("Ubob") == [] and town.h.line_api.texts_to("Ucat") == []
    nudge = town.h.line_api.texts_to("Uamy")
    assert len(nudge) == 1 and "10" in nudge[0] and "貢獻獎" in nudge[0] and "115年5月31日" in nudge[0]
    *_, line, _ = await town.remind(local(2026, 5, 20, 10, 0))  # once a month
    assert line == []
    *_, line, _ = await town.remind(local(2026, 6, 1, 10, 0))
    assert len(town.h.line_api.texts_to("Uamy")) == 2


async def test_when_line_cannot_say_its_quota_the_pass_still_sends(town):
    unit = town.h.add_unit()
    await town.person(unit, line_user="Uamy")
    town.training(unit, local(2026, 4, 2, 9, 30))
    town.h.line_api.fail_next("/quota", 500)
    *_, line, _ = await town.remind(local(2026, 4, 1, 18, 0))
    assert len(line) == 1 and "明天" in line[0]
