"""The event check-in poster: one large QR code of the bot's short link, and the code as text.

The QR holds `VBOT_PUBLIC_URL/e/CODE` (bot.web.short_links): scanned with LINE's camera it opens the bot's
chat with `簽到 CODE` typed in, so one tap on Send checks in; any other camera opens a small page with one
button per platform. The code is printed too, for people who type it. The code is at least 15 cm wide on
A4, which a phone reads from about two metres. This module only builds the URLs and draws the poster (PDF
with embedded fonts, and a PNG of the same layout); the words on it come from the caller, already
translated, in as many languages as the caller gives.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import qrcode
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from bot.printing.fonts import BOLD, FAMILY, REGULAR, clean, find_cjk_font, line, new_pdf, pdf_fonts, wrap

__all__ = ["find_cjk_font", "line_checkin_url", "make_poster", "qr_image", "telegram_start_url"]

log = logging.getLogger(__name__)

# --- URLs -----------------------------------------------------------------------------

# Telegram's documented rule for the /start parameter of a deep link.
_TELEGRAM_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def line_checkin_url(basic_id: str, text: str) -> str:
    """LINE's "oaMessage" URL: opens the chat with the official account, `text` typed in.

    https://line.me/R/oaMessage/{LINE ID}/?{text} — the ID includes its "@" and both parts
    are percent-encoded (UTF-8), so `safe=""`: quote() would otherwise leave "/" alone and
    "@" is only safe by accident of the browser.
    """
    basic_id = basic_id.strip()
    if not basic_id.startswith("@"):  # settings often hold the ID without its "@"
        basic_id = "@" + basic_id
    return f"https://line.me/R/oaMessage/{quote(basic_id, safe='')}/?{quote(text, safe='')}"


def telegram_start_url(bot_username: str, payload: str) -> str:
    """Telegram deep link; the bot receives `/start payload` when the user taps Start."""
    if not _TELEGRAM_PAYLOAD.fullmatch(payload):
        raise ValueError("Telegram start payload: 1-64 characters of A-Z a-z 0-9 _ - only")
    return f"https://t.me/{bot_username.strip().removeprefix('@')}?start={payload}"


def _qr_matrix(url: str, border: int = 4) -> list[list[bool]]:
    # M recovers 15% of damage (folds, glare); Q would make the code denser, and so
    # smaller per module, for little gain on a poster. border=4 is the standard quiet zone.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_image(url: str, max_px: int, border: int = 4) -> Image.Image:
    """The code at a whole number of pixels per module: scaled modules blur and misread."""
    matrix = _qr_matrix(url, border)
    n = len(matrix)
    small = Image.new("1", (n, n), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    module = max(1, max_px // n)
    return small.resize((n * module, n * module), Image.Resampling.NEAREST)


# --- Layout (in PDF points from the top-left corner, shared by the PNG) ----------------

_PAGE_W, _PAGE_H = 595.28, 841.89  # A4 portrait
_MARGIN = 30.0
QR_SIDE = 15.5 / 2.54 * 72  # the code itself, without its quiet zone: 15.5 cm, read from about 2 m
_TITLE, _SUBTITLE, _LINE, _CODE, _STEP = 30.0, 20.0, 18.0, 44.0, 16.0
_LEADING = 1.3
_SMALLEST_SCALE = 0.6  # below that the words would be too small to read from where people stand
_PNG_DPI = 150  # crisp text and QR modules when printed, and still a small file


@dataclass(frozen=True)
class PosterWords:
    """What the poster says, already translated. The first title is the largest."""

    titles: list[str]  # the poster's title, one per language
    lines: list[str]  # date and time, place, posts
    code_line: str  # e.g. `簽到 K7Q2AB`, printed large under the code
    steps: list[str] = field(default_factory=list)  # how to scan, one per language


@dataclass(frozen=True)
class _Text:
    text: str
    style: str
    size: float
    top: float


class _Layout:
    """Where everything goes: centred lines of text, and the code."""

    def __init__(self, pdf: FPDF, words: PosterWords, url: str):
        modules = len(_qr_matrix(url, border=0))
        self.quiet = 4 * QR_SIDE / modules  # the white all round that scanners need
        self.url = url
        for scale in (1.0, 0.9, 0.8, 0.7, _SMALLEST_SCALE):
            self.texts: list[_Text] = []
            if self._place(pdf, words, scale) <= _PAGE_H - _MARGIN:
                return
        raise ValueError("too much text for one poster: shorten the title or the place")

    def _block(self, pdf: FPDF, texts: list[str], style: str, size: float, y: float) -> float:
        pdf.set_font(FAMILY, style, size)
        for text in texts:
            for part in wrap(pdf, text, _PAGE_W - 2 * _MARGIN):
                self.texts.append(_Text(part, style, size, y))
                y += size * _LEADING
        return y

    def _place(self, pdf: FPDF, words: PosterWords, scale: float) -> float:
        y = self._block(pdf, words.titles[:1], BOLD, _TITLE * scale, _MARGIN)
        y = self._block(pdf, words.titles[1:], BOLD, _SUBTITLE * scale, y)
        y = self._block(pdf, words.lines, REGULAR, _LINE * scale, y + 4)
        self.qr_top = y + self.quiet
        y = self.qr_top + QR_SIDE + self.quiet
        y = self._block(pdf, [words.code_line], BOLD, _CODE * scale, y)
        return self._block(pdf, words.steps, REGULAR, _STEP * scale, y + 4)

    @property
    def qr_left(self) -> float:
        return (_PAGE_W - QR_SIDE) / 2


def make_poster(words: PosterWords, url: str) -> tuple[bytes, bytes]:
    """An A4 portrait poster as (PNG bytes, PDF bytes): the words centred, one QR code of `url`.

    ValueError when the words do not fit; MissingFont when a font is not installed."""
    pdf = new_pdf(clean(words.titles[0]) if words.titles else "poster")
    layout = _Layout(pdf, words, url)
    return _png(layout), _pdf(pdf, layout)


def _pdf(pdf: FPDF, layout: _Layout) -> bytes:
    pdf.add_page()
    for text in layout.texts:
        pdf.set_font(FAMILY, text.style, text.size)
        line(
            pdf,
            text.text,
            x=_MARGIN,
            top=text.top,
            width=_PAGE_W - 2 * _MARGIN,
            height=text.size * _LEADING,
            align="C",
        )
    # About 1000 px (over 20 px per module) stays sharp at any print size.
    qr = qr_image(layout.url, 1000, border=0).convert("L")
    pdf.image(qr, x=layout.qr_left, y=layout.qr_top, w=QR_SIDE, h=QR_SIDE)
    return bytes(pdf.output())


# --- The PNG: the same layout, drawn with Pillow --------------------------------------


@functools.cache
def _covered(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())


@functools.cache
def _png_font(role: str, px: int) -> ImageFont.FreeTypeFont:
    found = pdf_fonts()[role]
    return ImageFont.truetype(found.path, px, index=found.index)


def _runs(text: str, bold: bool) -> list[tuple[str, str]]:
    """(font role, text) runs: the CJK font where it has the letter, the Thai one elsewhere."""
    cjk = pdf_fonts()["cjk"]
    covered = _covered(cjk.path, cjk.index)
    runs: list[tuple[str, str]] = []
    for char in text:
        role = ("cjk" if ord(char) in covered or char == " " else "thai") + ("-bold" if bold else "")
        if runs and runs[-1][0] == role:
            runs[-1] = (role, runs[-1][1] + char)
        else:
            runs.append((role, char))
    return runs


def _png(layout: _Layout) -> bytes:
    scale = _PNG_DPI / 72
    image = Image.new("L", (round(_PAGE_W * scale), round(_PAGE_H * scale)), 255)
    draw = ImageDraw.Draw(image)
    for text in layout.texts:
        px = round(text.size * scale)
        runs = [(_png_font(role, px), part) for role, part in _runs(text.text, text.style == BOLD)]
        width = sum(font.getlength(part) for font, part in runs)
        x = (_PAGE_W * scale - width) / 2
        baseline = (text.top + text.size * (_LEADING + 0.7) / 2) * scale
        for font, part in runs:
            draw.text((x, baseline), part, font=font, fill=0, anchor="ls")
            x += font.getlength(part)
    side = round(QR_SIDE * scale)
    qr = qr_image(layout.url, side, border=0)
    offset = (side - qr.width) // 2  # centre the whole-module code
    image.paste(qr, (round(layout.qr_left * scale) + offset, round(layout.qr_top * scale) + offset))
    out = io.BytesIO()
    # Greyscale, mostly white: a few hundred kB, well under the 2 MB chat image limit.
    image.save(out, format="PNG", optimize=True, dpi=(_PNG_DPI, _PNG_DPI))
    return out.getvalue()
