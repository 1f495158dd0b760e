"""What the calendar and the card still lacked (issue 14): the honor card's end and its renewal, the record book
to apply for, accident insurance at check-in and month by month, Taichung's half-year statistics, and a unit's
repeating items. Each job is run through the reminder pass at a `now` on its edges and delivered to the
stand-ins; domain.md names each rule.
"""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.awards.deadlines import occurrence_on_or_after, parse_months, unit_deadline
from handlers.awards.progress import award_card, card_text, facts_for, rules_in_store
from handlers.awards.rules import progress
from handlers.people import admin
from handlers.validation import InputError
from storage import people_store
from tests.test_reminders import TAIPEI, Town, local

D = dt.date


@pytest.fixture
async def town(harness):
    harness.now = local(2026, 3, 30, 9)
    return Town(harness)


def insure(town: Town, volunteer_id: int, until: dt.date | None) -> None:
    with town.uow() as session:
        people_store.set_fields(
            session, people_store.volunteer(session, volunteer_id), {"insured_until": until}
        )
        session.commit()


async def a_unit(town: Town, **kw) -> int:
    unit = town.h.add_unit(**kw)
    await town.person(unit, line_user=f"Uboss{unit}", role="coordinator", name="林組長")
    return unit


async def passes(town: Town, moments, user: str, word: str) -> list[list[str]]:
    """For each moment, one reminder pass; the texts `user` got in it that contain `word`.

    A coordinator's alerts of one pass may come as one digest: `lines` below picks the lines."""
    got = []
    for moment in moments:
        before = len(town.h.line_api.texts_to(user))
        await town.remind(moment)
        got.append([text for text in town.h.line_api.texts_to(user)[before:] if word in text])
    return got


def lines(texts: list[str], word: str) -> list[str]:
    return [line for text in texts for line in text.splitlines() if word in line]


# ---- the honor card: valid 3 years; 90 and 30 days before, holder and coordinators (domain.md, Awards) -------


async def test_the_honor_card_shows_valid_until_and_both_sides_hear_90_and_30_days_before_once(town):
    unit = await a_unit(town)
    amy = await town.person(unit, line_user="Uamy", name="陳美玲")
    with town.uow() as session:
        codes = {rule.code for rule in rules_in_store(session)}
        admin.grant_award(
            session,
            town.h.now,
            "test",
            volunteer_id=amy,
            award_code="honor-card",
            day=D(2024, 3, 1),
            known_codes=codes,
        )
        # Hours before the grant counted for this card; renewal needs 300 NEW hours (not counted twice).
        for day, hours in ((D(2024, 2, 1), 400), (D(2025, 6, 1), 100)):
            admin.add_hours(session, town.h.now, "test", volunteer_id=amy, unit_id=unit, day=day, hours=hours)
        session.commit()

    moments = [
        local(2026, 11, 30, 9),  # 91 days before 1 March 2027
        local(2026, 12, 1, 9),  # 90
        local(2026, 12, 2, 9),  # 89
        local(2027, 1, 29, 9),  # 31
        local(2027, 1, 30, 9),  # 30
        local(2027, 1, 31, 9),  # 29
    ]
    boss = f"Uboss{unit}"
    for_amy, for_boss = [], []
    for moment in moments:
        before_amy, before_boss = len(town.h.line_api.texts_to("Uamy")), len(town.h.line_api.texts_to(boss))
        await town.remind(moment)
        for_amy.append([t for t in town.h.line_api.texts_to("Uamy")[before_amy:] if "榮譽卡" in t])
        for_boss.append([t for t in town.h.line_api.texts_to(boss)[before_boss:] if "榮譽卡" in t])
    assert [len(t) for t in for_amy] == [0, 1, 0, 0, 1, 0]
    assert [len(t) for t in for_boss] == [0, 1, 0, 0, 1, 0]
    first = for_amy[1][0]
    assert "您的志願服務榮譽卡有效期限至 116年3月1日" in first and "90 天" in first
    assert "300 小時" in first and "100 小時，還差 200 小時" in first  # only the hours after the grant
    assert "陳美玲" in for_boss[1][0] and "90 天" in for_boss[1][0]
    assert "30 天" in for_amy[4][0] and "30 天" in for_boss[4][0]

    with town.uow() as session:  # the volunteer's 獎勵 card shows the date too
        rule = next(r for r in rules_in_store(session) if r.code == "honor-card")
        step = progress(rule, facts_for(session, amy), D(2026, 12, 1))
        text = card_text(award_card(town.h.vbot.catalogs.translator("zh_TW"), step, D(2026, 12, 1)))
    assert "有效期限至 116年3月1日" in text


# ---- both trainings, no record book: the unit applies for it (domain.md, Training) ------------------------


async def test_coordinators_are_told_once_to_apply_for_the_record_book_after_both_trainings(town):
    unit = await a_unit(town)
    ready = await town.person(unit, line_user="Uamy", name="陳美玲")
    half = await town.person(unit, line_user="Ubob", name="李大同")
    booked = await town.person(unit, line_user="Ucat", name="張小華")
    with town.uow() as session:
        for person in (ready, half, booked):
            admin.add_training(
                session, town.h.now, "test", volunteer_id=person, kind="basic", day=D(2026, 3, 1), hours=6
            )
        for person in (ready, booked):
            admin.add_training(
                session,
                town.h.now,
                "test",
                volunteer_id=person,
                kind="special",
                day=D(2026, 3, 8),
                hours=6,
                category="culture",
            )
        admin.set_volunteer(session, town.h.now, "test", booked, {"record_book_no": "北市志字第9號"})
        session.commit()
    got = await passes(
        town,
        [local(2026, 3, 30, 10), local(2026, 3, 30, 11), local(2026, 4, 2, 10)],
        f"Uboss{unit}",
        "紀錄冊",
    )
    assert [len(t) for t in got] == [1, 0, 0]
    assert [line.split()[1] for line in lines(got[0], "紀錄冊")] == ["陳美玲"]
    assert town.h.line_api.texts_to("Uamy") == []  # the coordinators' work, not the volunteer's


# ---- accident insurance at check-in, the same day, once per person (domain.md, calendar: every month) -------


async def test_a_check_in_without_insurance_alerts_the_coordinators_once_that_day(town):
    unit = await a_unit(town)
    await town.person(unit, line_user="Uamy", name="陳美玲")
    bob = await town.person(unit, line_user="Ubob", name="李大同")
    insure(town, bob, D(2026, 12, 31))
    boss = f"Uboss{unit}"

    async def says(user, word, moment):
        await town.h.line_says(user, word, at=moment, now=moment)

    await says("Uamy", "簽到", local(2026, 4, 1, 9))
    await says("Ubob", "簽到", local(2026, 4, 1, 9, 5))
    first = await passes(town, [local(2026, 4, 1, 9, 10)], boss, "今天在")
    assert len(lines(first[0], "今天在")) == 1
    assert "陳美玲" in lines(first[0], "今天在")[0] and "沒有意外事故保險" in lines(first[0], "今天在")[0]
    await says("Uamy", "簽退", local(2026, 4, 1, 12))
    await says("Uamy", "簽到", local(2026, 4, 1, 14))  # a second check-in the same day: no second alert
    again = await passes(town, [local(2026, 4, 1, 14, 5), local(2026, 4, 1, 18)], boss, "今天在")
    assert again == [[], []]
    await says("Uamy", "簽退", local(2026, 4, 1, 17))
    await says("Uamy", "簽到", local(2026, 4, 2, 9))  # the next day: told again
    next_day = await passes(town, [local(2026, 4, 2, 9, 5)], boss, "今天在")
    assert len(lines(next_day[0], "今天在")) == 1


async def test_insurance_that_ended_yesterday_is_named_with_its_date_and_today_still_counts(town):
    unit = await a_unit(town)
    amy = await town.person(unit, line_user="Uamy", name="陳美玲")
    bob = await town.person(unit, line_user="Ubob", name="李大同")
    insure(town, amy, D(2026, 3, 31))
    insure(town, bob, D(2026, 4, 1))  # covered through today: no alert
    for user in ("Uamy", "Ubob"):
        await town.h.line_says(user, "簽到", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    got = lines((await passes(town, [local(2026, 4, 1, 9, 1)], f"Uboss{unit}", "今天在"))[0], "今天在")
    assert len(got) == 1 and "陳美玲" in got[0] and "115年3月31日" in got[0]


async def test_the_monthly_insurance_alert_lists_who_is_not_covered_through_next_month(town):
    unit = await a_unit(town)
    people = {}
    for name, until in (
        ("甲君", D(2027, 1, 31)),  # ends the day before the month: not covered
        ("乙君", D(2027, 2, 28)),  # the month's last day: covered
        ("丙君", None),  # nothing on record
        ("丁君", D(2027, 2, 15)),  # part of the month only
    ):
        people[name] = await town.person(unit, line_user=f"U{name}", name=name)
        insure(town, people[name], until)
    boss = f"Uboss{unit}"
    feb, mar = await passes(town, [local(2027, 1, 29, 9), local(2027, 2, 26, 9)], boss, "意外事故保險")
    assert len(feb) == 1 and "保險未涵蓋到 116年2月28日" in feb[0]
    listed = [line for line in feb[0].splitlines() if line.startswith("•")]
    assert [line.split("｜")[0] for line in listed] == ["• 丁君", "• 丙君", "• 甲君"]
    assert "沒有保險紀錄" in next(line for line in listed if "丙君" in line)
    assert "乙君" not in feb[0]
    assert len(mar) == 1 and "乙君" in mar[0] and "116年3月31日" in mar[0]  # the next month: 乙君 too


# ---- Taichung's half-year statistics (seed 001 §三(三)) ------------------------------------------------------


async def test_taichung_units_get_their_half_year_statistics_and_taipei_units_do_not(town):
    taichung = await a_unit(town, name="臺中市志工服務中心", city="taichung")
    taipei = await a_unit(town, name="臺北市立圖書館", city="taipei")
    # 65 on the half-year's last day counts as a senior; one day younger does not (domain.md, Reports: 65+)
    for name, born in (("老張", D(1961, 6, 30)), ("小李", D(1961, 7, 1))):
        person = await town.person(taichung, line_user=f"U{name}", name=name)
        with town.uow() as session:
            admin.set_volunteer(session, town.h.now, "test", person, {"birth_date": born})
            admin.add_hours(
                session, town.h.now, "test", volunteer_id=person, unit_id=taichung, day=D(2026, 3, 2), hours=3
            )
            session.commit()
    # A senior whose only hours of the half-year are a record-book balance dated in it served none of it
    # (issue 14: a balance is not service of its half-year): not among the seniors either.
    elder = await town.person(taichung, line_user="U老王", name="老王")
    with town.uow() as session:
        admin.set_volunteer(session, town.h.now, "test", elder, {"birth_date": D(1950, 1, 1)})
        admin.add_hours(
            session,
            town.h.now,
            "test",
            volunteer_id=elder,
            unit_id=taichung,
            day=D(2026, 3, 5),
            hours=1000,
            kind="balance",
        )
        session.commit()
    for_taichung = (await passes(town, [local(2026, 6, 26, 9)], f"Uboss{taichung}", "臺中市"))[0]
    taipei_texts = town.h.line_api.texts_to(f"Uboss{taipei}")
    assert any("人力概況表" in t for t in for_taichung) and any("高齡者參與" in t for t in for_taichung)
    assert any("115年7月10日" in t and "14 天" in t for t in for_taichung)
    assert len(lines(for_taichung, "2 位志工服務 2 人次，共 6 小時")) == 2  # both reports: the half-year
    assert lines(for_taichung, "其中65歲以上") == ["其中65歲以上：1 位志工，1 人次，共 3 小時。"]
    assert not any("人力概況表" in t or "高齡者" in t for t in taipei_texts)
    assert any("半年成果" in t for t in taipei_texts)
    # and in January for July–December
    january = (await passes(town, [local(2026, 12, 27, 9)], f"Uboss{taichung}", "人力概況表"))[0]
    assert len(january) == 1 and "116年1月10日" in january[0]


# ---- a unit's repeating items ----------------------------------------------------------------------------


def add_item(town: Town, unit: int, title: str, months) -> None:
    with town.uow() as session:
        admin.add_deadline(
            session,
            town.h.now,
            "test",
            unit_id=unit,
            title=title,
            date=D(2026, 4, 5),
            remind=(0,),
            yearly=False,
            months=months,
        )
        session.commit()


async def test_a_monthly_item_alerts_in_each_month_and_a_july_to_december_range_only_then(town):
    unit = await a_unit(town)
    add_item(town, unit, "志工月會", frozenset(range(1, 13)))
    add_item(town, unit, "志工招募", parse_months("7-12"))
    boss = f"Uboss{unit}"
    days = [local(2026, month, 5, 9) for month in range(4, 13)] + [
        local(2027, month, 5, 9) for month in range(1, 8)
    ]
    got = await passes(town, days, boss, "志工")
    monthly = [[t for t in texts if "志工月會" in t] for texts in got]
    assert [len(t) for t in monthly] == [1] * len(days)  # every month, each occurrence its own alert
    recruiting = [
        (m.astimezone(TAIPEI).date(), len([t for t in texts if "志工招募" in t]))
        for m, texts in zip(days, got, strict=True)
    ]
    assert [day for day, count in recruiting if count] == [
        D(2026, 7, 5),
        D(2026, 8, 5),
        D(2026, 9, 5),
        D(2026, 10, 5),
        D(2026, 11, 5),
        D(2026, 12, 5),
        D(2027, 7, 5),
    ]
    assert all(count <= 1 for _, count in recruiting)
    between = await passes(town, [local(2027, 7, 5, 10)], boss, "志工招募")  # a second pass: nothing again
    assert between == [[]]


def test_a_repeating_items_occurrences_in_every_month_and_across_the_new_year():
    recruiting = unit_deadline("招募", D(2026, 7, 31), months=parse_months("7-12"))
    dates, day = [], D(2026, 1, 1)
    while (found := occurrence_on_or_after(recruiting, day)) and found.year == 2026:
        dates.append(found)
        day = found + dt.timedelta(days=1)
    assert dates == [
        D(2026, 7, 31),
        D(2026, 8, 31),
        D(2026, 9, 30),
        D(2026, 10, 31),
        D(2026, 11, 30),
        D(2026, 12, 31),
    ]
    winter = unit_deadline("寒假營隊", D(2026, 11, 10), months=parse_months("11-2"))
    assert occurrence_on_or_after(winter, D(2026, 3, 1)) == D(2026, 11, 10)
    assert occurrence_on_or_after(winter, D(2026, 12, 11)) == D(2027, 1, 10)
    assert occurrence_on_or_after(winter, D(2027, 2, 11)) == D(2027, 11, 10)
    assert sorted(parse_months("1,7")) == [1, 7]


@pytest.mark.parametrize("text", ["13", "0-3", "7-", "七月", "1-2-3", ""])
def test_bad_months_get_a_clear_answer(text):
    with pytest.raises(ValueError, match="months are 1–12"):
        parse_months(text)


async def test_yearly_and_months_together_are_refused_and_a_repeating_item_may_start_in_the_past(town):
    unit = await a_unit(town)
    with town.uow() as session, pytest.raises(InputError, match="choose one"):
        admin.add_deadline(
            session,
            town.h.now,
            "test",
            unit_id=unit,
            title="月會",
            date=D(2026, 4, 5),
            remind=(0,),
            yearly=True,
            months=frozenset({1}),
        )
    with town.uow() as session:  # a date long past is only the day of the month for a repeating item
        row = admin.add_deadline(
            session,
            town.h.now,
            "test",
            unit_id=unit,
            title="月會",
            date=D(2020, 1, 5),
            remind=(0,),
            yearly=False,
            months=frozenset({1, 7}),
        )
        session.commit()
        assert row.months == "1,7"


def test_vbot_deadline_add_takes_monthly_and_a_month_range_and_answers_bad_months_in_one_line(tmp_path):
    from tests.test_cli import clean_env, last_json, sqlite_url, vbot

    env = clean_env(VBOT_DATABASE_URL=sqlite_url(tmp_path))
    unit = last_json(vbot(tmp_path, "unit", "add", "--name", "志工隊", "--json", env=env))["id"]
    base = ["deadline", "add", "--unit", str(unit), "--date", "2020-07-05", "--remind", "3,0"]
    recruiting = last_json(
        vbot(tmp_path, *base, "--title", "志工招募", "--months", "7-12", "--json", env=env)
    )
    assert recruiting["months"] == [7, 8, 9, 10, 11, 12]  # a date in the past: only its day matters
    monthly = last_json(vbot(tmp_path, *base, "--title", "志工月會", "--monthly", "--json", env=env))
    assert monthly["months"] == list(range(1, 13))
    bad = vbot(tmp_path, *base, "--title", "招募", "--months", "13-2", env=env)
    assert bad.returncode != 0 and "13-2" in bad.stderr and "Traceback" not in bad.stderr
    both = vbot(tmp_path, *base, "--title", "招募", "--months", "7-12", "--yearly", env=env)
    assert both.returncode != 0 and "not allowed with" in both.stderr and "Traceback" not in both.stderr
