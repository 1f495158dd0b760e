"""`vbot event add|poster|kiosk`, `vbot shift add` and `vbot roster add|import`: events, their shifts, who is on them."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_number, a_positive_int, a_text, a_time, read_file
from bot.commands.shared import now_and_today, operator, translator
from bot.config import Settings
from handlers.validation import InputError, _

COMMANDS = ("event", "shift", "roster")


def add_parser(commands) -> None:
    event = commands.add_parser(
        "event", help="events with shifts and a check-in code: add, poster, kiosk link"
    ).add_subparsers(dest="action", required=True)
    event_add = event.add_parser(
        "add",
        help="add an event; prints its id and check-in code",
        description="Example: vbot event add --unit 1 --title 臺北燈節 --start 2026-02-14T16:00 "
        "--end 2026-02-14T22:00 --place 中正紀念堂",
    )
    event_add.add_argument("--unit", type=a_positive_int, required=True, help="the unit's id")
    event_add.add_argument("--title", type=a_text, required=True, help="what volunteers see")
    event_add.add_argument(
        "--start",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-02-14T16:00 (local), or ROC 115/04/01 09:00",
    )
    event_add.add_argument(
        "--end",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-02-14T22:00 (local), or ROC 115/04/01 09:00",
    )
    event_add.add_argument("--place", type=a_text, help="where, as volunteers know it")
    event_add.add_argument(
        "--lat", type=a_number, help="latitude of the place, e.g. 25.0355 (with --lon, --radius)"
    )
    event_add.add_argument("--lon", type=a_number, help="longitude of the place, e.g. 121.5219")
    event_add.add_argument(
        "--radius", type=a_positive_int, help="metres: checking in needs a location within it"
    )
    event_add.add_argument(
        "--rotating-code", action="store_true", help="the code changes every minute (kiosk page)"
    )
    event_add.add_argument(
        "--walk-ups",
        choices=("allow", "refuse"),
        default="allow",
        help="people not on a roster: checked in and flagged (allow, the default) or refused",
    )
    event_add.add_argument(
        "--credit",
        choices=("actual", "capped", "lateness"),
        default="actual",
        help="hours credited: as served (actual), up to the shift's end (capped), or less for lateness",
    )
    event_add.add_argument(
        "--grace", type=int, default=0, help="minutes after the shift's end still credited"
    )
    event_add.add_argument("--json", action="store_true", help="print one JSON object")
    event_poster = event.add_parser(
        "poster",
        help="the check-in poster: PNG, or PDF when FILE ends in .pdf",
        description="Example: vbot event poster --event 1 -o poster.pdf",
    )
    event_poster.add_argument("--event", type=a_positive_int, required=True, help="the event's id")
    event_poster.add_argument(
        "-o", "--output", type=a_text, required=True, help="the file to write (.pdf or .png)"
    )
    event_poster.add_argument("--json", action="store_true", help="print one JSON object")

    event_kiosk = event.add_parser("kiosk", help="a signed link to the page showing an event's rotating code")
    event_kiosk.add_argument("--event", type=a_positive_int, required=True, help="the event's id")
    event_kiosk.add_argument("--hours", type=a_positive_int, default=24, help="how long the link works")
    event_kiosk.add_argument("--json", action="store_true", help="print one JSON object")

    shift = commands.add_parser("shift", help="shifts of an event").add_subparsers(
        dest="action", required=True
    )
    shift_add = shift.add_parser(
        "add",
        help="add a shift to an event; prints its id",
        description="Example: vbot shift add --event 1 --start 2026-02-14T16:00 --end 2026-02-14T19:00 "
        "--capacity 20 --post 服務台",
    )
    shift_add.add_argument("--event", type=a_positive_int, required=True, help="the event's id")
    shift_add.add_argument(
        "--start",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-02-14T16:00 (local), or ROC 115/04/01 09:00",
    )
    shift_add.add_argument(
        "--end",
        type=a_time,
        required=True,
        help="ISO 8601, e.g. 2026-02-14T19:00 (local), or ROC 115/04/01 09:00",
    )
    shift_add.add_argument("--capacity", type=a_positive_int, required=True, help="how many people it takes")
    shift_add.add_argument("--post", type=a_text, help="where on the site, e.g. 服務台")
    shift_add.add_argument("--json", action="store_true", help="print one JSON object")

    roster = commands.add_parser("roster", help="who is on a shift").add_subparsers(
        dest="action", required=True
    )
    roster_add = roster.add_parser(
        "add",
        help="put a volunteer on a shift",
        description="Example: vbot roster add --shift 1 --volunteer 7",
    )
    roster_add.add_argument("--shift", type=a_positive_int, required=True, help="the shift's id")
    roster_add.add_argument("--volunteer", type=a_positive_int, required=True, help="the volunteer's id")
    roster_add.add_argument("--json", action="store_true", help="print one JSON object")
    roster_import = roster.add_parser("import", help="a CSV with the columns shift and volunteer (ids)")
    roster_import.add_argument("file", type=a_text, help="the CSV file, e.g. roster.csv")
    roster_import.add_argument("--event", type=a_positive_int, required=True, help="the event's id")
    roster_import.add_argument("--json", action="store_true", help="print one JSON object")


def local_time(moment: dt.datetime, settings: Settings) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


def run(args, session, settings: Settings) -> tuple[dict, str]:
    from handlers.events import admin as event_admin

    now, _today = now_and_today(settings)
    if args.command == "event" and args.action == "add":
        location = None
        if (args.lat, args.lon, args.radius) != (None, None, None):
            if None in (args.lat, args.lon, args.radius):
                raise InputError(
                    "--lat, --lon and --radius go together", said=_("--lat, --lon and --radius go together.")
                )
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
        t = translator(settings)
        return {"id": event.id, "code": event.code}, t(
            "event {id} added; check-in code {code}", id=event.id, code=event.code
        )
    if args.command == "event" and args.action == "kiosk":
        from handlers.events.codes import kiosk_link

        event = event_admin.event_or_error(session, args.event)
        if not event.rotating_code:
            raise InputError(
                f"event {event.id} has no rotating code (add it with --rotating-code)",
                said=_("Event {id} has no rotating code (add it with --rotating-code)."),
                id=event.id,
            )
        expires = int(now.timestamp()) + min(args.hours, 24 * 31) * 3600
        url = kiosk_link(settings.public_url, event.id, event.secret, expires)
        return {"url": url}, url
    if args.command == "event":
        from bot.commands.printouts import write_poster

        event = event_admin.event_or_error(session, args.event)
        path = write_poster(settings, session, event, args.output)
        t = translator(settings)
        return {"file": path}, t("poster written to {file}", file=path)
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
        t = translator(settings)
        return {"id": shift.id}, t("shift {id} added ({places} places)", id=shift.id, places=shift.capacity)
    if args.action == "add":
        entry, _new = event_admin.add_to_roster(session, now, operator(), args.shift, args.volunteer)
        session.commit()
        t = translator(settings)
        return {"id": entry.id}, t(
            "volunteer {volunteer} is on shift {shift}", volunteer=args.volunteer, shift=args.shift
        )
    data = read_file(args.file, 10 * 1024 * 1024)
    report, refused = event_admin.import_roster(session, now, operator(), args.event, data)
    session.commit()
    t = translator(settings)
    summary = t(
        "{added} added, {unchanged} already on, {errors} errors",
        added=report["added"],
        unchanged=report["unchanged"],
        errors=len(report["errors"]),
    )
    lines = [
        t("line {line}: {error}", line=line, error=words)
        for line, words in event_admin.roster_error_lines(refused, t)
    ]
    return report, "\n".join([summary, *lines])
