"""獎勵名單 / `awards eligible`: who in a unit has reached an award or nearly, built in bulk for the whole unit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.database import prepare_database
from handlers.awards.eligibility import eligible_list, listed, unit_facts
from handlers.awards.progress import facts_for, requirement_name, rules_in_store
from handlers.awards.rules import progress_all
from handlers.i18n import Catalogs
from handlers.people import admin
from storage.db import UnitOfWork, make_engine
from storage.models import AwardGrant, ChatAccount, Membership, ServiceRecord, TrainingRecord
from tests.test_cli import chat

ZONE = ZoneInfo("Asia/Taipei")
NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.astimezone(ZONE).date()
YEAR_AGO = (
    TODAY.replace(year=TODAY.year - 1)
    if (TODAY.month, TODAY.day) != (2, 29)
    else TODAY - dt.timedelta(days=366)
)
LAST_MONTH = TODAY - dt.timedelta(days=30)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    prepare_database(engine)
    yield database_url, UnitOfWork(engine)
    engine.dispose()


def person(
    session,
    unit_id,
    name,
    hours,
    *,
    record_book=True,
    trained=YEAR_AGO,
    role="volunteer",
    on=LAST_MONTH,
    born=None,
    kind="service",
):
    """A volunteer whose basic and special training (the unit's category) ended on `trained`."""
    volunteer, _ = admin.add_volunteer(
        session,
        NOW,
        "test",
        unit_id=unit_id,
        name=name,
        invite_valid_for=dt.timedelta(days=30),
        birth_date=born,
        role=role,
    )
    if trained is not None:
        admin.add_training(
            session,
            NOW,
            "test",
            volunteer_id=volunteer.id,
            kind="basic",
            day=trained - dt.timedelta(days=7),
            hours=12,
        )
        admin.add_training(
            session,
            NOW,
            "test",
            volunteer_id=volunteer.id,
            kind="special",
            day=trained,
            hours=6,
            category="culture",
        )
    if record_book:
        admin.set_volunteer(
            session, NOW, "test", volunteer.id, {"record_book_no": f"北市志字第{volunteer.id}號"}
        )
    if hours:
        admin.add_hours(
            session, NOW, "test", volunteer_id=volunteer.id, unit_id=unit_id, day=on, hours=hours, kind=kind
        )
    return volunteer.id


def chat_hours(session, volunteer_id, unit_id, day, hours):
    """Service the bot recorded at a check-out (admin.add_hours enters it by hand)."""
    session.add(
        ServiceRecord(
            volunteer_id=volunteer_id,
            unit_id=unit_id,
            kind="service",
            source="chat",
            status="counted",
            minutes=round(hours * 60),
            service_date=day,
            recorded_by="chat",
            created_at=NOW,
        )
    )
    session.flush()


def years_before(day, years):
    """The same day `years` earlier; from 29 February, the 28th (then the years are complete on `day`)."""
    return day.replace(year=day.year - years, day=28 if (day.month, day.day) == (2, 29) else day.day)


def rows_for(uow, unit_id, **kw):
    with uow() as session:
        return {(r.name, r.award): r for r in eligible_list(session, unit_id, TODAY, **kw)}


def test_exactly_150_hours_and_one_year_is_listed_with_what_is_missing(store):
    _url, uow = store
    with uow() as session:
        unit = admin.add_unit(
            session, NOW, "test", name="臺北市立圖書館", category="culture", city="taipei"
        ).id
        person(session, unit, "齊全", 150)
        person(session, unit, "缺冊", 150, record_book=False)
        person(session, unit, "差一天", 150, trained=YEAR_AGO + dt.timedelta(days=1))
        person(session, unit, "差十五", 135)
        person(session, unit, "差五十", 100)
        granted = person(session, unit, "已頒", 150)
        session.add(
            AwardGrant(
                volunteer_id=granted,
                award_code="performance-certificate",
                granted_on=LAST_MONTH,
                recorded_by="test",
                created_at=NOW,
            )
        )
        session.commit()

    rows = rows_for(uow, unit, award="performance-certificate")
    assert set(rows) == {("齊全", "performance-certificate"), ("缺冊", "performance-certificate")}
    assert rows["齊全", "performance-certificate"].as_json() | {"id": 0, "counted_until": None} == {
        "id": 0,
        "name": "齊全",
        "award": "performance-certificate",
        "eligible": True,
        "hours_needed": 0,
        "missing": [],
        "round": None,  # the certificate has no rounds: one applies any time
        "counted_until": None,
    }
    missing = rows["缺冊", "performance-certificate"]
    assert (missing.eligible, missing.missing) == (False, ("record_book",))

    near = rows_for(uow, unit, award="performance-certificate", within_hours=20)
    assert near["差十五", "performance-certificate"].hours_needed == 15
    assert not near["差十五", "performance-certificate"].eligible
    assert ("差五十", "performance-certificate") not in near
    assert ("差一天", "performance-certificate") not in near  # hours done, the year not yet
    assert ("已頒", "performance-certificate") not in near  # held already

    everything = rows_for(uow, unit, within_hours=20)
    assert {name for name, _award in everything} == {"齊全", "缺冊", "差十五"}
    first = next(iter(eligible_list_in(uow, unit)))
    assert first.eligible  # eligible first


def test_hours_recorded_in_chat_before_the_training_do_not_put_a_member_on_the_list(store):
    _url, uow = store
    before_training = YEAR_AGO - dt.timedelta(days=10)
    with uow() as session:
        unit = admin.add_unit(
            session, NOW, "test", name="臺北市立圖書館", category="culture", city="taipei"
        ).id
        early = person(session, unit, "訓前打卡", 0)
        chat_hours(session, early, unit, before_training, 150)
        person(session, unit, "帶來時數", 150, on=before_training, kind="balance")  # a record book's balance
        after = person(session, unit, "訓後打卡", 0)
        chat_hours(session, after, unit, YEAR_AGO, 150)  # on the training day itself
        both = person(session, unit, "前後都有", 0)
        chat_hours(session, both, unit, before_training, 100)
        chat_hours(session, both, unit, LAST_MONTH, 140)
        session.commit()

    rows = rows_for(uow, unit, award="performance-certificate", within_hours=20)
    assert {name for name, _award in rows} == {"帶來時數", "訓後打卡", "前後都有"}
    assert (
        rows["帶來時數", "performance-certificate"].eligible
        and rows["訓後打卡", "performance-certificate"].eligible
    )
    assert (
        rows["前後都有", "performance-certificate"].hours_needed == 10
    )  # only the 140 hours after the training


def test_the_lifetime_award_lists_members_of_65_and_those_whose_birth_date_is_missing(store):
    url, uow = store
    trained = years_before(TODAY, 6)
    with uow() as session:
        unit = admin.add_unit(
            session, NOW, "test", name="臺北市立圖書館", category="culture", city="taipei"
        ).id
        boss = person(
            session, unit, "隊長", 0, role="coordinator", trained=trained, born=years_before(TODAY, 50)
        )
        session.add(
            ChatAccount(platform="terminal", platform_user_id="boss", volunteer_id=boss, linked_at=NOW)
        )
        # Corrected rule (domain.md; Taipei 113 notice): five years counted from the first service hour after
        # turning 65. The old version of this test listed a member on their 65th birthday.
        six_years_ago = years_before(TODAY, 6)
        person(
            session, unit, "七十二歲", 650, trained=trained, born=years_before(TODAY, 72), on=six_years_ago
        )
        person(
            session, unit, "今天六十五", 650, trained=trained, born=years_before(TODAY, 65), on=six_years_ago
        )
        person(session, unit, "不知生日", 650, trained=trained, on=six_years_ago)
        person(
            session,
            unit,
            "快六十五",
            650,
            trained=trained,
            born=years_before(TODAY + dt.timedelta(days=40), 65),
        )
        person(
            session, unit, "差十小時", 590, trained=trained, born=years_before(TODAY, 72), on=six_years_ago
        )
        session.commit()

    rows = rows_for(uow, unit, award="taipei-lifetime", within_hours=20)
    assert {name for name, _award in rows} == {
        "七十二歲",
        "不知生日",
        "差十小時",
    }  # not the too young, nor the 65-year-old with no service since turning 65
    assert rows["七十二歲", "taipei-lifetime"].eligible
    unknown = rows["不知生日", "taipei-lifetime"]
    assert (unknown.eligible, unknown.hours_needed, unknown.missing) == (False, 0, ("birth_date",))

    (answer,) = chat(url, "boss", "獎勵名單")
    lifetime = {
        line.split("｜")[0]: line for line in answer.splitlines() if "臺北市志願服務終身成就獎" in line
    }
    assert set(lifetime) == {"• 七十二歲", "• 不知生日", "• 差十小時"}
    assert requirement_name(Catalogs().translator("zh_TW"), "birth_date") in lifetime["• 不知生日"]


def eligible_list_in(uow, unit):
    with uow() as session:
        return eligible_list(session, unit, TODAY, within_hours=20)


def test_bulk_facts_give_the_same_progress_as_one_volunteer_at_a_time(store):
    """Windows (national medals count to 31 May), renewals after a grant, years in a city, two cities; hours
    recorded in chat before the training (also of a second category), entered by hand before it; ages."""
    _url, uow = store
    with uow() as session:
        taipei = admin.add_unit(
            session, NOW, "test", name="臺北市立圖書館", category="culture", city="taipei"
        ).id
        taichung = admin.add_unit(
            session, NOW, "test", name="臺中市志工隊", category="health", city="taichung"
        ).id
        born = {3: None, 4: years_before(TODAY + dt.timedelta(days=40), 65), 5: years_before(LAST_MONTH, 66)}
        ids = []
        for n in range(6):
            trained = TODAY - dt.timedelta(days=400 * (n + 1))
            ids.append(
                person(
                    session,
                    taipei,
                    f"志工{n}",
                    0,
                    trained=trained,
                    record_book=n % 2 == 0,
                    born=born.get(n, years_before(TODAY, 40)),
                )
            )
            for k in range(40):
                day = TODAY - dt.timedelta(days=37 * k + n)
                if k % 3 == 0 and day > trained:
                    admin.add_hours(
                        session, NOW, "test", volunteer_id=ids[-1], unit_id=taipei, day=day, hours=10 + n * 7
                    )
                elif k % 3:  # in chat, also before the training for the first three
                    chat_hours(session, ids[-1], taipei, day, 10 + n * 7)
            if n % 3 == 0:
                session.add(Membership(volunteer_id=ids[-1], unit_id=taichung))
                session.flush()
                admin.add_hours(
                    session,
                    NOW,
                    "test",
                    volunteer_id=ids[-1],
                    unit_id=taichung,
                    day=TODAY - dt.timedelta(days=90),
                    hours=400,
                )
                chat_hours(session, ids[-1], taichung, TODAY - dt.timedelta(days=200), 300)
        # Health special training after those chat hours: they wait for it (without it: the book's date, unknown).
        admin.add_training(
            session,
            NOW,
            "test",
            volunteer_id=ids[3],
            kind="special",
            day=TODAY - dt.timedelta(days=100),
            hours=6,
            category="health",
        )
        # An old special training recorded without a category counts for every category.
        session.add(
            TrainingRecord(
                volunteer_id=ids[1],
                kind="special",
                category=None,
                minutes=360,
                date=TODAY - dt.timedelta(days=1500),
                recorded_by="test",
                created_at=NOW,
            )
        )
        session.add(
            AwardGrant(
                volunteer_id=ids[5],
                award_code="honor-card",
                granted_on=TODAY - dt.timedelta(days=800),
                recorded_by="test",
                created_at=NOW,
            )
        )
        session.add(
            AwardGrant(
                volunteer_id=ids[4],
                award_code="performance-certificate",
                granted_on=TODAY - dt.timedelta(days=900),
                recorded_by="test",
                created_at=NOW,
            )
        )
        session.commit()

    with uow() as session:
        rules = rules_in_store(session)
        for as_of in (
            TODAY,
            dt.date(TODAY.year, 5, 31),
            dt.date(TODAY.year, 6, 1),
            dt.date(TODAY.year, 1, 15),
        ):
            if as_of > TODAY:
                continue
            bulk = {v: facts for v, _name, facts in unit_facts(session, taipei, rules, as_of)}
            assert set(bulk) == set(ids)
            for v in ids:
                one = [_essence(p) for p in progress_all(rules, facts_for(session, v), as_of)]
                assert [_essence(p) for p in progress_all(rules, bulk[v], as_of)] == one, (v, as_of)
            for within in (0, 50, 500):  # the shortcut past unreachable awards lists what progress_all would
                naive = {
                    (v, p.code, p.eligible, p.minutes_needed, p.missing)
                    for v in ids
                    for p in progress_all(rules, facts_for(session, v), as_of)
                    if listed(p, within * 60)
                }
                fast = {
                    (r.volunteer_id, r.award, r.eligible, r.minutes_needed, r.missing)
                    for r in eligible_list(session, taipei, as_of, within_hours=within)
                }
                assert fast == naive, (as_of, within)
                assert naive or within == 0


def _essence(p):
    return (
        p.code,
        p.reached,
        p.eligible,
        p.granted_on,
        p.counted_minutes,
        p.minutes_needed,
        p.years_met_on,
        p.missing,
        p.next_deadline,
        p.counted_until,
        p.renewal,
        p.age_met_on,
    )


def test_a_coordinator_sees_only_their_own_unit_and_a_volunteer_is_refused(store):
    url, uow = store
    with uow() as session:
        a = admin.add_unit(session, NOW, "test", name="甲單位", category="culture", city="taipei").id
        b = admin.add_unit(session, NOW, "test", name="乙單位", category="culture", city="taipei").id
        boss = person(session, a, "甲隊長", 0, role="coordinator")
        plain = person(session, a, "甲志工", 150)
        person(session, a, "甲將近", 140)
        person(session, b, "乙志工", 150)
        other_boss = person(session, b, "乙隊長", 0, role="coordinator")
        for user, volunteer in (("boss", boss), ("plain", plain), ("other", other_boss)):
            session.add(
                ChatAccount(platform="terminal", platform_user_id=user, volunteer_id=volunteer, linked_at=NOW)
            )
        session.commit()

    answer, english = chat(url, "boss", "獎勵名單", "eligible")
    assert "甲志工" in answer and "志願服務績效證明書" in answer
    assert "甲將近" in answer and "10" in answer
    assert "乙" not in answer
    assert "甲志工" in english
    (other,) = chat(url, "other", "/eligible")
    assert "乙志工" in other and "甲" not in other
    (refused,) = chat(url, "plain", "獎勵名單")
    assert "甲志工" not in refused and "乙志工" not in refused
    assert "督導" in refused  # the word units use for their coordinator (issue 16)
    (own,) = chat(url, "plain", "獎勵")  # 獎勵 alone is still the volunteer's own awards
    assert "志願服務績效證明書" in own
