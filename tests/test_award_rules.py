"""The award rules at their edges: thresholds, anniversaries, windows, renewals, ladders — and properties."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.awards.rules import (
    AwardRule,
    CountedMinutes,
    VolunteerFacts,
    anniversary,
    applicable,
    load_rules,
    newly_reached,
    progress,
    progress_all,
)
from handlers.i18n import SHIPPED
from storage.vocabulary import CATEGORIES, CITIES

D = dt.date
RULES = load_rules()
BY_CODE = {rule.code: rule for rule in RULES}
CODES = {
    "performance-certificate", "honor-card", "taipei-contribution", "taipei-golden-diamond", "taipei-lifetime",
    "mohw-welfare-bronze", "mohw-welfare-silver", "mohw-welfare-gold",
    "national-bronze", "national-silver", "national-gold",
    "taichung-third", "taichung-second", "taichung-first",
}  # fmt: skip
PROPERTIES = settings(
    max_examples=200, deadline=None, database=None
)  # database=None: no .hypothesis/ in the repo


def hours(day: dt.date, h: float, category="general", city="taipei", kind="service") -> CountedMinutes:
    """Hours entered by hand (a record book's balance, a correction): they count whatever the training dates."""
    return CountedMinutes(day, round(h * 60), category, city, kind)


def chat(day: dt.date, h: float, category="general", city="taipei") -> CountedMinutes:
    """Hours the bot recorded at a check-out."""
    return CountedMinutes(day, round(h * 60), category, city, from_chat=True)


def ready(**changes) -> VolunteerFacts:
    """A volunteer with every paper in order, trained on 1 March 2025, serving in a Taipei unit of general service."""
    facts = {
        "basic_training_on": D(2025, 1, 10),
        "special_trainings": {"general": D(2025, 3, 1)},
        "categories": frozenset({"general"}),
        "record_book_no": "A-001",
        "record_book_on": D(2025, 4, 1),
        "english_name": "CHEN, MEI-LING",
        "cities": frozenset({"taipei"}),
    }
    return VolunteerFacts(**(facts | changes))


def shown(facts, as_of):
    return {p.code: p for p in progress_all(RULES, facts, as_of)}


# ---- the table --------------------------------------------------------------------------------------


def test_the_shipped_table_loads_with_every_award_of_domain_md():
    assert {rule.code for rule in RULES} == CODES
    for rule in RULES:
        assert {locale for locale, _ in rule.names} >= set(SHIPPED), rule.code
        assert {locale for locale, _ in rule.how_to_apply} >= set(SHIPPED), rule.code
    assert BY_CODE["national-gold"].count_until == (5, 31)
    assert {rule.code: rule.min_age for rule in RULES if rule.min_age} == {"taipei-lifetime": 65}
    assert BY_CODE["mohw-welfare-bronze"].categories == {"health", "social-welfare"}
    assert BY_CODE["national-bronze"].satisfied_by == (
        ("performance_certificate", "performance-certificate"),
    )


GOOD_ROW = """
[[award]]
code = "x"
ladder = "x"
rank = 1
name.zh_TW = "某獎"
name.en = "Some award"
how_to_apply.zh_TW = "向單位申請。"
how_to_apply.en = "Ask your unit."
hours = 10
"""


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("hours_ = 3", "hours_"),
        ('categories = ["social_welfare"]', "categories"),
        ("cities = []", "cities"),
        ('count_until = "5/31"', "count_until"),
        ('count_until = "02-30"', "count_until"),
        ('requires = ["passport"]', "requires"),
        ('deadlines = [{ month = 13, day = 1, who = "unit" }]', "deadlines"),
        ('deadlines = [{ month = 3, day = 31, who = "mayor" }]', "deadlines"),
        ("once = true\nrenewal = { years = 3, hours = 300 }", "renewal"),
        ("years = -1", "years"),
        ('years = "3"', "years"),
        ("min_age = -65", "min_age"),
        ("min_age = 65.5", "min_age"),
        ("min_age = true", "min_age"),
    ],
)
def test_a_bad_row_names_the_award_and_the_field(tmp_path, extra, field):
    path = tmp_path / "awards.toml"
    path.write_text(GOOD_ROW + extra + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"award x: field '{field}") as error:
        load_rules(path)
    assert "x" in str(error.value)


def test_a_bad_file_fails_whole(tmp_path):
    path = tmp_path / "awards.toml"
    for text, message in [
        (GOOD_ROW.replace("hours = 10", "hours = -10"), "award x: field 'hours'"),
        (GOOD_ROW.replace('name.en = "Some award"\n', ""), "award x: field 'name.en'"),
        (GOOD_ROW + GOOD_ROW, "award x: field 'code': used twice"),
        (GOOD_ROW.replace('code = "x"\n', ""), "award #1: field 'code'"),
        (GOOD_ROW.replace("rank = 1\n", ""), "award x: field 'rank'"),
        ("[[award]\n", "not valid TOML"),
        ("title = 1\n", "expected"),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_rules(path)
    path.write_text(GOOD_ROW, encoding="utf-8")
    assert [rule.code for rule in load_rules(path)] == ["x"]


def test_a_volunteer_sees_the_awards_of_their_cities_and_the_national_ones_everywhere():
    taipei = {rule.code for rule in applicable(RULES, {"taipei"})}
    taichung = {rule.code for rule in applicable(RULES, {"taichung"})}
    elsewhere = {rule.code for rule in applicable(RULES, {"other"})}
    everywhere = {c for c in CODES if c.startswith(("national-", "mohw-"))} | {
        "performance-certificate",
        "honor-card",
    }
    assert taipei == everywhere | {"taipei-contribution", "taipei-golden-diamond", "taipei-lifetime"}
    assert taichung == everywhere | {"taichung-third", "taichung-second", "taichung-first"}
    assert elsewhere == everywhere
    assert {rule.code for rule in applicable(RULES, {"taipei", "taichung"})} == CODES


# ---- thresholds and dates ---------------------------------------------------------------------------


def test_exactly_150_hours_and_exactly_one_year_reach_the_certificate():
    rule = BY_CODE["performance-certificate"]
    facts = ready(records=(hours(D(2025, 6, 1), 100.0), hours(D(2025, 9, 1), 50.0)))
    on_the_day = progress(rule, facts, D(2026, 3, 1))
    assert on_the_day.counted_minutes == 150 * 60
    assert on_the_day.reached and on_the_day.eligible and on_the_day.minutes_needed == 0
    assert on_the_day.years_met_on == D(2026, 3, 1)  # the later training, 1 March 2025, plus one year
    day_before = progress(rule, facts, D(2026, 2, 28))
    assert not day_before.reached and day_before.minutes_needed == 0 and day_before.years_fraction < 1
    one_minute_short = progress(rule, ready(records=(hours(D(2025, 6, 1), 150.0 - 1 / 60),)), D(2026, 3, 1))
    assert not one_minute_short.reached and one_minute_short.minutes_needed == 1


def test_a_29_february_training_completes_its_years_on_28_february():
    assert anniversary(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert anniversary(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert anniversary(D(2025, 3, 1), 1) == D(2026, 3, 1)
    facts = ready(
        basic_training_on=D(2024, 1, 20),
        special_trainings={"general": D(2024, 2, 29)},
        record_book_on=D(2024, 3, 10),
        records=(hours(D(2024, 5, 1), 400),),
    )
    assert progress(BY_CODE["performance-certificate"], facts, D(2025, 2, 28)).reached
    assert not progress(BY_CODE["performance-certificate"], facts, D(2025, 2, 27)).reached
    assert progress(BY_CODE["honor-card"], facts, D(2026, 1, 1)).years_met_on == D(2027, 2, 28)


def test_seniority_falls_back_from_both_trainings_to_the_record_book_the_roster_and_the_balance():
    rule = BY_CODE["performance-certificate"]
    on = D(2030, 1, 1)
    assert progress(rule, ready(), on).years_met_on == D(2026, 3, 1)
    assert progress(rule, ready(special_trainings={}), on).years_met_on == D(2026, 4, 1)  # the book
    roster = VolunteerFacts(trained_on=D(2020, 5, 5))
    assert progress(rule, roster, on).years_met_on == D(2021, 5, 5)
    assert "basic_training" not in progress(rule, roster, on).missing  # the roster vouches for both
    balance = VolunteerFacts(first_service_on=D(2010, 1, 1))
    assert progress(rule, balance, on).years_met_on == D(2011, 1, 1)
    unknown = progress(rule, VolunteerFacts(records=(hours(D(2025, 1, 1), 500),)), on)
    assert unknown.years_met_on is None and not unknown.reached and unknown.years_fraction == 0
    assert unknown.missing == ("record_book", "basic_training", "special_training")


def test_hours_either_side_of_new_year_count_in_their_own_year():
    records = (hours(D(2025, 12, 31), 0.5), hours(D(2026, 1, 1), 0.5))
    facts = ready(records=records)
    assert progress(BY_CODE["performance-certificate"], facts, D(2025, 12, 31)).counted_minutes == 30
    assert progress(BY_CODE["performance-certificate"], facts, D(2026, 1, 1)).counted_minutes == 60
    # Both fall in the national window that closes on 31 May 2026.
    assert progress(BY_CODE["national-bronze"], facts, D(2026, 5, 31)).counted_minutes == 60


def test_the_national_window_closes_on_31_may():
    bronze = BY_CODE["national-bronze"]
    by_may = ready(
        grants={"performance-certificate": (D(2025, 1, 1),)}, records=(hours(D(2026, 5, 31), 3000),)
    )
    for day in (D(2026, 5, 31), D(2026, 6, 10), D(2026, 6, 30)):
        p = progress(bronze, by_may, day)
        assert p.eligible and p.counted_until == D(2026, 5, 31) and p.next_deadline == D(2026, 6, 30), day
    after_june = progress(bronze, by_may, D(2026, 7, 1))
    assert after_june.reached and after_june.next_deadline == D(2027, 6, 30)  # this year's date has passed

    in_june = ready(records=(hours(D(2026, 5, 31), 2990), hours(D(2026, 6, 1), 10)))
    p = progress(bronze, in_june, D(2026, 6, 10))
    # Not this year's medal (2990 h by 31 May); the 1 June hours already count for next year's.
    assert p.reached and p.counted_minutes == 3000 * 60 and p.counted_until == D(2026, 6, 10)
    assert p.next_deadline == D(2027, 6, 30)
    early = progress(bronze, in_june, D(2026, 5, 31))
    assert not early.reached and early.minutes_needed == 10 * 60 and early.next_deadline == D(2026, 6, 30)


def test_hours_of_two_units_add_up_for_national_and_mohw_awards():
    records = (
        hours(D(2024, 1, 1), 1600, "social-welfare", "taipei"),
        hours(D(2024, 1, 1), 1500, "health", "taichung"),
    )
    facts = ready(cities=frozenset({"taipei", "taichung"}), records=records)
    p = shown(facts, D(2025, 1, 1))
    assert p["national-bronze"].reached and p["national-bronze"].counted_minutes == 3100 * 60
    assert p["mohw-welfare-gold"].reached
    assert p["taipei-contribution"].counted_minutes == 1600 * 60  # a Taipei award counts Taipei units
    assert p["taichung-third"].counted_minutes == 3100 * 60  # Taichung's table sets no city limit


def test_training_and_meeting_hours_never_count():
    records = (
        hours(D(2025, 6, 1), 100),
        hours(D(2025, 6, 2), 80, kind="training"),
        hours(D(2025, 6, 3), 80, kind="meeting"),
    )
    p = progress(BY_CODE["performance-certificate"], ready(records=records), D(2026, 6, 1))
    assert p.counted_minutes == 100 * 60 and not p.reached and p.minutes_needed == 50 * 60


def test_mohw_awards_count_only_health_and_social_welfare_hours():
    # Outside Taipei: Taipei's round also counts 綜合類 general units (domain.md, Taipei 115 MOHW notice),
    # see tests/test_award_windows.py.
    records = (
        hours(D(2024, 1, 1), 1000, "health", "taichung"),
        hours(D(2024, 1, 1), 400, "social-welfare", "taichung"),
        hours(D(2024, 1, 1), 900, "education", "taichung"),
        hours(D(2024, 1, 1), 900, "general", "taichung"),
    )
    facts = ready(records=records, cities=frozenset({"taichung"}))
    p = progress(BY_CODE["mohw-welfare-bronze"], facts, D(2025, 1, 1))
    assert p.counted_minutes == 1400 * 60 and p.minutes_needed == 100 * 60 and not p.reached
    assert progress(BY_CODE["national-bronze"], ready(records=records), D(2025, 1, 1)).reached


def test_the_volunteer_is_told_the_deadline_of_their_city():
    mohw = BY_CODE["mohw-welfare-bronze"]
    # Reached by 31 December 2025, the MOHW round of 2026 (domain.md, corrected): its deadline.
    enough = ready(records=(hours(D(2025, 1, 1), 1500, "health"),))
    assert progress(mohw, enough, D(2026, 3, 1)).next_deadline == D(2026, 3, 25)  # Taipei: to the unit
    assert progress(mohw, replace(enough, cities=frozenset({"taichung"})), D(2026, 3, 1)).next_deadline == D(
        2026, 3, 31
    )
    assert progress(mohw, enough, D(2026, 3, 26)).next_deadline == D(2027, 3, 25)
    assert progress(mohw, ready(), D(2026, 3, 1)).next_deadline == D(2027, 3, 25)  # not this round: the next
    assert progress(BY_CODE["honor-card"], ready(), D(2026, 3, 1)).next_deadline is None
    assert progress(BY_CODE["taipei-golden-diamond"], ready(), D(2026, 7, 15)).next_deadline == D(2026, 7, 15)


def test_golden_diamond_counts_years_in_taipei():
    records = (hours(D(2019, 1, 1), 500, city="taichung"), hours(D(2024, 5, 1), 600, city="taipei"))
    facts = ready(
        basic_training_on=D(2018, 1, 1), special_trainings={"general": D(2018, 2, 1)}, records=records
    )
    p = progress(BY_CODE["taipei-golden-diamond"], facts, D(2027, 4, 30))
    assert p.years_met_on == D(2027, 5, 1) and not p.reached and p.minutes_needed == 0
    assert progress(BY_CODE["taipei-golden-diamond"], facts, D(2027, 5, 1)).eligible


# ---- hours before training, special training per category, age --------------------------------------


def test_hours_recorded_in_chat_count_from_the_day_both_trainings_are_done():
    """Trained on 1 March 2025 (the later training): a check-out the day before does not count, one on the day
    does; hours entered by hand (a record book's balance) count whenever they were served."""
    records = (
        chat(D(2025, 2, 28), 100),
        chat(D(2025, 3, 1), 60),
        hours(D(2024, 6, 1), 90),
    )
    p = progress(BY_CODE["performance-certificate"], ready(records=records), D(2026, 3, 1))
    assert p.counted_minutes == 150 * 60 and p.eligible
    earlier = progress(BY_CODE["performance-certificate"], ready(records=records[:2]), D(2026, 3, 1))
    assert earlier.counted_minutes == 60 * 60 and not earlier.reached and earlier.minutes_needed == 90 * 60


def test_without_training_dates_chat_hours_count_from_the_record_book_or_the_roster_or_always():
    records = (chat(D(2025, 3, 31), 100), chat(D(2025, 4, 1), 100))
    certificate = BY_CODE["performance-certificate"]
    on = D(2027, 1, 1)
    book = VolunteerFacts(record_book_on=D(2025, 4, 1), records=records)
    assert progress(certificate, book, on).counted_minutes == 100 * 60
    roster = VolunteerFacts(trained_on=D(2025, 4, 1), records=records)
    assert progress(certificate, roster, on).counted_minutes == 100 * 60
    # Basic training known, the special one not: the record book's date still decides.
    half = VolunteerFacts(basic_training_on=D(2024, 1, 1), record_book_on=D(2025, 4, 1), records=records)
    assert progress(certificate, half, on).counted_minutes == 100 * 60
    unknown = progress(certificate, VolunteerFacts(records=records), on)
    assert unknown.counted_minutes == 200 * 60  # nothing known: every hour counts ...
    assert (
        "basic_training" in unknown.missing and not unknown.reached
    )  # ... and the training shows as missing


def test_serving_in_a_new_category_counts_after_its_own_special_training():
    """A culture volunteer since 2020 also serves at a hospital from 2025; their health special training is
    on 1 June 2025. Health hours recorded in chat before it do not count; culture hours and hand-entered health
    hours do; seniority still runs from the first special training."""
    facts = ready(
        basic_training_on=D(2020, 1, 1),
        special_trainings={"culture": D(2020, 2, 1), "health": D(2025, 6, 1)},
        categories=frozenset({"culture", "health"}),
        records=(
            chat(D(2025, 3, 1), 500, "health"),
            chat(D(2025, 6, 1), 1000, "health"),
            hours(D(2025, 1, 1), 200, "health"),
            chat(D(2021, 1, 1), 300, "culture"),
        ),
    )
    on = D(2026, 1, 1)
    welfare = progress(BY_CODE["mohw-welfare-bronze"], facts, on)  # health and social-welfare hours only
    assert welfare.counted_minutes == 1200 * 60 and not welfare.reached and welfare.minutes_needed == 300 * 60
    assert progress(BY_CODE["national-bronze"], facts, on).counted_minutes == 1500 * 60
    assert progress(BY_CODE["honor-card"], facts, on).years_met_on == D(
        2023, 2, 1
    )  # from the culture training
    # A special training recorded without a category counts for every category. (MOHW also asks for a
    # performance certificate: domain.md, corrected.)
    any_category = replace(
        facts,
        special_trainings={None: D(2020, 2, 1)},
        grants={"performance-certificate": (D(2025, 1, 1),)},
    )
    assert progress(BY_CODE["mohw-welfare-bronze"], any_category, on).eligible


def test_the_special_training_requirement_is_that_of_a_unit_of_the_volunteer():
    culture_only = ready(special_trainings={"culture": D(2025, 3, 1)}, categories=frozenset({"health"}))
    p = progress(
        BY_CODE["performance-certificate"],
        replace(culture_only, record_book_no=None, record_book_on=None),
        D(2027, 1, 1),
    )
    assert p.missing == ("record_book", "special_training")
    assert p.years_met_on is None  # no seniority start either


def lifetime_candidate(**changes) -> VolunteerFacts:
    """Trained in 2018, 700 hours in Taipei on 1 May 2020: the age and the service after it decide the Taipei
    lifetime award."""
    base = ready(
        basic_training_on=D(2018, 1, 1),
        special_trainings={"general": D(2018, 2, 1)},
        records=(hours(D(2020, 5, 1), 700),),
    )
    return replace(base, **changes)


def test_the_lifetime_award_counts_five_years_from_the_first_service_after_65():
    """Corrected (domain.md; Taipei 113 notice): five years from the first service hour after turning 65,
    not from the training; the old test had 700 h at 61 reach it on the 65th birthday."""
    lifetime = BY_CODE["taipei-lifetime"]
    facts = lifetime_candidate(birth_date=D(1955, 3, 1))  # 65 on 1 March 2020, serves on 1 May 2020
    day_before = progress(lifetime, facts, D(2025, 4, 30))
    assert not day_before.reached and day_before.minutes_needed == 0 and day_before.missing == ()
    assert day_before.years_met_on == D(2025, 5, 1) and day_before.age_met_on == D(2020, 3, 1)
    on_the_day = progress(lifetime, facts, D(2025, 5, 1))
    assert on_the_day.eligible and on_the_day.next_deadline == D(2025, 8, 15)  # the unit nominates by 15 Aug
    assert on_the_day.round_year == 2025 and on_the_day.cut_off == D(2025, 6, 30)
    assert progress(lifetime, facts, D(2025, 8, 16)).next_deadline == D(2026, 8, 15)
    # Old enough but 599 hours, or in Taichung: not reached.
    short = replace(facts, records=(hours(D(2020, 5, 1), 599),))
    assert not progress(lifetime, short, D(2026, 9, 1)).reached
    taichung = replace(facts, records=(hours(D(2020, 5, 1), 700, city="taichung"),))
    assert progress(lifetime, taichung, D(2026, 9, 1)).counted_minutes == 0


def test_the_lifetime_award_years_are_complete_by_30_june():
    lifetime = BY_CODE["taipei-lifetime"]
    facts = lifetime_candidate(birth_date=D(1955, 3, 1), records=(hours(D(2020, 7, 1), 700),))
    june = progress(lifetime, facts, D(2025, 6, 30))  # five years on 1 July 2025: after the 30 June cut-off
    assert not june.reached and june.round_year == 2025
    august = progress(lifetime, facts, D(2025, 8, 1))  # the 2025 round is still open (to 15 August) ...
    assert august.reached and august.round_year == 2026 and not august.this_round and not august.eligible
    assert august.next_deadline == D(2026, 8, 15)  # ... but the volunteer counts for the 2026 round


def test_a_29_february_birthday_turns_65_on_28_february_of_a_common_year():
    lifetime = BY_CODE["taipei-lifetime"]
    facts = lifetime_candidate(birth_date=D(1960, 2, 29), records=(hours(D(2025, 2, 28), 700),))
    assert progress(lifetime, facts, D(2025, 2, 27)).age_met_on == D(2025, 2, 28)
    assert not progress(lifetime, facts, D(2025, 2, 27)).reached
    # Served on the birthday itself: the five years run from that day.
    assert progress(lifetime, facts, D(2025, 2, 28)).years_met_on == D(2030, 2, 28)


def test_an_unknown_birth_date_is_missing_and_the_age_award_not_reached():
    lifetime = BY_CODE["taipei-lifetime"]
    p = progress(lifetime, lifetime_candidate(), D(2030, 1, 1))
    assert not p.reached and not p.eligible and p.missing == ("birth_date",) and p.age_met_on is None
    assert p.minutes_needed == 0  # the hours and years are there: only the birth date is in the way
    # Other awards never ask for it.
    assert progress(BY_CODE["taipei-golden-diamond"], lifetime_candidate(), D(2030, 1, 1)).eligible


def test_the_lifetime_award_is_given_once_and_only_shown_in_taipei():
    granted = lifetime_candidate(birth_date=D(1950, 1, 1), grants={"taipei-lifetime": (D(2024, 8, 1),)})
    p = progress(BY_CODE["taipei-lifetime"], granted, D(2026, 1, 1))
    assert p.granted_on == D(2024, 8, 1) and not p.eligible and p.next_deadline is None
    taichung = replace(lifetime_candidate(birth_date=D(1950, 1, 1)), cities=frozenset({"taichung"}))
    assert "taipei-lifetime" not in {x.code for x in progress_all(RULES, taichung, D(2026, 1, 1))}


# ---- requirements, grants, renewals -----------------------------------------------------------------


def test_a_national_medal_lists_the_certificate_and_the_english_name_until_they_are_there():
    bronze = BY_CODE["national-bronze"]
    facts = ready(english_name=None, records=(hours(D(2025, 6, 1), 3000),))
    p = progress(bronze, facts, D(2026, 1, 1))
    assert p.reached and not p.eligible
    assert p.missing == ("performance_certificate", "english_name")
    assert progress(bronze, ready(english_name="  ", records=facts.records), D(2026, 1, 1)).missing == (
        "performance_certificate",
        "english_name",
    )
    certified = ready(
        english_name="CHEN", grants={"performance-certificate": (D(2025, 12, 1),)}, records=facts.records
    )
    assert progress(bronze, certified, D(2026, 1, 1)).eligible
    assert progress(bronze, certified, D(2026, 1, 1)).missing == ()
    # A city award does not ask for either.
    assert progress(BY_CODE["taipei-contribution"], facts, D(2026, 1, 1)).eligible


def test_national_tiers_are_given_once_each_and_the_next_tier_follows():
    records = (hours(D(2020, 1, 1), 3500),)
    granted = ready(grants={"national-bronze": (D(2024, 8, 31),)}, records=records)
    p = progress_all(RULES, granted, D(2026, 1, 1))
    national = [x for x in p if x.ladder == "national"]
    assert [x.code for x in national] == ["national-bronze", "national-silver"]
    assert national[0].granted_on == D(2024, 8, 31) and national[0].reached and not national[0].eligible
    assert national[0].next_deadline is None and national[0].missing == ()
    assert not national[1].reached and national[1].minutes_needed == 1500 * 60

    none_yet = [x for x in progress_all(RULES, ready(records=(hours(D(2020, 1, 1), 5500),)), D(2026, 1, 1))]
    assert [x.code for x in none_yet if x.ladder == "national"] == [
        "national-bronze",
        "national-silver",
        "national-gold",
    ]
    # Taipei's MOHW round counts the general unit's hours too (domain.md, corrected): all three tiers reached.
    assert [x.code for x in none_yet if x.ladder == "mohw-welfare"] == [
        "mohw-welfare-bronze",
        "mohw-welfare-silver",
        "mohw-welfare-gold",
    ]
    beginner = progress_all(RULES, ready(), D(2026, 1, 1))
    assert [x.code for x in beginner if x.ladder == "national"] == ["national-bronze"]
    assert [x.code for x in beginner][:2] == ["performance-certificate", "honor-card"]  # the table's order
    all_granted = ready(
        grants={c: (D(2025, 1, 1),) for c in ("national-bronze", "national-silver", "national-gold")}
    )
    assert [x.code for x in progress_all(RULES, all_granted, D(2026, 1, 1)) if x.ladder == "national"] == [
        "national-bronze",
        "national-silver",
        "national-gold",
    ]


def test_an_award_granted_in_a_former_city_still_shows():
    moved = ready(cities=frozenset({"taichung"}), grants={"taipei-contribution": (D(2020, 5, 1),)})
    codes = [p.code for p in progress_all(RULES, moved, D(2026, 1, 1))]
    assert "taipei-contribution" in codes and "taipei-golden-diamond" not in codes


def test_an_honor_card_renewal_needs_new_years_and_new_hours():
    card = BY_CODE["honor-card"]
    before_grant = (
        hours(D(2021, 1, 1), 2000),
        hours(D(2023, 3, 1), 10),
    )  # the grant day's hours count once, before
    facts = ready(
        basic_training_on=D(2019, 1, 1),
        special_trainings={"general": D(2019, 2, 1)},
        grants={"honor-card": (D(2020, 2, 1), D(2023, 3, 1))},
        records=(*before_grant, hours(D(2023, 3, 2), 299)),
    )
    p = progress(card, facts, D(2026, 3, 1))
    assert p.renewal and p.granted_on == D(2023, 3, 1) and p.valid_until == D(2026, 3, 1)
    assert p.counted_minutes == 299 * 60 and p.minutes_needed == 60 and not p.reached
    assert p.years_met_on == D(2026, 3, 1)
    more = VolunteerFacts(**{**facts.__dict__, "records": (*facts.records, hours(D(2025, 1, 1), 1))})
    assert progress(card, more, D(2026, 3, 1)).eligible
    assert not progress(card, more, D(2026, 2, 28)).reached  # 300 new hours, but not 3 new years yet


def test_a_first_honor_card_counts_every_hour():
    p = progress(BY_CODE["honor-card"], ready(records=(hours(D(2025, 5, 1), 300),)), D(2028, 3, 1))
    assert p.eligible and not p.renewal and p.valid_until is None and p.years_met_on == D(2028, 3, 1)


def test_newly_reached_names_the_milestones_of_a_check_out():
    before_records = (hours(D(2025, 6, 1), 149),)
    before = progress_all(RULES, ready(records=before_records), D(2026, 6, 1))
    after = progress_all(RULES, ready(records=(*before_records, hours(D(2026, 6, 1), 2))), D(2026, 6, 1))
    assert newly_reached(before, after) == ["performance-certificate"]
    assert newly_reached(after, after) == []


def test_a_handmade_rule_without_the_table_works_too():
    rule = AwardRule(code="tea", ladder="tea", rank=1, names=(("zh_TW", "茶"),), hours=1)
    p = progress(rule, VolunteerFacts(records=(hours(D(2026, 1, 1), 1),)), D(2026, 1, 1))
    assert p.eligible and p.name("en") == "茶" and p.years_needed == 0 and p.years_met_on is None


# ---- properties -------------------------------------------------------------------------------------

# Service mostly before the day asked about, in amounts that reach the thresholds often enough to matter.
days = st.dates(min_value=D(2015, 1, 1), max_value=D(2027, 12, 31))
as_of_days = st.dates(min_value=D(2022, 1, 1), max_value=D(2031, 12, 31))
maybe_day = st.none() | days
records = st.builds(
    CountedMinutes,
    service_date=days,
    minutes=st.integers(0, 600) | st.integers(9_000, 500_000),  # a session, or a balance brought in
    category=st.sampled_from(CATEGORIES),
    city=st.sampled_from(CITIES),
    kind=st.sampled_from(("service", "service", "training", "meeting")),
    from_chat=st.booleans(),
)
facts_strategy = st.builds(
    VolunteerFacts,
    basic_training_on=maybe_day,
    special_trainings=st.dictionaries(st.sampled_from((None, *CATEGORIES)), days, max_size=3),
    categories=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
    birth_date=st.none() | st.dates(min_value=D(1940, 1, 1), max_value=D(1975, 12, 31)),  # 65 in 2005–2040
    record_book_no=st.sampled_from((None, "", "A-1")),
    record_book_on=maybe_day,
    trained_on=maybe_day,
    first_service_on=maybe_day,
    english_name=st.sampled_from((None, "", "LIN")),
    cities=st.frozensets(st.sampled_from(CITIES), max_size=3),
    grants=st.dictionaries(
        st.sampled_from(sorted(CODES)), st.lists(days, min_size=1, max_size=2).map(tuple), max_size=3
    ),
    records=st.lists(records, max_size=12).map(tuple),
)
rules = st.sampled_from(RULES)


def at_least_as_good(better, worse):
    return (better.reached or not worse.reached) and (better.eligible or not worse.eligible)


@PROPERTIES
@given(rule=rules, facts=facts_strategy, extra=records, as_of=as_of_days)
def test_more_hours_never_make_a_volunteer_less_eligible(rule, facts, extra, as_of):
    more = VolunteerFacts(**{**facts.__dict__, "records": (*facts.records, extra)})
    assert at_least_as_good(progress(rule, more, as_of), progress(rule, facts, as_of))


@PROPERTIES
@given(rule=rules, facts=facts_strategy, as_of=as_of_days, later=st.integers(0, 3 * 366))
def test_more_days_never_make_a_volunteer_less_eligible(rule, facts, as_of, later):
    assert at_least_as_good(
        progress(rule, facts, as_of + dt.timedelta(days=later)), progress(rule, facts, as_of)
    )


def trained_for(facts: VolunteerFacts, category: str) -> dt.date | None:
    """domain.md, written out again: both trainings, the category's own special one (or one without a
    category); else the record book's date, else the roster's."""
    specials = [day for c, day in facts.special_trainings.items() if c is None or c == category]
    if facts.basic_training_on and specials:
        return max(facts.basic_training_on, min(specials))
    if not specials and facts.special_trainings:
        return dt.date.max  # trained for another category only: a new category counts after its own training
    return facts.record_book_on or facts.trained_on


@PROPERTIES
@given(rule=rules, facts=facts_strategy, as_of=as_of_days)
def test_the_hours_shown_are_the_sum_of_the_counted_records(rule, facts, as_of):
    p = progress(rule, facts, as_of)
    categories = rule.categories
    if categories is not None:  # Taipei's MOHW round also counts general units (domain.md)
        categories = categories.union(*(c for city, c in rule.city_categories if city in facts.cities))
    expected = sum(
        r.minutes
        for r in facts.records
        if r.kind == "service"
        and r.service_date <= p.counted_until
        and (categories is None or r.category in categories)
        and (rule.count_cities is None or r.city in rule.count_cities)
        and (not p.renewal or r.service_date > p.granted_on)
        and (
            not r.from_chat
            or trained_for(facts, r.category) is None
            or r.service_date >= trained_for(facts, r.category)
        )
    )
    assert p.counted_minutes == expected
    window = {as_of} | {
        D(year + rule.count_until_year, *rule.count_until)
        for year in (as_of.year, as_of.year + 1)
        if rule.count_until is not None
    }
    assert p.counted_until in window and p.counted_until <= as_of
    assert 0 <= p.hours_fraction <= 1 and 0 <= p.years_fraction <= 1
    years_short = p.years_needed > 0 and (p.years_met_on is None or p.years_met_on > p.counted_until)
    age_short = p.age_needed > 0 and (p.age_met_on is None or p.age_met_on > p.counted_until)
    if not (rule.once and p.granted_on is not None):  # a tier given once just shows as granted
        assert p.reached == (p.minutes_needed == 0 and not years_short and not age_short)
        assert ("birth_date" in p.missing) == (rule.min_age > 0 and facts.birth_date is None)
    if p.eligible:
        assert p.reached and not p.missing


@PROPERTIES
@given(facts=facts_strategy, as_of=as_of_days)
def test_every_award_shown_is_one_the_volunteer_can_see_in_ladder_order(facts, as_of):
    seen = {rule.code for rule in applicable(RULES, facts.cities)} | set(facts.grants)
    listed = progress_all(RULES, facts, as_of)
    assert {p.code for p in listed} <= seen
    order = [r.ladder for r in RULES]
    keys = [(order.index(p.ladder), p.rank) for p in listed]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    if not facts.grants:
        assert set(newly_reached([], listed)) == {p.code for p in listed if p.reached}
