"""The printouts as the operator makes them: `vbot event poster` against the LINE stand-in, read back with two
PDF engines and a QR reader; the invite cards' words for platforms that are not set up; a missing font."""

from __future__ import annotations

import asyncio

import pytest

from bot.commands.printouts import invite_cards_pdf
from bot.config import Settings
from bot.printing import fonts
from handlers.validation import InputError
from tests.test_poster import (
    ENGINES,
    box,
    check_fonts_embedded,
    cm,
    decode,
    pdfium_text,
    poppler_text,
    rendered_pages,
    unwrapped,
    words_of,
)

TIMES = ["--start", "2026-03-28T09:00", "--end", "2026-03-28T12:00"]


async def test_the_event_poster_command_prints_one_large_code_of_the_short_link_in_two_languages(
    tmp_path, line_api
):
    from tests.conftest import LINE_SECRET, LINE_TOKEN
    from tests.test_cli import clean_env, last_json, vbot

    env = clean_env(
        VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'v.db'}",
        VBOT_PUBLIC_URL="https://vbot.example.tw",
        LINE_CHANNEL_SECRET=LINE_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        LINE_API_BASE_URL=line_api.url,
    )
    run = lambda *args: asyncio.to_thread(lambda: last_json(vbot(tmp_path, *args, "--json", env=env)))  # noqa: E731
    unit = str((await run("unit", "add", "--name", "貢寮區淨灘志工隊"))["id"])
    event = await run(
        "event", "add", "--unit", unit, "--title", "福隆淨灘", *TIMES, "--place", "福隆海水浴場 Fulong Beach"
    )
    await run("event", "poster", "--event", str(event["id"]), "-o", "poster.pdf")
    pdf = (tmp_path / "poster.pdf").read_bytes()
    check_fonts_embedded(pdf, tmp_path)
    code = event["code"]
    for engine in ENGINES:
        text = words_of(engine(pdf, tmp_path))
        for words in [
            "福隆淨灘：在這裡簽到",
            "福隆淨灘: check in here",
            "福隆海水浴場 Fulong Beach",
            "09:00–12:00",
            f"簽到 {code}",
            "請用手機相機或 LINE 掃描，再按「傳送」。",
            "Scan with your phone's camera or LINE, then tap Send.",
        ]:
            assert words in text, (engine.__name__, words)
    (page,) = rendered_pages(pdf, tmp_path)
    codes = decode(page)
    assert set(codes) == {f"https://vbot.example.tw/e/{code}"}
    left, _, right, _ = box(next(iter(codes.values())))
    assert cm(right - left) >= 15

    await run("event", "poster", "--event", str(event["id"]), "-o", "poster.png")
    assert set(decode(rendered_png(tmp_path / "poster.png"))) == {f"https://vbot.example.tw/e/{code}"}


def rendered_png(path):
    from PIL import Image

    return Image.open(path)


def test_cards_without_a_platform_say_how_to_link_by_typing_the_code(tmp_path):
    invites = [
        {"name": "สมชาย ใจดี", "invite_code": "12345678"},
        {"name": "Nguyễn Thị Hương", "invite_code": "87654321"},
    ]
    neither = invite_cards_pdf(Settings(), (None, None), "臺北市立聯合醫院", invites)
    line_only = invite_cards_pdf(Settings(), ("@123abcde", None), "臺北市立聯合醫院", invites)
    english = invite_cards_pdf(
        Settings(locale="en"), (None, "vbot_test_bot"), "Taipei City Hospital", invites
    )
    for engine in (poppler_text, pdfium_text):
        text = unwrapped(engine(neither, tmp_path))
        assert text.count(unwrapped("請在 LINE 或 Telegram 打開與小幫手的對話，傳送：")) == 2
        assert unwrapped("綁定 12345678") in text and unwrapped("綁定 87654321") in text
        assert unwrapped("สมชาย ใจดี") in text and unwrapped("Nguyễn Thị Hương") in text
        text = unwrapped(engine(line_only, tmp_path))
        assert text.count(unwrapped("或打開與小幫手的對話，傳送：")) == 2
        assert text.count(unwrapped("用 LINE 掃描，再按「傳送」")) == 2
        text = unwrapped(engine(english, tmp_path))
        assert text.count(unwrapped("Or open the chat with the bot and send:")) == 2
        assert unwrapped("link 12345678") in text
    assert not decode(rendered_pages(neither, tmp_path)[0])  # no QR code: the words say what to do
    assert len(decode(rendered_pages(line_only, tmp_path)[0])) == 2


def test_a_missing_font_is_one_line_for_the_operator_naming_the_package(monkeypatch):
    fonts.pdf_fonts.cache_clear()
    monkeypatch.setattr(fonts, "_NOTO_DIRS", ["/nonexistent"])
    try:
        with pytest.raises(InputError, match="install the package fonts-noto-cjk"):
            invite_cards_pdf(
                Settings(), (None, None), "unit", [{"name": "王小明", "invite_code": "12345678"}]
            )
    finally:
        fonts.pdf_fonts.cache_clear()
