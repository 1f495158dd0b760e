"""The half-year and yearly report (domain.md, "Reports"): figures, and JSON, CSV, XLSX and a PNG chart.

Hours are kept as minutes and shown as hours with two decimals; rates and growth are fractions (0.08 = 8 %),
None when there is nothing to divide by.

A report counts what the authority counts: service served in the period. Record-book balances dated in it
(hours served before the bot, counted in a person's totals and awards), records waiting for review and service
served before the volunteer's trainings (the rule of 時數, handlers/service/period.py) are left out, and every
format says how many records and hours it left out and why (`left_out`). The files (CSV, XLSX, the chart) are
in the reader's language (a Translator); the JSON keeps its English keys for programs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from unicodedata import east_asian_width

from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session

from handlers.formatting import babel_locale, hours_from_minutes, spreadsheet_row, spreadsheet_safe
from handlers.i18n import Translator
from handlers.service.period import before_training
from handlers.validation import InputError, _, unknown
from storage import report_store
from storage.report_store import BAND_ORDER, GENDER_ORDER, GroupRow, LeftOut

_PERIOD = re.compile(r"(\d{4})(H[12])?")


@dataclass(frozen=True)
class Period:
    label: str
    first: dt.date
    last: dt.date

    def year_before(self) -> Period:
        return Period(
            f"{self.first.year - 1}{self.label[4:]}",
            self.first.replace(year=self.first.year - 1),
            self.last.replace(year=self.last.year - 1),
        )

    def months(self) -> list[int]:
        return list(range(self.first.month, self.last.month + 1))


def period_label(first: dt.date, last: dt.date) -> str:
    """`2026H1`, `2026H2` or `2026` for a half-year's or a year's first and last days."""
    if (first.month, last.month) == (1, 12):
        return str(first.year)
    return f"{first.year}H{1 if first.month == 1 else 2}"


def parse_period(text: str) -> Period:
    """`2026H1` (January–June), `2026H2` (July–December) or `2026` (the year). InputError (a ValueError) else."""
    cleaned = (text or "").strip().upper()
    match = _PERIOD.fullmatch(cleaned)
    if not match or not 1901 <= int(match.group(1)) <= 9999:
        raise InputError(
            f"period must be a year with an optional half, e.g. 2026H1, 2026H2 or 2026; not {text!r}",
            said=_("Reports are for a half-year or a year, for example 2026H1 or 2026."),
        )
    year, half = int(match.group(1)), match.group(2)
    if half == "H1":
        return Period(cleaned, dt.date(year, 1, 1), dt.date(year, 6, 30))
    if half == "H2":
        return Period(cleaned, dt.date(year, 7, 1), dt.date(year, 12, 31))
    return Period(cleaned, dt.date(year, 1, 1), dt.date(year, 12, 31))


@dataclass
class UnitLine:
    unit_id: int
    name: str
    served: int = 0
    person_times: int = 0
    minutes: int = 0
    monthly_minutes: dict[int, int] = field(default_factory=dict)  # month number → minutes


@dataclass
class Report:
    period: Period
    unit_id: int | None  # None: every unit
    served_by: dict[tuple[str, str], int]  # (gender, age band) → distinct volunteers who served
    served: int
    person_times: int
    minutes: int
    teams: int
    insured: int
    record_books: int
    honor_cards: int
    previous_served: int
    previous_person_times: int
    previous_minutes: int
    units: list[UnitLine]  # units with service (and the unit asked for), most hours first
    left_out: LeftOut = field(default_factory=LeftOut)  # dated in the period, not counted: balances, reviews
    unit_left_out: dict[int, LeftOut] = field(default_factory=dict)  # the same, per unit (units with any)

    @property
    def seniors(self) -> int:
        return sum(n for (_group, band), n in self.served_by.items() if band == "65+")

    @property
    def middle_aged(self) -> int:
        return sum(n for (_group, band), n in self.served_by.items() if band == "55-64")

    @property
    def hours(self) -> float:
        return hours(self.minutes)


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _growth(now: int, before: int) -> float | None:
    return round((now - before) / before, 4) if before else None


def build_report(session: Session, period: Period, unit_id: int | None) -> Report:
    """The report for one unit or (unit_id None) every unit. InputError for a unit that does not exist.

    It counts what the authority counts: service served before the volunteer's trainings (the rule of 時數,
    handlers/service/period.py) is taken out of every figure and said in left_out, like balances and reviews."""
    if unit_id is not None and not report_store.unit_exists(session, unit_id):
        raise unknown("unit", unit_id)
    first, last = period.first, period.last
    early = before_training(session, first, last, unit_id)
    groups = _without(
        report_store.served_by_group(session, first, last, unit_id),
        report_store.served_by_group(session, first, last, unit_id, sorted(early.left_people))
        if early.left_people
        else [],
    )
    lines: dict[int, UnitLine] = {}
    for row in report_store.by_unit_and_month(session, first, last, unit_id):
        records, minutes = early.by_unit_month.get((row.unit_id, row.month), (0, 0))
        line = lines.setdefault(row.unit_id, UnitLine(row.unit_id, ""))
        line.person_times += row.person_times - records
        line.minutes += row.minutes - minutes
        month_minutes = line.monthly_minutes.get(row.month, 0) + row.minutes - minutes
        line.monthly_minutes[row.month] = month_minutes
    for unit, served in report_store.served_by_unit(session, first, last, unit_id).items():
        left = sum(1 for _volunteer, u in early.left_units if u == unit)
        lines.setdefault(unit, UnitLine(unit, "")).served = served - left
    lines = {u: line for u, line in lines.items() if line.person_times or line.served or u == unit_id}
    if unit_id is not None:
        lines.setdefault(unit_id, UnitLine(unit_id, ""))
    names = report_store.unit_names(session, list(lines) if unit_id is not None else None)
    for line in lines.values():
        line.name = names.get(line.unit_id, "")
    before = period.year_before()
    previous = report_store.totals(session, before.first, before.last, unit_id)
    earlier = before_training(session, before.first, before.last, unit_id)
    served_by = {(g.gender, g.band): g.served for g in groups}
    unit_left_out = report_store.left_out_by_unit(session, first, last, unit_id)
    for (unit, _month), (records, minutes) in early.by_unit_month.items():
        one = unit_left_out.get(unit, LeftOut())
        unit_left_out[unit] = replace(
            one,
            before_training_records=one.before_training_records + records,
            before_training_minutes=one.before_training_minutes + minutes,
        )
    left_out = LeftOut(
        *(sum(getattr(one, name) for one in unit_left_out.values()) for name in LeftOut.__dataclass_fields__)
    )
    return Report(
        period=period,
        unit_id=unit_id,
        served_by=served_by,
        served=sum(served_by.values()),
        person_times=sum(line.person_times for line in lines.values()),
        minutes=sum(line.minutes for line in lines.values()),
        teams=sum(1 for line in lines.values() if line.person_times),
        insured=sum(g.insured for g in groups),
        record_books=sum(g.record_books for g in groups),
        honor_cards=sum(g.honor_cards for g in groups),
        previous_served=previous.served - len(earlier.left_people),
        previous_person_times=previous.person_times - earlier.records,
        previous_minutes=previous.minutes - earlier.minutes,
        units=sorted(lines.values(), key=lambda line: (-line.minutes, line.unit_id)),
        left_out=left_out,
        unit_left_out=unit_left_out,
    )


def _without(groups: list[GroupRow], taken: list[GroupRow]) -> list[GroupRow]:
    """The sex-and-age groups less the volunteers of `taken` (those none of whose service counts)."""
    less = {(g.gender, g.band): g for g in taken}
    found = []
    for g in groups:
        t = less.get((g.gender, g.band))
        if t is not None:
            g = GroupRow(
                g.gender,
                g.band,
                g.served - t.served,
                g.insured - t.insured,
                g.record_books - t.record_books,
                g.honor_cards - t.honor_cards,
            )
        if g.served:
            found.append(g)
    return found


# --- JSON ----------------------------------------------------------------------------------


def summary_items(report: Report) -> list[tuple[str, object]]:
    """The headline figures, in the order every format shows them."""
    return [
        ("served", report.served),
        ("person_times", report.person_times),
        ("hours", report.hours),
        ("teams", report.teams),
        ("insured", report.insured),
        ("record_book_holders", report.record_books),
        ("honor_card_holders", report.honor_cards),
        ("seniors_65_plus", report.seniors),
        ("senior_rate", _ratio(report.seniors, report.served)),
        ("middle_aged_55_64", report.middle_aged),
        ("middle_aged_rate", _ratio(report.middle_aged, report.served)),
        ("previous_served", report.previous_served),
        ("previous_hours", hours(report.previous_minutes)),
        ("served_growth", _growth(report.served, report.previous_served)),
        ("hours_growth", _growth(report.minutes, report.previous_minutes)),
    ]


def left_out_items(left_out: LeftOut) -> list[tuple[str, object]]:
    """What a report or an export left out, in the order every format shows it."""
    return [
        ("left_out_record_book_balances", left_out.balance_records),
        ("left_out_record_book_balance_hours", hours(left_out.balance_minutes)),
        ("left_out_waiting_for_review", left_out.review_records),
        ("left_out_waiting_for_review_hours", hours(left_out.review_minutes)),
        ("left_out_served_before_training", left_out.before_training_records),
        ("left_out_served_before_training_hours", hours(left_out.before_training_minutes)),
    ]


def left_out_dict(left_out: LeftOut) -> dict:
    return {
        "record_book_balances": {
            "records": left_out.balance_records,
            "hours": hours(left_out.balance_minutes),
            "why": "hours served before the bot, counted in totals and awards, not service of this period",
        },
        "waiting_for_review": {
            "records": left_out.review_records,
            "hours": hours(left_out.review_minutes),
            "why": "sessions a coordinator has not approved yet",
        },
        "served_before_training": {
            "records": left_out.before_training_records,
            "hours": hours(left_out.before_training_minutes),
            "why": "hours count only from the day both trainings (and the category's special training) are done",
        },
    }


def left_out_rows(t: Translator, left_out: LeftOut) -> list[tuple[str, int, float, str]]:
    """(reason, records, hours, why) in the reader's language: the closing lines of every file."""
    return [
        (
            t("Record-book balances"),
            left_out.balance_records,
            hours(left_out.balance_minutes),
            t("Counted in totals and awards, but not service of this period"),
        ),
        (
            t("Waiting for review"),
            left_out.review_records,
            hours(left_out.review_minutes),
            t("Counted once a coordinator approves them"),
        ),
        (
            t("Served before training"),
            left_out.before_training_records,
            hours(left_out.before_training_minutes),
            t("Hours count only from the day both trainings are done"),
        ),
    ]


def month_label(period: Period, month: int) -> str:
    return f"{period.first.year}-{month:02d}"


def to_dict(report: Report) -> dict:
    period = report.period
    return {
        "period": {
            "label": period.label,
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "year_before": period.year_before().label,
        },
        "scope": "all" if report.unit_id is None else {"unit": report.unit_id},
        "summary": dict(summary_items(report)),
        "left_out": left_out_dict(report.left_out),
        "served_by_sex_and_age": {
            gender: {band: report.served_by.get((gender, band), 0) for band in BAND_ORDER}
            for gender in GENDER_ORDER
        },
        "units": [
            {
                "id": line.unit_id,
                "name": line.name,
                "served": line.served,
                "person_times": line.person_times,
                "hours": hours(line.minutes),
                "monthly_hours": {
                    month_label(period, m): hours(line.monthly_minutes.get(m, 0)) for m in period.months()
                },
            }
            for line in report.units
        ],
    }


# --- CSV and XLSX: in the reader's language -------------------------------------------------------------
# Words come from the catalogs (zh_TW as the city's forms name them: 服務人數, 服務人次, 服務時數 …); numbers are
# numbers (rates as fractions shown as percentages), never text.


def summary_labels(t: Translator) -> dict[str, str]:
    return {
        "served": t("Volunteers who served"),
        "person_times": t("Person-times served"),
        "hours": t("Service hours"),
        "teams": t("Teams that served"),
        "insured": t("Insured volunteers"),
        "record_book_holders": t("Record-book holders"),
        "honor_card_holders": t("Honor-card holders"),
        "seniors_65_plus": t("Volunteers aged 65 or over"),
        "senior_rate": t("Senior rate (65 or over)"),
        "middle_aged_55_64": t("Volunteers aged 55–64"),
        "middle_aged_rate": t("Middle-aged rate (55–64)"),
        "previous_served": t("Volunteers who served, same period last year"),
        "previous_hours": t("Service hours, same period last year"),
        "served_growth": t("Growth in volunteers who served"),
        "hours_growth": t("Growth in service hours"),
    }


RATES = ("senior_rate", "middle_aged_rate", "served_growth", "hours_growth")
HOURS = ("hours", "previous_hours")


def gender_label(t: Translator, gender: str) -> str:
    return {"female": t("Female"), "male": t("Male"), "other": t("Other")}.get(gender) or t("Not given")


def band_label(t: Translator, band: str) -> str:
    if band == "unknown":
        return t("Not given")
    if band == "under 12":
        return t("Under 12")
    if band == "65+":
        return t("65 or over")
    low, high = band.split("-")
    return t("{low}–{high} years", low=low, high=high)


def scope_label(t: Translator, report: Report) -> str:
    if report.unit_id is None:
        return t("All units")
    name = next((line.name for line in report.units if line.unit_id == report.unit_id), "")
    return f"{name} (#{report.unit_id})" if name else f"#{report.unit_id}"


def _rows(report: Report, t: Translator):
    """One long table: summary, what was left out, sex × age band, then per unit its totals and its months."""
    labels = summary_labels(t)
    section = t("Summary")
    yield (section, "", "", t("Period"), report.period.label)
    yield (section, "", "", t("Scope"), scope_label(t, report))
    for key, value in summary_items(report):
        yield (section, "", "", labels[key], "" if value is None else value)
    left = t("Left out")
    for reason, records, hours_left, _why in left_out_rows(t, report.left_out):
        yield (left, "", "", t("{reason}: records", reason=reason), records)
        yield (left, "", "", t("{reason}: hours", reason=reason), hours_left)
    sex_age = t("Sex and age")
    for gender in GENDER_ORDER:
        for band in BAND_ORDER:
            yield (
                sex_age,
                "",
                "",
                f"{gender_label(t, gender)} / {band_label(t, band)}",
                report.served_by.get((gender, band), 0),
            )
    unit_section = t("Units")
    for line in report.units:
        yield (unit_section, line.unit_id, line.name, labels["served"], line.served)
        yield (unit_section, line.unit_id, line.name, labels["person_times"], line.person_times)
        yield (unit_section, line.unit_id, line.name, labels["hours"], hours(line.minutes))
        for month in report.period.months():
            yield (
                t("Service hours by month"),
                line.unit_id,
                line.name,
                month_label(report.period, month),
                hours(line.monthly_minutes.get(month, 0)),
            )


def csv_header(t: Translator) -> tuple[str, ...]:
    return (t("Section"), t("Unit ID"), t("Unit"), t("Item"), t("Value"))


def to_csv(report: Report, t: Translator) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese unit names."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(csv_header(t))
    writer.writerows(spreadsheet_row(row) for row in _rows(report, t))
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def display_width(value: object) -> int:
    """How many narrow columns a cell's text takes: a CJK character takes two."""
    text = value if isinstance(value, str) else f"{value:,}" if isinstance(value, int | float) else ""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def finish_sheet(sheet, widest: int = 60) -> None:
    """The header row frozen and bold, every column as wide as its widest cell (within reason)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        width = max((display_width(value) for value in column), default=8)
        sheet.column_dimensions[get_column_letter(index)].width = min(widest, max(8, width + 2))


def _number_formats(sheet, rows: dict[int, str]) -> None:
    for row, number_format in rows.items():
        sheet.cell(row=row, column=2).number_format = number_format


def to_xlsx(report: Report, t: Translator) -> bytes:
    """Sheets summary, left out, sex and age, units (one row per unit, its months as columns), in the
    reader's language; headers frozen, columns as wide as their words, every figure a number."""
    from openpyxl import Workbook

    book = Workbook()
    labels = summary_labels(t)
    summary = book.active
    summary.title = sheet_title(t("Summary"))
    summary.append([t("Item"), t("Value")])
    summary.append([t("Period"), report.period.label])
    summary.append([t("Scope"), spreadsheet_safe(scope_label(t, report))])
    formats = {}
    for key, value in summary_items(report):
        summary.append([labels[key], value])
        if key in RATES:
            formats[summary.max_row] = "0.0%"
        elif key in HOURS:
            formats[summary.max_row] = "#,##0.00"
        else:
            formats[summary.max_row] = "#,##0"
    _number_formats(summary, formats)
    finish_sheet(summary)

    left = book.create_sheet(sheet_title(t("Left out")))
    left.append([t("Left out"), t("Records"), t("Hours"), t("Why")])
    for reason, records, hours_left, why in left_out_rows(t, report.left_out):
        left.append([reason, records, hours_left, why])
        left.cell(row=left.max_row, column=3).number_format = "#,##0.00"
    finish_sheet(left, widest=70)

    sex_age = book.create_sheet(sheet_title(t("Sex and age")))
    sex_age.append([t("Sex"), *(band_label(t, band) for band in BAND_ORDER), t("Total")])
    for gender in GENDER_ORDER:
        counts = [report.served_by.get((gender, band), 0) for band in BAND_ORDER]
        sex_age.append([gender_label(t, gender), *counts, sum(counts)])
    totals = [sum(report.served_by.get((gender, band), 0) for gender in GENDER_ORDER) for band in BAND_ORDER]
    sex_age.append([t("Total"), *totals, sum(totals)])
    finish_sheet(sex_age)

    units = book.create_sheet(sheet_title(t("Units")))
    months = report.period.months()
    units.append(
        [
            t("Unit ID"),
            t("Unit"),
            labels["served"],
            labels["person_times"],
            labels["hours"],
            *(month_label(report.period, m) for m in months),
        ]
    )
    for line in report.units:
        units.append(
            [
                line.unit_id,
                spreadsheet_safe(line.name),
                line.served,
                line.person_times,
                hours(line.minutes),
                *(hours(line.monthly_minutes.get(m, 0)) for m in months),
            ]
        )
        for column in range(5, 6 + len(months)):
            units.cell(row=units.max_row, column=column).number_format = "#,##0.00"
    finish_sheet(units, widest=40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_title(text: str) -> str:
    """A sheet name Excel takes: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", text)[:31]


# --- The chart ---------------------------------------------------------------------------------

_CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 1),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
]
_THAI_FONTS = [
    ("/usr/share/fonts/truetype/tlwg/Garuda.ttf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf", 0),
    ("/usr/share/fonts/truetype/thai/Garuda.ttf", 0),
]
_COLOURS = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
]
OTHERS_COLOUR = "#bab0ac"
CHART_UNITS = 8  # the units with the most hours; the rest are summed as one bar, "others"
_THAI = re.compile("[\u0e00-\u0e7f]")
_RUNS = re.compile("[\u0e00-\u0e7f]+|[^\u0e00-\u0e7f]+")


class ChartFontMissing(RuntimeError):
    """No font on the machine draws the chart's words (install fonts-noto-cjk and fonts-thai-tlwg)."""


def _font(size: int, thai: bool = False):
    for path, index in _THAI_FONTS if thai else _CJK_FONTS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size, index=index)
            except OSError:
                continue
    raise ChartFontMissing(
        "no Thai font found (install fonts-thai-tlwg)"
        if thai
        else "no CJK font found (install fonts-noto-cjk)"
    )


class _Writer:
    """Draws text run by run, each with a font that has its script: Noto Sans CJK (Chinese, Latin,
    Vietnamese), a Thai font for Thai; a line may mix them (a Thai unit name and 小時)."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int):
        self.draw = draw
        self.size = size
        self.fonts = {False: _font(size)}

    def _runs(self, text: str):
        for run in _RUNS.findall(text):
            thai = bool(_THAI.match(run))
            if thai not in self.fonts:
                self.fonts[thai] = _font(self.size, thai=True)
            yield run, self.fonts[thai]

    def width(self, text: str) -> float:
        return sum(self.draw.textlength(run, font=font) for run, font in self._runs(text))

    def text(self, xy, text: str) -> None:
        x, y = xy
        for run, font in self._runs(text):
            self.draw.text((x, y), run, fill="black", font=font)
            x += self.draw.textlength(run, font=font)


def round_ticks(peak: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 × a power of ten) up to at least `peak`: at most about `count` + 1."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    top = math.ceil(peak / step - 1e-9) * step
    return [round(i * step, 6) for i in range(int(round(top / step)) + 1)]


def _tick_label(value: float, locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, format="#,##0.#", locale=babel_locale(locale))


@dataclass(frozen=True)
class ChartSeries:
    label: str
    monthly: dict[int, float]  # month → hours
    total_minutes: int
    colour: str


def chart_series(report: Report, t: Translator) -> list[ChartSeries]:
    """The units with the most hours (every unit when there are at most CHART_UNITS + 1), the rest as 其他."""
    units = [line for line in report.units if line.minutes] or report.units[:1]
    shown = units if len(units) <= CHART_UNITS + 1 else units[:CHART_UNITS]
    series = [
        ChartSeries(
            line.name or f"#{line.unit_id}",
            {m: hours(line.monthly_minutes.get(m, 0)) for m in report.period.months()},
            line.minutes,
            _COLOURS[i % len(_COLOURS)],
        )
        for i, line in enumerate(shown)
    ]
    rest = units[len(shown) :]
    if rest:
        series.append(
            ChartSeries(
                t("Others ({count} units)", count=len(rest)),
                {
                    m: hours(sum(line.monthly_minutes.get(m, 0) for line in rest))
                    for m in report.period.months()
                },
                sum(line.minutes for line in rest),
                OTHERS_COLOUR,
            )
        )
    return series


def to_png(report: Report, t: Translator) -> bytes:
    """Grouped bars: service hours per month for each unit (the top ones and the rest as others), with a
    title, axis names and a legend in the reader's language; each legend entry says its hours."""
    series = chart_series(report, t)
    months = report.period.months()
    slot_width = max(80, 14 * len(series) + 24)
    width = max(900, 120 + len(months) * slot_width)
    legend_rows = len(series)
    left, top, right = 90, 70, width - 30
    bottom = top + 360
    height = bottom + 64 + 26 * legend_rows + 16
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    write = _Writer(draw, 16)
    title = _Writer(draw, 22)
    title.text(
        (left, 14),
        t(
            "Service hours per month · {period} · {scope}",
            period=report.period.label,
            scope=scope_label(t, report),
        ),
    )
    peak = max((value for s in series for value in s.monthly.values()), default=0)
    ticks = round_ticks(peak)
    top_value = ticks[-1]
    for value in ticks:
        y = bottom - (bottom - top) * value / top_value
        draw.line((left - 5, y, right, y), fill="#dddddd" if value else "black")
        label = _tick_label(value, t.locale)
        write.text((left - 10 - write.width(label), y - 10), label)
    draw.line((left, top, left, bottom), fill="black")
    write.text((10, top - 34), t("Hours"))
    slot = (right - left) / len(months)
    bar = max(3, (slot - 20) / max(1, len(series)))
    for i, month in enumerate(months):
        x0 = left + i * slot + 10
        for j, s in enumerate(series):
            value = s.monthly.get(month, 0)
            if value:
                y = bottom - (bottom - top) * value / top_value
                draw.rectangle((x0 + j * bar, y, x0 + (j + 1) * bar - 1, bottom), fill=s.colour)
        label = month_name(month, t)
        write.text((left + i * slot + slot / 2 - write.width(label) / 2, bottom + 6), label)
    axis = t("Month")
    write.text((right - write.width(axis), bottom + 30), axis)
    legend_y = bottom + 64
    for s in series:
        draw.rectangle((left, legend_y + 4, left + 14, legend_y + 18), fill=s.colour)
        label = t("{unit}: {hours} hours", unit=s.label, hours=hours_from_minutes(s.total_minutes, t.locale))
        write.text((left + 22, legend_y), label)
        legend_y += 26
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def month_name(month: int, t: Translator) -> str:
    from babel.dates import get_month_names

    return get_month_names("abbreviated", locale=babel_locale(t.locale))[month]


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx}
