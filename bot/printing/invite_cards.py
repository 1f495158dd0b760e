"""Printable invite cards: one per new volunteer, six to an A4 page, cut along the dotted lines.

Each card has the person's name and unit, their invite code in large letters (`綁定 12345678`), and QR codes
that open the bot's chat with `綁定 CODE` typed in (LINE) or start it with the code (Telegram), so a
75-year-old scans and taps Send instead of typing eight digits. Where a platform is not set up the card says
how to link by typing the code. Every caption is drawn whole (wrapped), at 12 pt or more; a long name
wraps and shrinks. The words come from the caller, already translated; the fonts are embedded
(bot.printing.fonts), so every viewer and printer shows the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF

from bot.printing.fonts import BOLD, FAMILY, REGULAR, MissingFont, clean, fit_size, line, new_pdf, wrap
from bot.printing.poster import line_checkin_url, qr_image, telegram_start_url
from handlers.i18n import Translator
from handlers.validation import InputError, _

COLUMNS, ROWS = 2, 3
_PAGE_W, _PAGE_H = 595.28, 841.89  # A4 in points
_MARGIN = 28.0
_CARD_W = (_PAGE_W - 2 * _MARGIN) / COLUMNS
_CARD_H = (_PAGE_H - 2 * _MARGIN) / ROWS
_PAD = 12.0
_GAP = 10.0
NAME_SIZE = 22.0
TEXT_SIZE = 12.0  # the unit, the captions and the how-to line: nothing on a card is smaller
CODE_SIZE, CODE_SMALLEST = 24.0, 16.0
_LEADING = 1.25


@dataclass(frozen=True)
class InviteCard:
    name: str
    unit: str
    code_line: str  # e.g. `綁定 12345678`
    qr_codes: tuple[tuple[str, str], ...]  # (caption, url)
    how_to_type: str = ""  # e.g. "Or open the chat with the bot and send:", shown above the code line


def make_invite_cards(title: str, cards: list[InviteCard]) -> bytes:
    """A PDF of the cards; the same cards give the same bytes. MissingFont when a font is not installed."""
    pdf = new_pdf(title)
    per_page = COLUMNS * ROWS
    for first in range(0, max(len(cards), 1), per_page):
        pdf.add_page()
        for index, card in enumerate(cards[first : first + per_page]):
            row, column = divmod(index, COLUMNS)
            _draw_card(pdf, card, _MARGIN + column * _CARD_W, _MARGIN + row * _CARD_H)
    return bytes(pdf.output())


def invite_cards_of(
    t: Translator, names: tuple[str | None, str | None], unit_name: str, invites: list[dict]
) -> bytes:
    """The cards of (name, invite_code) rows in `t`'s language, with QR codes of the platforms on (`names`:
    LINE basic id, Telegram user name); `vbot volunteer import --invites` and the console print these."""
    basic_id, username = names
    cards = []
    for row in invites:
        typed = t("link") + " " + row["invite_code"]
        codes = []
        if basic_id:
            codes.append((t("Scan with LINE, then tap Send"), line_checkin_url(basic_id, typed)))
        if username:
            codes.append(
                (t("Scan for Telegram, then tap Start"), telegram_start_url(username, row["invite_code"]))
            )
        how_to_type = ""
        if not codes:
            how_to_type = t("Open the chat with the bot in LINE or Telegram and send:")
        elif len(codes) == 1:
            how_to_type = t("Or open the chat with the bot and send:")
        cards.append(InviteCard(row["name"], unit_name, typed, tuple(codes), how_to_type))
    try:
        return make_invite_cards(t("Invitations: {unit}", unit=unit_name), cards)
    except MissingFont as error:
        raise InputError(
            str(error), said=_("The invite cards cannot be made: a font is missing (vbot doctor says which).")
        ) from None


def _name_lines(pdf: FPDF, name: str, width: float) -> tuple[float, list[str]]:
    """The name as large as it fits: one line from 22 pt, two from 18 pt, three from 14 pt; a name longer
    than four lines at 12 pt (names may have 200 characters) ends in "…" on the fourth."""
    lines: list[str] = []
    for size in range(int(NAME_SIZE), int(TEXT_SIZE) - 1, -1):
        pdf.set_font(FAMILY, BOLD, size)
        lines = wrap(pdf, name, width)
        if len(lines) <= (1 if size > 18 else 2 if size > 14 else 3):
            return size, lines
    if len(lines) > 4:
        lines = [*lines[:3], lines[3][:-1] + "…"]
    return TEXT_SIZE, lines


def _draw_card(pdf: FPDF, card: InviteCard, left: float, top: float) -> None:
    pdf.set_draw_color(150)
    pdf.set_dash_pattern(dash=3, gap=3)  # where to cut
    pdf.rect(left, top, _CARD_W, _CARD_H)
    pdf.set_dash_pattern()
    x, width = left + _PAD, _CARD_W - 2 * _PAD
    y = top + _PAD

    size, names = _name_lines(pdf, card.name, width)
    for text in names:
        line(pdf, text, x=x, top=y, width=width, height=size * _LEADING)
        y += size * _LEADING
    pdf.set_font(FAMILY, REGULAR, TEXT_SIZE)
    for text in wrap(pdf, card.unit, width)[:2]:
        line(pdf, text, x=x, top=y, width=width, height=TEXT_SIZE * _LEADING)
        y += TEXT_SIZE * _LEADING

    # From the bottom up: the code line, the how-to line above it, then the codes fill what is left.
    code_size = fit_size(pdf, card.code_line, BOLD, CODE_SIZE, width, CODE_SMALLEST)
    bottom = top + _CARD_H - _PAD - code_size * _LEADING
    pdf.set_font(FAMILY, BOLD, code_size)
    line(pdf, card.code_line, x=x, top=bottom, width=width, height=code_size * _LEADING)
    if card.how_to_type:
        pdf.set_font(FAMILY, REGULAR, TEXT_SIZE)
        hint = wrap(pdf, card.how_to_type, width)
        bottom -= len(hint) * TEXT_SIZE * _LEADING
        for i, text in enumerate(hint):
            line(
                pdf,
                text,
                x=x,
                top=bottom + i * TEXT_SIZE * _LEADING,
                width=width,
                height=TEXT_SIZE * _LEADING,
            )
    _draw_codes(pdf, card.qr_codes[:2], x, y + 4, width, bottom - 4)


def _draw_codes(
    pdf: FPDF, codes: tuple[tuple[str, str], ...], x: float, top: float, width: float, bottom: float
) -> None:
    """The QR codes side by side, each with its whole caption under it."""
    if not codes:
        return
    column = (width - _GAP * (len(codes) - 1)) / len(codes)
    pdf.set_font(FAMILY, REGULAR, TEXT_SIZE)
    captions = [wrap(pdf, clean(caption), column) for caption, _ in codes]
    caption_h = max(len(c) for c in captions) * TEXT_SIZE * _LEADING
    side = min(column, bottom - top - caption_h - 4)
    for i, ((_platform, url), caption) in enumerate(zip(codes, captions, strict=True)):
        cx = x + i * (column + _GAP)
        pdf.image(qr_image(url, 600).convert("L"), x=cx + (column - side) / 2, y=top, w=side, h=side)
        for j, text in enumerate(caption):
            line(
                pdf,
                text,
                x=cx,
                top=top + side + 4 + j * TEXT_SIZE * _LEADING,
                width=column,
                height=TEXT_SIZE * _LEADING,
                align="C",
            )
