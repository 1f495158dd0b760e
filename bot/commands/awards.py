"""`vbot award grant` (record an award a volunteer received) and `vbot awards eligible` (who can apply)."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_date, a_number, a_positive_int, a_text
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.awards.rules import load_rules
from handlers.people import admin
from handlers.validation import InputError, _, unknown

COMMANDS = ("award", "awards")


def add_parser(commands) -> None:
    codes = ", ".join(rule.code for rule in load_rules())
    award = commands.add_parser("award", help="awards a volunteer was given").add_subparsers(
        dest="action", required=True
    )
    award_grant = award.add_parser(
        "grant",
        help="record an award a volunteer was given",
        description=f"Example: vbot award grant --volunteer 1 --award performance-certificate --date 2025-03-01. "
        f"Award codes: {codes}",
    )
    award_grant.add_argument("--volunteer", type=a_positive_int, required=True)
    award_grant.add_argument("--award", required=True, help="the award's code (listed above)")
    award_grant.add_argument("--date", type=a_date, required=True)
    award_grant.add_argument("--json", action="store_true")

    awards = commands.add_parser("awards", help="who can apply for which award").add_subparsers(
        dest="action", required=True
    )
    awards_eligible = awards.add_parser(
        "eligible",
        help="who in a unit can apply for an award, or nearly",
        description=f"Example: vbot awards eligible --unit 1 --award national-bronze --within 20. Award codes: {codes}",
    )
    awards_eligible.add_argument("--unit", type=a_positive_int, required=True)
    awards_eligible.add_argument("--award", type=a_text, help="one award's code (default: every award)")
    awards_eligible.add_argument(
        "--as-of", type=a_date, help="the day to count to, YYYY-MM-DD or ROC 115/03/25 (default today)"
    )
    awards_eligible.add_argument(
        "--within", type=a_number, default=0, help="also those this many hours short"
    )
    awards_eligible.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, today = now_and_today(settings)
    if args.command == "awards":
        return eligible(args, session, today, settings.locale)
    from handlers.awards.progress import rules_in_store

    known = {rule.code for rule in rules_in_store(session)}
    grant = admin.grant_award(
        session,
        now,
        operator(),
        volunteer_id=args.volunteer,
        award_code=args.award,
        day=args.date,
        known_codes=known,
    )
    session.commit()
    t = translator(settings)
    names = {rule.code: rule.name(t.locale) for rule in rules_in_store(session)}
    return {"id": grant.id}, t(
        "{award} granted to volunteer {volunteer}",
        award=names.get(grant.award_code, grant.award_code),
        volunteer=grant.volunteer_id,
    )


def eligible(args, session, today: dt.date, settings_locale: str = "zh_TW") -> tuple[dict, str]:
    from handlers.awards.eligibility import eligible_list, row_line
    from handlers.awards.progress import rules_in_store
    from handlers.i18n import Catalogs
    from storage.models import Unit

    if session.get(Unit, args.unit) is None:
        raise unknown("unit", args.unit)
    rules = rules_in_store(session)
    known = {rule.code for rule in rules}
    if args.award is not None and args.award not in known:
        raise InputError(
            f"there is no award {args.award!r}; known: {', '.join(sorted(known))}",
            said=_("There is no award {award}; known: {known}."),
            award=repr(args.award),
            known=", ".join(sorted(known)),
        )
    if not 0 <= args.within <= 100_000:
        raise InputError(
            f"--within must be between 0 and 100000 hours, not {args.within:g}",
            said=_("--within must be between 0 and 100000 hours."),
        )
    rows = eligible_list(session, args.unit, args.as_of or today, args.award, args.within, rules)
    session.commit()  # the unit's kept list, brought up to date by the read (handlers/awards/standing.py)
    # For a person: the chat's own wording in VBOT_LOCALE; --json keeps the stable codes.
    catalogs = Catalogs()
    t = catalogs.translator(catalogs.default_for(settings_locale))
    human = "\n".join(f"#{r.volunteer_id}\t{row_line(t, r)}" for r in rows) or t("nobody")
    return {"volunteers": [r.as_json() for r in rows]}, human
