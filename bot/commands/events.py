"""`vbot event add|poster|kiosk`, `vbot shift add` and `vbot roster add|import`: events, their shifts, who is on them."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_number, a_positive_int, a_text, a_time, read_file
from bot.commands.shared import now_and_today, operator
from bot.config import Settings
from handlers.validation import InputError

COMMANDS = ("event", "shift", "roster")


def add_parser(commands) -> None:
    event = commands.add_parser("event").add_subparsers(dest="action", required=True)
    event_add = event.add_parser("add")
    event_add.add_argument("--unit", type=a_positive_int, required=True)
    event_add.add_argument("--title", type=a_text, required=True)
    event_add.add_argument("--start", type=a_time, required=True)
    event_add.add_argument("--end", type=a_time, required=True)
    event_add.add_argument("--place", type=a_text)
    event_add.add_argument("--lat", type=a_number)
    event_add.add_argument("--lon", type=a_number)
    event_add.add_argument(
        "--radius", type=a_positive_int, help="metres: checking in needs a location within it"
    )
    event_add.add_argument(
        "--rotating-code", action="store_true", help="the code changes every minute (kiosk page)"
    )
    event_add.add_argument("--walk-ups", choices=("allow", "refuse"), default="allow")
    event_add.add_argument("--credit", choices=("actual", "capped", "lateness"), default="actual")
    event_add.add_argument(
        "--grace", type=int, default=0, help="minutes after the shift's end still credited"
    )
    event_add.add_argument("--json", action="store_true")
    event_poster = event.add_parser("poster", help="the check-in poster: PNG, or PDF when FILE ends in .pdf")
    event_poster.add_argument("--event", type=a_positive_int, required=True)
    event_poster.add_argument("-o", "--output", type=a_text, required=True)
    event_poster.add_argument("--json", action="store_true")

    event_kiosk = event.add_parser("kiosk", help="a signed link to the page showing an event's rotating code")
    event_kiosk.add_argument("--event", type=a_positive_int, required=True)
    event_kiosk.add_argument("--hours", type=a_positive_int, default=24, help="how long the link works")
    event_kiosk.add_argument("--json", action="store_true")

    shift = commands.add_parser("shift").add_subparsers(dest="action", required=True)
    shift_add = shift.add_parser("add")
    shift_add.add_argument("--event", type=a_positive_int, required=True)
    shift_add.add_argument("--start", type=a_time, required=True)
    shift_add.add_argument("--end", type=a_time, required=True)
    shift_add.add_argument("--capacity", type=a_positive_int, required=True)
    shift_add.add_argument("--post", type=a_text)
    shift_add.add_argument("--json", action="store_true")

    roster = commands.add_parser("roster").add_subparsers(dest="action", required=True)
    roster_add = roster.add_parser("add")
    roster_add.add_argument("--shift", type=a_positive_int, required=True)
    roster_add.add_argument("--volunteer", type=a_positive_int, required=True)
    roster_add.add_argument("--json", action="store_true")
    roster_import = roster.add_parser("import", help="a CSV with the columns shift and volunteer (ids)")
    roster_import.add_argument("file", type=a_text)
    roster_import.add_argument("--event", type=a_positive_int, required=True)
    roster_import.add_argument("--json", action="store_true")


def local_time(moment: dt.datetime, settings: Settings) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


def run(args, session, settings: Settings) -> tuple[dict, str]:
    from handlers.events import admin as event_admin

    now, _today = now_and_today(settings)
    if args.command == "event" and args.action == "add":
        location = None
        if (args.lat, args.lon, args.radius) != (None, None, None):
            if None in (args.lat, args.lon, args.radius):
                raise InputError("--lat, --lon and --radius go together")
            location = (args.lat, args.lon, args.radius)
        event = event_admin.add_event(
            session,
            now,
            operator(),
            unit_id=args.unit,
            title=args.title,
            starts_at=local_time(args.start, settings),
            ends_at=local_time(args.end, settings),
            place=args.place,
            location=location,
            rotating_code=args.rotating_code,
            walk_ups=args.walk_ups,
            credit=args.credit,
            grace_minutes=args.grace,
        )
        session.commit()
        return {"id": event.id, "code": event.code}, f"event {event.id} added; check-in code {event.code}"
    if args.command == "event" and args.action == "kiosk":
        from handlers.events.codes import kiosk_link

        event = event_admin.event_or_error(session, args.event)
        if not event.rotating_code:
            raise InputError(f"event {event.id} has no rotating code (add it with --rotating-code)")
        expires = int(now.timestamp()) + min(args.hours, 24 * 31) * 3600
        url = kiosk_link(settings.public_url, event.id, event.secret, expires)
        return {"url": url}, url
    if args.command == "event":
        from bot.commands.printouts import write_poster

        event = event_admin.event_or_error(session, args.event)
        path = write_poster(settings, session, event, args.output)
        return {"file": path}, f"poster written to {path}"
    if args.command == "shift":
        shift = event_admin.add_shift(
            session,
            now,
            operator(),
            event_id=args.event,
            starts_at=local_time(args.start, settings),
            ends_at=local_time(args.end, settings),
            capacity=args.capacity,
            post=args.post,
        )
        session.commit()
        return {"id": shift.id}, f"shift {shift.id} added ({shift.capacity} places)"
    if args.action == "add":
        entry, _new = event_admin.add_to_roster(session, now, operator(), args.shift, args.volunteer)
        session.commit()
        return {"id": entry.id}, f"volunteer {args.volunteer} is on shift {args.shift}"
    data = read_file(args.file, 10 * 1024 * 1024)
    report = event_admin.import_roster(session, now, operator(), args.event, data)
    session.commit()
    return report, (
        f"{report['added']} added, {report['unchanged']} already on, {len(report['errors'])} errors"
        + "".join(f"\nline {e['line']}: {e['error']}" for e in report["errors"])
    )
