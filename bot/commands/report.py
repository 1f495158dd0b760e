"""`vbot report (--unit ID | --all) --period 2026H1|2026H2|2026 [--format json|csv|xlsx] [-o FILE] [--chart FILE.png]`.

bot/commands/main.py adds the sub-command with `add_parser(commands)` and calls `run(args, session, settings)`,
which returns the JSON object to print and a summary for operators.
"""

from __future__ import annotations

import json

from bot.commands.arguments import a_positive_int, write_file
from bot.commands.shared import translator
from handlers.files import report
from handlers.files.chat import left_out_lines
from handlers.formatting import local_date
from handlers.validation import InputError, _

COMMANDS = ("report",)


def add_parser(commands) -> None:
    parser = commands.add_parser("report", help="the half-year or yearly report of a unit or of every unit")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--unit", type=a_positive_int, metavar="ID", help="one unit")
    scope.add_argument("--all", action="store_true", help="every unit")
    parser.add_argument("--period", required=True, help="2026H1, 2026H2 or 2026")
    parser.add_argument(
        "--format",
        choices=["json", "csv", "xlsx"],
        default="json",
        help="what -o writes (csv and xlsx need -o)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--chart", metavar="FILE.png", help="a PNG bar chart of monthly hours per unit")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")


def run(args, session, settings) -> tuple[dict, str]:
    """Build the report; write -o and --chart; (the JSON object, a summary). InputError for bad input."""
    period = report.parse_period(args.period)
    fmt = getattr(args, "format", "json") or "json"
    output, chart = getattr(args, "output", None), getattr(args, "chart", None)
    if fmt != "json" and not output:
        raise InputError(
            f"--format {fmt} needs -o FILE", said=_("--format {format} needs -o FILE."), format=fmt
        )
    if chart and not chart.lower().endswith(".png"):
        raise InputError(
            "--chart needs a file name ending in .png", said=_("--chart needs a file name ending in .png.")
        )
    unit_id = None if getattr(args, "all", False) else args.unit
    if unit_id is None and not getattr(args, "all", False):
        raise InputError("give --unit ID or --all", said=_("Give --unit ID or --all."))
    built = report.build_report(session, period, unit_id)
    result = report.to_dict(built)
    t = translator(settings)  # the files and the summary speak VBOT_LOCALE (zh_TW unless set)
    if output:
        data = (
            (json.dumps(result, ensure_ascii=False, indent=2) + "\n").encode()
            if fmt == "json"
            else report.RENDERERS[fmt](built, t)
        )
        write_file(output, data)
        result["output"] = {"file": output, "format": fmt, "bytes": len(data)}
    if chart:
        png = report.to_png(built, t)
        write_file(chart, png)
        result["chart"] = {"file": chart, "bytes": len(png)}
    s = result["summary"]

    def pct(value):
        return t("n/a") if value is None else f"{value * 100:+.1f} %"

    def share(value):
        return t("n/a") if value is None else f"{value * 100:.1f} %"

    scope = t("all units") if unit_id is None else t("unit {id}", id=unit_id)
    first, last = (local_date(day, t.locale) for day in (period.first, period.last))
    lines = [
        t(
            "report {period} ({first} – {last}), {scope}",
            period=period.label,
            first=first,
            last=last,
            scope=scope,
        ),
        t(
            "served {served} volunteers, {times} person-times, {hours} hours in {teams} teams",
            served=f"{s['served']:,}",
            times=f"{s['person_times']:,}",
            hours=f"{s['hours']:,.2f}",
            teams=f"{s['teams']:,}",
        ),
        t(
            "insured {insured}, record books {books}, honor cards {cards}",
            insured=f"{s['insured']:,}",
            books=f"{s['record_book_holders']:,}",
            cards=f"{s['honor_card_holders']:,}",
        ),
        t(
            "65+ {seniors} (rate {rate}), 55-64 {middle}",
            seniors=f"{s['seniors_65_plus']:,}",
            rate=share(s["senior_rate"]),
            middle=f"{s['middle_aged_55_64']:,}",
        ),
        t(
            "vs {year}: served {served}, hours {hours}",
            year=result["period"]["year_before"],
            served=pct(s["served_growth"]),
            hours=pct(s["hours_growth"]),
        ),
    ]
    lines += left_out_lines(t, built.left_out)
    if output:
        lines.append(t("wrote {file} ({format})", file=output, format=fmt))
    if chart:
        lines.append(t("wrote {file}", file=chart))
    return result, "\n".join(lines)
