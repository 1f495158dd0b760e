"""Easy for a 75-year-old: near-words and typing slips reach the right handler, every answer fits on one phone
screen, and every answer offers a next step as buttons."""

from __future__ import annotations

import pytest

from handlers.i18n import SHIPPED, Catalogs
from handlers.router import native_words, recognise
from tests.test_reminders import Town, local

# (what a person types, the intent it must reach, the argument the handler gets)
NATIVE = native_words(Catalogs())  # every language's chat words, as the router reads them

NEAR_WORDS = [
    ("簽到", "checkin", ""),
    ("簽 到", "checkin", ""),
    ("簽到了", "checkin", ""),
    ("簽到！", "checkin", ""),
    ("我要簽到", "checkin", ""),
    ("打卡", "checkin", ""),
    ("報到", "checkin", ""),
    ("我到了", "checkin", ""),
    ("checkin", "checkin", ""),
    ("check-in", "checkin", ""),
    ("Check In", "checkin", ""),
    ("CHECK  IN", "checkin", ""),
    ("ｃｈｅｃｋ ｉｎ", "checkin", ""),
    ("sign in", "checkin", ""),
    ("/checkin", "checkin", ""),
    ("/checkin@vbot_test_bot", "checkin", ""),
    ("簽到 A1B2C3", "checkin", "A1B2C3"),
    ("打卡 A1B2C3", "checkin", "A1B2C3"),
    ("簽到 Ａ１Ｂ２Ｃ３", "checkin", "A1B2C3"),
    ("簽退", "checkout", ""),
    ("簽 退", "checkout", ""),
    ("簽退了", "checkout", ""),
    ("下班", "checkout", ""),
    ("幫我簽退", "checkout", ""),
    ("check out", "checkout", ""),
    ("Check-Out", "checkout", ""),
    ("時數", "hours", ""),
    ("時數呢？", "hours", ""),
    ("我的時數", "hours", ""),
    ("Hours?", "hours", ""),
    ("獎勵", "awards", ""),
    ("我的獎勵", "awards", ""),
    ("班表", "shifts", ""),
    ("我的班表", "shifts", ""),
    ("說明", "help", ""),
    ("？", "help", ""),
    ("幫助", "help", ""),
    ("選單", "help", ""),
    ("Help", "help", ""),
    ("綁定 12345678", "link", "12345678"),
    ("綁定１２３４５６７８", "link", "12345678"),
    ("綁定 １２３４ ５６７８", "link", "1234 5678"),
    ("/start 12345678", "link", "12345678"),
    # Words that start like a near-word keep their own meaning, and free text is left as typed.
    ("請假 2026-12-01 看醫生", "leave", "2026-12-01 看醫生"),
    ("意見 廁所 沒有 衛生紙", "feedback", "廁所 沒有 衛生紙"),
    ("代簽到 12", "check-in-for", "12"),
    ("我的紀錄", "my-records", ""),
    ("報表 2026H1", "report", "2026H1"),
]


@pytest.mark.parametrize(("typed", "intent", "argument"), NEAR_WORDS)
def test_near_words_and_full_width_input_reach_the_right_handler(typed, intent, argument):
    found = recognise(typed, NATIVE)
    assert found is not None, typed
    route, rest = found
    assert (route.intent, rest) == (intent, argument)


@pytest.mark.parametrize("typed", ["signing", "打卡機壞了嗎", "簽到表在哪", "hello"])
def test_other_texts_are_not_taken_for_a_command_they_only_resemble(typed):
    found = recognise(typed, NATIVE)
    assert found is None or found[0].intent not in ("checkin", "checkout"), typed


# A 6-inch phone at a large font size shows about 20 lines of a chat bubble, each about 30 cells wide,
# where a Chinese character takes two cells and a Latin letter or a Thai one one.
SCREEN_LINES, LINE_CELLS = 20, 30


def screen_lines(text: str) -> int:
    """How many lines the text takes in a chat bubble, its own lines wrapped at the bubble's width."""
    import unicodedata

    def cells(line: str) -> int:
        return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)

    return sum(max(1, -(-cells(line) // LINE_CELLS)) for line in text.splitlines())


@pytest.mark.parametrize("locale", SHIPPED)
async def test_every_answer_fits_on_one_phone_screen_and_ends_with_buttons(harness, locale):
    harness.now = local(2026, 3, 30, 9)
    town = Town(harness)
    unit = harness.add_unit("臺北市立聯合醫院志工隊", category="health", city="taipei")
    await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    await town.person(unit, line_user="Uamy", name="陳美玲")
    start, end = local(2026, 4, 1, 9), local(2026, 4, 1, 12)
    volunteer_words = [
        "簽到",
        "簽退",
        "時數",
        "獎勵",
        "訓練",
        "班表",
        "說明",
        "我的資料",
        "我的紀錄",
        "提醒",
        "看不懂的話",
        "簽到了",
        "打卡",
    ]
    coordinator_words = ["現場", "審核", "獎勵名單", "匯出", "報表", "說明"]
    said = [("Uamy", f"語言 {locale}"), ("Uboss", f"語言 {locale}")]
    said += [("Uamy", word) for word in volunteer_words] + [("Uboss", word) for word in coordinator_words]
    before = len(harness.line_api.calls)
    for user, word in said:
        at = start if word == "簽到" else end
        await harness.line_says(user, word, at=at, now=at)
    answers = [
        call.body["messages"] for call in harness.line_api.calls[before:] if call.path.endswith("/reply")
    ]
    assert len(answers) == len(said)
    for (_user, word), messages in zip(said, answers, strict=True):
        assert messages[-1].get("quickReply", {}).get("items"), f"{word}: no next step offered"
        for message in messages:
            text = message.get("text") or message.get("altText", "")
            assert screen_lines(text) <= SCREEN_LINES, (word, screen_lines(text), text)
