"""Checking in at an event with its code (`簽到 CODE`): the right shift, the time window, walk-ups, and how
hours are credited at check-out; `現場` / `live` and `代簽到` / `check in for` for coordinators."""

from __future__ import annotations

import datetime as dt
import math
import re

from handlers import guide, notifications
from handlers.context import Context
from handlers.events.codes import rotating_code_accepted
from handlers.formatting import local_moment
from handlers.notifications import tell_coordinators
from handlers.service import checkin
from handlers.service.counting import time_of_record
from handlers.service.late import late_check_in, later_check_out
from handlers.types import Button, Reply
from storage import audit_store, event_store, people_store, service_store
from storage.models import Event, Shift

OPENS_BEFORE = dt.timedelta(minutes=60)  # a code is accepted from an hour before a shift starts
LOCATION_WAIT = dt.timedelta(minutes=15)
EARTH_RADIUS_M = 6_371_000
CODE_SHAPE = re.compile(r"[A-Z0-9]{4,12}")  # poster codes are 6 letters and digits, rotating ones 6 digits


def find_event(ctx: Context, code: str) -> tuple[Event | None, bool]:
    """The event of a poster code, or of a rotating code shown now; and whether it was the poster's code."""
    code = code.strip().upper()
    if not CODE_SHAPE.fullmatch(
        code
    ):  # anything else names no event (and a NUL byte must not reach the query)
        return None, False
    event = event_store.event_by_code(ctx.session, code)
    if event is not None:
        return event, True
    for candidate in event_store.rotating_events_during(ctx.session, ctx.now):
        if rotating_code_accepted(candidate.secret, code, ctx.now):
            return candidate, False
    return None, False


def check_in_at_event(ctx: Context, code: str) -> list[Reply]:
    """簽到 CODE: the same checks as any check-in, then the event's."""
    at = time_of_record(ctx.incoming.sent_at, ctx.now)
    notices, stop = checkin.clear_to_check_in(ctx, ctx.volunteer_id, at)
    if stop is not None:
        return [*notices, stop]
    return notices + check_in_with_code(ctx, code, at)


def check_in_with_code(ctx: Context, code: str, at: dt.datetime) -> list[Reply]:
    t = ctx.t
    volunteer_id = ctx.volunteer_id
    event, from_poster = find_event(ctx, code)
    retry = (Button(t("Check in"), t("check in")),)
    if event is None:
        return [Reply(t("I do not know the check-in code {code}.", code=code), retry)]
    if event.rotating_code and from_poster:
        return [
            Reply(
                t(
                    "At {event} the code changes every minute: scan the code on the screen at the entrance.",
                    event=event.title,
                )
            )
        ]
    shifts = event_store.shifts_of(ctx.session, event.id)
    open_now = [s for s in shifts if s.starts_at - OPENS_BEFORE <= at <= s.ends_at]
    if not open_now:
        coming = [s for s in shifts if s.starts_at - OPENS_BEFORE > at]
        if coming:
            return [
                Reply(
                    t(
                        "Check-in for {event} opens an hour before your shift, at {time}.",
                        event=event.title,
                        time=local_moment(
                            coming[0].starts_at - OPENS_BEFORE, ctx.rules.timezone, ctx.locale, ctx.today
                        ),
                    )
                )
            ]
        return [Reply(t("The shifts of {event} are over.", event=event.title))]
    mine = event_store.signed_shift_ids(ctx.session, volunteer_id, [s.id for s in open_now])
    shift = next((s for s in open_now if s.id in mine), None)
    if shift is None:
        flag_walk_up(ctx, event, open_now[0], refused=event.walk_ups == "refuse")
        if event.walk_ups == "refuse":
            return [
                Reply(
                    t(
                        "You are not on the roster of a shift at {event} now, so I cannot check you in. "
                        "I have told the coordinator.",
                        event=event.title,
                    )
                )
            ]
    if event.radius_m is not None:
        return ask_for_location(ctx, event, shift or open_now[0], shift is None, at)
    opened = checkin.start_visit(
        ctx, volunteer_id, event.unit_id, at, shift_id=(shift or open_now[0]).id, walk_up=shift is None
    )
    if isinstance(opened, Reply):
        return [opened]
    where = (shift or open_now[0]).post or event.title
    text = t(
        "Checked in at {time} at {unit}. Tap Check out when you leave.",
        time=local_moment(at, ctx.rules.timezone, ctx.locale, ctx.today),
        unit=where,
    )
    if shift is None:
        text += "\n" + t("You are not on this shift's roster: the coordinator will see you as a walk-up.")
    return [Reply(text, (Button(t("Check out"), t("check out")),))]


def ask_for_location(ctx: Context, event: Event, shift: Shift, walk_up: bool, at: dt.datetime) -> list[Reply]:
    """The event checks where people are: the check-in waits (it counts from the code's time) for a location."""
    t = ctx.t
    event_store.wait_for_location(
        ctx.session,
        volunteer_id=ctx.volunteer_id,
        unit_id=event.unit_id,
        check_in=at,
        service_date=at.astimezone(ctx.rules.timezone).date(),
        recorded_by=f"{ctx.incoming.platform}:{ctx.incoming.user_id}",
        created_at=ctx.now,
        shift_id=shift.id,
        walk_up=walk_up,
    )
    return [
        Reply(
            t("Please share your location to check in at {event}: tap the button below.", event=event.title),
            (Button(t("Share my location"), t("check in"), kind="location"),),
        )
    ]


def location_shared(ctx: Context) -> list[Reply]:
    """A shared location completes the check-in waiting for it, if it is within the event's radius."""
    t = ctx.t
    waiting = event_store.awaiting_location(ctx.session, ctx.volunteer_id, ctx.now - LOCATION_WAIT)
    if waiting is None:  # a location shared for no check-in: as any message the bot does not understand
        return guide.not_understood(ctx)
    shift = event_store.shift(ctx.session, waiting.shift_id)
    event = event_store.event(ctx.session, shift.event_id)
    metres = distance_m(ctx.incoming.location, (event.latitude, event.longitude))
    if metres > event.radius_m:
        return [
            Reply(
                t(
                    "You are {distance} m from {event}; checking in needs to be within {radius} m. "
                    "If you are there, ask the coordinator to check you in.",
                    distance=round(metres),
                    event=event.title,
                    radius=event.radius_m,
                ),
                (Button(t("Share my location"), t("check in"), kind="location"),),
            )
        ]
    service_store.hold_person(ctx.session, ctx.volunteer_id)
    later = later_check_out(ctx, ctx.volunteer_id, waiting.check_in)
    if later is not None and waiting.check_in is not None:  # checked out since the code was sent
        return [late_check_in(ctx, ctx.volunteer_id, waiting.check_in, *later)]
    if service_store.open_visit_of(
        ctx.session, ctx.volunteer_id
    ) is not None or not event_store.confirm_location(ctx.session, waiting.id):
        return [Reply(t("You are already checked in."), (Button(t("Check out"), t("check out")),))]
    if waiting.walk_up:
        flag_walk_up(ctx, event, shift, refused=False)
    text = t(
        "Checked in at {time} at {unit}. Tap Check out when you leave.",
        time=local_moment(waiting.check_in, ctx.rules.timezone, ctx.locale, ctx.today),
        unit=shift.post or event.title,
    )
    return [Reply(text, (Button(t("Check out"), t("check out")),))]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine): exact enough for a radius of tens of metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def flag_walk_up(ctx: Context, event: Event, shift: Shift, refused: bool) -> None:
    """The event's coordinators hear of a walk-up (through the reminder pass, so quiet hours hold)."""
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)

    def words(t) -> Reply:
        if refused:
            return Reply(
                t(
                    "🚶 {name} tried to check in at {event} but is not on a shift's roster (refused).",
                    name=person.name,
                    event=event.title,
                )
            )
        return Reply(
            t(
                "🚶 {name} checked in at {event} as a walk-up (not on the roster).",
                name=person.name,
                event=event.title,
            )
        )

    tell_coordinators(ctx, [event.unit_id], "walk-up", f"{shift.id}:{person.id}", words, shift.ends_at)


# ---- coordinators -------------------------------------------------------------------------------------


def coordinated_units(ctx: Context) -> list:
    return people_store.coordinated_units(ctx.session, ctx.volunteer_id)


def live(ctx: Context, _argument: str) -> list[Reply]:
    """現場: per shift of today's events, who was expected, who is here, who is missing, the walk-ups."""
    t = ctx.t
    units = coordinated_units(ctx)
    if not units:
        return [Reply(t("Only a unit's coordinator can see who is on shift."))]
    events = [
        e
        for e in event_store.events_of_units(ctx.session, [u.id for u in units], ctx.now)
        if e.starts_at.astimezone(ctx.rules.timezone).date() <= ctx.today
    ]
    blocked = notifications.unreachable_line(t, ctx.session, [u.id for u in units])
    if not events:
        return [Reply("\n\n".join(filter(None, [t("No event of your units is on today."), blocked])))]
    parts = []
    for event in events:
        shifts = event_store.shifts_of(ctx.session, event.id)
        ids = [s.id for s in shifts]
        expected: dict[int, dict[int, str]] = {s: {} for s in ids}
        for shift_id, volunteer_id, name in event_store.roster_of(ctx.session, ids):
            expected[shift_id][volunteer_id] = name
        here: dict[int, dict[int, str]] = {s: {} for s in ids}
        walk_ups: dict[int, list[str]] = {s: [] for s in ids}
        for shift_id, volunteer_id, name, walk_up in event_store.attendance_of(ctx.session, ids):
            here[shift_id][volunteer_id] = name
            if walk_up:
                walk_ups[shift_id].append(name)
        lines = [f"📍 {event.title}"]
        for shift in shifts:
            start = shift.starts_at.astimezone(ctx.rules.timezone)
            end = shift.ends_at.astimezone(ctx.rules.timezone)
            missing = [name for v, name in expected[shift.id].items() if v not in here[shift.id]]
            came = sum(v in here[shift.id] for v in expected[shift.id])
            lines.append(
                t(
                    "{post} {start}–{end}: expected {expected}, checked in {here}, missing {missing}",
                    post=shift.post or "",
                    start=f"{start:%H:%M}",
                    end=f"{end:%H:%M}",
                    expected=len(expected[shift.id]),
                    here=came,
                    missing=len(missing),
                ).strip()
            )
            if missing:
                lines.append("  " + t("Missing: {names}", names="、".join(missing)))
            if walk_ups[shift.id]:
                lines.append("  " + t("Walk-ups: {names}", names="、".join(walk_ups[shift.id])))
        parts.append("\n".join(lines))
    if blocked:
        parts.append(blocked)
    return [Reply("\n\n".join(parts), (Button(t("Live"), t("live")),))]


def my_member(ctx: Context, argument: str) -> tuple[int | None, list[int]]:
    """The volunteer whose number was typed, if a member of a unit this coordinator runs; and those units."""
    mine = {unit.id for unit in coordinated_units(ctx)}
    target = int(argument) if argument.strip().isdigit() and len(argument.strip()) < 10 else None
    theirs = {unit.id for unit, _role in people_store.units_of(ctx.session, target)} if target else set()
    shared = sorted(mine & theirs)
    return (target, shared) if shared else (None, [])


def check_in_for(ctx: Context, argument: str) -> list[Reply]:
    """代簽到 VOLUNTEER_ID: a coordinator checks a member in at the event shift they are on now."""
    t = ctx.t
    target, units = my_member(ctx, argument)
    if target is None:
        return [Reply(t("Type 代簽到 and the volunteer's number; only their unit's coordinator can do it."))]
    at = ctx.now
    service_store.hold_person(ctx.session, target)
    if service_store.open_visit_of(ctx.session, target) is not None:
        return [Reply(t("That volunteer is already checked in."))]
    shifts = [
        (shift, event)
        for shift, event in event_store.open_shifts_for(ctx.session, target, at, 50)
        if shift.starts_at - OPENS_BEFORE <= at <= shift.ends_at and event.unit_id in units
    ]
    signed = event_store.signed_shift_ids(ctx.session, target, [s.id for s, _ in shifts])
    shift, event = next(((s, e) for s, e in shifts if s.id in signed), shifts[0] if shifts else (None, None))
    unit_id = event.unit_id if event else units[0]
    opened = checkin.start_visit(
        ctx,
        target,
        unit_id,
        at,
        shift_id=shift.id if shift else None,
        walk_up=bool(shift) and shift.id not in signed,
        checked_in_by=f"volunteer:{ctx.volunteer_id}",
    )
    if isinstance(opened, Reply):
        return [Reply(t("That volunteer is already checked in."))]
    name = people_store.volunteer(ctx.session, target).name
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{ctx.volunteer_id}",
        "checkin.for",
        f"volunteer:{target}",
        None,
        {"record": opened, "shift": shift.id if shift else None},
    )
    return [
        Reply(
            t(
                "{name} is checked in at {time}.",
                name=name,
                time=local_moment(at, ctx.rules.timezone, ctx.locale, ctx.today),
            )
        )
    ]


def check_out_for(ctx: Context, argument: str) -> list[Reply]:
    """代簽退 VOLUNTEER_ID: a coordinator checks a member of their unit out now."""
    t = ctx.t
    target, units = my_member(ctx, argument)
    if target is None:
        return [Reply(t("Type 代簽退 and the volunteer's number; only their unit's coordinator can do it."))]
    service_store.hold_person(ctx.session, target)
    current = service_store.open_visit_of(ctx.session, target)
    if current is None:
        return [Reply(t("That volunteer is not checked in."))]
    if current.unit_id not in units:  # a shared member serving at another unit: that unit's to close
        return [Reply(t("Type 代簽退 and the volunteer's number; only their unit's coordinator can do it."))]
    replies = checkin.check_out_person(ctx, target, ctx.now)
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{ctx.volunteer_id}",
        "checkout.for",
        f"volunteer:{target}",
        None,
        {"record": current.id},
    )
    name = people_store.volunteer(ctx.session, target).name
    return [Reply(f"{name}：{reply.text}") for reply in replies]
