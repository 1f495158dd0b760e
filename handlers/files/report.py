"""The half-year and yearly report (domain.md, "Reports"): figures, and JSON, CSV, XLSX and a PNG chart.

Hours are kept as minutes and shown as hours with two decimals; rates and growth are fractions (0.08 = 8 %),
None when there is nothing to divide by.

A report counts what the authority counts: service served in the period. Record-book balances dated in it
(hours served before the bot, counted in a person's totals and awards) and records waiting for review are left
out, and every format says how many records and hours it left out (`left_out`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session

from handlers.formatting import spreadsheet_row, spreadsheet_safe
from handlers.validation import InputError
from storage import report_store
from storage.report_store import BAND_ORDER, GENDER_ORDER, LeftOut

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
            f"period must be a year with an optional half, e.g. 2026H1, 2026H2 or 2026; not {text!r}"
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

    @property
    def seniors(self) -> int:
        return sum(n for (_, band), n in self.served_by.items() if band == "65+")

    @property
    def middle_aged(self) -> int:
        return sum(n for (_, band), n in self.served_by.items() if band == "55-64")

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
    """The report for one unit or (unit_id None) every unit. InputError for a unit that does not exist."""
    if unit_id is not None and not report_store.unit_exists(session, unit_id):
        raise InputError(f"no unit {unit_id}")
    first, last = period.first, period.last
    groups = report_store.served_by_group(session, first, last, unit_id)
    lines: dict[int, UnitLine] = {}
    for row in report_store.by_unit_and_month(session, first, last, unit_id):
        line = lines.setdefault(row.unit_id, UnitLine(row.unit_id, ""))
        line.person_times += row.person_times
        line.minutes += row.minutes
        line.monthly_minutes[row.month] = line.monthly_minutes.get(row.month, 0) + row.minutes
    for unit, served in report_store.served_by_unit(session, first, last, unit_id).items():
        lines.setdefault(unit, UnitLine(unit, "")).served = served
    if unit_id is not None:
        lines.setdefault(unit_id, UnitLine(unit_id, ""))
    names = report_store.unit_names(session, list(lines) if unit_id is not None else None)
    for line in lines.values():
        line.name = names.get(line.unit_id, "")
    before = period.year_before()
    previous = report_store.totals(session, before.first, before.last, unit_id)
    served_by = {(g.gender, g.band): g.served for g in groups}
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
        previous_served=previous.served,
        previous_person_times=previous.person_times,
        previous_minutes=previous.minutes,
        units=sorted(lines.values(), key=lambda line: (-line.minutes, line.unit_id)),
        left_out=report_store.left_out(session, first, last, unit_id),
    )


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
    }


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


# --- CSV and XLSX ----------------------------------------------------------------------------

CSV_HEADER = ("section", "unit_id", "unit", "item", "value")


def _rows(report: Report):
    """One long table: summary, sex × age band, then per unit its totals and its months."""
    for key, value in summary_items(report):
        yield ("summary", "", "", key, "" if value is None else value)
    for key, value in left_out_items(report.left_out):
        yield ("left_out", "", "", key, value)
    for gender in GENDER_ORDER:
        for band in BAND_ORDER:
            yield (
                "served_by_sex_and_age",
                "",
                "",
                f"{gender}/{band}",
                report.served_by.get((gender, band), 0),
            )
    for line in report.units:
        yield ("unit", line.unit_id, line.name, "served", line.served)
        yield ("unit", line.unit_id, line.name, "person_times", line.person_times)
        yield ("unit", line.unit_id, line.name, "hours", hours(line.minutes))
        for month in report.period.months():
            yield (
                "unit_month",
                line.unit_id,
                line.name,
                month_label(report.period, month),
                hours(line.monthly_minutes.get(month, 0)),
            )


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese unit names."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(spreadsheet_row(row) for row in _rows(report))
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """Sheets Summary, SexAge, Units (one row per unit, its months as columns)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(["period", report.period.label])
    summary.append(["scope", "all" if report.unit_id is None else f"unit {report.unit_id}"])
    for key, value in summary_items(report):
        summary.append([key, value])
    for key, value in left_out_items(report.left_out):
        summary.append([key, value])
    sex_age = book.create_sheet("SexAge")
    sex_age.append(["sex", *BAND_ORDER, "total"])
    for gender in GENDER_ORDER:
        counts = [report.served_by.get((gender, band), 0) for band in BAND_ORDER]
        sex_age.append([gender, *counts, sum(counts)])
    units = book.create_sheet("Units")
    months = report.period.months()
    units.append(
        [
            "unit_id",
            "unit",
            "served",
            "person_times",
            "hours",
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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- The chart ---------------------------------------------------------------------------------

_CJK_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 3),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 1),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
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
    "#bab0ac",
]
CHART_UNITS = 10


def _font(size: int):
    for path, index in _CJK_FONTS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size, index=index), True
            except OSError:
                continue
    return ImageFont.load_default(size), False


def to_png(report: Report) -> bytes:
    """Grouped bars: hours per month for each unit (the CHART_UNITS units with the most hours)."""
    units = [line for line in report.units if line.minutes][:CHART_UNITS] or report.units[:1]
    months = report.period.months()
    font, has_cjk = _font(14)
    width, height = 140 + len(months) * max(60, 12 * len(units) + 20), 520
    left, top, bottom, right = 70, 40, height - 60, width - 20
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    scope = "all units" if report.unit_id is None else f"unit {report.unit_id}"
    draw.text((left, 10), f"Service hours per month, {report.period.label}, {scope}", fill="black", font=font)
    peak = max((hours(line.monthly_minutes.get(m, 0)) for line in units for m in months), default=0) or 1
    draw.line((left, top, left, bottom), fill="black")
    draw.line((left, bottom, right, bottom), fill="black")
    for step in range(5):
        value = peak * step / 4
        y = bottom - (bottom - top) * step / 4
        draw.line((left - 4, y, right, y), fill="#dddddd" if step else "black")
        draw.text((5, y - 8), f"{value:,.0f}", fill="black", font=font)
    slot = (right - left) / len(months)
    bar = max(2, (slot - 16) / max(1, len(units)))
    for i, month in enumerate(months):
        x0 = left + i * slot + 8
        for j, line in enumerate(units):
            value = hours(line.monthly_minutes.get(month, 0))
            y = bottom - (bottom - top) * value / peak
            if value:
                draw.rectangle(
                    (x0 + j * bar, y, x0 + (j + 1) * bar - 1, bottom), fill=_COLOURS[j % len(_COLOURS)]
                )
        draw.text((left + i * slot + slot / 2 - 12, bottom + 5), f"{month:02d}", fill="black", font=font)
    legend_y = bottom + 28
    x = left
    for j, line in enumerate(units):
        label = f"#{line.unit_id} {line.name}" if has_cjk else f"#{line.unit_id}"
        draw.rectangle((x, legend_y + 3, x + 10, legend_y + 13), fill=_COLOURS[j % len(_COLOURS)])
        draw.text((x + 14, legend_y), label[:14], fill="black", font=font)
        x += 18 + int(draw.textlength(label[:14], font=font)) + 12
        if x > right - 80:
            break
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx}
