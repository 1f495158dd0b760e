"""From an Incoming to replies: find the person, pick their language, recognise the intent, run its handler."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlmodel import Session

from handlers import guide
from handlers.awards import eligibility, training
from handlers.awards import progress as award_progress
from handlers.context import Context, Rules
from handlers.events import checkin as event_checkin
from handlers.events import shifts as shifts_chat
from handlers.files import chat as unit_files
from handlers.files import my_records
from handlers.i18n import Catalogs
from handlers.jobs import deadline_alerts
from handlers.people import console_access, language, linking, my_data, reachability
from handlers.people import reminder_settings as reminder_chat
from handlers.service import checkin, corrections, hours, status
from handlers.types import Incoming, Reply
from storage import people_store

EVENT_START_PREFIX = "ci_"  # Telegram deep links carry only [A-Za-z0-9_-]: `/start ci_CODE` checks in


def check_in(ctx: Context, argument: str) -> list[Reply]:
    """簽到 and 簽到 #UNIT are the everyday check-in; 簽到 CODE checks in at an event's shift."""
    if argument and not checkin.names_a_unit(argument):
        return event_checkin.check_in_at_event(ctx, argument)
    return checkin.check_in(ctx, argument)


@dataclass(frozen=True)
class Route:
    intent: str
    words: tuple[str, ...]
    handler: Callable[[Context, str], list[Reply]]
    needs_link: bool


# The whole chat vocabulary, in one visible list. Either language works whatever language a person chose.
ROUTES = (
    Route("link", ("綁定", "link", "/start"), linking.link, needs_link=False),
    Route(
        "check-in-for", ("代簽到", "check in for"), event_checkin.check_in_for, needs_link=True
    ),  # before check in
    Route(
        "check-out-for", ("代簽退", "check out for"), event_checkin.check_out_for, needs_link=True
    ),  # before check out
    Route("checkin", ("簽到", "check in", "checkin", "check-in", "/checkin"), check_in, needs_link=True),
    Route(
        "checkout",
        ("簽退", "check out", "checkout", "check-out", "/checkout"),
        checkin.check_out,
        needs_link=True,
    ),
    Route("hours", ("時數", "hours", "/hours"), hours.my_hours, needs_link=True),
    Route(
        "eligible", ("獎勵名單", "eligible", "/eligible"), eligibility.eligible_chat, needs_link=True
    ),  # before 獎勵
    Route("awards", ("獎勵", "awards", "/awards"), award_progress.my_awards, needs_link=True),
    Route("training", ("訓練", "training", "/training"), training.my_training, needs_link=True),
    Route("shifts", ("班表", "shifts", "/shifts"), shifts_chat.my_shifts, needs_link=True),
    Route("sign-up", ("報名", "sign up"), shifts_chat.sign_up, needs_link=True),
    Route("cancel", ("取消", "cancel"), shifts_chat.cancel, needs_link=True),
    Route("live", ("現場", "live", "/live"), event_checkin.live, needs_link=True),
    Route("review", ("審核", "review", "/review"), corrections.review_list, needs_link=True),
    Route("approve", ("核准", "approve"), corrections.approve, needs_link=True),
    Route("void", ("作廢", "void"), corrections.void, needs_link=True),
    Route("correct", ("更正", "correct"), corrections.correct, needs_link=True),
    Route("export", ("匯出", "export", "/export"), unit_files.export_chat, needs_link=True),
    Route("report", ("報表", "report", "/report"), unit_files.report_chat, needs_link=True),
    Route("my-records", ("我的紀錄", "my records", "/myrecords"), my_records.my_records, needs_link=True),
    Route("my-data", ("我的資料", "my data", "/mydata"), my_data.my_data, needs_link=True),
    Route("my-name", ("我的姓名", "my name"), my_data.my_name, needs_link=True),
    Route("delete-my-data", ("刪除我的資料", "delete my data"), my_data.delete_request, needs_link=True),
    Route("confirm-delete", ("確認刪除", "confirm delete"), my_data.confirm_delete, needs_link=True),
    Route("leave", ("請假", "leave"), my_data.leave, needs_link=True),
    Route("feedback", ("意見", "feedback"), my_data.feedback, needs_link=True),
    Route("reminders", ("提醒", "reminders", "/reminders"), reminder_chat.reminder_settings, needs_link=True),
    Route("still-serving", ("繼續服務", "still serving"), reminder_chat.still_serving, needs_link=True),
    Route("deadline-done", ("完成", "done"), deadline_alerts.mark_done, needs_link=True),
    Route("console", ("管理", "console", "/console"), console_access.console_chat, needs_link=True),
    Route("language", ("語言", "language", "/language"), language.choose, needs_link=False),
    Route("help", ("說明", "help", "/help"), guide.help_answer, needs_link=False),
    Route("status", ("狀態", "status"), status.my_status, needs_link=True),
)
ROUTE_OF_INTENT = {route.intent: route for route in ROUTES}

# Button labels that are not chat words themselves, and the word each button sends: a person who types what
# a button or a menu shows (in any shipped language) means what tapping it means.
LABELS = {
    "Check in": "check in",
    "Check out": "check out",
    "Check out now": "check out",
    "My hours": "hours",
    "Your service hours": "hours",
    "My awards": "awards",
    "Your awards": "awards",
    "My training": "training",
    "Upcoming training": "training",
    "Shifts": "shifts",
    "Open shifts": "shifts",
    "Help": "help",
    "Menu": "help",
    "Language": "language",
    "Live": "live",
    "Review": "review",
    "Award list": "eligible",
    "Export hours": "export",
    "Report": "report",
    "Full report": "report",
    "My data": "my data",
    "My records": "my records",
    "Reminders": "reminders",
    "Turn all off": "reminders off",
    "Turn all on": "reminders on",
    "Delete my data": "delete my data",
    "Still serving": "still serving",
    "Console": "console",
}
# Chat words that take a fixed second word; typed in a person's language they mean the English ones.
COMPOUND_WORDS = ("reminders off", "reminders on", "shift end", "yes", "no")


KNOWN_WORDS = frozenset(word for route in ROUTES for word in route.words)


def normalise(text: str) -> str:
    """Full-width letters and digits to plain ones, spaces collapsed, Telegram's `/cmd@botname` reduced."""
    text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split())
    if text.startswith("/"):
        head, _, rest = text.partition(" ")
        text = (head.split("@", 1)[0] + " " + rest).strip()
    return text


# What people type instead of the chat words: other verbs for the same thing, polite openings, and words run
# together with a particle ("簽到了", "我要簽到", "打卡"). Each leads to the chat word; tests/test_near_words.py
# keeps the table honest.
NEAR_WORDS = {
    "打卡": "簽到",
    "報到": "簽到",
    "我到了": "簽到",
    "到了": "簽到",
    "sign in": "check in",
    "signin": "check in",
    "下班": "簽退",
    "離開": "簽退",
    "我走了": "簽退",
    "sign out": "check out",
    "signout": "check out",
    "我的時數": "時數",
    "服務時數": "時數",
    "查時數": "時數",
    "my hours": "hours",
    "我的獎勵": "獎勵",
    "我的班表": "班表",
    "幫助": "說明",
    "選單": "說明",
    "功能": "說明",
    "menu": "help",
}
WHOLE_TEXT_WORDS = {"?": "說明"}  # only when it is all that was typed (a replaced, unreadable text is "???")
POLITE_OPENINGS = ("我要", "我想", "請幫我", "幫我", "請", "please ")
TRAILING_PARTICLES = "了啦囉喔哦呢吧嗎!！?？。.~～ "
CODE_ROUTES = ("checkin", "link")  # their argument is a code (letters and digits)
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def folded(text: str) -> str:
    """Lower case, without accents (`Điểm danh` = `diem danh`), single spaces: how typed words are compared."""
    text = unicodedata.normalize("NFKD", text.casefold()).replace("đ", "d")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


@functools.cache
def native_words(catalogs: Catalogs) -> dict[str, str]:
    """Every chat word and button label in every shipped language (folded), and the English word it means.

    The words are the catalogs' own: `check in` is `điểm danh đến` in Vietnamese, `absen masuk` in Indonesian;
    `more words: check in` lists a language's other natural verbs for it (`điểm danh`, `absen`, `ลงเวลา`).
    """
    english = {
        word for route in ROUTES for word in route.words if word.isascii() and not word.startswith("/")
    }
    meaning = {word: word for word in (*english, *COMPOUND_WORDS)} | LABELS
    found: dict[str, str] = {}
    for locale in catalogs.locales:
        t = catalogs.translator(locale)
        for msgid, word in meaning.items():
            found.setdefault(folded(t(msgid)), word)
            if msgid in english or msgid in COMPOUND_WORDS:
                for more in t(f"more words: {msgid}").split("|"):
                    if more.strip() and not more.startswith("more words:"):
                        found.setdefault(folded(more), word)
    found.pop("", None)
    return found


def after_prefix(text: str, prefix: str) -> str | None:
    """The rest of `text` when its folded beginning is `prefix` (already folded), else None."""
    for end in range(len(prefix), min(len(text), 2 * len(prefix) + 2) + 1):
        if folded(text[:end]) == prefix:
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1  # a Thai tone mark or a Vietnamese accent belongs to the word before it
            rest = text[end:]
            # Latin words end at a space ("linkage" is not "link"); Chinese and Thai need none.
            if rest and prefix[-1].isascii() and prefix[-1].isalnum() and not rest[0].isspace():
                return None
            return rest
    return None


def in_english_words(text: str, native: dict[str, str]) -> str:
    """A text that starts with a word of any language, with that word replaced by its English chat word."""
    for word in sorted(native, key=len, reverse=True):
        rest = after_prefix(text, word)
        if rest is not None:
            # A second word of the same language (`tắt nhắc nhở khen thưởng`: reminders off awards).
            rest = native.get(folded(rest), rest.strip()) if rest.strip() else ""
            return f"{native[word]} {rest}".strip()
    return text


# A question about a state, in each language: answered with the state, never acted on (issue: questions are
# not orders). Endings and openings are grammar, not words shown to anyone.
QUESTION_ENDINGS = (
    "?",
    "？",
    "了嗎",
    "了吗",
    "了沒有",
    "了沒",
    "了没",
    "沒有",
    "嗎",
    "吗",
    "呢",
    "沒",
    "没",
    " chưa",
    " không",
    " belum",
    " tidak",
    "หรือยัง",
    "แล้วหรือยัง",
    "หรือเปล่า",
    "ไหม",
    "มั้ย",
    "แล้วยัง",
)
QUESTION_OPENINGS = (
    "我有沒有",
    "有沒有",
    "我有",
    "有",
    "我",
    "did i ",
    "have i ",
    "am i ",
    "was i ",
    "are we ",
    "did we ",
    "tôi đã ",
    "tôi có ",
    "tôi ",
    "đã ",
    "apakah saya sudah ",
    "apakah saya ",
    "apakah ",
    "saya sudah ",
    "sudah ",
    "saya ",
    "ฉัน",
    "ผม",
    "ได้",
)
# Orders that change a record, and what their question reads instead.
ASKED_INSTEAD = {
    "checkin": "status",
    "checkout": "status",
    "sign-up": "shifts",
    "cancel": "shifts",
    "delete-my-data": "my-data",
}
_ENGLISH_PAST = {"checked in": "check in", "checked out": "check out", "signed up": "sign up"}


def asked(cleaned: str) -> str | None:
    """The text without its question words, when it is a question; None for anything else."""
    text, was_asked = cleaned.rstrip(" .!！~～。"), False
    stripping = True
    while stripping:
        stripping = False
        for ending in sorted(QUESTION_ENDINGS, key=len, reverse=True):
            if folded(text).endswith(folded(ending).strip() if ending.startswith(" ") else folded(ending)):
                cut = len(ending.strip()) if ending.startswith(" ") else len(ending)
                if len(text) > cut:
                    text, was_asked, stripping = text[:-cut].rstrip(" 了"), True, True
                    break
    if not was_asked:
        return None
    for opening in sorted(QUESTION_OPENINGS, key=len, reverse=True):
        if folded(text).startswith(folded(opening).strip()) and len(text) > len(opening.strip()):
            rest = after_prefix(text, folded(opening).strip())
            if rest is not None:
                text = rest.strip()
                break
    lowered = text.casefold()
    for past, word in _ENGLISH_PAST.items():
        if lowered.startswith(past):
            text = word + text[len(past) :]
    return text


def plain_words(cleaned: str) -> str:
    """`簽 到` → `簽到`, `我要簽到` → `簽到`, `打卡 A1B2` → `簽到 A1B2`; used only for texts no word starts."""
    text = _CJK_SPACE.sub("", cleaned)
    if text in WHOLE_TEXT_WORDS:
        return WHOLE_TEXT_WORDS[text]
    for opening in POLITE_OPENINGS:
        if text.casefold().startswith(opening) and len(text) > len(opening):
            text = text[len(opening) :].lstrip()
            break
    text = bare_word(text)
    folded = text.casefold()
    for near in sorted(NEAR_WORDS, key=len, reverse=True):
        rest = text[len(near) :]
        if folded.startswith(near) and not (rest and near.isascii() and not rest.startswith(" ")):
            return NEAR_WORDS[near] + rest
    return text


def bare_word(text: str) -> str:
    """A word with particles after it (`簽到了`, `時數呢?`) is the word; other texts stay as they are."""
    bare = text.casefold().rstrip(TRAILING_PARTICLES)
    return bare if bare != text.casefold() and (bare in KNOWN_WORDS or bare in NEAR_WORDS) else text


def _route_of(cleaned: str) -> tuple[Route, str] | None:
    folded = cleaned.casefold()
    for route in ROUTES:
        for word in sorted(route.words, key=len, reverse=True):
            if not folded.startswith(word):
                continue
            rest = cleaned[len(word) :]
            # Latin words need a word boundary ("linkage" is not "link"); Chinese ones do not ("綁定123"),
            # except that a code is never Chinese: "簽到表在哪" asks where the sheet is, it is no check-in.
            if rest and word.isascii() and not rest.startswith(" "):
                continue
            if route.intent in CODE_ROUTES and _CJK.match(rest.lstrip()):
                continue
            return route, rest.strip()
    return None


def recognise(text: str, native: dict[str, str] | None = None) -> tuple[Route, str] | None:
    """The route whose word starts the text, and the rest as its argument; near-words when no word does.

    `native`: every language's words (native_words); a question about a state reads the state instead."""
    normalised = normalise(text)
    question = asked(normalised)
    if question is not None:
        found = _recognise_order(question, native or {})
        # Only a bare order asked about (`簽到了嗎`): `簽到 K7Q2MX?` still checks in with the code, and the text
        # of `意見 …？` keeps its question mark.
        if found is not None and found[0].intent in ASKED_INSTEAD and not found[1]:
            return ROUTE_OF_INTENT[ASKED_INSTEAD[found[0].intent]], ""
    return _recognise_order(normalised, native or {})


def _recognise_order(normalised: str, native: dict[str, str]) -> tuple[Route, str] | None:
    cleaned = bare_word(normalised)
    found = _route_of(cleaned) or _route_of(plain_words(cleaned))
    if found is None and native:
        english = in_english_words(cleaned, native)
        if english != cleaned:
            found = _route_of(english)
    return found


@functools.lru_cache(maxsize=4096)
def recognised(text: str, catalogs: Catalogs) -> tuple[Route, str] | None:
    """recognise() with every language's words, remembered: most of what people send is one of a few words
    (簽到, 簽退, 時數…), and reading a text is pure (the same text, the same route)."""
    return recognise(text, native_words(catalogs))


def handle(
    session: Session, incoming: Incoming, now: dt.datetime, rules: Rules, catalogs: Catalogs
) -> list[Reply]:
    account = people_store.account_row(session, incoming.platform, incoming.user_id)
    locale = (
        (account.chosen_locale if account else None)
        or catalogs.match(incoming.platform_locale)
        or rules.default_locale
    )
    ctx = Context(session, now, rules, catalogs, incoming, account, catalogs.translator(locale))
    linked = ctx.linked

    if incoming.kind == "blocked":  # LINE unfollow, Telegram kicked: nothing reaches them until they return
        return reachability.blocked(ctx)
    was_blocked = reachability.came_back(ctx)  # whatever they do next on it, the account can be reached
    if incoming.kind != "text":
        return not_a_text(ctx, was_blocked)
    found = recognised(incoming.text, catalogs)
    asked = my_data.question_just_asked(ctx) if linked else None
    intent, argument = (found[0].intent, found[1]) if found else (None, incoming.text)
    if my_data.answers_a_deletion_question(ctx, asked, intent, argument):  # 取消 right after it: not a shift
        return my_data.take_back_deletion(ctx, asked)
    if found is None and linked and guide.is_small_talk(ctx, incoming.text):
        return guide.friendly(ctx, incoming.text)
    if found is None:
        return guide.not_understood(ctx) if linked else guide.how_to_link(ctx)
    route, argument = found
    if route.intent == "link" and argument.casefold().startswith(EVENT_START_PREFIX):
        # The Telegram QR of an event poster: /start ci_CODE is a check-in with that code.
        route, argument = (
            next(r for r in ROUTES if r.intent == "checkin"),
            argument[len(EVENT_START_PREFIX) :],
        )
    if route.intent == "link" and not argument:
        # Telegram's plain /start (no code) is the first contact, not a link attempt; or a return after a block.
        if linked and was_blocked:
            return reachability.welcome_back(ctx)
        return guide.help_answer(ctx, "") if linked else guide.how_to_link(ctx)
    if route.needs_link and not linked:
        return guide.how_to_link(ctx)
    return with_next_step(ctx, route.handler(ctx, argument)) if linked else route.handler(ctx, argument)


def not_a_text(ctx: Context, was_blocked: bool) -> list[Reply]:
    """A follow, an unblock, a shared location, a sticker, a picture, a voice message, a file."""
    incoming, linked = ctx.incoming, ctx.linked
    if incoming.kind == "follow":  # LINE: added the bot, or unblocked it
        return reachability.welcome_back(ctx) if linked else guide.how_to_link(ctx)
    if incoming.kind == "unblocked":  # Telegram: the first contact comes as /start; a return is greeted
        return reachability.welcome_back(ctx) if linked and was_blocked else []
    if incoming.kind == "location" and incoming.location is not None:
        return event_checkin.location_shared(ctx) if linked else guide.how_to_link(ctx)
    if not linked:
        return guide.how_to_link(ctx)
    friendly = guide.friendly(ctx, "")
    if incoming.kind == "sticker":  # a sticker answers a sticker
        return [*friendly[:-1], replace(friendly[-1], sticker="thanks")]
    return friendly


def with_next_step(ctx: Context, replies: list[Reply]) -> list[Reply]:
    """Every answer ends with buttons (LINE shows quick replies under the last message only): a handler that
    offers no next step gets the everyday ones."""
    if not replies or replies[-1].buttons:
        return replies
    return [*replies[:-1], replace(replies[-1], buttons=guide.main_buttons(ctx))]
