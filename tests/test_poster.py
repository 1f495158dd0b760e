"""The check-in poster: its URLs, and that every QR code on it scans back to exactly its URL."""

from __future__ import annotations

import io
import re
import subprocess
from urllib.parse import unquote

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from bot.printing import fonts
from bot.printing.fonts import MissingFont
from bot.printing.invite_cards import InviteCard, make_invite_cards
from bot.printing.poster import PosterWords, line_checkin_url, make_poster, telegram_start_url

LINE_URL = line_checkin_url("@abc1234d", "簽到 K7Q2")
TELEGRAM_URL = telegram_start_url("VolunteerHelperBot", "checkin_K7Q2")
LINES = ["2026-03-28 (六) 09:00–12:00", "地點：福隆海水浴場 Fulong Beach"]
SHORT_LINK = "https://vbot.example.org/e/K7Q2AB"
WORDS = PosterWords(
    ["2026 福隆淨灘：在這裡簽到", "2026 Fulong beach clean-up: check in here"],
    LINES,
    "簽到 K7Q2AB",
    ["請用手機相機或 LINE 掃描，再按「傳送」。", "Scan with your phone's camera or LINE, then tap Send."],
)
NAMES = [
    "林阿美",
    "สมชาย ใจดี",
    "Nguyễn Thị Hương",
    "歐陽春花（週三上午班）",
    "Nguyễn Thị Thanh Hương Phạm Minh Khai",
]


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


def poppler_text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "f.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(tmp_path / "f.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout


def mupdf_text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "f.pdf").write_bytes(pdf)
    return subprocess.run(
        ["mutool", "draw", "-F", "txt", "-o", "-", str(tmp_path / "f.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdfium_text(pdf: bytes, _tmp_path) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def ghostscript_text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "f.pdf").write_bytes(pdf)
    return subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=txtwrite",
            "-sOutputFile=-",
            str(tmp_path / "f.pdf"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


ENGINES = [poppler_text, mupdf_text, pdfium_text, ghostscript_text]


def words_of(text: str) -> str:
    """The text with its line breaks and runs of spaces as single spaces (engines lay lines out differently)."""
    return " ".join(text.split())


def unwrapped(text: str) -> str:
    """No white space at all: a caption wrapped over two lines is still found whole."""
    return re.sub(r"\s+", "", text)


def embedded_fonts(pdf: bytes, tmp_path) -> list[list[str]]:
    """pdffonts' rows: name, type, encoding, emb, sub, uni, …"""
    (tmp_path / "f.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdffonts", str(tmp_path / "f.pdf")], capture_output=True, text=True, check=True
    ).stdout
    return [line.split() for line in out.splitlines()[2:]]


def rendered_pages(pdf: bytes, tmp_path, dpi: int = 150) -> list[Image.Image]:
    """Each page as poppler prints it, at `dpi`."""
    (tmp_path / "f.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(tmp_path / "f.pdf"), str(tmp_path / "page")], check=True
    )
    return [Image.open(path) for path in sorted(tmp_path.glob("page-*.png"))]


def cm(pixels: float, dpi: int = 150) -> float:
    return pixels / dpi * 2.54


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


# --- Finding the PNG font -------------------------------------------------------------


@pytest.fixture
def fake_fc_match(monkeypatch):
    """fc-match answering `answer`; no known font paths to fall back on."""
    fonts.find_cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "_KNOWN_CJK_FONTS", [])
    monkeypatch.setattr(fonts.shutil, "which", lambda name: "/usr/bin/" + name)

    def install(answer: str):
        def run(args, **kwargs):
            assert args[0] == "fc-match" and ":lang=zh-tw" in args
            return subprocess.CompletedProcess(args, 0, stdout=answer, stderr="")

        monkeypatch.setattr(fonts.subprocess, "run", run)

    yield install
    fonts.find_cjk_font.cache_clear()


def test_the_font_fontconfig_matches_for_traditional_chinese_is_used(fake_fc_match, tmp_path):
    font = tmp_path / "NotoSansCJK-Regular.ttc"
    font.write_bytes(b"")
    fake_fc_match(f"{font}|3|en|ja|ko|zh-cn|zh-tw|zh-hk")
    assert fonts.find_cjk_font() == (str(font), 3)


def test_fontconfigs_fallback_to_a_latin_font_is_not_taken_for_chinese(fake_fc_match):
    # fc-match always names some font; DejaVu covers Twi ("tw") but not Chinese.
    fake_fc_match("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|0|aa|en|fr|tw|zu")
    assert fonts.find_cjk_font() is None


# --- PDFs that read the same everywhere ------------------------------------------------


def check_fonts_embedded(pdf: bytes, tmp_path) -> None:
    rows = embedded_fonts(pdf, tmp_path)
    assert rows  # the text is text, with fonts
    for row in rows:
        emb, sub, uni = row[-5], row[-4], row[-3]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row  # embedded, subset, with a Unicode map


@pytest.fixture(scope="module")
def the_poster() -> tuple[bytes, bytes]:
    """(PNG, PDF), made once for the tests that only read it."""
    return make_poster(WORDS, SHORT_LINK)


@pytest.fixture(scope="module")
def the_cards() -> bytes:
    return make_invite_cards("邀請卡", [card(name, f"1234567{i}") for i, name in enumerate(NAMES)])


def test_the_poster_reads_the_same_in_poppler_mupdf_and_pdfium_with_its_fonts_embedded(tmp_path, the_poster):
    _, pdf = the_poster
    check_fonts_embedded(pdf, tmp_path)
    for engine in ENGINES:
        text = words_of(engine(pdf, tmp_path))
        for words in [*WORDS.titles, *LINES, WORDS.code_line, *WORDS.steps]:
            assert words in text, (engine.__name__, words)


def test_the_poster_has_one_qr_code_of_the_short_link_at_least_15_cm_wide(tmp_path, the_poster):
    png, pdf = the_poster
    (page,) = rendered_pages(pdf, tmp_path)
    assert abs(cm(page.width) - 21.0) < 0.1 and abs(cm(page.height) - 29.7) < 0.1  # A4 portrait
    codes = decode(page)
    assert set(codes) == {SHORT_LINK}
    left, top, right, bottom = box(codes[SHORT_LINK])
    assert cm(right - left) >= 15 and cm(bottom - top) >= 15
    # The quiet zone: 4 modules of white all round.
    modules = 17 + 4 * int(codes[SHORT_LINK].extra["Version"])
    quiet = round(4 * (right - left) / modules) - 2
    outer = (left - quiet, top - quiet, right + quiet, bottom + quiet)
    assert min(outer) >= 0 and outer[2] <= page.width and outer[3] <= page.height
    inner = (left - 2, top - 2, right + 2, bottom + 2)  # zxing's corners may sit a pixel inside the modules
    assert ink(page, outer) == ink(page, inner)

    image = Image.open(io.BytesIO(png))  # the PNG: the same code, the same size
    assert len(png) < 2 * 1024 * 1024
    dpi = image.info["dpi"][0]
    assert abs(image.width / dpi * 2.54 - 21.0) < 0.1
    codes = decode(image)
    assert set(codes) == {SHORT_LINK}
    left, _, right, _ = box(codes[SHORT_LINK])
    assert cm(right - left, round(dpi)) >= 15


def test_a_rotating_code_poster_and_a_thai_title_read_the_same_everywhere(tmp_path):
    words = PosterWords(
        ["สมชาย ใจดี: ลงเวลาเข้าที่นี่", "Nguyễn Thị Hương: check in here"], [], "簽到碼在入口的螢幕上。"
    )
    _, pdf = make_poster(words, SHORT_LINK)
    check_fonts_embedded(pdf, tmp_path)
    for engine in ENGINES:
        text = words_of(engine(pdf, tmp_path))
        assert all(words in text for words in [*words.titles, words.code_line]), engine.__name__


def test_a_poster_with_too_many_words_is_refused():
    with pytest.raises(ValueError, match="too much"):
        make_poster(PosterWords(["簽到"], ["一行"] * 40, "簽到 K7Q2AB"), SHORT_LINK)


# --- Invite cards -------------------------------------------------------------------------

LINE_CAPTION, TELEGRAM_CAPTION = "用 LINE 掃描，再按「傳送」", "Scan for Telegram, then tap Start"


def card(name: str, code: str, platforms: int = 2, how: str = "") -> InviteCard:
    codes = [
        (LINE_CAPTION, line_checkin_url("@123abcde", f"綁定 {code}")),
        (TELEGRAM_CAPTION, telegram_start_url("vbot_test_bot", code)),
    ]
    return InviteCard(name, "臺北市立聯合醫院忠孝院區志工隊", f"綁定 {code}", tuple(codes[:platforms]), how)


def test_invite_cards_read_the_same_in_every_engine_for_chinese_thai_and_vietnamese_names(
    tmp_path, the_cards
):
    pdf = the_cards
    check_fonts_embedded(pdf, tmp_path)
    for engine in ENGINES:
        text = engine(pdf, tmp_path)
        flat = words_of(text)
        for name in NAMES[:3]:  # short names stay on one line
            assert name in flat, (engine.__name__, name)
        for i, name in enumerate(NAMES):  # long ones wrap, but every word is there
            assert unwrapped(name) in unwrapped(text), (engine.__name__, name)
            assert f"綁定 1234567{i}" in flat, engine.__name__
        if engine is ghostscript_text:
            continue  # it lays lines out side by side, as on the page: the two captions' lines interleave
        # Every caption whole, on every card (it may wrap over lines).
        assert unwrapped(text).count(unwrapped(LINE_CAPTION)) == len(NAMES), engine.__name__
        assert unwrapped(text).count(unwrapped(TELEGRAM_CAPTION)) == len(NAMES), engine.__name__


def test_each_card_s_qr_codes_scan_to_its_own_links(tmp_path, the_cards):
    pages = rendered_pages(the_cards, tmp_path, dpi=200)
    assert len(pages) == 1  # six to a page
    found = {text: code for page in pages for text, code in decode(page).items()}
    for i in range(len(NAMES)):
        assert line_checkin_url("@123abcde", f"綁定 1234567{i}") in found
        assert telegram_start_url("vbot_test_bot", f"1234567{i}") in found
    for code in found.values():
        left, _, right, _ = box(code)
        assert cm(right - left, 200) >= 2.5  # a hand-held card: read from a hand's length


def test_a_card_without_a_platform_says_how_to_link_by_typing_the_code(tmp_path):
    how = "請在 LINE 或 Telegram 打開與小幫手的對話，傳送："
    pdf = make_invite_cards("邀請卡", [card("สมชาย ใจดี", "87654321", platforms=0, how=how)])
    for engine in ENGINES:
        text = engine(pdf, tmp_path)
        assert unwrapped(how) in unwrapped(text) and "綁定 87654321" in words_of(text), engine.__name__
    assert rendered_pages(pdf, tmp_path) and not decode(rendered_pages(pdf, tmp_path)[0])


def test_a_missing_font_is_an_error_that_names_the_package(monkeypatch):
    fonts.pdf_fonts.cache_clear()
    monkeypatch.setattr(fonts, "_TLWG_DIRS", ["/nonexistent"])
    try:
        with pytest.raises(MissingFont, match="fonts-thai-tlwg"):
            make_invite_cards("邀請卡", [card("王小明", "12345678")])
        monkeypatch.setattr(fonts, "_NOTO_DIRS", ["/nonexistent"])
        fonts.pdf_fonts.cache_clear()
        with pytest.raises(MissingFont, match="fonts-noto-cjk"):
            make_poster(WORDS, SHORT_LINK)
    finally:
        fonts.pdf_fonts.cache_clear()


def test_names_of_any_length_stay_on_their_card(tmp_path):
    names = ["王" * 200, "A" * 120, "Nguyễn " * 25, "สมชาย ใจดี ศรีสุวรรณวงศ์ ณ อยุธยา"]
    pdf = make_invite_cards("邀請卡", [card(name, f"1234567{i}") for i, name in enumerate(names)])
    (page,) = rendered_pages(pdf, tmp_path)
    edge = round(150 * 27 / 72)  # the cut lines are 28 pt from the paper's edges: nothing beyond them
    assert ink(page, (page.width - edge, 0, page.width, page.height)) == 0
    assert ink(page, (0, 0, edge, page.height)) == 0
    text = words_of(poppler_text(pdf, tmp_path))
    assert all(f"綁定 1234567{i}" in text for i in range(len(names)))
    assert unwrapped(names[3]) in unwrapped(text)
    assert len(decode(page)) == 2 * len(names)  # every code still there and readable
