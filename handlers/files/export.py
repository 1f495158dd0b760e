"""The hours export: a unit's counted service records for a period, as the government platforms import them.

What the file holds: one row per counted service record (status `counted`, kind `service`) of the unit with a
service date in the period; void, review and open sessions, trainings and meetings are left out, and so are
record-book balances (hours served before the bot: the platforms hold them already, uploaded they would be
filed twice), and service served before the volunteer's trainings (the rule of 時數, handlers/service/period.py):
the authority does not count it. ExportResult.left_out says how many balances, reviews and records served before
training dated in the period were left out. There is no totals line in the records' sheet or the CSV: an import
would read it as one more record. The XLSX says what was left out on a second sheet; the writers return the
total minutes.

Columns. The brief asked for the layout of the MOHW 志願服務資訊整合系統 (https://vol.mohw.gov.tw/) batch
import of service hours (志工服務時數批次匯入) and of the Taipei 臺北市志工管理整合平臺
(https://newcv101.gov.taipei/) hours import. Their example files sit behind the operators' logins: a search
of public pages (2026-11) found neither template, so the columns are the list of the issue, in its order,
with its Traditional Chinese names — CHECK THEM AGAINST THE REAL TEMPLATE before the first upload:

    姓名 | 紀錄冊編號 | 服務日期 | 開始時間 | 結束時間 | 服務時數 | 服務項目 | 服務單位

服務日期 is a ROC (民國) date `YYY/MM/DD`: 115/03/25 for 2026-03-25. That is what Taiwan's government
import forms that could be read take (e.g. a 衛福部 continuing-education import template: "日期格式:民國年/月/日,
民國年為3碼,中間用「/」分隔", https://docs.google.com/spreadsheets/d/1Vk5bPDElhb_ylv3SBxQ7YoTlDfaO_f_9/edit)
and how volunteer record-book systems show dates (`YYY/MM/DD`, https://doc.sow.org.tw/ 紀錄冊管理作業).
In the XLSX the date and the times are text cells, so that Excel cannot turn them into something else.

開始時間/結束時間 are local `HH:MM` (VBOT_TIMEZONE). A session split at midnight by check-out is two records;
the first ends at `24:00` of its day (not `00:00`, which would end before it starts). Hours entered by hand
have no times: both cells are empty.

服務時數 has one decimal, rounded half up per record (2h15m → 2.3); the returned total is exact minutes.

服務項目 is the shift's post when the record was served in an event's shift (the event's title when the
shift has no post), else the unit's category in Chinese. 服務單位 is the unit's name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.files.report import left_out_rows, sheet_title
from handlers.formatting import spreadsheet_row
from handlers.i18n import Translator
from handlers.service.period import before_training
from storage import export_store, report_store
from storage.export_store import ExportRow
from storage.report_store import LeftOut

# Column headers and category names are data for a government system, not words of the chat: they are not
# in the babel catalogs (locales/) and must not be translated — the import matches them byte for byte.
HEADERS = ("姓名", "紀錄冊編號", "服務日期", "開始時間", "結束時間", "服務時數", "服務項目", "服務單位")

# The service categories of 志願服務法 as the record book and the platforms name them (storage.vocabulary.Category).
CATEGORY_NAMES = {
    "social-welfare": "社會福利",
    "health": "衛生保健",
    "education": "教育",
    "culture": "文化",
    "environment": "環境保護",
    "police": "警政",
    "fire": "消防",
    "traffic": "交通",
    "general": "綜合",
}

FORMATS = ("csv", "xlsx")
COLUMN_WIDTHS = (14, 16, 12, 10, 10, 10, 24, 30)  # of HEADERS, in narrow characters (a CJK one takes two)
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class ExportResult:
    rows: int
    minutes: int
    left_out: LeftOut = LeftOut()


def roc_date(day: dt.date) -> str:
    """2026-03-25 → `115/03/25`."""
    return f"{day.year - 1911:03d}/{day.month:02d}/{day.day:02d}"


def hours_one_decimal(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def local_time(moment: dt.datetime | None, day: dt.date, timezone: ZoneInfo) -> str:
    """`HH:MM` on the record's day; the midnight that ends the day is `24:00`."""
    if moment is None:
        return ""
    local = moment.astimezone(timezone)
    if local.date() == day + dt.timedelta(days=1) and local.time() == dt.time(0):
        return "24:00"
    return local.strftime("%H:%M")


def service_item(row: ExportRow) -> str:
    if row.event_title is not None:
        return row.shift_post or row.event_title
    return CATEGORY_NAMES.get(row.unit_category, row.unit_category)


def cells(row: ExportRow, timezone: ZoneInfo) -> tuple[str, str, str, str, str, Decimal, str, str]:
    """One record as the columns of HEADERS (服務時數 as a Decimal; the writers format it)."""
    return (
        row.volunteer_name,
        row.record_book_no or "",
        roc_date(row.service_date),
        local_time(row.check_in, row.service_date, timezone),
        local_time(row.check_out, row.service_date, timezone),
        hours_one_decimal(row.minutes),
        service_item(row),
        row.unit_name,
    )


class _Tally:
    """Counts the rows and minutes passing through."""

    def __init__(self, rows: Iterable[ExportRow]):
        self.rows = rows
        self.count = 0
        self.minutes = 0

    def __iter__(self) -> Iterator[ExportRow]:
        for row in self.rows:
            self.count += 1
            self.minutes += row.minutes
            yield row


def write_csv(
    path: Path, rows: Iterable[ExportRow], timezone: ZoneInfo, left_out: LeftOut, t: Translator
) -> ExportResult:
    """UTF-8 with a BOM (Excel and the platforms' importers read Chinese correctly only with it), CRLF.
    Only the records: an import would read any closing line as one more (what was left out is said beside)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        return _write_csv_rows(file, rows, timezone)


def csv_bytes(rows: Iterable[ExportRow], timezone: ZoneInfo) -> tuple[bytes, ExportResult]:
    """The same file in memory, for a coordinator's download in chat (a unit's month or half-year)."""
    out = io.StringIO(newline="")
    result = _write_csv_rows(out, rows, timezone)
    return out.getvalue().encode("utf-8-sig"), result


def _write_csv_rows(file, rows: Iterable[ExportRow], timezone: ZoneInfo) -> ExportResult:
    tally = _Tally(rows)
    writer = csv.writer(file, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in tally:
        values = cells(row, timezone)
        writer.writerow(spreadsheet_row((*values[:5], f"{values[5]:.1f}", *values[6:])))
    return ExportResult(tally.count, tally.minutes)


def xlsx_bytes(
    rows: Iterable[ExportRow], timezone: ZoneInfo, left_out: LeftOut, t: Translator
) -> tuple[bytes, ExportResult]:
    """The XLSX file in memory, for a coordinator's download in the console (a unit's period)."""
    out = io.BytesIO()
    result = write_xlsx(out, rows, timezone, left_out, t)
    return out.getvalue(), result


def write_xlsx(
    path: Path | io.BytesIO, rows: Iterable[ExportRow], timezone: ZoneInfo, left_out: LeftOut, t: Translator
) -> ExportResult:
    """openpyxl's write-only workbook: rows go to disk as they come, whatever their number. The first sheet
    holds the records in the platforms' columns (their names, whatever the reader's language), the header
    frozen; a second sheet, in the reader's language, what was left out and why."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    tally = _Tally(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("服務時數")
    sheet.freeze_panes = "A2"
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    def text(value: str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula, even for a name that starts with `=`
        return cell

    sheet.append([text(header) for header in HEADERS])
    for row in tally:
        values = cells(row, timezone)
        sheet.append([*(text(v) for v in values[:5]), float(values[5]), *(text(v) for v in values[6:])])
    left = book.create_sheet(sheet_title(t("Left out")))
    left.freeze_panes = "A2"
    for index, width in enumerate((24, 10, 10, 60), start=1):
        left.column_dimensions[get_column_letter(index)].width = width
    left.append([t("Left out"), t("Records"), t("Hours"), t("Why")])
    for reason, records, hours_left, why in left_out_rows(t, left_out):
        left.append([reason, records, hours_left, why])
    book.save(path)
    return ExportResult(tally.count, tally.minutes)


def counted_rows(
    session: Session, unit_id: int, first: dt.date, last: dt.date
) -> tuple[Iterator[ExportRow], LeftOut]:
    """The records the export holds (streamed) and what it leaves out: balances, reviews, before training."""
    early = before_training(session, first, last, unit_id)
    rows = export_store.counted_service_rows(session, unit_id, first, last)
    left_out = replace(
        report_store.left_out(session, first, last, unit_id),
        before_training_records=early.records,
        before_training_minutes=early.minutes,
    )
    return (row for row in rows if early.counts(row.volunteer_id, unit_id, row.service_date)), left_out


def export_hours(
    session: Session,
    unit_id: int,
    first: dt.date,
    last: dt.date,
    path: Path,
    file_format: str,
    timezone: ZoneInfo,
    *,
    t: Translator,
) -> ExportResult:
    """Writes the file next to `path` and moves it into place at the end: a failed export leaves no half file.

    Raises OSError when the file cannot be written.
    """
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    writer = write_csv if file_format == "csv" else write_xlsx
    try:
        rows, left_out = counted_rows(session, unit_id, first, last)
        result = writer(partial, rows, timezone, left_out, t)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return replace(result, left_out=left_out)
