"""`vbot unit add|set` and `vbot admin add`: units, their quiet hours, and the city administrators."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_positive_int, a_text
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.people import admin
from storage.vocabulary import CATEGORIES, CITIES

COMMANDS = ("unit", "admin")


def add_parser(commands) -> None:
    unit = commands.add_parser("unit", help="units (運用單位): add one, set its quiet hours").add_subparsers(
        dest="action", required=True
    )
    unit_add = unit.add_parser(
        "add",
        help="add a unit; prints its id",
        description="Example: vbot unit add --name 臺北市立圖書館 --category culture --city taipei",
    )
    unit_add.add_argument("--name", type=a_text, required=True, help="the unit's name, as volunteers know it")
    unit_add.add_argument(
        "--category", choices=CATEGORIES, default="general", help="its service category (default general)"
    )
    unit_add.add_argument(
        "--city", choices=CITIES, default="other", help="its city, whose awards and deadlines apply"
    )
    unit_add.add_argument(
        "--quiet-hours", type=a_text, help="no reminders pushed then, e.g. 21:00-08:00 (the default)"
    )
    unit_add.add_argument("--json", action="store_true", help="print one JSON object")
    unit_set = unit.add_parser(
        "set",
        help="change a unit's quiet hours",
        description="Example: vbot unit set 1 --quiet-hours 22:00-07:00",
    )
    unit_set.add_argument("id", type=a_positive_int, help="the unit's id")
    unit_set.add_argument(
        "--quiet-hours", type=a_text, required=True, help="no reminders pushed then, HH:MM-HH:MM"
    )
    unit_set.add_argument("--json", action="store_true", help="print one JSON object")

    administrator = commands.add_parser("admin", help="city administrators: every unit of their city")
    administrator_add = administrator.add_subparsers(dest="action", required=True).add_parser(
        "add",
        help="make a person the administrator of a city's units",
        description="Example: vbot admin add --city taipei --name 市府承辦",
    )
    administrator_add.add_argument("--city", choices=CITIES, required=True, help="the city")
    administrator_add.add_argument("--volunteer", type=a_positive_int, help="an existing person")
    administrator_add.add_argument("--name", type=a_text, help="a new person, who gets an invite code")
    administrator_add.add_argument("--json", action="store_true", help="print one JSON object")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, _today = now_and_today(settings)
    if args.command == "unit" and args.action == "set":
        unit = admin.set_quiet_hours(session, now, operator(), args.id, args.quiet_hours)
        session.commit()
        t = translator(settings)
        return {
            "id": unit.id,
            "quiet_hours": unit.quiet_hours,
        }, t("unit {id}: quiet hours {hours}", id=unit.id, hours=unit.quiet_hours or t("none"))
    if args.command == "unit":
        unit = admin.add_unit(
            session,
            now,
            operator(),
            name=args.name,
            category=args.category,
            city=args.city,
            quiet_hours=args.quiet_hours,
        )
        session.commit()
        t = translator(settings)
        return {"id": unit.id}, t("unit {id} added: {name}", id=unit.id, name=unit.name)
    person, invite = admin.add_city_administrator(
        session,
        now,
        operator(),
        city=args.city,
        invite_valid_for=dt.timedelta(days=30),
        volunteer_id=args.volunteer,
        name=args.name,
    )
    session.commit()
    code = invite.code if invite else None
    t = translator(settings)
    human = t("volunteer {id} administers the units of {city}", id=person.id, city=city_name(t, args.city))
    if code:
        human += "\n" + t("invite code {code} (valid 30 days, once)", code=code)
    return {"id": person.id, "city": args.city, "invite_code": code}, human


def city_name(t, city: str) -> str:
    return {"taipei": t("Taipei City"), "taichung": t("Taichung City")}.get(city) or t("another city")
