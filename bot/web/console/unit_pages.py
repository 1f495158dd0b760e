"""Awards, Reports, Calendar and Import: each calls the functions the chat and the CLI call (獎勵名單 /
`vbot awards eligible`, 報表 / `vbot report`, `vbot deadline add` / `vbot unit set`, `vbot volunteer import`)."""

from __future__ import annotations

import base64
import binascii

from bot.web.console.base import File, NotFound, Page, Redirect, Result
from bot.web.console.people import a_date
from handlers.awards.eligibility import EligibleRow, eligible_list, list_page, list_summary
from handlers.awards.progress import requirement_name, rules_in_store
from handlers.files.chat import parse_span, report_chat, unit_file
from handlers.files.report import build_report, to_png
from handlers.jobs.deadline_calendar import coming_deadlines
from handlers.people import admin, roster_import
from handlers.validation import InputError, _
from storage import console_store

NEAR_HOURS = 20
PER_PAGE = 50
MAX_ROSTER_BYTES = 1024 * 1024


def within_of(page: Page) -> float:
    within = page.query.get("within", str(NEAR_HOURS))
    return float(within) if within.isdigit() and len(within) < 5 else NEAR_HOURS


def page_number(page: Page) -> int:
    number = page.query.get("page", "1")
    return int(number) if number.isdigit() and len(number) < 6 and int(number) > 0 else 1


def awards(page: Page) -> Result:
    """Per award how many can apply, have reached it, are near; then one award's people, a page at a time, as
    獎勵名單 lists them (the same rows: eligible_list's, kept)."""
    hours = within_of(page)
    counts = list_summary(page.session, page.unit_id, page.today, hours)
    chosen = next((c for c in counts if c.award == page.query.get("award")), counts[0] if counts else None)
    number, rows = page_number(page), []
    if chosen is not None:
        last_page = max(1, -(-chosen.total // PER_PAGE))
        number = min(number, last_page)
        rows = list_page(
            page.session,
            page.unit_id,
            page.today,
            chosen.award,
            hours,
            offset=(number - 1) * PER_PAGE,
            limit=PER_PAGE,
        )
    return page.render(
        "awards.html",
        "/awards",
        counts=counts,
        chosen=chosen,
        rows=[(row, needs(page, row)) for row in rows],
        within=hours,
        number=number,
        first=(number - 1) * PER_PAGE + 1,
        pages=max(1, -(-chosen.total // PER_PAGE)) if chosen else 1,
    )


def needs(page: Page, row: EligibleRow) -> list[str]:
    return [requirement_name(page.t, code) for code in row.missing]


def awards_print(page: Page) -> Result:
    """The whole list, every award, to print: the rows of 獎勵名單 and `vbot awards eligible`."""
    hours = within_of(page)
    rows = eligible_list(page.session, page.unit_id, page.today, within_hours=hours)
    return page.render(
        "awards_print.html", "/awards", rows=[(row, needs(page, row)) for row in rows], within=hours
    )


def grant(page: Page) -> Result:
    number = page.field("volunteer")
    person = (
        console_store.member_of_units(page.session, int(number), [page.unit_id])
        if number.isdigit() and len(number) < 10
        else None
    )
    if person is None:
        raise NotFound
    admin.grant_award(
        page.session,
        page.now,
        page.actor,
        volunteer_id=int(number),
        award_code=page.field("award"),
        day=a_date(page.field("day"), "date", "day") or page.today,
        known_codes={rule.code for rule in rules_in_store(page.session)},
    )
    back = page.back()  # the award and page the form was on
    return Redirect(back if back.startswith(page.url("/awards")) else page.url("/awards"), page.t("Saved."))


def span_of(page: Page) -> str:
    span = page.query.get("span", "").strip()[:10]
    return span or f"{page.today.year}H{1 if page.today.month <= 6 else 2}"


def reports(page: Page) -> Result:
    span = span_of(page)
    replies = report_chat(page.context(), f"{page.unit_id} {span}")
    return page.render("reports.html", "/reports", span=span, text=replies[0].text if replies else "")


def report_xlsx(page: Page) -> Result:
    made = unit_file(page.session, "report", page.unit_id, span_of(page), page.vbot.rules.timezone, page.t)
    if made is None:
        raise InputError(
            "reports are for a half-year or a year, for example 2026H1 or 2026",
            said=_("Reports are for a half-year or a year, for example 2026H1 or 2026."),
        )
    return File(made.data, made.name, made.media_type)


def report_chart(page: Page) -> Result:
    try:
        period = parse_span(span_of(page))
    except ValueError:
        raise NotFound from None
    chart = to_png(build_report(page.session, period, page.unit_id), page.t)
    return File(chart, "report.png", "image/png")


def calendar(page: Page) -> Result:
    return page.render(
        "calendar.html", "/calendar", coming=coming_deadlines(page.session, page.unit, page.today, 40)
    )


def add_deadline(page: Page) -> Result:
    day = a_date(page.field("date"), "date", "date")
    if day is None:
        raise InputError(
            "the deadline needs a date", said=_("Please give a date like 2026-03-25."), field="date"
        )
    admin.add_deadline(
        page.session,
        page.now,
        page.actor,
        unit_id=page.unit_id,
        title=page.field("title"),
        date=day,
        remind=(14, 3, 1, 0),
        yearly=page.field("yearly") == "on",
    )
    return Redirect(page.url("/calendar"), page.t("Saved."))


def quiet_hours(page: Page) -> Result:
    admin.set_quiet_hours(page.session, page.now, page.actor, page.unit_id, page.field("quiet_hours"))
    return Redirect(page.url("/calendar"), page.t("Saved."))


def import_form(page: Page) -> Result:
    return page.render("import.html", "/import", report=None, data="", filename="", done=False)


def uploaded(page: Page) -> tuple[bytes, str]:
    """The roster sent: the file of the first step, or its bytes carried by the preview's form."""
    sent = page.form.get("file") if page.form is not None else None
    if sent is not None and not isinstance(sent, str):
        return sent.file.read(MAX_ROSTER_BYTES + 1), sent.filename or "roster.csv"
    try:
        return base64.b64decode(page.field("data"), validate=True), page.field("filename") or "roster.csv"
    except (binascii.Error, ValueError):
        raise InputError(
            "the roster file could not be read", said=_("The roster file could not be read."), field="file"
        ) from None


def import_roster(page: Page) -> Result:
    """Without `confirm`, what the import would do, rolled back; with it, the import."""
    data, filename = uploaded(page)
    if len(data) > MAX_ROSTER_BYTES:
        raise InputError(
            "the roster file is larger than 1 MB",
            said=_("The roster file is larger than 1 MB."),
            field="file",
        )
    rows = roster_import.read_rows(data, filename)
    report = roster_import.import_roster(page.session, page.now, page.actor, page.unit_id, rows, page.today)
    done = page.field("confirm") == "yes"
    if not done:
        page.session.rollback()  # a preview changes nothing
    return page.render(
        "import.html",
        "/import",
        report=report,
        data=base64.b64encode(data).decode(),
        filename=filename,
        done=done,
    )


ROUTES = [
    ("/awards", awards, ("GET",), None),
    ("/awards/grant", grant, ("POST",), None),
    ("/awards/print", awards_print, ("GET",), None),
    ("/reports", reports, ("GET",), None),
    ("/reports/xlsx", report_xlsx, ("GET",), None),
    ("/reports/chart.png", report_chart, ("GET",), None),
    ("/calendar", calendar, ("GET",), None),
    ("/calendar", add_deadline, ("POST",), None),
    ("/calendar/quiet", quiet_hours, ("POST",), None),
    ("/import", import_form, ("GET",), None),
    ("/import", import_roster, ("POST",), None),
]

# Each form's page, shown again with the values sent and the error when the form is refused.
AGAIN = {grant: awards, add_deadline: calendar, quiet_hours: calendar, import_roster: import_form}
