"""A coordinator's unit files in chat: 匯出 (the hours export) and 報表 (the half-year or yearly report).

`匯出 [UNIT] [PERIOD]` sends the unit's hours for a month (`2026-10`, the last month by default), a half-year
or a year, in the government platforms' columns (handlers/export.py). `報表 [UNIT] [PERIOD]` shows the report's
figures (handlers/report.py) for the last finished half-year by default, with the spreadsheet. The answer
carries the file and its signed download link (bot/web/downloads.py); each channel sends what its platform
takes (Telegram the file, LINE the link). Only the unit's coordinators and its city's administrators get
either; anyone else is told so, without the unit's name.

During the report windows (1–10 January and 1–10 July, domain.md) `report_summaries` sends the coordinators
of each unit whose city reports half-yearly their unit's figures for the half-year just ended, with a button
to the full report; the deadline alerts of a report carry the same button.
"""

from __future__ import annotations

import base64
import datetime as dt
import re

from babel.numbers import format_percent
from sqlmodel import Session

from handlers.context import Context
from handlers.files.export import counted_rows, csv_bytes, xlsx_bytes
from handlers.files.links import DownloadFile, signed_link
from handlers.files.report import Period, Report, build_report, parse_period, to_xlsx
from handlers.formatting import babel_locale, hours_from_minutes, local_date
from handlers.i18n import Translator
from handlers.types import Button, Document, Reply
from storage import people_store
from storage.models import Unit
from storage.report_store import LeftOut

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_YEAR = re.compile(r"(19|20|21)\d\d")


def parse_span(text: str) -> Period:
    """A month (`2026-10`) as well as the report's periods (`2026H1`, `2026H2`, `2026`). ValueError else."""
    match = _MONTH.fullmatch(text.strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        first = dt.date(year, month, 1)
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return Period(f"{year}-{month:02d}", first, last)
    return parse_period(text)


def last_month(today: dt.date) -> Period:
    return parse_span(f"{(today.replace(day=1) - dt.timedelta(days=1)):%Y-%m}")


def last_half_year(today: dt.date) -> Period:
    """The half-year whose report is due next: January–June from July on, July–December of last year before."""
    return parse_period(f"{today.year}H1" if today.month >= 7 else f"{today.year - 1}H2")


def hours_file(unit_id: int, period: Period, data: bytes) -> DownloadFile:
    return DownloadFile(data, f"hours-unit{unit_id}-{period.label}.csv", "text/csv; charset=utf-8")


def report_file(unit_id: int, period: Period, report: Report, t: Translator) -> DownloadFile:
    return DownloadFile(
        to_xlsx(report, t),
        f"report-unit{unit_id}-{period.label}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def unit_file(
    session: Session, kind: str, unit_id: int, span: str, zone, t: Translator
) -> DownloadFile | None:
    """`hours` (CSV), `hours-xlsx` (the same records as XLSX, with what was left out on a second sheet in t's
    language) or `report` (XLSX, in t's language) of a unit for a span; None for an unknown kind or span."""
    try:
        period = parse_span(span)
    except ValueError:
        return None
    if kind == "hours":
        rows, _left_out = counted_rows(session, unit_id, period.first, period.last)
        return hours_file(unit_id, period, csv_bytes(rows, zone)[0])
    if kind == "hours-xlsx":
        rows, left_out = counted_rows(session, unit_id, period.first, period.last)
        return DownloadFile(
            xlsx_bytes(rows, zone, left_out, t)[0],
            f"hours-unit{unit_id}-{period.label}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    if kind == "report" and not _MONTH.fullmatch(period.label):
        return report_file(unit_id, period, build_report(session, period, unit_id), t)
    return None


def may_download(session: Session, volunteer_id: int, unit_id: int) -> bool:
    """Checked again when a link is used: a coordinator who has since left the unit gets nothing."""
    return any(unit.id == unit_id for unit in people_store.coordinated_units(session, volunteer_id))


# ---- chat ---------------------------------------------------------------------------------------------


def _names_a_unit(part: str, *, later: bool, mine: set[int]) -> bool:
    """`匯出 12 2026`: the first number is the unit. Alone, `2026` is a year unless it is one of the
    person's units (`匯出 12` is unit 12)."""
    if not part.isdigit() or len(part) >= 10:
        return False
    return later or int(part) in mine or not _YEAR.fullmatch(part)


def _unit_and_span(
    ctx: Context, argument: str, word: str, default: Period
) -> tuple[Unit | None, Period | None, list[Reply]]:
    """Reads `[UNIT] [PERIOD]`; answers instead when the unit is not the person's or must be chosen."""
    t = ctx.t
    units = people_store.coordinated_units(ctx.session, ctx.volunteer_id)
    if not units:
        return None, None, [Reply(t("Only a unit's coordinator can get the unit's files."))]
    unit_id, period = None, default
    parts = argument.split()
    if parts and _names_a_unit(parts[0], later=len(parts) > 1, mine={u.id for u in units}):
        unit_id = int(parts.pop(0))
    for part in parts:
        try:
            period = parse_span(part)
        except ValueError:
            return (
                None,
                None,
                [
                    Reply(
                        t(
                            "I could not read the period {text}. For example: 2026-10, 2026H1 or 2026.",
                            text=part[:20],
                        )
                    )
                ],
            )
    if unit_id is None and len(units) == 1:
        unit_id = units[0].id
    if unit_id is None:
        buttons = tuple(Button(unit.name[:20], f"{word} {unit.id} {period.label}") for unit in units)
        return None, None, [Reply(t("Which unit?"), buttons)]
    unit = next((u for u in units if u.id == unit_id), None)
    if unit is None:
        return None, None, [Reply(t("You can only get the files of a unit you coordinate."))]
    return unit, period, []


def _with_file(
    ctx: Context,
    text: str,
    kind: str,
    unit: Unit,
    period: Period,
    buttons: tuple[Button, ...],
    file: DownloadFile,
) -> list[Reply]:
    """The answer with its file and, where links can be signed, its download link: the channel sends one."""
    link = None
    if ctx.rules.link_key:
        url = signed_link(
            ctx.rules, ctx.now, f"/downloads/{kind}/{unit.id}/{period.label}", by=ctx.volunteer_id
        )
        link = ctx.t("Download (works for 24 hours): {link}", link=url)
    document = Document(file.name, base64.b64encode(file.data).decode())
    return [Reply(text, buttons, document=document, link=link)]


def export_chat(ctx: Context, argument: str) -> list[Reply]:
    """匯出: the unit's counted hours for the platforms' import."""
    t = ctx.t
    unit, period, answer = _unit_and_span(ctx, argument, t("export"), last_month(ctx.today))
    if unit is None or period is None:
        return answer
    rows, left_out = counted_rows(ctx.session, unit.id, period.first, period.last)
    data, written = csv_bytes(rows, ctx.rules.timezone)  # one pass: the file and its totals
    text = t(
        "{unit}: hours from {first} to {last}. {count} records, {hours} h.",
        unit=unit.name,
        first=local_date(period.first, ctx.locale),
        last=local_date(period.last, ctx.locale),
        count=written.rows,
        hours=hours_from_minutes(written.minutes, ctx.locale),
    )
    text = "\n".join([text, *left_out_lines(t, left_out)])
    buttons = (Button(t("Report"), t("report") + f" {unit.id}"),)
    return _with_file(ctx, text, "hours", unit, period, buttons, hours_file(unit.id, period, data))


def left_out_lines(t: Translator, left_out: LeftOut) -> list[str]:
    """What the export or report left out, and why (nothing when nothing was)."""
    lines = []
    if left_out.balance_records:
        lines.append(
            t(
                "Left out: {count} record-book balances ({hours} h). They count in totals and awards,"
                " but are not service of this period.",
                count=left_out.balance_records,
                hours=hours_from_minutes(left_out.balance_minutes, t.locale),
            )
        )
    if left_out.review_records:
        lines.append(
            t(
                "Left out: {count} sessions waiting for review ({hours} h).",
                count=left_out.review_records,
                hours=hours_from_minutes(left_out.review_minutes, t.locale),
            )
        )
    if left_out.before_training_records:
        lines.append(
            t(
                "Left out: {count} records served before the volunteer's training ({hours} h)."
                " Hours count only from the day both trainings are done.",
                count=left_out.before_training_records,
                hours=hours_from_minutes(left_out.before_training_minutes, t.locale),
            )
        )
    return lines


def _percent(value: float | None, locale: str) -> str:
    return "–" if value is None else format_percent(value, format="#,##0.#%", locale=babel_locale(locale))


def summary_text(
    t: Translator,
    unit_name: str,
    period: Period,
    *,
    served: int,
    person_times: int,
    minutes: int,
    seniors: int | None = None,
    insured: int | None = None,
    growth: float | None = None,
) -> str:
    lines = [
        t(
            "{unit} · report {first} – {last}",
            unit=unit_name,
            first=local_date(period.first, t.locale),
            last=local_date(period.last, t.locale),
        ),
        t("Volunteers who served: {served}", served=served),
        t(
            "Times served: {times} · hours: {hours}",
            times=person_times,
            hours=hours_from_minutes(minutes, t.locale),
        ),
    ]
    if seniors is not None:
        lines.append(
            t(
                "Aged 65 or over: {seniors} ({rate})",
                seniors=seniors,
                rate=_percent(seniors / served if served else None, t.locale),
            )
        )
    if insured is not None:
        lines.append(t("Insured: {insured}", insured=insured))
    if growth is not None or seniors is not None:
        lines.append(
            t("Hours against the same period last year: {growth}", growth=_percent(growth, t.locale))
        )
    return "\n".join(lines)


def report_chat(ctx: Context, argument: str) -> list[Reply]:
    """報表: the report's figures for the unit, with the spreadsheet."""
    t = ctx.t
    unit, period, answer = _unit_and_span(ctx, argument, t("report"), last_half_year(ctx.today))
    if unit is None:
        return answer
    if _MONTH.fullmatch(period.label):
        return [Reply(t("Reports are for a half-year or a year, for example 2026H1 or 2026."))]
    report = build_report(ctx.session, period, unit.id)
    growth = (
        (report.minutes - report.previous_minutes) / report.previous_minutes
        if report.previous_minutes
        else None
    )
    text = summary_text(
        t,
        unit.name,
        period,
        served=report.served,
        person_times=report.person_times,
        minutes=report.minutes,
        seniors=report.seniors,
        insured=report.insured,
        growth=growth,
    )
    text = "\n".join([text, *left_out_lines(t, report.left_out)])
    buttons = (Button(t("Export hours"), t("export") + f" {unit.id} {period.label}"),)
    return _with_file(ctx, text, "report", unit, period, buttons, report_file(unit.id, period, report, t))
