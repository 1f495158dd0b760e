"""Answers fit one phone screen on Telegram too (issue 16): 獎勵 is a compact numbered list, one award's card
is a `獎勵 N` away — in all five languages, measured by handlers/formatting.py's screen: at most 15 lines of
40 columns at a large font size (a Chinese character two columns, a Thai or Vietnamese mark none)."""

from __future__ import annotations

import json

import pytest

from handlers.formatting import SCREEN_COLUMNS, SCREEN_LINES, screen_lines
from handlers.i18n import SHIPPED, Catalogs
from tests.test_reminders import Town, local


def test_the_measure_of_a_screen():
    assert (SCREEN_LINES, SCREEN_COLUMNS) == (15, 40)
    assert screen_lines("字" * 20) == 1 and screen_lines("字" * 21) == 2
    assert screen_lines("a" * 40 + "\n" + "b") == 2
    assert screen_lines("ที่นี่") == 1 and len("ที่นี่") == 6  # marks above the letters take no column
    assert screen_lines("\n\n") == 2


@pytest.mark.parametrize("locale", SHIPPED)
async def test_awards_on_telegram_fit_one_screen_and_each_award_s_details_are_one_tap_away(harness, locale):
    harness.now = local(2026, 3, 30, 9)
    town = Town(harness)
    # A Taipei health unit: seven awards apply, the most of any unit, with long names in every language.
    unit = harness.add_unit("臺北市立聯合醫院志工隊", category="health", city="taipei")
    await town.person(unit, telegram_user=501, name="陳美玲")
    await harness.telegram_says(501, f"語言 {locale}", at=harness.now, now=harness.now)
    await harness.telegram_says(501, "簽到", at=local(2026, 3, 30, 9), now=local(2026, 3, 30, 9))
    await harness.telegram_says(501, "簽退", at=local(2026, 3, 30, 12), now=local(2026, 3, 30, 12))

    t = Catalogs().translator(locale)
    [listed] = await harness.telegram_says(501, "獎勵", at=harness.now, now=harness.now)
    assert screen_lines(listed) <= SCREEN_LINES, (locale, screen_lines(listed), listed)
    assert listed.startswith(t("Your awards") + "\n")
    numbered = [line for line in listed.splitlines() if line.split(".")[0].isdigit()]
    assert len(numbered) >= 5, listed  # compact, not cut to nothing
    assert t("awards") + " 1" in listed.splitlines()[-1]  # how to see one award's details

    # Every award, the ones the screen had no room for too, is one `獎勵 N` away, on one screen as well.
    for number in range(1, 8):
        [details] = await harness.telegram_says(
            501, f"{t('awards')} {number}", at=harness.now, now=harness.now
        )
        assert "░" in details or "✅" in details, (locale, number, details)
        assert screen_lines(details) <= SCREEN_LINES, (locale, number, details)
    markup = json.loads(harness.telegram_api.sent("/sendMessage")[-1].body["reply_markup"])
    tapped = [button["callback_data"] for row in markup["inline_keyboard"] for button in row]
    assert tapped[0] == t("awards")  # the way back to the list
