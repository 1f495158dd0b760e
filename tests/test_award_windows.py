"""Award rounds and their counting windows, asked of every view, at every edge the sources name (issue 14).

Each test cites its rule: domain.md's award table (corrected with the sources) and the notices it names —
the national medals count hours to 31 May of the award year (Tainan 110 notice), MOHW's award to 31 December
of the year before (Taipei 115 notice, "時數可採計至114.12.31"), the Taipei lifetime award five years from the
first service hour after 65, to 30 June (Taipei 113 notice). The last part pins the boundaries that
/work/shared/reviews/mutants.md found no test noticing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.commands import awards as awards_command
from bot.database import prepare_database
from handlers import router
from handlers.awards.progress import award_card, card_text, facts_for, rules_in_store
from handlers.awards.rules import (
    AwardRule,
    CountedMinutes,
    Deadline,
    VolunteerFacts,
    anniversary,
    load_rules,
    parse_rules,
    progress,
    read_rule_rows,
)
from handlers.context import Rules
from handlers.formatting import hours_to_go
from handlers.i18n import Catalogs
from handlers.jobs.deadline_alerts import Material, shipped_calendar
from handlers.people import admin
from handlers.service.counting import half_year_start, split_at_midnight, time_of_record, visit_minutes
from handlers.types import Incoming, ReplyTo
from storage import people_store
from storage.db import UnitOfWork, make_engine
from storage.models import ChatAccount

D = dt.date
ZONE = ZoneInfo("Asia/Taipei")
MAY_FIRST = dt.date(2026, 5, 1)
SETUP = dt.datetime(2026, 12, 1, 4, tzinfo=dt.UTC)  # people and past hours are entered after the fact
RULES = {rule.code: rule for rule in load_rules()}
T = Catalogs().translator("zh_TW")


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(dt.UTC)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    prepare_database(engine)
    yield engine
    engine.dispose()


def add_person(
    session, unit_id, name, *, hours=0.0, on=MAY_FIRST, role="volunteer", born=None, certified=True
):
    """Trained in 2010 for the unit's category, with a record book, an English name and a certificate."""
    person, _ = admin.add_volunteer(
        session,
        SETUP,
        "test",
        unit_id=unit_id,
        name=name,
        invite_valid_for=dt.timedelta(days=30),
        role=role,
        birth_date=born,
    )
    category = people_store.unit(session, unit_id).category
    admin.add_training(
        session, SETUP, "test", volunteer_id=person.id, kind="basic", day=D(2010, 1, 1), hours=6
    )
    admin.add_training(
        session,
        SETUP,
        "test",
        volunteer_id=person.id,
        kind="special",
        day=D(2010, 2, 1),
        hours=6,
        category=category,
    )
    admin.set_volunteer(
        session, SETUP, "test", person.id, {"record_book_no": f"R-{person.id}", "english_name": "CHEN, A"}
    )
    if certified:
        admin.grant_award(
            session,
            SETUP,
            "test",
            volunteer_id=person.id,
            award_code="performance-certificate",
            day=D(2015, 1, 1),
            known_codes=set(RULES),
        )
    if hours:
        admin.add_hours(session, SETUP, "test", volunteer_id=person.id, unit_id=unit_id, day=on, hours=hours)
    session.add(
        ChatAccount(platform="terminal", platform_user_id=name, volunteer_id=person.id, linked_at=SETUP)
    )
    session.flush()
    return person.id


def say(engine, user: str, text: str, now: dt.datetime) -> str:
    """The chat, through the router the platforms use, with a chosen clock."""
    with UnitOfWork(engine)() as session:
        replies = router.handle(
            session,
            Incoming("terminal", user, "text", text, now, ReplyTo(user)),
            now,
            Rules(timezone=ZONE),
            Catalogs(),
        )
        session.commit()
    return "\n".join(reply.text for reply in replies)


def cli_rows(engine, unit_id: int, award: str, as_of: dt.date) -> dict[str, dict]:
    """`vbot awards eligible --unit U --award A --as-of D --within 100`: the command's own function."""
    args = argparse.Namespace(command="awards", unit=unit_id, award=award, as_of=as_of, within=100)
    with UnitOfWork(engine)() as session:
        answer, _human = awards_command.eligible(args, session, as_of)
    return {row["name"]: row for row in answer["volunteers"]}


def alert_names(engine, unit_id: int, code: str, occurrence: dt.date, today: dt.date) -> str:
    """The coordinators' alert for that deadline, worded by the job's own Material."""
    rule = next(r for r in shipped_calendar() if r.code == code)
    with UnitOfWork(engine)() as session:
        unit = people_store.unit(session, unit_id)
        return "\n".join(Material(session, unit, rule, occurrence, today).lines(T))


def card_in_chat(engine, user: str, award_name: str, now: dt.datetime) -> str:
    """The award's whole card, as the person reaches it: 獎勵 lists every award in a line (one phone screen,
    issue 16), `獎勵 N` shows the N-th in full."""
    listing = say(engine, user, "獎勵", now)
    assert award_name in listing or "…" in listing, listing
    for number in range(1, 16):
        card = say(engine, user, f"獎勵 {number}", now)
        if award_name in card.splitlines()[0]:
            return card
    raise AssertionError(f"no card for {award_name}")


def round_of(text: str) -> int | None:
    """The round a view names: `115年度` is 2026."""
    found = re.search(r"(\d+)年度", text)
    return int(found[1]) + 1911 if found else None


BRONZE = "志願服務績優銅牌獎"


def national_setting(engine):
    """Taipei social-welfare unit. 「晚一天」: 2,998 h on 1 May, then a session 31 May 23:00 – 1 June 01:00, so
    2,999 h by 31 May and the 3,000th hour on 1 June. 「準時」: 2,999 h, then 31 May 09:00–10:00."""
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(
            session, SETUP, "test", name="臺北社福", category="social-welfare", city="taipei"
        ).id
        add_person(session, unit, "督導", role="coordinator")
        add_person(session, unit, "晚一天", hours=2998)
        add_person(session, unit, "準時", hours=2999)
        session.commit()
    assert "簽到" in say(engine, "晚一天", "簽到", at(D(2026, 5, 31), 23))
    late = say(engine, "晚一天", "簽退", at(D(2026, 6, 1), 1))
    say(engine, "準時", "簽到", at(D(2026, 5, 31), 9))
    on_time = say(engine, "準時", "簽退", at(D(2026, 5, 31), 10))
    return unit, {"晚一天": late, "準時": on_time}


def views(engine, unit: int, milestones: dict[str, str], today: dt.date) -> dict[str, dict[str, int | None]]:
    """For each view: the round in which each person is said to qualify for the bronze medal (None: not said).
    The milestone speaks only once, at the check-out; the alert names the round of its deadline."""
    found: dict[str, dict[str, int | None]] = {}
    for name in ("晚一天", "準時"):
        card = card_in_chat(engine, name, BRONZE, at(today))
        found.setdefault("card", {})[name] = round_of(card) if "已達到" in card.splitlines()[0] else None
    rows = cli_rows(engine, unit, "national-bronze", today)
    found["cli"] = {}
    for name in ("晚一天", "準時"):
        row = rows.get(name)
        found["cli"][name] = row["round"] if row and row["hours_needed"] == 0 else None
    listing = say(engine, "督導", "獎勵名單", at(today))
    found["chat list"] = {}
    for name in ("晚一天", "準時"):
        line = next((li for li in listing.splitlines() if li.startswith(f"• {name}｜{BRONZE}")), "")
        found["chat list"][name] = round_of(line) if "還差" not in line and line else None
    for occurrence, code in (
        (D(2026, 6, 30), "national-awards-volunteers"),
        (D(2026, 7, 31), "national-awards-unit"),
    ):
        if today <= occurrence:
            alert = alert_names(engine, unit, code, occurrence, today)
            found[f"alert {occurrence}"] = {
                name: round_of(alert) if f"• {name}｜{BRONZE}" in alert else None
                for name in ("晚一天", "準時")
            }
    found["milestone"] = {
        name: round_of(text) if BRONZE in text and "🎉" in text else None for name, text in milestones.items()
    }
    return found


def test_2999_hours_by_31_may_and_the_3000th_on_1_june_qualify_for_next_year_in_every_view(store):
    """National medals count hours to 31 May of the award year (domain.md; Tainan 110 notice): 2,999 h by
    31 May and 1 h on 1 June is not this round (115年, deadline 30 June), on 16 June or on 30 June, in any
    view; the check-out on 1 June announces nothing. The one with 3,000 h on 31 May qualifies everywhere."""
    unit, milestones = national_setting(store)
    assert "🎉" not in milestones["晚一天"]
    assert f"🎉 您已達到「{BRONZE}」（115年度）" in milestones["準時"]
    for today in (D(2026, 6, 16), D(2026, 6, 30)):
        answers = views(store, unit, milestones, today)
        this_round = {view: {n for n, r in by_name.items() if r == 2026} for view, by_name in answers.items()}
        assert all(names == {"準時"} for names in this_round.values()), (today, answers)
        # The views that show the next round say 116年 for the late one.
        assert answers["card"]["晚一天"] == answers["cli"]["晚一天"] == answers["chat list"]["晚一天"] == 2027
    rows = cli_rows(store, unit, "national-bronze", D(2026, 6, 16))
    assert (rows["晚一天"]["eligible"], rows["晚一天"]["round"]) == (False, 2027)
    assert (rows["準時"]["eligible"], rows["準時"]["round"], rows["準時"]["counted_until"]) == (
        True,
        2026,
        "2026-05-31",
    )
    # The unit's deadline (31 July) still concerns the 115 round, after the volunteers' 30 June.
    alert = alert_names(store, unit, "national-awards-unit", D(2026, 7, 31), D(2026, 7, 17))
    assert f"• 準時｜{BRONZE}" in alert and "晚一天" not in alert and "115年度" in alert
    card = card_in_chat(store, "晚一天", BRONZE, at(D(2026, 6, 16)))
    assert "116年度：時數計算至116年5月31日" in card and "申請期限：116年6月30日" in card


def test_1499_hours_by_31_december_and_one_in_january_are_not_this_mohw_round(store):
    """MOHW counts hours to 31 December of the year before (Taipei 115 notice: 時數可採計至114.12.31)."""
    with UnitOfWork(store)() as session:
        unit = admin.add_unit(session, SETUP, "test", name="臺北衛生", category="health", city="taipei").id
        add_person(session, unit, "督導", role="coordinator")
        late = add_person(session, unit, "一月才滿", hours=1499, on=D(2025, 12, 31))
        admin.add_hours(session, SETUP, "test", volunteer_id=late, unit_id=unit, day=D(2026, 1, 10), hours=1)
        add_person(session, unit, "年底已滿", hours=1500, on=D(2025, 12, 31))
        session.commit()
    rows = cli_rows(store, unit, "mohw-welfare-bronze", D(2026, 3, 1))
    assert (rows["一月才滿"]["eligible"], rows["一月才滿"]["round"]) == (False, 2027)
    assert (rows["年底已滿"]["eligible"], rows["年底已滿"]["round"]) == (True, 2026)
    assert rows["年底已滿"]["counted_until"] == "2025-12-31"
    alert = alert_names(store, unit, "mohw-welfare-awards", D(2026, 3, 31), D(2026, 3, 17))
    assert "年底已滿" in alert and "一月才滿" not in alert


def lifetime_facts(**changes) -> VolunteerFacts:
    base = VolunteerFacts(
        basic_training_on=D(2000, 1, 1),
        special_trainings={"general": D(2000, 2, 1)},
        categories=frozenset({"general"}),
        record_book_no="R-1",
        birth_date=D(1958, 3, 1),  # 65 on 1 March 2023
        cities=frozenset({"taipei"}),
        records=(CountedMinutes(D(2010, 1, 1), 600 * 60, "general", "taipei", unit_id=1),),
    )
    return replace(base, **changes)


def test_a_65_year_old_with_no_service_after_65_is_not_eligible_for_the_lifetime_award():
    """Taipei lifetime award: five years from the first service hour after turning 65 (Taipei 113 notice);
    600 h served at 52 do not count towards those years."""
    lifetime = RULES["taipei-lifetime"]
    p = progress(lifetime, lifetime_facts(), D(2023, 3, 1))
    assert not p.reached and not p.eligible and p.years_met_on is None
    card = card_text(award_card(T, p, D(2023, 3, 1)))
    assert "65 歲後第一次服務起算 5 年：尚無服務" in card
    served = lifetime_facts(
        records=(
            CountedMinutes(D(2010, 1, 1), 600 * 60, "general", "taipei", unit_id=1),
            CountedMinutes(D(2023, 4, 1), 60, "general", "taipei", unit_id=1),
        )
    )
    assert progress(lifetime, served, D(2028, 3, 31)).years_met_on == D(2028, 4, 1)
    assert not progress(lifetime, served, D(2028, 3, 31)).reached
    assert progress(lifetime, served, D(2028, 4, 1)).eligible  # 600 h at unit 1: ≥ 150 there


def test_the_lifetime_award_needs_150_hours_at_the_nominating_unit_and_not_the_golden_diamond_that_year():
    """Taipei 113 notice: ≥ 150 h at the nominating unit (600 h across Taipei units); one of 終身成就獎 and
    金鑽獎 a year."""
    lifetime = RULES["taipei-lifetime"]
    spread = lifetime_facts(
        records=(
            CountedMinutes(D(2023, 4, 1), 500 * 60, "general", "taipei", unit_id=1),
            CountedMinutes(D(2023, 4, 1), 100 * 60, "general", "taipei", unit_id=2),
        )
    )
    assert progress(lifetime, spread, D(2028, 5, 1)).eligible  # on their own card: at unit 1
    by_unit_2 = progress(lifetime, replace(spread, nominating=(2, "taipei")), D(2028, 5, 1))
    assert by_unit_2.reached and not by_unit_2.eligible and by_unit_2.missing == ("unit_hours",)
    diamond = replace(spread, grants={"taipei-golden-diamond": (D(2028, 2, 1),)})
    p = progress(lifetime, diamond, D(2028, 5, 1))
    assert not p.eligible and "same_year_award" in p.missing
    assert progress(lifetime, diamond, D(2029, 5, 1)).eligible  # the next year


def test_a_taipei_general_unit_counts_for_mohw_in_taipei_only(store):
    """Taipei 115 MOHW notice: 綜合類、社福類及衛生保健類 units; elsewhere social welfare and health only."""
    with UnitOfWork(store)() as session:
        unit = admin.add_unit(session, SETUP, "test", name="臺北綜合", category="general", city="taipei").id
        add_person(session, unit, "綜合志工", hours=1600, on=D(2025, 6, 1))
        session.commit()
    rows = cli_rows(store, unit, "mohw-welfare-bronze", D(2026, 3, 1))
    assert (rows["綜合志工"]["eligible"], rows["綜合志工"]["hours_needed"], rows["綜合志工"]["round"]) == (
        True,
        0,
        2026,
    )
    general = CountedMinutes(D(2025, 6, 1), 1600 * 60, "general", "taichung")
    taichung = lifetime_facts(cities=frozenset({"taichung"}), records=(general,))
    assert progress(RULES["mohw-welfare-bronze"], taichung, D(2026, 3, 1)).counted_minutes == 0


def test_a_new_category_without_its_special_training_counts_nothing_and_says_so(store):
    """domain.md: serving in a new category counts only after that category's special training; until it is
    recorded the volunteer and the coordinator are told it is missing (review W5)."""
    with UnitOfWork(store)() as session:
        welfare = admin.add_unit(
            session, SETUP, "test", name="臺北社福", category="social-welfare", city="taipei"
        )
        culture = admin.add_unit(
            session, SETUP, "test", name="臺北文化", category="culture", city="taipei"
        ).id
        coordinator = add_person(session, culture, "文化督導", role="coordinator")
        volunteer = add_person(session, welfare.id, "雙棲", certified=False)
        people_store.add_membership(session, volunteer, culture)
        session.commit()
    assert coordinator
    say(store, "雙棲", "簽到 #" + str(culture), at(D(2026, 6, 26), 9))
    say(store, "雙棲", "簽退", at(D(2026, 6, 26), 12))
    with UnitOfWork(store)() as session:
        facts = facts_for(session, volunteer)
        certificate = progress(RULES["performance-certificate"], facts, D(2026, 7, 1))
    assert certificate.counted_minutes == 0 and "special_training:culture" in certificate.missing
    assert "文化類特殊訓練" in card_in_chat(store, "雙棲", "志願服務績效證明書", at(D(2026, 7, 1)))
    listing = say(store, "文化督導", "獎勵名單", at(D(2026, 7, 1)))
    assert "雙棲" not in listing or "文化類特殊訓練" in listing
    with UnitOfWork(store)() as session:
        admin.add_training(
            session,
            SETUP,
            "test",
            volunteer_id=volunteer,
            kind="special",
            day=D(2026, 6, 20),
            hours=3,
            category="culture",
        )
        session.commit()
        after = progress(RULES["performance-certificate"], facts_for(session, volunteer), D(2026, 7, 1))
    assert after.counted_minutes == 180 and after.missing == ()


def test_one_minute_short_never_reads_zero_hours_to_go(store):
    """The certificate needs 150 h (domain.md); 149 h 59 min is 0.1 h to go, in the card and in the lists."""
    assert (
        hours_to_go(1, "zh_TW") == "0.1" and hours_to_go(6, "en") == "0.1" and hours_to_go(7, "en") == "0.2"
    )
    with UnitOfWork(store)() as session:
        unit = admin.add_unit(
            session, SETUP, "test", name="臺北社福", category="social-welfare", city="taipei"
        ).id
        add_person(session, unit, "督導", role="coordinator")
        short = add_person(session, unit, "差一分鐘", hours=149.5, on=D(2024, 3, 1), certified=False)
        admin.add_hours(
            session, SETUP, "test", volunteer_id=short, unit_id=unit, day=D(2024, 3, 2), hours=29 / 60
        )
        session.commit()
    card = card_in_chat(store, "差一分鐘", "志願服務績效證明書", at(D(2025, 3, 10)))
    assert "還差 0.1 小時" in card and "149.9 小時" in card and "還差 0 小時" not in card
    rows = cli_rows(store, unit, "performance-certificate", D(2025, 3, 10))
    assert (rows["差一分鐘"]["eligible"], rows["差一分鐘"]["hours_needed"]) == (False, 0.1)
    listing = say(store, "督導", "獎勵名單", at(D(2025, 3, 10)))
    line = next(li for li in listing.splitlines() if li.startswith("• 差一分鐘｜志願服務績效證明書"))
    assert "還差 0.1 小時" in line


# ---- the boundaries no test noticed (reviews/mutants.md) ---------------------------------------------


def test_june_is_the_first_half_year_and_july_the_second():
    """Half-years are January–June and July–December (domain.md); mutants #46–48, #51, #52."""
    assert half_year_start(D(2026, 6, 30)) == D(2026, 1, 1)
    assert half_year_start(D(2026, 7, 1)) == D(2026, 7, 1)


def test_a_platform_timestamp_is_kept_up_to_24_hours_and_from_a_minute_ago():
    """CONTRACT: the platform's timestamp is used if at most 24 hours old and not in the future; mutants #2,
    #7, #10."""
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    for age in (dt.timedelta(hours=23, minutes=59), dt.timedelta(hours=24), dt.timedelta(minutes=1)):
        assert time_of_record(now - age, now) == now - age
    assert time_of_record(now - dt.timedelta(hours=24, seconds=1), now) == now
    assert time_of_record(now + dt.timedelta(minutes=5), now) == now


def test_a_session_under_a_minute_or_reversed_is_zero_minutes():
    """Whole minutes served, never negative (mutants #19, #20)."""
    start = dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC)
    assert visit_minutes(start, start + dt.timedelta(seconds=59)) == 0
    assert visit_minutes(start, start - dt.timedelta(minutes=5)) == 0
    assert visit_minutes(start, start + dt.timedelta(seconds=60)) == 1


def test_a_check_out_at_midnight_is_one_part():
    """A session is split per Taipei day; one ending at 00:00 has nothing on the next day (mutant #33)."""
    start = dt.datetime(2026, 3, 1, 23, tzinfo=ZONE)
    end = dt.datetime(2026, 3, 2, 0, tzinfo=ZONE)
    assert split_at_midnight(start, end, ZONE) == [(start, end)]


def handmade(**changes) -> AwardRule:
    rule = AwardRule(code="tea", ladder="tea", rank=1, names=(("en", "Tea"),), hours=1)
    return replace(rule, **changes)


def test_of_two_deadlines_the_volunteer_is_told_the_earliest():
    """A unit may give an award two dates a year (awards.toml `deadlines`); mutant #68."""
    rule = handmade(deadlines=(Deadline(9, 25, "volunteer"), Deadline(3, 25, "volunteer")))
    facts = lifetime_facts()
    assert progress(rule, facts, D(2026, 3, 1)).next_deadline == D(2026, 3, 25)
    assert progress(rule, facts, D(2026, 4, 1)).next_deadline == D(2026, 9, 25)


def test_years_in_a_city_start_on_the_first_day_served_there_even_today():
    """金鑽獎: three years in Taipei from the first counted service there; mutant #94."""
    rule = handmade(years=3, count_cities=frozenset({"taipei"}), years_in_cities=True)
    today = D(2026, 3, 1)
    facts = lifetime_facts(records=(CountedMinutes(today, 60, "general", "taipei"),))
    assert progress(rule, facts, today).years_met_on == anniversary(today, 3)


def test_the_rounds_of_the_shipped_table_are_data():
    """Each cut-off is relative to the round (awards.toml) and each row names its source."""
    assert RULES["national-bronze"].count_until == (5, 31) and RULES["national-bronze"].count_until_year == 0
    assert RULES["mohw-welfare-bronze"].count_until == (12, 31)
    assert RULES["mohw-welfare-bronze"].count_until_year == -1
    assert RULES["taipei-lifetime"].count_until == (6, 30) and RULES["taipei-lifetime"].years_after_age
    assert all(rule.source for rule in RULES.values())
    with pytest.raises(ValueError, match="count_until_year"):
        parse_rules([read_rule_rows()[0] | {"count_until_year": -1}])  # without count_until


def test_the_store_gives_the_same_round_as_one_volunteer_at_a_time(store):
    """The unit's bulk list and 獎勵 are one engine: same round, same hours (issue 14)."""
    unit, _ = national_setting(store)
    rows = cli_rows(store, unit, "national-bronze", D(2026, 6, 16))
    assert set(rows) == {"晚一天", "準時"}
    with UnitOfWork(store)() as session:
        rules = rules_in_store(session)
        for name, row in rows.items():
            step = progress(
                next(r for r in rules if r.code == "national-bronze"),
                facts_for(session, row["id"]),
                D(2026, 6, 16),
            )
            assert (row["round"], row["eligible"]) == (step.round_year, step.eligible), name


def test_a_regular_is_congratulated_at_the_check_out_that_crosses_the_hours_and_not_before(store):
    """「常客」 has 2,990 h in a Taipei social-welfare unit in May 2026 and serves two hours a day. The first
    check-out works out how far the nearest award is (the national bronze, 8 h); the next ones stay under it and
    are answered without reading the history again; the fifth crosses 3,000 h and is congratulated, once."""
    from storage.models import AwardHeadroom

    with UnitOfWork(store)() as session:
        unit = admin.add_unit(
            session, SETUP, "test", name="臺北社福", category="social-welfare", city="taipei"
        ).id
        regular = add_person(session, unit, "常客", hours=2990, on=D(2026, 4, 1))
        session.commit()
    answers, kept_on = [], []
    for day in range(1, 7):
        say(store, "常客", "簽到", at(D(2026, 5, day), 9))
        answers.append(say(store, "常客", "簽退", at(D(2026, 5, day), 11)))
        with UnitOfWork(store)() as session:
            kept_on.append(session.get(AwardHeadroom, regular).since.day)
    assert ["🎉" in answer for answer in answers] == [False, False, False, False, True, False], answers
    assert f"🎉 您已達到「{BRONZE}」（115年度）" in answers[4]
    # worked out on the 1st (8 h to go), answered from it on the 2nd, 3rd and 4th (6, 4 and 2 h left); worked
    # out on the 5th (its 2 h are not under the 2 h left), and on the 6th (reached on the 5th's own day)
    assert kept_on == [1, 1, 1, 1, 5, 6], kept_on
