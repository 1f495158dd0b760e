"""Vietnamese, Indonesian and Thai: complete catalogs, chat words that keep working, babel's dates and
numbers (no ROC years outside zh_TW), award names, and the language a person gets without choosing."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import re
import string
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from handlers.awards.deadlines import load_deadlines
from handlers.awards.rules import load_rules
from handlers.formatting import hours_from_minutes, local_date
from handlers.guide import main_buttons
from handlers.i18n import LOCALES_DIR, SHIPPED, Catalogs
from handlers.router import ROUTES, native_words, recognise
from tests.test_awards_chat import prepare

ROOT = pathlib.Path(__file__).resolve().parent.parent
NEW = ("vi", "id", "th")
CATALOGS = Catalogs()
NATIVE = native_words(CATALOGS)  # every language's chat words, as the router reads them


def pot_ids() -> list[str]:
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        return [m.id for m in read_po(pot) if m.id]


def fields(text: str) -> set[str]:
    return {f[1] for f in string.Formatter().parse(text) if f[1] is not None}


# ---- catalogs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", NEW)
def test_every_msgid_of_the_pot_is_translated_with_its_placeholders_and_lines(locale):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    assert not catalog.fuzzy
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = [msgid for msgid in pot_ids() if msgid not in translated]
    assert not missing, f"{locale} lacks: {missing}"
    for msgid, text in translated.items():
        assert fields(text) == fields(msgid), (locale, msgid, text)
        assert text.count("\n") == msgid.count("\n"), (locale, msgid)


def test_the_new_languages_are_shipped_and_really_translated():
    assert set(NEW) <= set(SHIPPED)
    for locale, phrase in (
        ("vi", "Số giờ tình nguyện của bạn"),
        ("id", "Jam relawan Anda"),
        ("th", "ชั่วโมงจิตอาสาของคุณ"),
    ):
        assert CATALOGS.translator(locale)("Your service hours") == phrase


# ---- chat words -----------------------------------------------------------------------------------


class Anything:
    """Stands for whatever a button's text puts after its chat word (`#12`, a unit id, a date)."""

    def __getattr__(self, _name):
        return self

    def __call__(self, *_args, **_kwargs):
        return self

    def __getitem__(self, _key):
        return self

    def __iter__(self):
        return iter(())

    def __str__(self):
        return "1"

    def __format__(self, _spec):
        return "1"


class Names(dict):
    def __missing__(self, _name):
        return Anything()


class ToTranslator(ast.NodeTransformer):
    """`t(...)` and `ctx.t(...)` both become a call of the translator under test."""

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, ast.Name) and func.id == "t") or (
            isinstance(func, ast.Attribute) and func.attr == "t"
        ):
            node.func = ast.Name("__t__", ast.Load())
        return node


def calls_t(node) -> bool:
    return any(
        isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "t"
        for n in ast.walk(node)
    )


def button_texts() -> list[tuple[str, ast.expr]]:
    """Every expression a button sends that holds a translated word: Button(label, TEXT) in handlers/ and bot/,
    and the (icon, label, TEXT) rows of the LINE rich menus."""
    found = []
    for directory in ("handlers", "bot"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                text = None
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Button":
                    keywords = {k.arg: k.value for k in node.keywords}
                    text = node.args[1] if len(node.args) > 1 else keywords.get("text")
                elif (
                    isinstance(node, ast.Tuple)
                    and len(node.elts) == 3
                    and isinstance(node.elts[0], ast.Constant)
                    and all(isinstance(e, ast.Call) and calls_t(e) for e in node.elts[1:])
                ):
                    text = node.elts[2]
                if text is not None and calls_t(text):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append((where, ast.fix_missing_locations(ToTranslator().visit(text))))
    return found


def sent(expression: ast.expr, locale: str) -> str:
    code = compile(ast.Expression(expression), "<button>", "eval")
    return eval(code, {"__builtins__": {}}, Names(__t__=CATALOGS.translator(locale)))


def routed(text: str) -> tuple[str, str] | None:
    found = recognise(text, NATIVE)
    return (found[0].intent, found[1].casefold()) if found else None


def test_the_buttons_are_found():
    where = {place.split(":")[0] for place, _ in button_texts()}
    assert {"handlers/guide.py", "handlers/service/checkin.py", "handlers/jobs/shift_reminders.py"} <= where


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_button_sends_a_word_that_routes_as_in_english(locale):
    """The same intent and argument in every language: a button sends its language's own chat words."""
    for place, expression in button_texts():
        english, translated = routed(sent(expression, "en")), routed(sent(expression, locale))
        assert english is not None, place
        assert translated is not None and translated[0] == english[0], (place, sent(expression, locale))
        if locale in NEW:
            assert translated == english, (place, sent(expression, locale))


def button_labels() -> set[str]:
    """The msgids of every Button's label."""
    found = set()
    for directory in ("handlers", "bot"):
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Button" and node.args:
                    found |= {
                        call.args[0].value
                        for call in ast.walk(node.args[0])
                        if isinstance(call, ast.Call)
                        and calls_t(call)
                        and call.args
                        and isinstance(call.args[0], ast.Constant)
                    }
    return found


@pytest.mark.parametrize("locale", NEW)
def test_button_labels_fit_line_s_20_characters(locale):
    """LINE cuts a quick reply's or a rich menu area's label at 20 characters."""
    t = CATALOGS.translator(locale)
    labels = button_labels() | {"Award list"}
    assert {"Check in", "Check out at {end}", "Share my location"} <= labels
    for msgid in labels:
        label = t(msgid, **{name: "18:00" if name == "end" else "12" for name in fields(msgid)})
        assert len(label) <= 20, (locale, msgid, label)


@pytest.mark.parametrize("locale", SHIPPED)
def test_the_main_buttons_route_as_in_english(locale):
    def intents(loc):
        return [
            routed(b.text) for b in main_buttons(SimpleNamespace(t=CATALOGS.translator(loc), linked=False))
        ]

    assert intents(locale) == intents("en") == [("checkin", ""), ("hours", ""), ("help", "")]


@pytest.mark.parametrize("locale", NEW)
def test_translated_chat_words_route_as_the_english_ones(locale):
    """Each language has its own chat words (vi `điểm danh đến`), which mean what the English ones mean."""
    t = CATALOGS.translator(locale)
    words = {word for route in ROUTES for word in route.words}
    for msgid in pot_ids():
        if msgid in words:  # a word of the router, in the person's language
            assert routed(t(msgid)) == routed(msgid), msgid
    assert t("check in") != "check in" and t("Check in") != "Check in"
    assert routed(t("check out") + " " + t("shift end")) == ("checkout", "shift end")
    assert routed(t("reminders off")) == ("reminders", "off")


# ---- which language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("vi", "vi"),
        ("vi-VN", "vi"),
        ("vi_VN", "vi"),
        ("id", "id"),
        ("id-ID", "id"),
        ("in", "id"),
        ("in-ID", "id"),
        ("th", "th"),
        ("th-TH", "th"),
        ("th-TH-u-nu-thai", "th"),
        ("Tiếng Việt", "vi"),
        ("tieng viet", "vi"),
        ("TIẾNG VIỆT", "vi"),
        ("越南文", "vi"),
        ("vietnamese", "vi"),
        ("Bahasa Indonesia", "id"),
        ("indonesia", "id"),
        ("印尼文", "id"),
        ("Indonesian", "id"),
        ("ไทย", "th"),
        ("泰文", "th"),
        ("thai", "th"),
        ("Thai", "th"),
        ("zh-TW", "zh_TW"),
        ("zh-Hant", "zh_TW"),
        ("zh", "zh_TW"),
        ("中文", "zh_TW"),
        ("en-US", "en"),
        ("english", "en"),
        ("英文", "en"),
        ("ja", None),
        ("fr-FR", None),
        ("klingon", None),
        ("", None),
        (None, None),
    ],
)
def test_platform_tags_and_typed_names_find_the_language(tag, locale):
    assert Catalogs().match(tag) == locale


# ---- dates, numbers and names ---------------------------------------------------------------------


def test_only_traditional_chinese_counts_roc_years():
    day = dt.date(2026, 6, 1)
    assert local_date(day, "zh_TW") == "115年6月1日"
    assert local_date(day, "vi") == "1 thg 6, 2026"
    assert local_date(day, "id") == "1 Jun 2026"
    assert local_date(day, "th") == "1 มิ.ย. 2026"  # Gregorian, not the Buddhist era (2569)
    assert [hours_from_minutes(60150, locale) for locale in ("zh_TW", "vi", "id", "th")] == [
        "1,002.5",
        "1.002,5",
        "1.002,5",
        "1,002.5",
    ]


def test_every_award_and_deadline_is_named_in_every_shipped_language():
    for rule in load_rules():
        names = dict(rule.names)
        assert set(SHIPPED) <= set(names) and set(SHIPPED) <= set(dict(rule.how_to_apply)), rule.code
        assert len({names[locale] for locale in SHIPPED}) == len(SHIPPED), rule.code
    for rule in load_deadlines():
        assert set(SHIPPED) <= set(dict(rule.titles)) and set(SHIPPED) <= set(dict(rule.what_to_do_texts)), (
            rule.code
        )
    honor = next(rule for rule in load_rules() if rule.code == "honor-card")
    assert honor.name("zh_TW") == "志願服務榮譽卡"  # the official name, untouched
    assert honor.name("vi") == "Thẻ danh dự tình nguyện viên"
    assert honor.name("ja") == honor.name("en") == "Volunteer honor card"


# ---- in chat ------------------------------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
EXPECTED = {
    "vi": {
        "hours": [
            "Số giờ tình nguyện của bạn",
            "Tổng cộng: 1.002,5 giờ",
            "Năm nay: 0 giờ",
            "Trong tháng 1–6: 0 giờ",
        ],
        "awards": [
            "🎉 Giấy chứng nhận thành tích phục vụ tình nguyện: đã đạt!",
            "Thẻ danh dự tình nguyện viên",
            "Đủ 3 năm vào ngày 1 thg 6, 2026",
            "Giải thưởng đóng góp tình nguyện Đài Bắc",
            "Hạn nộp: 31 thg 5, 2026",
        ],
    },
    "id": {
        "hours": [
            "Jam relawan Anda",
            "Total: 1.002,5 jam",
            "Tahun ini: 0 jam",
            "Semester ini (Januari–Juni): 0 jam",
        ],
        "awards": [
            "🎉 Sertifikat kinerja layanan relawan: tercapai!",
            "Kartu kehormatan relawan",
            "Masa bakti 3 tahun pada 1 Jun 2026",
            "Penghargaan kontribusi relawan Taipei",
            "Batas pengajuan: 31 Mei 2026",
        ],
    },
    "th": {
        "hours": ["ชั่วโมงจิตอาสาของคุณ", "รวมทั้งหมด: 1,002.5 ชั่วโมง", "ปีนี้: 0 ชั่วโมง", "ครึ่งปีนี้ (ม.ค.–มิ.ย.): 0 ชั่วโมง"],
        "awards": [
            "🎉 ใบรับรองผลงานการบริการอาสาสมัคร: ถึงเกณฑ์แล้ว!",
            "บัตรเกียรติยศอาสาสมัคร",
            "อายุงานครบ 3 ปี วันที่ 1 มิ.ย. 2026",
            "รางวัลผลงานอาสาสมัครไทเป",
            "ยื่นภายใน: 31 พ.ค. 2026",
        ],
    },
}


def assert_in_language(locale: str, hours: str, awards: str) -> None:
    for phrase in EXPECTED[locale]["hours"]:
        assert phrase in hours, (phrase, hours)
    for phrase in EXPECTED[locale]["awards"]:
        assert phrase in awards, (phrase, awards)
    assert "115年" not in awards and not CJK.search(hours) and not CJK.search(awards)


def linked_volunteer(harness) -> str:
    # 1,002.5 hours up to 31 December; trained on 1 June 2023: the honor card's 3 years end on 1 June 2026
    _unit, _volunteer, code = prepare(harness, 1002.5, trained_on=dt.date(2023, 6, 1))
    return code


async def telegram_in(harness, user: int, text: str, language: str) -> list[str]:
    before = len(harness.telegram_api.delivered_texts())
    response = await harness.post_telegram(harness.telegram_update(user, text, language=language))
    assert response.status_code == 200, response.text
    await harness.drain(harness.now)
    return harness.telegram_api.delivered_texts()[before:]


async def test_a_line_user_whose_phone_speaks_vietnamese_gets_vietnamese_without_choosing(harness):
    harness.line_api.languages["Uvi"] = "vi"
    assert "Chào mừng bạn đến với Trợ lý tình nguyện" in (await harness.line_says("Uvi", "xin chào"))[0]
    code = linked_volunteer(harness)
    assert "Chào mừng 王小明!" in (await harness.line_says("Uvi", f"link {code}"))[0]
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    # The buttons fit the moment (not checked in: 簽到) and send Vietnamese words, which are understood.
    assert [(i["action"]["label"], i["action"]["text"]) for i in items] == [
        ("Điểm danh đến", "điểm danh đến"),
        ("Số giờ của tôi", "số giờ"),
        ("Hướng dẫn", "hướng dẫn"),
    ]
    assert (await harness.line_says("Uvi", "Số giờ của tôi"))[0] == (
        await harness.line_says("Uvi", "số giờ")
    )[0]
    hours = (await harness.line_says("Uvi", "hours"))[0]
    awards = (await harness.line_says("Uvi", "獎勵"))[0]  # Chinese words work too
    assert_in_language("vi", hours, awards)


async def test_a_telegram_user_whose_app_speaks_thai_gets_thai_without_choosing(harness):
    assert "ยินดีต้อนรับสู่ผู้ช่วยอาสาสมัคร" in (await telegram_in(harness, 8001, "/start", "th"))[0]
    code = linked_volunteer(harness)
    assert "ยินดีต้อนรับ 王小明!" in (await telegram_in(harness, 8001, f"/start {code}", "th"))[0]
    hours = (await telegram_in(harness, 8001, "/hours", "th"))[0]
    awards = (await telegram_in(harness, 8001, "/awards", "th"))[0]
    assert awards.startswith("ความคืบหน้ารางวัลของคุณ\n")  # Telegram's text has a heading; LINE shows cards
    # One award's details, by number: the honor card (2) and the Taipei contribution award (3).
    details = [(await telegram_in(harness, 8001, f"รางวัล {n}", "th"))[0] for n in (2, 3)]
    assert_in_language("th", hours, "\n".join([awards, *details]))


async def test_typing_a_language_switches_to_indonesian(harness):
    code = linked_volunteer(harness)
    await harness.line_says("Uid", f"綁定 {code}")
    assert "您的服務時數" in (await harness.line_says("Uid", "時數"))[0]
    assert "bahasa Indonesia" in (await harness.line_says("Uid", "語言 id"))[0]
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert items[0]["action"] == {"type": "message", "label": "Absen masuk", "text": "absen masuk"}
    hours = (await harness.line_says("Uid", "時數"))[0]
    awards = (await harness.line_says("Uid", "awards"))[0]
    assert_in_language("id", hours, awards)
    # The choice outlasts the platform's language; a name typed in any form switches again.
    assert "tiếng Việt" in (await harness.line_says("Uid", "language Tiếng Việt"))[0]
    assert "ภาษาไทย" in (await harness.line_says("Uid", "語言 泰文"))[0]


async def test_the_language_list_names_each_language_and_has_a_button_for_it(harness):
    answer = (await harness.line_says("Ulist", "語言"))[0]
    assert "中文 (zh), English (en), Tiếng Việt (vi), Bahasa Indonesia (id), ไทย (th)" in answer
    items = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert [(i["action"]["label"], i["action"]["text"]) for i in items] == [
        ("中文", "language zh"),
        ("English", "language en"),
        ("Tiếng Việt", "language vi"),
        ("Bahasa Indonesia", "language id"),
        ("ไทย", "language th"),
    ]
    for item in items:
        found = recognise(item["action"]["text"], NATIVE)
        assert found[0].intent == "language" and CATALOGS.match(found[1]) is not None
    assert "Từ giờ tôi sẽ trả lời bằng tiếng Việt." in (await harness.line_says("Ulist", "language vi"))[0]
    assert "Tôi nói được:" in (await harness.line_says("Ulist", "language klingon"))[0]


def test_zh_tw_says_您_to_volunteers_and_督導_for_the_coordinator():
    """Many volunteers are over 65: one respectful form of address, and the word units use for the
    coordinator. Only the words people may type (`more words: …`, such as 你好) keep 你."""
    with (ROOT / "locales" / "zh_TW" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    shown = {m.id: m.string for m in catalog if m.id and not str(m.id).startswith("more words:") and m.string}
    assert len(shown) > 300
    assert {msgid: text for msgid, text in shown.items() if "你" in text} == {}
    assert {msgid: text for msgid, text in shown.items() if "管理者" in text} == {}
