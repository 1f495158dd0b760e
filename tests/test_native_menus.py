"""Feels native on LINE and Telegram: the rich menus `vbot line setup` makes (and the pipeline keeps right for
each person), the webhook and command menus of `vbot telegram setup`, and the same next-step buttons on both.

The commands run as an operator runs them (`python -m bot` in its own process, as tests/test_cli.py does),
against the LINE and Telegram stand-ins, which check what they are sent as the real APIs do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging

from PIL import Image
from sqlmodel import Session, select

from bot.channels.line_menus import buttons, plan_menus
from bot.printing import menu_image
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.router import ROUTES, native_words, recognise
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import ChatAccount, LineRichMenu
from tests.conftest import LINE_SECRET, LINE_TOKEN, T0, TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.test_cli import clean_env, last_json, vbot

CATALOGS = Catalogs()
LOCALES = CATALOGS.locales
VOLUNTEER_INTENTS = ["checkin", "checkout", "hours", "awards", "shifts", "help"]
COORDINATOR_INTENTS = ["live", "review", "eligible", *VOLUNTEER_INTENTS]
PUBLIC_URL = "https://vbot.example.org"


def line_env(database_url: str, line_api) -> dict[str, str]:
    return clean_env(
        VBOT_DATABASE_URL=database_url,
        LINE_CHANNEL_SECRET=LINE_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        LINE_API_BASE_URL=line_api.url,
        LINE_DATA_API_BASE_URL=line_api.data_url,
        VBOT_API_TIMEOUT_SECONDS="5",
    )


def telegram_env(database_url: str, telegram_api, **extra: str) -> dict[str, str]:
    values = dict(
        VBOT_DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL=telegram_api.url,
        VBOT_PUBLIC_URL=PUBLIC_URL,
        VBOT_API_TIMEOUT_SECONDS="5",
    )
    return clean_env(**(values | extra))


async def run_vbot(tmp_path, *args: str, env: dict[str, str]):
    """`python -m bot …` in a thread, so that the stand-ins on this loop can answer it."""
    return await asyncio.to_thread(vbot, tmp_path, *args, env=env)


async def line_setup(tmp_path, database_url: str, line_api) -> dict:
    return last_json(
        await run_vbot(tmp_path, "line", "setup", "--json", env=line_env(database_url, line_api))
    )


def one_line_error(done, code: int) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def ours(line_api) -> dict[tuple[str, str], dict]:
    """The stand-in's menus this bot made, by (audience, locale)."""
    found = {}
    for menu in line_api.rich_menus.values():
        if menu["name"].startswith("vbot:"):
            _, audience, locale = menu["name"].split(":")
            assert (audience, locale) not in found, f"two menus for {audience} {locale}"
            found[(audience, locale)] = menu
    return found


def stored(database_url: str, model) -> list:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model).order_by(model.id)).all())
    finally:
        engine.dispose()


def menu_column(database_url: str) -> dict[str, str | None]:
    return {
        a.platform_user_id: a.rich_menu for a in stored(database_url, ChatAccount) if a.platform == "line"
    }


# --- the pictures --------------------------------------------------------------------------------------------


def test_every_menu_picture_is_a_png_of_its_size_under_one_megabyte():
    for plan in plan_menus(CATALOGS):
        image = Image.open(io.BytesIO(plan.image))
        assert image.format == "PNG"
        assert image.size == (plan.request.size.width, plan.request.size.height)
        assert len(plan.image) < 1024 * 1024
        # The areas tile the whole picture: every pixel is a button, none is two.
        assert sum(a.bounds.width * a.bounds.height for a in plan.request.areas) == image.width * image.height
    # .ci/run installs the Chinese and Thai fonts: every menu of every shipped language carries its words.
    assert [(plan.audience, plan.locale) for plan in plan_menus(CATALOGS) if not plan.labelled] == []


def test_without_a_font_for_the_language_the_picture_shows_the_icons(monkeypatch):
    monkeypatch.setattr(menu_image, "font_for", lambda language, texts: None)
    tiles = [
        menu_image.Tile(icon, label)
        for icon, label, _ in buttons("coordinator", CATALOGS.translator("zh_TW"))
    ]
    png, labelled = menu_image.draw_menu(2500, 1686, 3, 3, tiles, "zh")
    assert not labelled
    image = Image.open(io.BytesIO(png))
    assert image.size == (2500, 1686)
    # Each tile still shows its icon: white pixels in the middle of every tile.
    rgb = image.convert("RGB")
    for x, y, w, h in menu_image.grid(2500, 1686, 3, 3):
        middle = rgb.crop((x + w // 4, y + h // 4, x + 3 * w // 4, y + 3 * h // 4))
        assert (255, 255, 255) in {colour for _count, colour in middle.getcolors(1 << 16)}


# --- vbot line setup -----------------------------------------------------------------------------------------


async def test_line_setup_makes_a_menu_per_audience_and_language_whose_buttons_send_chat_words(
    tmp_path, database_url, line_api
):
    summary = await line_setup(tmp_path, database_url, line_api)

    menus = ours(line_api)
    assert set(menus) == {
        (audience, locale) for audience in ("volunteer", "coordinator") for locale in LOCALES
    }
    assert {(m["audience"], m["locale"]) for m in summary["created"]} == set(menus)
    assert summary["deleted"] == [] and summary["users_linked"] == 0
    # The volunteer menu in VBOT_LOCALE (zh_TW by default) is everyone's default.
    assert line_api.default_rich_menu == summary["default"] == menus[("volunteer", "zh_TW")]["richMenuId"]

    for (audience, locale), menu in menus.items():
        content_type, png = line_api.rich_menu_images[menu["richMenuId"]]
        image = Image.open(io.BytesIO(png))
        assert content_type == "image/png" and image.format == "PNG" and len(png) < 1024 * 1024
        assert (
            image.size
            == (menu["size"]["width"], menu["size"]["height"])
            == (2500, 843 if audience == "volunteer" else 1686)
        )
        # Each area sends a chat word of the menu's language, which the router takes for the intended intent.
        intents = [
            recognise(area["action"]["text"], native_words(CATALOGS))[0].intent for area in menu["areas"]
        ]
        assert intents == (VOLUNTEER_INTENTS if audience == "volunteer" else COORDINATOR_INTENTS), (
            audience,
            locale,
        )
        assert all(area["action"]["type"] == "message" for area in menu["areas"])
        t = CATALOGS.translator(locale)
        assert [area["action"]["text"] for area in menu["areas"]] == [
            text for _, _, text in buttons(audience, t)
        ]

    volunteer_zh = menus[("volunteer", "zh_TW")]["areas"]
    assert [area["action"]["text"] for area in volunteer_zh] == [
        "簽到",
        "簽退",
        "時數",
        "獎勵",
        "班表",
        "說明",
    ]
    assert [area["action"]["label"] for area in volunteer_zh][:2] == ["簽到", "簽退"]
    volunteer_en = menus[("volunteer", "en")]["areas"]
    assert [area["action"]["text"] for area in volunteer_en] == [
        "check in",
        "check out",
        "hours",
        "awards",
        "shifts",
        "help",
    ]

    rows = stored(database_url, LineRichMenu)
    assert {(r.audience, r.locale): r.line_id for r in rows} == {k: m["richMenuId"] for k, m in menus.items()}


async def test_running_line_setup_again_replaces_its_menus_and_leaves_other_menus_alone(
    tmp_path, database_url, line_api
):
    foreign = {
        "richMenuId": "richmenu-campaign",
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "spring campaign",
        "chatBarText": "Campaign",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                "action": {"type": "uri", "uri": "https://example.org"},
            }
        ],
    }
    line_api.rich_menus[foreign["richMenuId"]] = foreign
    # A menu left over by a run that failed halfway, before the database knew of it.
    stray = dict(foreign, richMenuId="richmenu-stray", name="vbot:volunteer:zh_TW")
    line_api.rich_menus[stray["richMenuId"]] = stray

    first = await line_setup(tmp_path, database_url, line_api)
    assert "richmenu-stray" in first["deleted"] and "richmenu-campaign" not in first["deleted"]
    second = await line_setup(tmp_path, database_url, line_api)

    assert sorted(second["deleted"]) == sorted(m["id"] for m in first["created"])
    assert len(ours(line_api)) == 2 * len(LOCALES)
    assert set(line_api.rich_menus) == {m["id"] for m in second["created"]} | {"richmenu-campaign"}
    assert line_api.default_rich_menu == second["default"]
    assert len(stored(database_url, LineRichMenu)) == 2 * len(LOCALES)


async def test_line_setup_errors_are_one_line_and_a_failed_run_is_cleaned_up_by_the_next(
    tmp_path, database_url, line_api
):
    unconfigured = await run_vbot(tmp_path, "line", "setup", env=clean_env(VBOT_DATABASE_URL=database_url))
    assert "LINE" in one_line_error(unconfigured, 2)

    line_api.fail_next("/v2/bot/richmenu/list", 500)
    refused = await run_vbot(tmp_path, "line", "setup", env=line_env(database_url, line_api))
    assert "500" in one_line_error(refused, 1)

    line_api.fail_next("/content", 400)  # the first picture is refused: one menu made, and left behind
    halfway = await run_vbot(tmp_path, "line", "setup", "--json", env=line_env(database_url, line_api))
    assert "400" in one_line_error(halfway, 1)
    assert len(line_api.rich_menus) == 1 and line_api.default_rich_menu is None

    await line_setup(tmp_path, database_url, line_api)
    assert len(line_api.rich_menus) == 2 * len(LOCALES) == len(ours(line_api))


# --- each person's menu --------------------------------------------------------------------------------------


async def says(harness, user: str, text: str, at: dt.datetime = T0) -> list[str]:
    answers = await harness.line_says(user, text, at=at)
    await harness.vbot.pipeline.line_menus.settled()
    return answers


async def test_people_get_their_menu_at_setup_and_again_when_what_they_need_changes(
    harness, tmp_path, database_url, line_api
):
    unit = harness.add_unit()
    _, coordinator_code = harness.add_volunteer(unit, "陳組長", role="coordinator")
    _, volunteer_code = harness.add_volunteer(unit, "王小明")
    await says(harness, "Ucoord", f"綁定 {coordinator_code}")
    await says(harness, "Uvol", f"綁定 {volunteer_code}")
    await says(harness, "Uenglish", "language en")  # not linked yet, but has chosen English
    assert not any(
        "richmenu" in call.path for call in line_api.calls
    )  # before setup there is nothing to link

    summary = await line_setup(tmp_path, database_url, line_api)
    menus = {(m["audience"], m["locale"]): m["id"] for m in summary["created"]}
    assert line_api.menu_of("Ucoord") == menus[("coordinator", "zh_TW")]
    assert line_api.menu_of("Uenglish") == menus[("volunteer", "en")]
    assert line_api.menu_of("Uvol") == menus[("volunteer", "zh_TW")] == line_api.default_rich_menu
    assert "Uvol" not in line_api.user_rich_menus
    assert summary["users_linked"] == 2
    assert menu_column(database_url) == {
        "Ucoord": menus[("coordinator", "zh_TW")],
        "Uvol": None,
        "Uenglish": menus[("volunteer", "en")],
    }

    # A language chosen afterwards: the English menu is linked at that very message, and the answer comes.
    assert await says(harness, "Uvol", "language en")
    assert line_api.user_rich_menus["Uvol"] == menus[("volunteer", "en")]
    assert menu_column(database_url)["Uvol"] == menus[("volunteer", "en")]
    linked_calls = len(line_api.sent(f"/richmenu/{menus[('volunteer', 'en')]}"))
    await says(harness, "Uvol", "hours")  # nothing changed: LINE is not asked again
    assert len(line_api.sent(f"/richmenu/{menus[('volunteer', 'en')]}")) == linked_calls

    # Back to the default language: back to the default menu.
    await says(harness, "Uvol", "語言 中文")
    assert "Uvol" not in line_api.user_rich_menus and menu_column(database_url)["Uvol"] is None

    # Someone whose LINE app is in Vietnamese gets Vietnamese answers and the Vietnamese menu without choosing.
    line_api.languages["Uviet"] = "vi"
    _, viet_code = harness.add_volunteer(unit, "阮氏梅")
    await says(harness, "Uviet", f"綁定 {viet_code}")
    assert line_api.user_rich_menus["Uviet"] == menus[("volunteer", "vi")]

    # A coordinator who links their account after setup gets the coordinator menu at once.
    _, second_code = harness.add_volunteer(unit, "林組長", role="coordinator")
    await says(harness, "Ucoord2", f"綁定 {second_code}")
    assert line_api.user_rich_menus["Ucoord2"] == menus[("coordinator", "zh_TW")]
    # ... in their language.
    await says(harness, "Ucoord2", "language en")
    assert line_api.user_rich_menus["Ucoord2"] == menus[("coordinator", "en")]


async def test_a_link_that_fails_is_logged_and_tried_again_at_the_next_message(
    harness, tmp_path, database_url, line_api, caplog
):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    await says(harness, "Uvol", f"綁定 {code}")
    summary = await line_setup(tmp_path, database_url, line_api)
    english = next(m["id"] for m in summary["created"] if (m["audience"], m["locale"]) == ("volunteer", "en"))

    line_api.fail_next(f"/richmenu/{english}", 500)
    with caplog.at_level(logging.WARNING, logger="bot.channels.line_menus"):
        answer = await says(harness, "Uvol", "language en")
    assert answer  # the answer is not lost for it
    assert "Uvol" not in line_api.user_rich_menus and menu_column(database_url)["Uvol"] is None
    assert any(
        "not linked" in record.getMessage() and "Uvol" in record.getMessage() for record in caplog.records
    )

    await says(harness, "Uvol", "hours", at=T0 + dt.timedelta(minutes=1))
    assert line_api.user_rich_menus["Uvol"] == english
    assert menu_column(database_url)["Uvol"] == english


# --- vbot telegram setup -------------------------------------------------------------------------------------


def seed_telegram_people(database_url: str) -> tuple[int, int]:
    """A coordinator and a volunteer of one unit, each with a linked Telegram chat; returns the chat ids."""
    engine = make_engine(database_url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(session, now, "test", name="臺北市立圖書館", category="culture", city="taipei")
        coordinator, _ = admin.add_volunteer(
            session,
            now,
            "test",
            unit_id=unit.id,
            name="陳組長",
            invite_valid_for=dt.timedelta(days=30),
            role="coordinator",
        )
        volunteer, _ = admin.add_volunteer(
            session, now, "test", unit_id=unit.id, name="王小明", invite_valid_for=dt.timedelta(days=30)
        )
        session.add(ChatAccount(platform="telegram", platform_user_id="7001", volunteer_id=coordinator.id))
        session.add(ChatAccount(platform="telegram", platform_user_id="7002", volunteer_id=volunteer.id))
        session.commit()
    engine.dispose()
    return 7001, 7002


def slash_commands(coordinator: bool) -> set[str]:
    coordinating = {"live", "review", "eligible", "export", "report", "console"}
    return {
        word[1:]
        for route in ROUTES
        for word in route.words
        if word.startswith("/") and word != "/start" and (coordinator or route.intent not in coordinating)
    }


async def test_telegram_setup_registers_the_webhook_and_the_commands_in_every_language(
    tmp_path, database_url, telegram_api
):
    coordinator, volunteer = seed_telegram_people(database_url)
    env = telegram_env(database_url, telegram_api)
    summary = last_json(await run_vbot(tmp_path, "telegram", "setup", "--json", env=env))

    assert telegram_api.webhook == {
        "url": f"{PUBLIC_URL}/webhooks/telegram",
        "secret_token": TELEGRAM_SECRET,
        "allowed_updates": ["message", "callback_query", "my_chat_member"],
    }
    codes = ["zh" if locale == "zh_TW" else locale for locale in LOCALES]
    assert set(summary["commands"]) == {"", *codes} and summary["coordinator_chats"] == 1

    everyone = slash_commands(coordinator=False)
    assert {"checkin", "checkout", "hours", "awards", "training", "shifts", "help", "language"} <= everyone
    for code in ["", *codes]:
        listed = telegram_api.commands_for(code)
        assert {command for command, _ in listed} == everyone, code
        # The coordinator's chat lists theirs too; a volunteer's does not.
        assert {command for command, _ in telegram_api.commands_for(code, coordinator)} == slash_commands(
            True
        )
        assert telegram_api.commands_for(code, volunteer) == listed
    assert dict(telegram_api.commands_for("zh"))["checkin"] == "簽到"
    assert dict(telegram_api.commands_for(""))["hours"] == "我的時數"  # VBOT_LOCALE for any other language
    assert dict(telegram_api.commands_for("en"))["checkin"] == "Check in"
    # Each command's description is that of a button the chat itself shows, and each command routes.
    for command, _ in telegram_api.commands_for("en", coordinator):
        assert recognise(f"/{command}") is not None

    before = dict(telegram_api.commands)
    again = last_json(await run_vbot(tmp_path, "telegram", "setup", "--json", env=env))
    assert again == summary and telegram_api.commands == before


async def test_telegram_setup_errors_are_one_line(tmp_path, database_url, telegram_api):
    plain = await run_vbot(
        tmp_path,
        "telegram",
        "setup",
        env=telegram_env(database_url, telegram_api, VBOT_PUBLIC_URL="http://127.0.0.1:8080"),
    )
    assert "https" in one_line_error(plain, 2)
    assert not telegram_api.sent("/setWebhook")

    unconfigured = await run_vbot(
        tmp_path, "telegram", "setup", env=clean_env(VBOT_DATABASE_URL=database_url)
    )
    assert "Telegram" in one_line_error(unconfigured, 2)

    telegram_api.fail_next("/setMyCommands", 500)
    failed = await run_vbot(tmp_path, "telegram", "setup", env=telegram_env(database_url, telegram_api))
    assert "Telegram" in one_line_error(failed, 1)


# --- the same next steps on both platforms -------------------------------------------------------------------


def line_buttons(harness) -> list[tuple[str, str]]:
    messages = harness.line_api.sent("/reply")[-1].body["messages"]
    return [(item["action"]["label"], item["action"]["text"]) for item in messages[-1]["quickReply"]["items"]]


def telegram_buttons(harness) -> list[tuple[str, str]]:
    markup = harness.telegram_api.sent("/sendMessage")[-1].body["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    return [(button["text"], button["callback_data"]) for row in markup["inline_keyboard"] for button in row]


async def test_inline_keyboards_follow_the_same_next_steps_as_line_quick_replies(harness):
    unit = harness.add_unit()
    _, line_code = harness.add_volunteer(unit)
    _, telegram_code = harness.add_volunteer(unit, "李小華")
    await harness.line_says("Uvol", f"綁定 {line_code}")
    await harness.telegram_says(5550001, f"/start {telegram_code}")

    for line_text, telegram_text, at in [
        ("說明", "/help", T0),
        ("簽到", "/checkin", T0),
        ("時數", "/hours", T0 + dt.timedelta(minutes=5)),
    ]:
        await harness.line_says("Uvol", line_text, at=at)
        await harness.telegram_says(5550001, telegram_text, at=at)
        assert line_buttons(harness) == telegram_buttons(harness), line_text
        assert line_buttons(harness), line_text
