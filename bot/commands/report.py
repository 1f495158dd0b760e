"""`vbot report (--unit ID | --all) --period 2026H1|2026H2|2026 [--format json|csv|xlsx] [-o FILE] [--chart FILE.png]`.

bot/commands/main.py adds the sub-command with `add_parser(commands)` and calls `run(args, session, settings)`,
which returns the JSON object to print and a summary for operators.
"""

from __future__ import annotations

import json

from bot.commands.arguments import a_positive_int, write_file
from handlers.files import report
from handlers.i18n import Catalogs
from handlers.validation import InputError

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
        raise InputError(f"--format {fmt} needs -o FILE")
    if chart and not chart.lower().endswith(".png"):
        raise InputError("--chart needs a file name ending in .png")
    unit_id = None if getattr(args, "all", False) else args.unit
    if unit_id is None and not getattr(args, "all", False):
        raise InputError("give --unit ID or --all")
    built = report.build_report(session, period, unit_id)
    result = report.to_dict(built)
    t = Catalogs().translator(settings.locale)  # the files speak VBOT_LOCALE (zh_TW unless set)
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
        return "n/a" if value is None else f"{value * 100:+.1f} %"

    def share(value):
        return "n/a" if value is None else f"{value * 100:.1f} %"

    scope = "all units" if unit_id is None else f"unit {unit_id}"
    lines = [
        f"report {period.label} ({period.first} – {period.last}), {scope}",
        f"served {s['served']:,} volunteers, {s['person_times']:,} person-times, {s['hours']:,.2f} hours "
        f"in {s['teams']:,} teams",
        f"insured {s['insured']:,}, record books {s['record_book_holders']:,}, "
        f"honor cards {s['honor_card_holders']:,}",
        f"65+ {s['seniors_65_plus']:,} (rate {share(s['senior_rate'])}), 55-64 {s['middle_aged_55_64']:,}",
        f"vs {result['period']['year_before']}: served {pct(s['served_growth'])}, hours {pct(s['hours_growth'])}",
    ]
    lines += left_out_lines(built.left_out)
    if output:
        lines.append(f"wrote {output} ({fmt})")
    if chart:
        lines.append(f"wrote {chart}")
    return result, "\n".join(lines)


def left_out_lines(left_out) -> list[str]:
    """What the report or export left out, for an operator (empty when nothing)."""
    lines = []
    if left_out.balance_records:
        lines.append(
            f"left out: {left_out.balance_records:,} record-book balances dated in the period"
            f" ({left_out.balance_minutes / 60:,.2f} hours; counted in totals and awards, not service of the period)"
        )
    if left_out.review_records:
        lines.append(
            f"left out: {left_out.review_records:,} records waiting for review ({left_out.review_minutes / 60:,.2f} hours)"
        )
    if left_out.before_training_records:
        lines.append(
            f"left out: {left_out.before_training_records:,} records served before the volunteer's training"
            f" ({left_out.before_training_minutes / 60:,.2f} hours; hours count from both trainings)"
        )
    return lines
