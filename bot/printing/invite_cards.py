"""Printable invite cards: one per new volunteer, eight to an A4 page, cut along the dotted lines.

Each card has the person's name and unit, their invite code in large digits, and QR codes that open the bot's
chat with `綁定 CODE` typed in (LINE) or start it with the code (Telegram), so a 75-year-old scans and taps Send
instead of typing eight digits. The words come from the caller, already translated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from bot.printing.poster import PDF_FONT, qr_image, register_pdf_font, wrap_line

COLUMNS, ROWS = 2, 4
_PAGE_W, _PAGE_H = A4
_MARGIN = 28.0
_CARD_W = (_PAGE_W - 2 * _MARGIN) / COLUMNS
_CARD_H = (_PAGE_H - 2 * _MARGIN) / ROWS
_PAD = 10.0
_NAME_SIZE, _LINE_SIZE, _CODE_SIZE, _CAPTION_SIZE = 20.0, 11.0, 22.0, 9.0


@dataclass(frozen=True)
class InviteCard:
    name: str
    unit: str
    code_line: str  # e.g. `綁定 12345678`
    qr_codes: tuple[tuple[str, str], ...]  # (caption, url)


def make_invite_cards(title: str, cards: list[InviteCard]) -> bytes:
    """A PDF of the cards; the same cards give the same bytes."""
    register_pdf_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True)
    pdf.setTitle(title)
    per_page = COLUMNS * ROWS
    for first in range(0, max(len(cards), 1), per_page):
        for index, card in enumerate(cards[first : first + per_page]):
            row, column = divmod(index, COLUMNS)
            _draw_card(pdf, card, _MARGIN + column * _CARD_W, _PAGE_H - _MARGIN - (row + 1) * _CARD_H)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_card(pdf: canvas.Canvas, card: InviteCard, left: float, bottom: float) -> None:
    pdf.setDash(3, 3)  # where to cut
    pdf.setStrokeGray(0.6)
    pdf.rect(left, bottom, _CARD_W, _CARD_H)
    pdf.setDash()
    top = bottom + _CARD_H - _PAD
    width = _CARD_W - 2 * _PAD
    pdf.setFont(PDF_FONT, _NAME_SIZE)
    pdf.drawString(left + _PAD, top - _NAME_SIZE, wrap_line(card.name, _NAME_SIZE, width)[0])
    pdf.setFont(PDF_FONT, _LINE_SIZE)
    pdf.drawString(
        left + _PAD, top - _NAME_SIZE - _LINE_SIZE * 1.6, wrap_line(card.unit, _LINE_SIZE, width)[0]
    )
    pdf.setFont(PDF_FONT, _CODE_SIZE)
    pdf.drawString(left + _PAD, bottom + _PAD, card.code_line)

    codes = card.qr_codes[:2]
    if not codes:
        return
    room_top = top - _NAME_SIZE - _LINE_SIZE * 2.4
    room_bottom = bottom + _PAD + _CODE_SIZE * 1.3 + _CAPTION_SIZE * 1.4
    side = min(room_top - room_bottom, (width - _PAD * (len(codes) - 1)) / len(codes))
    for i, (caption, url) in enumerate(codes):
        x = left + _PAD + i * (side + _PAD)
        pdf.drawImage(ImageReader(qr_image(url, 600)), x, room_bottom, width=side, height=side)
        pdf.setFont(PDF_FONT, _CAPTION_SIZE)
        pdf.drawCentredString(
            x + side / 2, room_bottom - _CAPTION_SIZE * 1.2, wrap_line(caption, _CAPTION_SIZE, side)[0]
        )
