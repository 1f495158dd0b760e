"""The check-in poster: its URLs, and that every QR code on it scans back to exactly its URL."""

from __future__ import annotations

import io
import logging
import subprocess
from urllib.parse import unquote

import pypdf
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from bot.printing import poster
from bot.printing.poster import line_checkin_url, make_poster, telegram_start_url

LINE_URL = line_checkin_url("@abc1234d", "簽到 K7Q2")
TELEGRAM_URL = telegram_start_url("VolunteerHelperBot", "checkin_K7Q2")
CODES = [("用 LINE 掃描簽到", LINE_URL), ("Telegram 掃描簽到", TELEGRAM_URL)]
LINES = ["2026-03-28 (六) 09:00–12:00", "地點：福隆海水浴場 Fulong Beach"]


@pytest.fixture
def no_cjk_font(monkeypatch):
    """A machine without any Chinese font."""
    monkeypatch.setattr(poster, "find_cjk_font", lambda: None)


def decode(image: Image.Image) -> dict[str, zxingcpp.Barcode]:
    found = [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
    return {b.text: b for b in found}


def box(code: zxingcpp.Barcode) -> tuple[int, int, int, int]:
    p = code.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    return min(xs), min(ys), max(xs), max(ys)


def ink(image: Image.Image, area: tuple[int, int, int, int]) -> int:
    """How many dark pixels are in the area (left, top, right, bottom)."""
    return sum(image.crop(area).convert("L").point(lambda v: 255 if v < 128 else 0).histogram()[255:])


def ink_above_codes(png: bytes) -> int:
    """Dark pixels between the top of the page and the quiet zone of the highest code."""
    image = Image.open(io.BytesIO(png))
    codes = decode(image)
    top = min(box(c)[1] for c in codes.values())
    return ink(image, (0, 0, image.width, top - 10))


# --- URLs -----------------------------------------------------------------------------


def test_line_url_percent_encodes_the_at_and_the_text_as_utf8():
    assert LINE_URL == "https://line.me/R/oaMessage/%40abc1234d/?%E7%B0%BD%E5%88%B0%20K7Q2"


def test_line_url_adds_a_missing_at_and_encodes_every_reserved_character():
    url = line_checkin_url("abc1234d", "簽到 a/b?c&d=e#f+g")
    assert url.startswith("https://line.me/R/oaMessage/%40abc1234d/?")
    query = url.split("/?", 1)[1]
    assert not set("/?&=#+ @") & set(query)  # nothing a browser or LINE would read as syntax
    assert unquote(query) == "簽到 a/b?c&d=e#f+g"


def test_telegram_url():
    assert TELEGRAM_URL == "https://t.me/VolunteerHelperBot?start=checkin_K7Q2"
    assert (
        telegram_start_url("@VolunteerHelperBot", "A-z_09") == "https://t.me/VolunteerHelperBot?start=A-z_09"
    )
    assert telegram_start_url("b", "x" * 64).endswith("=" + "x" * 64)


@pytest.mark.parametrize(
    "payload", ["", "x" * 65, "簽到", "a b", "a+b", "a=b", "a.b", "a/b", "a%20b", "ab\n"]
)
def test_telegram_payload_outside_the_rules_is_refused(payload):
    with pytest.raises(ValueError, match="payload"):
        telegram_start_url("VolunteerHelperBot", payload)


# --- The PNG --------------------------------------------------------------------------


def check_png(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 2 * 1024 * 1024
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.height > image.width
    assert abs(image.width / image.height - 210 / 297) < 0.005  # A4 portrait

    codes = decode(image)
    assert set(codes) == {LINE_URL, TELEGRAM_URL}  # both, and exactly their URLs
    dpi = image.info["dpi"][0]
    assert abs(image.width / dpi * 2.54 - 21.0) < 0.1  # so that it prints at A4 size
    for code in codes.values():
        assert code.ec_level in ("M", "Q")
        left, top, right, bottom = box(code)
        assert (right - left) / dpi * 2.54 >= 7  # cm: readable from a metre
        # The quiet zone: 4 modules of white all round.
        modules = 17 + 4 * int(code.extra["Version"])
        quiet = round(4 * (right - left) / modules) - 2
        outer = (left - quiet, top - quiet, right + quiet, bottom + quiet)
        assert min(outer) >= 0 and outer[2] <= image.width and outer[3] <= image.height
        assert ink(image, outer) == ink(image, (left, top, right, bottom))
    return image


def test_png_poster_is_a4_small_and_its_codes_scan_to_their_urls():
    png, _ = make_poster("2026 福隆淨灘 簽到", LINES, CODES)
    check_png(png)


def test_png_with_a_chinese_font_shows_the_chinese_title(caplog):
    if poster.find_cjk_font() is None:
        pytest.skip("no font with Chinese glyphs on this machine (apt-get install fonts-noto-cjk)")
    with caplog.at_level(logging.WARNING, logger="bot.printing.poster"):
        png, _ = make_poster("福隆淨灘簽到", [], CODES)
    check_png(png)
    assert ink_above_codes(png) > 1000
    assert not caplog.records


def test_png_without_a_chinese_font_keeps_the_codes_and_the_ascii_and_warns(no_cjk_font, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.printing.poster"):
        png, _ = make_poster("福隆淨灘簽到", [], CODES)
    check_png(png)
    assert ink_above_codes(png) == 0  # no boxes or garbage in place of the Chinese
    assert any("font" in r.getMessage() for r in caplog.records)

    png, _ = make_poster("福隆淨灘簽到 2026-03-28", [], CODES)
    check_png(png)
    assert ink_above_codes(png) > 1000  # the date is still printed


@pytest.mark.parametrize("chinese_font", [True, False])
def test_long_texts_stay_inside_the_page_margins(chinese_font, monkeypatch):
    if not chinese_font:
        monkeypatch.setattr(poster, "find_cjk_font", lambda: None)
    # Lines are broken with the PDF font's widths; "w" and "0" are wider in the PNG's fonts.
    title = "2026 福隆海水浴場淨灘活動暨海洋保育志工培訓 " + "w" * 40 + "0" * 40
    lines = ["集合地點：新北市貢寮區福隆街 40 號（福隆火車站前廣場）Fulong Station Square, Gongliao"]
    codes = [
        ("請用 LINE 相機掃描 Scan with the LINE camera app, then tap Send", LINE_URL),
        ("Telegram: scan with your phone's camera and tap Start", TELEGRAM_URL),
    ]
    png, _ = make_poster(title, lines, codes)
    image = Image.open(io.BytesIO(png))
    assert set(decode(image)) == {LINE_URL, TELEGRAM_URL}
    edge = round(image.width * 0.5 / 21)  # half a centimetre of each side
    assert ink(image, (0, 0, edge, image.height)) == 0
    assert ink(image, (image.width - edge, 0, image.width, image.height)) == 0
    assert ink(image, (0, 0, image.width, image.height)) > 0


# --- The PDF --------------------------------------------------------------------------


def test_pdf_poster_is_one_a4_page_with_the_chinese_text_and_the_codes():
    _, pdf = make_poster("2026 福隆淨灘 簽到", LINES, CODES)
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1  # A4 portrait, in points

    text = page.extract_text()
    for words in ["2026 福隆淨灘 簽到", *LINES, "用 LINE 掃描簽到", "Telegram 掃描簽到"]:
        assert words in text

    embedded = [decode(img.image) for img in page.images]
    assert sorted(url for found in embedded for url in found) == sorted([LINE_URL, TELEGRAM_URL])


def test_pdf_codes_scan_on_the_printed_page():
    _, pdf = make_poster("2026 福隆淨灘 簽到", LINES, CODES)
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=150 / 72).to_pil()  # as printed at 150 dpi
    finally:
        document.close()
    codes = decode(image)
    assert set(codes) == {LINE_URL, TELEGRAM_URL}
    for code in codes.values():
        left, _, right, _ = box(code)
        assert (right - left) / 150 * 2.54 >= 7  # cm


def test_one_code_is_drawn_larger_than_two():
    one = decode(Image.open(io.BytesIO(make_poster("簽到", LINES, CODES[:1])[0])))
    two = decode(Image.open(io.BytesIO(make_poster("簽到", LINES, CODES)[0])))
    assert set(one) == {LINE_URL}
    width = lambda code: box(code)[2] - box(code)[0]  # noqa: E731
    assert width(one[LINE_URL]) > width(two[LINE_URL])


def test_a_poster_needs_a_code_and_room_for_it():
    with pytest.raises(ValueError, match="QR"):
        make_poster("簽到", LINES, [])
    with pytest.raises(ValueError, match="too much"):
        make_poster("簽到", ["一行"] * 40, CODES)


# --- Finding the PNG font -------------------------------------------------------------


@pytest.fixture
def fake_fc_match(monkeypatch):
    """fc-match answering `answer`; no known font paths to fall back on."""
    poster.find_cjk_font.cache_clear()
    monkeypatch.setattr(poster, "_KNOWN_CJK_FONTS", [])
    monkeypatch.setattr(poster.shutil, "which", lambda name: "/usr/bin/" + name)

    def install(answer: str):
        def run(args, **kwargs):
            assert args[0] == "fc-match" and ":lang=zh-tw" in args
            return subprocess.CompletedProcess(args, 0, stdout=answer, stderr="")

        monkeypatch.setattr(poster.subprocess, "run", run)

    yield install
    poster.find_cjk_font.cache_clear()


def test_the_font_fontconfig_matches_for_traditional_chinese_is_used(fake_fc_match, tmp_path):
    font = tmp_path / "NotoSansCJK-Regular.ttc"
    font.write_bytes(b"")
    fake_fc_match(f"{font}|3|en|ja|ko|zh-cn|zh-tw|zh-hk")
    assert poster.find_cjk_font() == (str(font), 3)


def test_fontconfigs_fallback_to_a_latin_font_is_not_taken_for_chinese(fake_fc_match):
    # fc-match always names some font; DejaVu covers Twi ("tw") but not Chinese.
    fake_fc_match("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|0|aa|en|fr|tw|zu")
    assert poster.find_cjk_font() is None
