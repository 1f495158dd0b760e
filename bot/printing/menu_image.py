"""The pictures of the LINE rich menus, drawn by the bot: a grid of strongly coloured tiles, each with a
simple white icon and a large label, so that a 75-year-old can read and hit them.

The words come from the caller, already translated; this module only draws. The font is the one the
poster uses for Chinese (bot/poster.py), or whatever fontconfig offers for the menu's language.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.printing.poster import find_cjk_font

log = logging.getLogger(__name__)

WHITE = (255, 255, 255)
GAP = 14  # dark lines between the tiles, so each reads as its own button
BACKGROUND = (33, 33, 33)
MAX_BYTES = 1024 * 1024  # LINE refuses a rich menu image over 1 MB

# Colours dark enough for white text (contrast over 5:1), and different enough from one another.
COLOURS = {
    "checkin": (27, 94, 32),  # green
    "checkout": (191, 54, 12),  # deep orange
    "hours": (13, 71, 161),  # blue
    "awards": (106, 27, 154),  # purple
    "shifts": (0, 105, 92),  # teal
    "help": (69, 90, 100),  # blue grey
    "live": (183, 28, 28),  # red, like a "live" light
    "review": (40, 53, 147),  # indigo
    "award_list": (136, 14, 79),  # dark pink
}


@dataclass(frozen=True)
class Tile:
    icon: str  # a key of ICONS (and of COLOURS)
    label: str


def grid(width: int, height: int, columns: int, rows: int) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of each cell, row by row, covering the whole image with no pixel left over."""
    xs = [round(width * i / columns) for i in range(columns + 1)]
    ys = [round(height * j / rows) for j in range(rows + 1)]
    return [(xs[i], ys[j], xs[i + 1] - xs[i], ys[j + 1] - ys[j]) for j in range(rows) for i in range(columns)]


# --- fonts ------------------------------------------------------------------------------------

FontLoader = Callable[[int], ImageFont.FreeTypeFont]


@functools.cache
def _fontconfig_font(language: str) -> tuple[str, int] | None:
    """The font fontconfig picks for a language, when it really covers it (fc-match always answers)."""
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}|%{index}|%{lang}", f":lang={language}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        path, index, langs = out.split("|", 2)
    except (OSError, subprocess.SubprocessError, ValueError):
        log.debug("fc-match failed", exc_info=True)
        return None
    if language in langs.split("|") and Path(path).is_file():
        return path, int(index or 0)
    return None


def _picture(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    left, top, right, bottom = font.getbbox(char)
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(image).text((-left, -top), char, font=font, fill=255)
    return image.size, image.tobytes()


def _covers(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """Whether the font has a glyph for every character: a missing one draws the same as a character
    no font has (U+10FFFD, private use)."""
    missing = _picture(font, "\U0010fffd")
    return all(char.isspace() or _picture(font, char) != missing for char in set(text))


def font_for(language: str, texts: list[str]) -> FontLoader | None:
    """A loader from pixel size to a font that can write all `texts`, or None."""
    candidates = [find_cjk_font()] if language == "zh" else [_fontconfig_font(language), find_cjk_font()]
    for found in candidates:
        if found is None:
            continue
        path, index = found
        try:
            probe = ImageFont.truetype(path, 48, index=index)
        except OSError:
            log.warning("rich menu: cannot load font %s", path)
            continue
        if _covers(probe, "".join(texts)):
            return functools.cache(
                lambda size, path=path, index=index: ImageFont.truetype(path, size, index=index)
            )
    default = ImageFont.load_default(48)
    if isinstance(default, ImageFont.FreeTypeFont) and _covers(default, "".join(texts)):
        return functools.cache(lambda size: ImageFont.load_default(size))
    return None


# --- icons: white shapes in a square of side `s` centred on (x, y) -------------------------------


def _arrow(draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, s: float) -> None:
    """A thick arrow from x0 to x1 (pointing right) at height y."""
    w = s * 0.09
    head = s * 0.2
    draw.rectangle([x0, y - w / 2, x1 - head * 0.8, y + w / 2], fill=WHITE)
    draw.polygon([(x1, y), (x1 - head, y - head * 0.8), (x1 - head, y + head * 0.8)], fill=WHITE)


def _door(draw: ImageDraw.ImageDraw, left: float, top: float, s: float) -> None:
    w = s * 0.07
    draw.rectangle([left, top, left + s * 0.4, top + s], outline=WHITE, width=round(w))
    knob = s * 0.04
    kx, ky = left + s * 0.3, top + s * 0.55
    draw.ellipse([kx - knob, ky - knob, kx + knob, ky + knob], fill=WHITE)


def icon_checkin(draw, x, y, s):
    """An arrow going into a door."""
    _door(draw, x + s * 0.1, y - s / 2, s)
    _arrow(draw, x - s / 2, x + s * 0.25, y, s)


def icon_checkout(draw, x, y, s):
    """An arrow coming out of a door."""
    _door(draw, x - s / 2, y - s / 2, s)
    _arrow(draw, x - s * 0.2, x + s / 2, y, s)


def icon_hours(draw, x, y, s):
    """A clock at three o'clock."""
    r, w = s * 0.46, round(s * 0.07)
    draw.ellipse([x - r, y - r, x + r, y + r], outline=WHITE, width=w)
    draw.line([(x, y), (x, y - r * 0.7)], fill=WHITE, width=w)
    draw.line([(x, y), (x + r * 0.55, y)], fill=WHITE, width=w)
    dot = s * 0.06
    draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=WHITE)


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def icon_awards(draw, x, y, s):
    """A medal: a star on a disc, hanging from a ribbon."""
    w = s * 0.16
    draw.polygon(
        [(x - s * 0.3, y - s / 2), (x - s * 0.3 + w, y - s / 2), (x + w / 2, y), (x - w / 2, y)], fill=WHITE
    )
    draw.polygon(
        [(x + s * 0.3, y - s / 2), (x + s * 0.3 - w, y - s / 2), (x - w / 2, y), (x + w / 2, y)], fill=WHITE
    )
    r = s * 0.3
    cy = y + s * 0.2
    draw.ellipse([x - r, cy - r, x + r, cy + r], outline=WHITE, width=round(s * 0.06))
    draw.polygon(_star(x, cy, r * 0.7), fill=WHITE)


def icon_shifts(draw, x, y, s):
    """A calendar page."""
    w = round(s * 0.06)
    left, top, right, bottom = x - s * 0.45, y - s * 0.38, x + s * 0.45, y + s * 0.45
    draw.rectangle([left, top, right, bottom], outline=WHITE, width=w)
    draw.rectangle([left, top, right, top + s * 0.18], fill=WHITE)
    for rx in (left + s * 0.22, right - s * 0.22):
        draw.rectangle([rx - s * 0.04, top - s * 0.1, rx + s * 0.04, top + s * 0.05], fill=WHITE)
    cell = s * 0.12
    for row in range(2):
        for col in range(3):
            cx = left + s * 0.18 + col * s * 0.27
            cy = top + s * 0.35 + row * s * 0.25
            draw.rectangle([cx - cell / 2, cy - cell / 2, cx + cell / 2, cy + cell / 2], fill=WHITE)


def icon_help(draw, x, y, s):
    """A question mark in a ring."""
    r, w = s * 0.46, round(s * 0.07)
    draw.ellipse([x - r, y - r, x + r, y + r], outline=WHITE, width=w)
    font = ImageFont.load_default(round(s * 0.62))
    draw.text(
        (x, y), "?", font=font, fill=WHITE, anchor="mm", stroke_width=round(s * 0.015), stroke_fill=WHITE
    )


def icon_live(draw, x, y, s):
    """A dot sending out waves: happening now."""
    dot = s * 0.12
    draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=WHITE)
    w = round(s * 0.07)
    for r in (s * 0.28, s * 0.46):
        draw.arc([x - r, y - r, x + r, y + r], 140, 220, fill=WHITE, width=w)
        draw.arc([x - r, y - r, x + r, y + r], -40, 40, fill=WHITE, width=w)


def icon_review(draw, x, y, s):
    """A clipboard with ticks."""
    w = round(s * 0.06)
    left, top, right, bottom = x - s * 0.36, y - s * 0.4, x + s * 0.36, y + s * 0.5
    draw.rectangle([left, top, right, bottom], outline=WHITE, width=w)
    draw.rectangle([x - s * 0.15, top - s * 0.1, x + s * 0.15, top + s * 0.08], fill=WHITE)
    for row in range(3):
        cy = top + s * 0.28 + row * s * 0.22
        draw.line(
            [(left + s * 0.1, cy), (left + s * 0.16, cy + s * 0.06), (left + s * 0.28, cy - s * 0.07)],
            fill=WHITE,
            width=w,
            joint="curve",
        )
        draw.rectangle([left + s * 0.34, cy - s * 0.025, right - s * 0.1, cy + s * 0.025], fill=WHITE)


def icon_award_list(draw, x, y, s):
    """A list with a star on each line."""
    for row in range(3):
        cy = y - s * 0.33 + row * s * 0.33
        draw.polygon(_star(x - s * 0.32, cy, s * 0.14), fill=WHITE)
        draw.rectangle([x - s * 0.12, cy - s * 0.04, x + s * 0.48, cy + s * 0.04], fill=WHITE)


ICONS: dict[str, Callable[[ImageDraw.ImageDraw, float, float, float], None]] = {
    "checkin": icon_checkin,
    "checkout": icon_checkout,
    "hours": icon_hours,
    "awards": icon_awards,
    "shifts": icon_shifts,
    "help": icon_help,
    "live": icon_live,
    "review": icon_review,
    "award_list": icon_award_list,
}


# --- the menu -----------------------------------------------------------------------------------


def _fit(
    font: FontLoader, label: str, width: float, height: float, largest: int | None = None
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest size (up to `largest`) at which the label fits the box on one line, or on two lines broken
    at a space when that is clearly larger; at worst shrunk to the width."""
    options = [[label]]
    words = label.split()
    if len(words) > 1:
        cut = min(
            range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:])))
        )
        options.append([" ".join(words[:cut]), " ".join(words[cut:])])
    best: tuple[int, list[str]] | None = None
    for lines in options:
        size = min(int(height / (LINE_SPACING * len(lines))), largest or height)
        while size > 12 and max(font(size).getlength(line) for line in lines) > width:
            size -= 2
        if best is None or size > best[0] * 1.15:  # a second line only when it makes the words clearly larger
            best = (size, lines)
    assert best is not None
    return font(best[0]), best[1]


LINE_SPACING = 1.15


def draw_menu(
    width: int, height: int, columns: int, rows: int, tiles: list[Tile], language: str
) -> tuple[bytes, bool]:
    """The menu as PNG bytes, and whether the labels could be written (no font for the language: icons only)."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = font_for(language, [tile.label for tile in tiles])
    cells = [
        (x + GAP / 2, y + GAP / 2, x + w - GAP / 2, y + h - GAP / 2)
        for x, y, w, h in grid(width, height, columns, rows)
    ]

    def label_box(left: float, top: float, right: float, bottom: float) -> tuple[float, float, float]:
        """(width, top, bottom) of the label's band: under the icon, above a small margin at the edge."""
        inner = bottom - top
        return (right - left) * 0.9, top + inner * 0.54, bottom - inner * 0.05

    # One size for every label of the menu (the size the longest allows): the tiles read as one set.
    common = None
    if font is not None:
        fits = [
            _fit(font, tile.label, w, b - t)[0].size
            for tile, (w, t, b) in zip(tiles, (label_box(*cell) for cell in cells), strict=True)
        ]
        common = min(fits)
    for tile, (left, top, right, bottom) in zip(tiles, cells, strict=True):
        draw.rounded_rectangle(
            [left, top, right, bottom], radius=round((bottom - top) * 0.08), fill=COLOURS[tile.icon]
        )
        cx = (left + right) / 2
        inner = bottom - top
        if font is None:
            ICONS[tile.icon](draw, cx, (top + bottom) / 2, inner * 0.6)
            continue
        ICONS[tile.icon](draw, cx, top + inner * 0.3, inner * 0.4)
        band_width, band_top, band_bottom = label_box(left, top, right, bottom)
        chosen, lines = _fit(font, tile.label, band_width, band_bottom - band_top, common)
        spacing = chosen.size * LINE_SPACING
        first = (band_top + band_bottom) / 2 - spacing * (len(lines) - 1) / 2
        for i, line in enumerate(lines):
            draw.text((cx, first + i * spacing), line, font=chosen, fill=WHITE, anchor="mm")
    # Flat colours compress well: about 150 kB, far under LINE's 1 MB, in a tenth of a second.
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = out.getvalue()
    if len(data) > MAX_BYTES:  # not seen even with Chinese labels; LINE would refuse it, so say so here
        raise ValueError(f"rich menu image is {len(data)} bytes, over LINE's 1 MB")
    return data, font is not None
