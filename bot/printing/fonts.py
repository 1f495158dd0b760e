"""The fonts every printout uses, and a PDF that embeds them.

A PDF reads the same in every viewer and printer only when it carries its fonts: each PDF here embeds a
subset of Noto Sans CJK TC (Traditional Chinese, and the Latin and Vietnamese letters; Debian's
fonts-noto-cjk) and of Garuda (Thai; Debian's fonts-thai-tlwg), with ToUnicode maps, through fpdf2.
Text is not shaped: Chinese and Vietnamese (NFC, precomposed) need no shaping, and shaped Thai comes out of
pdfium's text extraction broken into single letters, while unshaped TLWG Thai reads the same in poppler,
MuPDF and pdfium. A machine without these fonts gets a MissingFont naming the package, never blank text.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

log = logging.getLogger(__name__)


class MissingFont(Exception):
    """A font the printouts need is not installed; the message names the Debian package."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int  # the face in a collection (.ttc)
    package: str  # the Debian package that installs it


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

# The PDF's fonts: Noto Sans CJK TC for Chinese, Latin and Vietnamese, Garuda for Thai.
_NOTO_DIRS = [
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/noto-cjk",
    "/usr/share/fonts/google-noto-cjk",
]
_TLWG_DIRS = ["/usr/share/fonts/truetype/tlwg", "/usr/share/fonts/tlwg", "/usr/share/fonts/TTF"]
CJK_PACKAGE, THAI_PACKAGE = "fonts-noto-cjk", "fonts-thai-tlwg"
CJK_FAMILY = "Noto Sans CJK TC"


@functools.cache
def find_cjk_font() -> tuple[str, int] | None:
    """A font file (and face index) with Traditional Chinese glyphs, or None (for the PNG pictures)."""
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}|%{index}|%{lang}", ":lang=zh-tw"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            path, face, langs = out.split("|", 2)
            # fc-match always answers, falling back to e.g. DejaVu: keep only a real match.
            if "zh-tw" in langs.split("|") and Path(path).is_file():
                return path, int(face or 0)
        except (OSError, subprocess.SubprocessError, ValueError):
            log.debug("fc-match failed", exc_info=True)
    for path, index in _KNOWN_CJK_FONTS:
        if Path(path).is_file():
            return path, index
    return None


def _noto_face(path: Path) -> int | None:
    """The index of Noto Sans CJK TC in a collection, read from the fonts' names."""
    from fontTools.ttLib import TTCollection

    try:
        collection = TTCollection(str(path), lazy=True)
    except Exception:  # not a collection fontTools can read: not ours
        log.warning("cannot read font collection %s", path)
        return None
    try:
        for index, face in enumerate(collection.fonts):
            if face["name"].getDebugName(1) == CJK_FAMILY:
                return index
    finally:
        collection.close()
    return None


def _first(dirs: list[str], name: str) -> Path | None:
    return next((Path(d) / name for d in dirs if (Path(d) / name).is_file()), None)


@functools.cache
def pdf_fonts() -> dict[str, FontFile]:
    """The font files of the PDFs by role (cjk, cjk-bold, thai, thai-bold); MissingFont names the package."""
    found: dict[str, FontFile] = {}
    for role, name in [("cjk", "NotoSansCJK-Regular.ttc"), ("cjk-bold", "NotoSansCJK-Bold.ttc")]:
        path = _first(_NOTO_DIRS, name)
        index = _noto_face(path) if path else None
        if path is None or index is None:
            raise MissingFont(f"the printouts need the font {CJK_FAMILY}: install the package {CJK_PACKAGE}")
        found[role] = FontFile(str(path), index, CJK_PACKAGE)
    for role, name in [("thai", "Garuda.ttf"), ("thai-bold", "Garuda-Bold.ttf")]:
        path = _first(_TLWG_DIRS, name)
        if path is None:
            raise MissingFont(f"the printouts need the Thai font Garuda: install the package {THAI_PACKAGE}")
        found[role] = FontFile(str(path), 0, THAI_PACKAGE)
    return found


def missing_pdf_font_packages() -> list[str]:
    """The Debian packages whose fonts the PDFs need and this machine lacks ([] when every printout can be
    made), each looked for on its own (pdf_fonts stops at the first missing one): for `vbot doctor`."""
    missing = []
    for name in ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"):
        path = _first(_NOTO_DIRS, name)
        if path is None or _noto_face(path) is None:
            missing.append(CJK_PACKAGE)
            break
    if any(_first(_TLWG_DIRS, name) is None for name in ("Garuda.ttf", "Garuda-Bold.ttf")):
        missing.append(THAI_PACKAGE)
    return missing


REGULAR, BOLD = "", "B"
FAMILY = "vbot"


def new_pdf(title: str) -> FPDF:
    """An A4 PDF in points with the fonts registered (regular and bold), no automatic page breaks.

    The same content gives the same bytes: the creation date is fixed."""
    import datetime as dt

    fonts = pdf_fonts()
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.c_margin = 0  # cells draw their text at their very edge: the layout places it
    pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    pdf.set_title(title)
    pdf.set_creator("vbot")
    pdf.set_producer("vbot")
    pdf.add_font(FAMILY, REGULAR, fonts["cjk"].path, collection_font_number=fonts["cjk"].index)
    pdf.add_font(FAMILY, BOLD, fonts["cjk-bold"].path, collection_font_number=fonts["cjk-bold"].index)
    pdf.add_font("thai", REGULAR, fonts["thai"].path)
    pdf.add_font("thai", BOLD, fonts["thai-bold"].path)
    pdf.set_fallback_fonts(["thai"], exact_match=False)
    pdf.set_font(FAMILY, REGULAR, 12)
    return pdf


def clean(text: str) -> str:
    """NFC (Vietnamese letters as the precomposed glyphs the font has) and no control characters."""
    text = unicodedata.normalize("NFC", text)
    return "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` broken into lines no wider than `width` in the current font: at spaces where it can, inside a
    word (Chinese has no spaces) where it must."""
    lines: list[str] = []
    for paragraph in clean(text).split("\n"):
        lines += _wrap_paragraph(pdf, paragraph, width)
    return lines


def _wrap_paragraph(pdf: FPDF, text: str, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in _tokens(text):
        candidate = current + token
        if pdf.get_string_width(candidate.rstrip()) <= width:
            current = candidate
            continue
        if current:
            lines.append(current.rstrip())
        current = token.lstrip()
        while (
            pdf.get_string_width(current.rstrip()) > width and len(current) > 1
        ):  # a word longer than the line
            cut = _longest_prefix(pdf, current, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their trailing space; each Chinese character (and its punctuation) a word of its own."""
    tokens: list[str] = []
    for char in text:
        joins = tokens and (
            char == " "
            or char in _NO_LINE_START
            or (not _wide(char) and not tokens[-1].endswith(" ") and not _wide(tokens[-1][-1]))
            or tokens[-1][-1] in _NO_LINE_END
        )
        if joins:
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


# Chinese punctuation that may not begin a line, and the opening marks that may not end one.
_NO_LINE_START = set("，。、；：！？」』）》〉】,.;:!?)")
_NO_LINE_END = set("「『（《〈【(")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def _longest_prefix(pdf: FPDF, text: str, width: float) -> int:
    cut = 1
    while cut < len(text) and pdf.get_string_width(text[: cut + 1]) <= width:
        cut += 1
    return cut


def line(
    pdf: FPDF, text: str, *, x: float, top: float, width: float, height: float, align: str = "L"
) -> None:
    """One line of text in the current font in the box (x, top, width, height), vertically centred; letters
    the main font lacks (Thai) come from the fallback font."""
    pdf.set_xy(x, top)
    pdf.cell(w=width, h=height, text=clean(text), align=align)


def fit_size(pdf: FPDF, text: str, style: str, size: float, width: float, smallest: float) -> float:
    """The largest size from `size` down to `smallest` at which `text` is one line no wider than `width`."""
    while size > smallest:
        pdf.set_font(FAMILY, style, size)
        if pdf.get_string_width(clean(text)) <= width:
            return size
        size = max(smallest, size - 1)
    return smallest
