"""The event check-in poster: QR codes that open the bot's chat with `簽到 CODE` typed in.

A volunteer at the event scans the poster with LINE's camera (or any camera, for the
Telegram code); the chat opens with the check-in command ready to send. This module only
builds the URLs and draws the poster; the words on it (title, date and place, captions)
come from the caller, already translated.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

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


# --- Layout (in PDF points, shared by the PNG so both look the same) -----------------

_PAGE_W, _PAGE_H = A4  # portrait, points
_MARGIN = 36.0  # 1.27 cm: inside what office printers can print
_TITLE_SIZE = 40.0
_LINE_SIZE = 22.0
_CAPTION_SIZE = 18.0
_GAP = 14.0
# A camera reads a QR code from about ten times its width, so 1 m wants ~10 cm. Two codes
# on A4 under the text get ~9 cm with their quiet zone (~7.5 cm of code), which still scans
# at a metre because these short URLs make coarse codes (version 3-4: modules over 2 mm).
# Below 8 cm (quiet zone included) we warn; below half that we refuse.
_MIN_QR_PT = 8 / 2.54 * 72
PDF_FONT = "MSung-Light"  # Adobe's built-in Traditional Chinese CID font: no font file needed
_PNG_DPI = 200  # crisp text and QR modules when printed, and still a small file


def register_pdf_font() -> None:
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


def wrap_line(text: str, size: float, width: float) -> list[str]:
    """Break a line character by character (Chinese has no spaces to break at).

    Measured with the PDF font so both outputs get the same line breaks.
    """
    lines, current = [], ""
    for char in text:
        if current and pdfmetrics.stringWidth(current + char, PDF_FONT, size) > width:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    return [*lines, current] if current else lines


class _Layout:
    """Where everything goes, top-down, in points from the top-left corner."""

    def __init__(self, title: str, lines: list[str], qr_codes: list[tuple[str, str]]):
        register_pdf_font()
        width = _PAGE_W - 2 * _MARGIN
        self.texts: list[tuple[str, float, float]] = []  # (text, size, baseline y), centred
        self.captions: list[tuple[str, float, float, float]] = []  # (text, size, centre x, baseline y)
        y = _MARGIN
        for size, block in [(_TITLE_SIZE, [title]), (_LINE_SIZE, lines)]:
            for line in block:
                for part in wrap_line(line, size, width):
                    y += size
                    self.texts.append((part, size, y))
                    y += size * 0.35  # room for descenders and between lines
            y += _GAP

        # One column or two, whichever gives the larger codes.
        caption_h = _CAPTION_SIZE * 1.5
        room = _PAGE_H - _MARGIN - y

        def side(cols: int) -> float:
            rows = -(-len(qr_codes) // cols)
            return min((width - (cols - 1) * _GAP) / cols, room / rows - caption_h - _GAP)

        self.cols = max((1, 2), key=side) if len(qr_codes) > 1 else 1
        self.qr_side = side(self.cols)
        if self.qr_side < _MIN_QR_PT / 2:  # could not be scanned from where people stand
            raise ValueError("too much text or too many QR codes for one poster")
        if self.qr_side < _MIN_QR_PT:
            log.warning(
                "poster: QR codes are only %.1f cm wide; fewer lines or codes would help",
                self.qr_side / 72 * 2.54,
            )
        # (url, left x, top y) of each code.
        self.qrs: list[tuple[str, float, float]] = []
        self.cell_w = cell_w = (width - (self.cols - 1) * _GAP) / self.cols
        for i, (caption, url) in enumerate(qr_codes):
            row, col = divmod(i, self.cols)
            x = _MARGIN + col * (cell_w + _GAP) + (cell_w - self.qr_side) / 2
            top = y + row * (self.qr_side + caption_h + _GAP)
            self.qrs.append((url, x, top))
            # A caption is one line under its code: shrink a long one rather than wrap it.
            size = min(
                _CAPTION_SIZE,
                _CAPTION_SIZE * cell_w / max(1.0, pdfmetrics.stringWidth(caption, PDF_FONT, _CAPTION_SIZE)),
            )
            self.captions.append(
                (caption, size, x + self.qr_side / 2, top + self.qr_side + _CAPTION_SIZE * 1.1)
            )


def _qr_matrix(url: str) -> list[list[bool]]:
    # M recovers 15% of damage (folds, glare); Q would make the code denser, and so
    # smaller per module, for little gain on a poster. border=4 is the standard quiet zone.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_image(url: str, max_px: int) -> Image.Image:
    """The code at a whole number of pixels per module: scaled modules blur and misread."""
    matrix = _qr_matrix(url)
    n = len(matrix)
    small = Image.new("1", (n, n), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    module = max(1, max_px // n)
    return small.resize((n * module, n * module), Image.Resampling.NEAREST)


# --- Fonts for the PNG ----------------------------------------------------------------

# Where Debian/Ubuntu, Fedora, Arch, macOS and Windows keep a CJK font, in case fontconfig
# is missing. (path, face index): in Noto's collections face 3 is Traditional Chinese.
_KNOWN_CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 1),  # face 1: AR PL UMing TW
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msjh.ttc", 0),  # Microsoft JhengHei
]


@functools.cache
def find_cjk_font() -> tuple[str, int] | None:
    """A font file (and face index) with Traditional Chinese glyphs, or None."""
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}|%{index}|%{lang}", ":lang=zh-tw"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            path, index, langs = out.split("|", 2)
            # fc-match always answers, falling back to e.g. DejaVu: keep only a real match.
            if "zh-tw" in langs.split("|") and Path(path).is_file():
                return path, int(index or 0)
        except (OSError, subprocess.SubprocessError, ValueError):
            log.debug("fc-match failed", exc_info=True)
    for path, index in _KNOWN_CJK_FONTS:
        if Path(path).is_file():
            return path, index
    return None


def _png_font_loader() -> tuple[Callable[[int], ImageFont.FreeTypeFont | ImageFont.ImageFont], bool]:
    """A function from pixel size to font, and whether that font has Chinese glyphs."""
    found = find_cjk_font()
    if found:
        try:
            ImageFont.truetype(found[0], 12, index=found[1])
            return (lambda size: ImageFont.truetype(found[0], size, index=found[1])), True
        except OSError:
            log.warning("poster: cannot load font %s", found[0], exc_info=True)
    return ImageFont.load_default, False  # Pillow's own scalable font: ASCII only


def _ascii_only(text: str) -> str:
    return " ".join("".join(c if " " <= c <= "~" else " " for c in text).split())


# --- The poster -----------------------------------------------------------------------


def make_poster(title: str, lines: list[str], qr_codes: list[tuple[str, str]]) -> tuple[bytes, bytes]:
    """An A4 portrait poster as (PNG bytes, PDF bytes).

    `lines` are shown under the title (date and time, place, how to scan); `qr_codes` are
    (caption, url) pairs, each caption printed under its code.
    """
    if not qr_codes:
        raise ValueError("a check-in poster needs at least one QR code")
    layout = _Layout(title, lines, qr_codes)
    return _png(layout), _pdf(layout, title)


def _png(layout: _Layout) -> bytes:
    scale = _PNG_DPI / 72
    image = Image.new("L", (round(_PAGE_W * scale), round(_PAGE_H * scale)), 255)
    draw = ImageDraw.Draw(image)

    font, cjk = _png_font_loader()
    if not cjk:
        # Better a poster with working codes and the ASCII text (dates, codes) than none:
        # the words can be written on by hand.
        log.warning(
            "poster: no font with Chinese glyphs found (install fonts-noto-cjk); "
            "the PNG shows only the ASCII part of its texts"
        )

    def text(s: str, size: float, x_mid: float, baseline: float, width: float) -> None:
        s = s if cjk else _ascii_only(s)
        if not s:
            return
        px = round(size * scale)
        # Lines were broken with the PDF font's widths; this font may run a little wider.
        px = min(px, int(px * width * scale / max(1.0, font(px).getlength(s))))
        draw.text((x_mid * scale, baseline * scale), s, font=font(px), fill=0, anchor="ms")

    for s, size, baseline in layout.texts:
        text(s, size, _PAGE_W / 2, baseline, _PAGE_W - 2 * _MARGIN)
    for s, size, x_mid, baseline in layout.captions:
        text(s, size, x_mid, baseline, layout.cell_w)
    for url, x, top in layout.qrs:
        qr = qr_image(url, int(layout.qr_side * scale))
        offset = (int(layout.qr_side * scale) - qr.width) // 2  # centre the whole-module code
        image.paste(qr, (round(x * scale) + offset, round(top * scale) + offset))

    out = io.BytesIO()
    # Greyscale, mostly white: a few hundred kB, well under the 2 MB chat image limit.
    image.save(out, format="PNG", optimize=True, dpi=(_PNG_DPI, _PNG_DPI))
    return out.getvalue()


def _pdf(layout: _Layout, title: str) -> bytes:
    out = io.BytesIO()
    # invariant: no timestamps or random IDs, so the same poster gives the same bytes.
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    pdf.setTitle(title)
    for s, size, baseline in layout.texts:
        pdf.setFont(PDF_FONT, size)
        pdf.drawCentredString(_PAGE_W / 2, _PAGE_H - baseline, s)
    for s, size, x_mid, baseline in layout.captions:
        pdf.setFont(PDF_FONT, size)
        pdf.drawCentredString(x_mid, _PAGE_H - baseline, s)
    for url, x, top in layout.qrs:
        # About 1000 px (over 20 px per module) stays sharp at any print size.
        qr = qr_image(url, 1000)
        pdf.drawImage(
            ImageReader(qr), x, _PAGE_H - top - layout.qr_side, width=layout.qr_side, height=layout.qr_side
        )
    pdf.showPage()
    pdf.save()
    return out.getvalue()
