"""A conversation that understands people (the conversation issue): a question about a state is answered and
changes nothing; greetings, thanks, emoji and stickers get a warm word; every button and menu label, typed
in its own language, means what tapping it means; the buttons fit the moment."""

from __future__ import annotations

import ast
import datetime as dt

import pytest
from sqlmodel import Session, select

from handlers.i18n import SHIPPED, Catalogs
from handlers.router import native_words, recognise
from storage.models import ServiceRecord
from tests.conftest import T0
from tests.test_languages import ROOT, calls_t

CATALOGS = Catalogs()
NATIVE = native_words(CATALOGS)


def records(harness) -> list[tuple]:
    with Session(harness.vbot.engine) as session:
        rows = session.exec(select(ServiceRecord).order_by(ServiceRecord.id)).all()
        return [(r.id, r.status, r.check_in, r.check_out, r.minutes) for r in rows]


async def linked(harness, user: str, language: str | None = None) -> None:
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit, name="王小明")
    await harness.line_says(user, f"綁定 {code}")
    if language:
        await harness.line_says(user, f"language {language}")


QUESTIONS = {
    "zh_TW": ["簽到了嗎", "簽退了嗎", "簽退嗎", "簽到了嗎？", "簽到呢", "有簽到嗎", "我簽退了沒"],
    "en": ["did I check in?", "am I checked in?", "Did I check out?", "check out?"],
    "vi": ["Tôi đã điểm danh chưa?", "điểm danh đến chưa", "điểm danh về chưa?"],
    "id": ["sudah absen?", "Apakah saya sudah absen masuk?", "absen pulang belum"],
    "th": ["ลงเวลาเข้าแล้วหรือยัง", "ลงเวลาออกหรือยัง", "ลงเวลาเข้าไหม"],
}
NOT_YET = {
    "zh_TW": "您今天還沒簽到",
    "en": "You have not checked in today",
    "vi": "Hôm nay bạn chưa điểm danh đến",
    "id": "Hari ini Anda belum absen masuk",
    "th": "วันนี้คุณยังไม่ได้ลงเวลาเข้า",
}
SERVING = {
    "zh_TW": "起在臺北市立圖書館服務中",
    "en": "You have been serving at 臺北市立圖書館 since",
    "vi": "Bạn đang làm tình nguyện tại 臺北市立圖書館",
    "id": "Anda bertugas di 臺北市立圖書館 sejak",
    "th": "คุณทำงานอาสาที่ 臺北市立圖書館",
}


@pytest.mark.parametrize("locale", SHIPPED)
async def test_a_question_about_checking_in_or_out_answers_the_state_and_changes_nothing(harness, locale):
    await linked(harness, "Uask", None if locale == "zh_TW" else locale)
    for question in QUESTIONS[locale]:
        before = records(harness)
        answer = await harness.line_says("Uask", question)
        assert len(answer) == 1 and NOT_YET[locale] in answer[0], (question, answer)
        assert records(harness) == before, question
        buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
        assert recognise(buttons[0]["action"]["text"], NATIVE)[0].intent == "checkin", "the button that acts"

    harness.now = T0 + dt.timedelta(minutes=5)
    await harness.line_says("Uask", "check in", at=harness.now)
    opened = records(harness)
    harness.now = T0 + dt.timedelta(hours=2)
    for question in QUESTIONS[locale]:
        answer = await harness.line_says("Uask", question, at=harness.now)
        assert len(answer) == 1 and SERVING[locale] in answer[0], (question, answer)
        assert records(harness) == opened, question
        buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
        assert recognise(buttons[0]["action"]["text"], NATIVE)[0].intent == "checkout"


async def test_an_order_with_a_code_and_a_question_mark_is_still_an_order():
    assert recognise("簽到 K7Q2MX", NATIVE)[0].intent == "checkin"
    assert recognise("意見 可以多排週末嗎？", NATIVE)[1] == "可以多排週末嗎?"


SMALL_TALK = {
    "zh_TW": ["你好", "謝謝！", "讚", "👍", "早安"],
    "en": ["hello", "Thanks!", "great", "❤️", "good morning"],
    "vi": ["Xin chào", "cảm ơn", "tuyệt", "🙏"],
    "id": ["Halo", "terima kasih", "mantap", "😊"],
    "th": ["สวัสดีค่ะ", "ขอบคุณครับ", "เยี่ยม", "👍🏽"],
}
APOLOGIES = ("抱歉", "Sorry", "Xin lỗi", "Maaf", "ขออภัย")


@pytest.mark.parametrize("locale", SHIPPED)
async def test_greetings_thanks_and_emoji_get_a_warm_answer_with_the_everyday_buttons(harness, locale):
    await linked(harness, "Ufriend", None if locale == "zh_TW" else locale)
    before = records(harness)
    for text in SMALL_TALK[locale]:
        answer = await harness.line_says("Ufriend", text)
        assert len(answer) == 1 and "王小明" in answer[0], (text, answer)
        assert not any(word in answer[0] for word in APOLOGIES), (text, answer)
        buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
        assert [recognise(b["action"]["text"], NATIVE)[0].intent for b in buttons] == [
            "checkin",
            "hours",
            "help",
        ]
    assert records(harness) == before


async def test_a_near_miss_gets_the_closest_words_as_buttons(harness):
    await linked(harness, "Umiss")
    answer = await harness.line_says("Umiss", "簽道")  # a slip of the input method
    buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
    assert "抱歉" in answer[0]
    assert "簽到" in [b["action"]["text"] for b in buttons]


def label_and_text_pairs() -> list[tuple[str, str, str]]:
    """(where, label msgid, text msgid) of every button whose label and text are both one translated word."""
    found = []
    for directory in ("handlers", "bot"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Button"):
                    continue
                if any(keyword.arg == "kind" for keyword in node.keywords):
                    continue  # a location button shares a place; it sends no words
                if len(node.args) < 2 or not all(
                    isinstance(arg, ast.Call) and calls_t(arg) and isinstance(arg.args[0], ast.Constant)
                    for arg in node.args[:2]
                ):
                    continue
                label, text = (arg.args[0].value for arg in node.args[:2])
                if "{" not in label:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", label, text))
    return found


def test_the_label_and_text_pairs_are_found():
    pairs = {(label, text) for _, label, text in label_and_text_pairs()}
    assert {("Check in", "check in"), ("My hours", "hours"), ("Award list", "eligible")} <= pairs


@pytest.mark.parametrize("locale", SHIPPED)
def test_typing_a_button_s_label_means_what_tapping_it_means(locale):
    t = CATALOGS.translator(locale)
    for where, label, text in label_and_text_pairs():
        tapped, typed = recognise(t(text), NATIVE), recognise(t(label), NATIVE)
        assert tapped is not None, (where, t(text))
        assert typed is not None and typed[0].intent == tapped[0].intent, (where, locale, t(label))


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("Điểm danh đến", "checkin"),
        ("diem danh den", "checkin"),
        ("điểm danh", "checkin"),
        ("Absen masuk", "checkin"),
        ("absen", "checkin"),
        ("ลงเวลาเข้า", "checkin"),
        ("ลงเวลา", "checkin"),
        ("Giờ của tôi", "hours"),
        ("Bantuan", "help"),
        ("วิธีใช้", "help"),
        ("liên kết 12345678", "link"),
        ("tautkan 12345678", "link"),
        ("tắt nhắc nhở khen thưởng", "reminders"),
    ],
)
def test_the_words_of_each_language_reach_their_intent(typed, intent):
    found = recognise(typed, NATIVE)
    assert found is not None and found[0].intent == intent, typed


@pytest.mark.parametrize("locale", ["vi", "id", "th"])
async def test_help_shows_the_person_s_own_words(harness, locale):
    await linked(harness, "Uhelp", locale)
    answer = (await harness.line_says("Uhelp", "help"))[0]
    t = CATALOGS.translator(locale)
    for word in ("check in", "check out", "hours", "awards", "shifts", "reminders", "my data", "leave"):
        assert t(word) in answer and t(word) != word, (locale, word)
    assert "check in" not in answer and "reminders" not in answer


@pytest.mark.parametrize("locale", SHIPPED)
async def test_a_coordinator_who_links_hears_their_words_and_is_offered_the_console(harness, locale):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit, name="李督導", role="coordinator")
    if locale != "zh_TW":
        await harness.line_says("Uboss", f"language {locale}")
    answers = await harness.line_says("Uboss", f"綁定 {code}")
    t = CATALOGS.translator(locale)
    assert len(answers) == 2 and all(t(word) in answers[1] for word in ("live", "review", "eligible"))
    buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
    assert recognise(buttons[0]["action"]["text"], NATIVE)[0].intent == "console"
    assert recognise(buttons[0]["action"]["label"], NATIVE)[0].intent == "console"
    link = await harness.line_says("Uboss", buttons[0]["action"]["text"])
    assert "/console/login/" in link[-1]

    volunteer_unit = harness.add_unit(name="另一個單位")
    _, code = harness.add_volunteer(volunteer_unit, name="王小明")
    assert len(await harness.line_says("Uvol", f"綁定 {code}")) == 1  # a volunteer hears no coordinator words


async def test_deleting_one_s_data_takes_a_second_clearly_worded_step(harness):
    unit = harness.add_unit()
    _, boss_code = harness.add_volunteer(unit, name="李督導", role="coordinator")
    await harness.line_says("Uboss", f"綁定 {boss_code}")
    await linked_to(harness, unit, "Udel")
    before = len(harness.line_api.texts_to("Uboss"))

    await harness.line_says("Udel", "我的資料")
    buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
    assert recognise(buttons[0]["action"]["text"], NATIVE)[0].intent != "delete-my-data", (
        "never the first button"
    )

    asked = await harness.line_says("Udel", "刪除我的資料")  # one tap: a question, nothing sent
    assert "確定要刪除" in asked[0] and "不具名" in asked[0]
    buttons = harness.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"]
    assert [b["action"]["label"] for b in buttons] == ["不要，保留資料", "我的時數", "確定刪除"]
    await harness.vbot.remind(harness.now)
    await harness.drain(harness.now)
    heard = harness.line_api.texts_to("Uboss")[before:]
    assert not any("王小明" in text for text in heard), "the coordinators hear nothing yet"

    kept = await harness.line_says("Udel", buttons[0]["action"]["text"])
    assert "沒有刪除" in kept[0]
    sent = await harness.line_says("Udel", buttons[2]["action"]["text"])
    assert "確認" in sent[0]
    await harness.vbot.remind(harness.now)
    await harness.drain(harness.now)
    assert any("王小明" in text and "刪除" in text for text in harness.line_api.texts_to("Uboss")[before:])


async def linked_to(harness, unit: int, user: str) -> None:
    _, code = harness.add_volunteer(unit, name="王小明")
    await harness.line_says(user, f"綁定 {code}")
