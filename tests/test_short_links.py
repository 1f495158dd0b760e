"""GET /e/CODE, the poster's short link, on the real server against the LINE and Telegram stand-ins: LINE's
in-app browser goes straight to the chat with `簽到 CODE` typed in, any other browser gets a page with one
button per platform in its language, and an unknown code a 404 page."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import unquote

from handlers.events.codes import new_event_code
from storage.db import UnitOfWork
from storage.models import Event, Unit

T = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)
LINE_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Safari Line/14.5.0"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def add_event(harness, title="福隆淨灘", rotating=False) -> str:
    with UnitOfWork(harness.vbot.engine)() as session:
        unit = Unit(name="臺北市立圖書館", created_at=T)
        session.add(unit)
        session.flush()
        code = new_event_code()
        session.add(
            Event(
                unit_id=unit.id,
                title=title,
                starts_at=T,
                ends_at=T + dt.timedelta(hours=3),
                code=code,
                secret="00112233445566778899aabbccddeeff",
                rotating_code=rotating,
                created_at=T,
            )
        )
        session.commit()
        return code


async def test_line_s_in_app_browser_goes_to_the_chat_with_the_check_in_typed(harness):
    code = add_event(harness)
    answer = await harness.http.get(f"/e/{code}", headers={"User-Agent": LINE_APP})
    assert answer.status_code == 302
    target = answer.headers["location"]
    assert target.startswith("https://line.me/R/oaMessage/%40123abcde/?")
    assert unquote(target.split("/?", 1)[1]) == f"簽到 {code}"
    lower = await harness.http.get(f"/e/{code.lower()}", headers={"User-Agent": LINE_APP})
    assert lower.headers["location"] == target  # a code typed in small letters is the same code


async def test_a_desktop_browser_gets_one_button_per_platform_and_the_words_to_type(harness):
    code = add_event(harness)
    answer = await harness.http.get(f"/e/{code}", headers={"User-Agent": DESKTOP})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = html.unescape(answer.text)
    assert 'lang="zh-TW"' in page and "福隆淨灘：在這裡簽到" in page  # no Accept-Language: the bot's default
    assert "用 LINE 簽到" in page and "用 Telegram 簽到" in page
    assert f"https://line.me/R/oaMessage/%40123abcde/?%E7%B0%BD%E5%88%B0%20{code}" in page
    assert f"https://t.me/vbot_test_bot?start=ci_{code}" in page
    assert f"簽到 {code}" in page

    english = await harness.http.get(
        f"/e/{code}", headers={"User-Agent": DESKTOP, "Accept-Language": "fr;q=0.9, en-US;q=0.8, zh-TW;q=0.5"}
    )
    page = html.unescape(english.text)
    assert 'lang="en"' in page and "福隆淨灘: check in here" in page and "Check in with LINE" in page
    assert f"check in {code}" in page


async def test_an_unknown_or_malformed_code_gets_a_404_page_never_a_5xx(harness):
    add_event(harness)
    for path in ["/e/ZZZZZZ", "/e/%00%00", "/e/" + "A" * 300, "/e/簽到", "/e/'%20OR%201=1"]:
        for agent in (LINE_APP, DESKTOP):
            answer = await harness.http.get(path, headers={"User-Agent": agent, "Accept-Language": "en"})
            assert answer.status_code == 404, path
            assert "There is no event with this code." in answer.text


async def test_a_rotating_code_event_sends_people_to_the_screen_at_the_entrance(harness):
    code = add_event(harness, rotating=True)
    for agent in (LINE_APP, DESKTOP):
        answer = await harness.http.get(f"/e/{code}", headers={"User-Agent": agent})
        assert answer.status_code == 200
        assert "請用 LINE 掃描入口螢幕上的 QR code，再按「傳送」。" in html.unescape(answer.text)
