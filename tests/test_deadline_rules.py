"""The coordinators' calendar as data, and which alerts are due on a day (handlers/deadlines.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.awards.deadlines import (
    Alert,
    alerts_due,
    alerts_due_all,
    applies_to,
    load_deadlines,
    occurrence_on_or_after,
    opens_on,
    parse_deadlines,
    read_deadline_rows,
    report_period,
    unit_deadline,
)
from handlers.awards.rules import load_rules

D = dt.date
AWARD_CODES = {rule.code for rule in load_rules()}
SHIPPED = {rule.code: rule for rule in load_deadlines()}


def rule_from(**fields):
    """One row like the shipped ones, with `fields` changed (None removes a field)."""
    row = {
        "code": "test",
        "title": {"zh_TW": "測試", "en": "Test"},
        "what_to_do": {"zh_TW": "做事。", "en": "Do it."},
        "month": 7,
        "day": 10,
    } | fields
    return parse_deadlines([{k: v for k, v in row.items() if v is not None}], AWARD_CODES)[0]


def alert_days(rule, first: dt.date, last: dt.date, done=frozenset()):
    """Each day from first to last on which the rule alerts, with the alerts: a daily job's view."""
    found = {}
    day = first
    while day <= last:
        if alerts := alerts_due(rule, day, done):
            found[day] = alerts
        day += dt.timedelta(days=1)
    return found


# ---- the shipped calendar ---------------------------------------------------------------------------

# domain.md, "The coordinators' calendar": code → (month, day) of the last day, or "monthly", and cities.
DOMAIN_CALENDAR = {
    "half-year-report-h2": ((1, 10), {"taipei"}),
    "half-year-report-h1": ((7, 10), {"taipei"}),
    "yearly-report": ((2, 29), None),
    "mohw-welfare-awards": ((3, 31), None),
    "taipei-contribution": ((5, 31), {"taipei"}),
    "national-awards-volunteers": ((6, 30), None),
    "national-awards-unit": ((7, 31), None),
    "taipei-golden-diamond": ((7, 15), {"taipei"}),
    "taipei-lifetime": ((8, 15), {"taipei"}),
    "yearly-assessment": ((12, 20), None),
    "accident-insurance": ("monthly", None),
    # "after each half-year (Taichung)": the seeds give no day, the calendar data sets one (10 January, 10 July)
    "taichung-manpower-report": ((1, 7), {"taichung"}),
    "taichung-senior-report": ((1, 7), {"taichung"}),
}


def test_the_shipped_calendar_has_every_row_of_domain_md():
    assert set(SHIPPED) == set(DOMAIN_CALENDAR)
    for code, (when, cities) in DOMAIN_CALENDAR.items():
        rule = SHIPPED[code]
        if when == "monthly":
            assert (rule.every, rule.day, rule.months) == ("month", 1, None), code
        elif code.startswith("taichung-"):
            assert (rule.every, rule.day, rule.months) == ("month", 10, frozenset(when)), code
        else:
            assert (rule.every, (rule.month, rule.day)) == ("year", when), code
        assert rule.cities == (frozenset(cities) if cities else None), code
        assert rule.title("zh_TW") != rule.title("en"), code
        assert rule.what_to_do("zh_TW") and rule.what_to_do("en"), code


def test_the_shipped_material_names_the_right_awards_and_reports():
    assert SHIPPED["national-awards-unit"].awards == ("national-bronze", "national-silver", "national-gold")
    assert SHIPPED["mohw-welfare-awards"].awards == (
        "mohw-welfare-bronze",
        "mohw-welfare-silver",
        "mohw-welfare-gold",
    )
    assert SHIPPED["taipei-golden-diamond"].awards == ("taipei-golden-diamond",)
    assert SHIPPED["half-year-report-h1"].report == SHIPPED["half-year-report-h2"].report == "half-year"
    assert SHIPPED["yearly-report"].report == "year"
    assert opens_on(SHIPPED["half-year-report-h1"], D(2026, 7, 10)) == D(2026, 7, 1)
    assert opens_on(SHIPPED["yearly-report"], D(2026, 2, 28)) == D(2026, 1, 1)
    assert opens_on(SHIPPED["taipei-contribution"], D(2026, 5, 31)) is None


def test_the_shipped_calendar_needs_its_award_codes():
    without = AWARD_CODES - {"taipei-golden-diamond"}
    with pytest.raises(ValueError, match="deadline taipei-golden-diamond: field 'material.awards'"):
        parse_deadlines(read_deadline_rows(), without)


# ---- strict rows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"remnd": [3]}, "remnd"),
        ({"month": 13}, "month"),
        ({"month": "7"}, "month"),
        ({"day": 32}, "day"),
        ({"month": 2, "day": 30}, "day"),
        ({"day": None}, "day"),
        ({"every": "week"}, "every"),
        ({"every": "month", "month": None, "day": 0}, "day"),
        ({"every": "month"}, "month"),  # a monthly row has no month
        ({"opens": {"month": 6, "day": 31}}, "opens"),
        ({"opens": {"month": 7}}, "opens"),
        ({"every": "month", "month": None, "opens": {"month": 7, "day": 1}}, "opens"),
        ({"cities": ["kaohsiung"]}, "cities"),
        ({"cities": []}, "cities"),
        ({"material": {"awards": ["national-platinum"]}}, "material.awards"),
        ({"material": {"report": "quarter"}}, "material.report"),
        ({"material": {"report": "year", "awards": ["national-gold"]}}, "material"),
        ({"remind": [14, -1]}, "remind"),
        ({"remind": []}, "remind"),
        ({"remind": [1.5]}, "remind"),
        ({"title": {"zh_TW": "測試"}}, "title.en"),
        ({"what_to_do": None}, "what_to_do"),
    ],
)
def test_a_bad_field_names_the_row_and_the_field(change, field):
    with pytest.raises(ValueError, match=f"^deadline test: field '{field}'"):
        rule_from(**change)


def test_a_code_used_twice_is_refused():
    row = read_deadline_rows()[0]
    with pytest.raises(ValueError, match="deadline half-year-report-h2: field 'code': used twice"):
        parse_deadlines([row, row], AWARD_CODES)


# ---- alerts -------------------------------------------------------------------------------------------


def test_alerts_come_14_3_1_and_0_days_before_and_on_no_other_day():
    rule = SHIPPED["half-year-report-h1"]
    found = alert_days(rule, D(2026, 6, 1), D(2026, 7, 31))
    assert found == {
        D(2026, 6, 26): [Alert("half-year-report-h1", D(2026, 7, 10), 14)],
        D(2026, 7, 7): [Alert("half-year-report-h1", D(2026, 7, 10), 3)],
        D(2026, 7, 9): [Alert("half-year-report-h1", D(2026, 7, 10), 1)],
        D(2026, 7, 10): [Alert("half-year-report-h1", D(2026, 7, 10), 0)],
    }
    assert all(alert.alert_on == day for day, alerts in found.items() for alert in alerts)


def test_a_custom_remind_list():
    rule = rule_from(remind=[2, 7])
    assert rule.remind == (7, 2)
    assert set(alert_days(rule, D(2026, 6, 1), D(2026, 7, 31))) == {D(2026, 7, 3), D(2026, 7, 8)}


def test_the_10_january_deadline_is_announced_in_december_of_the_year_before():
    rule = SHIPPED["half-year-report-h2"]
    assert alerts_due(rule, D(2025, 12, 27)) == [Alert("half-year-report-h2", D(2026, 1, 10), 14)]
    assert alerts_due(rule, D(2025, 12, 28)) == []


def test_a_29_february_deadline_in_leap_and_common_years():
    rule = SHIPPED["yearly-report"]
    assert occurrence_on_or_after(rule, D(2027, 1, 1)) == D(2027, 2, 28)
    assert occurrence_on_or_after(rule, D(2028, 1, 1)) == D(2028, 2, 29)
    assert occurrence_on_or_after(rule, D(2027, 3, 1)) == D(2028, 2, 29)
    assert alerts_due(rule, D(2027, 2, 14)) == [Alert("yearly-report", D(2027, 2, 28), 14)]
    assert alerts_due(rule, D(2028, 2, 15)) == [Alert("yearly-report", D(2028, 2, 29), 14)]
    assert alerts_due(rule, D(2028, 2, 28)) == [Alert("yearly-report", D(2028, 2, 29), 1)]
    assert alerts_due(rule, D(2027, 2, 28)) == [Alert("yearly-report", D(2027, 2, 28), 0)]


def test_a_monthly_deadline_on_the_31st_falls_on_the_last_day_of_short_months():
    rule = rule_from(every="month", month=None, day=31, remind=[0])
    assert occurrence_on_or_after(rule, D(2026, 4, 1)) == D(2026, 4, 30)
    assert occurrence_on_or_after(rule, D(2026, 5, 1)) == D(2026, 5, 31)
    assert occurrence_on_or_after(rule, D(2026, 12, 31)) == D(2026, 12, 31)
    found = alert_days(rule, D(2026, 1, 1), D(2028, 12, 31))
    assert len(found) == 36
    for day in found:
        assert (day + dt.timedelta(days=1)).day == 1  # the last day of every month, 28 and 29 February too
    assert D(2026, 2, 28) in found and D(2028, 2, 29) in found


def test_the_monthly_insurance_check_crosses_the_year():
    rule = SHIPPED["accident-insurance"]
    assert alerts_due(rule, D(2026, 12, 29)) == [Alert("accident-insurance", D(2027, 1, 1), 3)]
    assert alerts_due(rule, D(2027, 1, 1)) == [Alert("accident-insurance", D(2027, 1, 1), 0)]
    assert len(alert_days(rule, D(2026, 1, 1), D(2026, 12, 31))) == 24


def test_catching_up_after_downtime_gives_the_latest_missed_alert_once_and_drops_past_deadlines():
    rules = list(SHIPPED.values())
    # Down from 21 June to 8 July: 30 June passed; 10 July's 14- and 3-day reminders were missed.
    caught_up = alerts_due_all(rules, "taipei", D(2026, 7, 8), last_checked=D(2026, 6, 20))
    by_code = {alert.code: alert for alert in caught_up}
    assert by_code["half-year-report-h1"] == Alert("half-year-report-h1", D(2026, 7, 10), 3)
    assert by_code["taipei-golden-diamond"] == Alert("taipei-golden-diamond", D(2026, 7, 15), 14)
    assert "national-awards-volunteers" not in by_code  # 30 June is past
    assert "accident-insurance" not in by_code  # 1 July is past; 1 August's first reminder is 29 July
    assert len(caught_up) == len(by_code)  # one alert per deadline
    # the next day's run knows today was handled: only its own reminder
    assert alerts_due(SHIPPED["half-year-report-h1"], D(2026, 7, 9), last_checked=D(2026, 7, 8)) == [
        Alert("half-year-report-h1", D(2026, 7, 10), 1)
    ]
    assert alerts_due(SHIPPED["half-year-report-h1"], D(2026, 7, 8), last_checked=D(2026, 7, 8)) == []


def test_a_done_occurrence_stops_its_alerts_until_the_next_one():
    rule = SHIPPED["half-year-report-h1"]
    done = {D(2026, 7, 10)}
    assert alerts_due(rule, D(2026, 7, 9), done) == []
    assert alerts_due(rule, D(2026, 7, 9), done, last_checked=D(2026, 6, 1)) == []
    found = alert_days(rule, D(2026, 7, 1), D(2027, 7, 10), done)
    assert sorted(found) == [D(2027, 6, 26), D(2027, 7, 7), D(2027, 7, 9), D(2027, 7, 10)]
    monthly = SHIPPED["accident-insurance"]
    assert alerts_due(monthly, D(2026, 1, 29), {D(2026, 2, 1)}) == []
    assert alerts_due(monthly, D(2026, 2, 26), {D(2026, 2, 1)}) == [
        Alert("accident-insurance", D(2026, 3, 1), 3)
    ]


def test_a_long_notice_on_a_monthly_date_alerts_for_each_occurrence_in_reach():
    rule = rule_from(every="month", month=None, day=1, remind=[61, 0])
    # 1 March is both a deadline and 61 days before 1 May
    assert alerts_due(rule, D(2026, 3, 1)) == [
        Alert("test", D(2026, 3, 1), 0),
        Alert("test", D(2026, 5, 1), 61),
    ]
    assert alerts_due(rule, D(2026, 3, 2)) == []


# ---- report periods and cities --------------------------------------------------------------------------


def test_the_report_covers_the_period_that_just_ended():
    h1, h2, year = SHIPPED["half-year-report-h1"], SHIPPED["half-year-report-h2"], SHIPPED["yearly-report"]
    assert report_period(h1, D(2026, 7, 10)) == (D(2026, 1, 1), D(2026, 6, 30))
    assert report_period(h2, D(2026, 1, 10)) == (D(2025, 7, 1), D(2025, 12, 31))
    assert report_period(year, D(2026, 2, 28)) == (D(2025, 1, 1), D(2025, 12, 31))
    assert report_period(SHIPPED["taipei-contribution"], D(2026, 5, 31)) is None


def test_city_rows_apply_only_to_units_in_those_cities():
    assert applies_to(SHIPPED["half-year-report-h1"], "taipei")
    assert not applies_to(SHIPPED["half-year-report-h1"], "taichung")
    assert not applies_to(SHIPPED["taipei-lifetime"], "other")
    assert all(
        applies_to(SHIPPED[code], city)
        for code in ("yearly-report", "national-awards-unit")
        for city in ("taipei", "taichung", "other")
    )
    taichung = alerts_due_all(SHIPPED.values(), "taichung", D(2026, 6, 26))
    taipei = alerts_due_all(SHIPPED.values(), "taipei", D(2026, 6, 26))
    # Taichung's own half-year statistics (seed 001 §三(三)), not the Taipei platform's report
    assert [a.code for a in taichung] == ["taichung-manpower-report", "taichung-senior-report"]
    assert [a.code for a in taipei] == ["half-year-report-h1"]


def test_texts_in_a_locale_fall_back_to_english():
    rule = SHIPPED["half-year-report-h1"]
    assert rule.title("zh_TW") == "半年成果報表（1–6月）"
    assert rule.title("ja") == rule.title("en") == "Half-year results report (January–June)"
    assert "臺北市" in rule.what_to_do("zh_TW")


# ---- a unit's own deadlines -------------------------------------------------------------------------------


def test_a_units_one_off_deadline_alerts_like_the_calendar_and_occurs_once():
    meeting = unit_deadline("年底聯繫會議", D(2026, 12, 26), remind=[7, 0])
    assert meeting.title("en") == "年底聯繫會議" and meeting.what_to_do("en") == ""
    assert applies_to(meeting, "taichung")
    assert alert_days(meeting, D(2026, 1, 1), D(2028, 12, 31)) == {
        D(2026, 12, 19): [Alert("年底聯繫會議", D(2026, 12, 26), 7)],
        D(2026, 12, 26): [Alert("年底聯繫會議", D(2026, 12, 26), 0)],
    }
    assert occurrence_on_or_after(meeting, D(2026, 12, 27)) is None


def test_a_units_yearly_deadline_comes_back_every_year():
    recruiting = unit_deadline("Recruitment month", D(2024, 2, 29), yearly=True, code="unit-7", locale="en")
    assert recruiting.code == "unit-7"
    assert occurrence_on_or_after(recruiting, D(2026, 1, 1)) == D(2026, 2, 28)
    assert alerts_due(recruiting, D(2027, 2, 14)) == [Alert("unit-7", D(2027, 2, 28), 14)]


@pytest.mark.parametrize(
    ("title", "remind", "field"),
    [(" ", [1], "title"), ("會議", [-1], "remind"), ("會議", [], "remind")],
)
def test_a_bad_unit_deadline_names_the_field(title, remind, field):
    with pytest.raises(ValueError, match=f"field '{field}'"):
        unit_deadline(title, D(2026, 5, 1), remind=remind)
