"""Check-in and check-out: one open visit per volunteer, timed by the platform's own timestamp."""

from __future__ import annotations

from handlers.awards import progress as award_progress
from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_moment
from handlers.service.counting import split_at_midnight, time_of_record, visit_minutes
from handlers.service.crediting import credited_end, shift_end
from handlers.service.late import ended_after, late_check_in, late_check_out, later_check_out
from handlers.types import Button, Reply
from storage import award_store, people_store, service_store
from storage.models import ServiceRecord
from storage.vocabulary import RecordStatus


def _moment(ctx: Context, moment) -> str:
    return local_moment(moment, ctx.rules.timezone, ctx.locale, ctx.today)


def _unit_name(ctx: Context, unit_id: int) -> str:
    unit = people_store.unit(ctx.session, unit_id)
    return unit.name if unit else "?"


def send_to_review(ctx: Context, record: ServiceRecord, at) -> Reply | None:
    """Closes an over-long visit for a coordinator to review; it adds no hours until approved."""
    minutes = visit_minutes(record.check_in, at)
    if not service_store.finish_visit(
        ctx.session, record, at, minutes, RecordStatus.REVIEW, note="longer than the maximum"
    ):
        return None
    t = ctx.t
    return Reply(
        t(
            "You were checked in for more than {limit} hours (since {since}). "
            "A coordinator will review this session before it counts.",
            limit=int(ctx.rules.max_visit.total_seconds() // 3600),
            since=_moment(ctx, record.check_in),
        )
    )


def clear_to_check_in(
    ctx: Context, volunteer_id: int, at, units: list | None = None
) -> tuple[list[Reply], Reply | None]:
    """What stands before a new check-in, everyday or at an event: no unit yet, a check-in arriving after a
    later check-out (to review), or a visit still open (an over-long one goes to review first). The notices
    so far, and the answer that stops the check-in. From here to the commit, the person's record is held.
    `units`: the person's units (people_store.units_of), when the caller has read them already."""
    t = ctx.t
    if not (people_store.units_of(ctx.session, volunteer_id) if units is None else units):
        return [], Reply(t("You are not in any unit yet. Please ask your coordinator to add you."))
    service_store.hold_person(ctx.session, volunteer_id)
    notices: list[Reply] = []
    state = service_store.visit_state(ctx.session, volunteer_id)
    current = service_store.open_visit_of(ctx.session, volunteer_id) if state.open_visit_id else None
    later = ended_after(state, at)
    if current is not None and at - current.check_in > ctx.rules.max_visit:
        review = send_to_review(ctx, current, at)
        notices += [review] if review else []
        current = None
        later = later_check_out(ctx, volunteer_id, at)  # the visit sent to review may end after `at`
    if later is not None:
        return notices, late_check_in(ctx, volunteer_id, at, *later)
    if current is None:
        return notices, None
    since = current.check_in
    if current.check_in is not None and at < current.check_in and current.shift_id is None:
        # Its own check-in, redelivered after a second tap: the visit began at the first (no check-out
        # lies between them, so no minute is counted twice).
        if service_store.move_visit_start(ctx.session, current, at, at.astimezone(ctx.rules.timezone).date()):
            since = at
    elif current.check_in is not None and at > current.check_in:
        service_store.note_check_in_while_open(ctx.session, current, at)  # a check-out may yet come before it
    return notices, _already_in(ctx, current, since)


def check_in(ctx: Context, argument: str) -> list[Reply]:
    """簽到, or 簽到 #UNIT (a button that names the unit); 簽到 CODE is handlers/events/checkin.py's."""
    t = ctx.t
    volunteer_id = ctx.volunteer_id
    at = time_of_record(ctx.incoming.sent_at, ctx.now)
    units = people_store.units_of(ctx.session, volunteer_id)
    replies, stop = clear_to_check_in(ctx, volunteer_id, at, units)
    if stop is not None:
        return [*replies, stop]
    chosen = None
    if argument:
        chosen = next((unit for unit, _role in units if unit.id == int(argument[1:])), None)
    if chosen is None and len(units) == 1:
        chosen = units[0][0]
    if chosen is None:
        buttons = tuple(Button(unit.name, f"{t('check in')} #{unit.id}") for unit, _role in units)
        return replies + [Reply(t("Which unit are you serving at today?"), buttons)]
    opened = start_visit(ctx, volunteer_id, chosen.id, at, cleared=True)
    if isinstance(opened, Reply):
        return replies + [opened]
    return replies + [
        Reply(
            t(
                "Checked in at {time} at {unit}. Tap Check out when you leave.",
                time=_moment(ctx, at),
                unit=chosen.name,
            ),
            (Button(t("Check out"), t("check out")),),
        )
    ]


def names_a_unit(argument: str) -> bool:
    """`#12`: the unit buttons of 簽到 send it; any other argument is an event's code."""
    return argument.startswith("#") and argument[1:].isdigit()


def start_visit(
    ctx: Context, volunteer_id: int, unit_id: int, at, *, cleared: bool = False, **fields
) -> int | Reply:
    """Opens the person's visit (its id); when another check-in got there first, the answer saying so. Never before
    the person's latest check-out: such a check-in goes to review instead. `cleared`: clear_to_check_in let
    this check-in through in this transaction (the person is held and has no later check-out): not asked
    again."""
    if not cleared:
        service_store.hold_person(ctx.session, volunteer_id)
        later = later_check_out(ctx, volunteer_id, at)
        if later is not None:
            return late_check_in(ctx, volunteer_id, at, *later)
    record = service_store.open_visit(
        ctx.session,
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        check_in=at,
        service_date=at.astimezone(ctx.rules.timezone).date(),
        recorded_by=f"{ctx.incoming.platform}:{ctx.incoming.user_id}",
        created_at=ctx.now,
        **fields,
    )
    if record is None:
        # Another check-in of the same person got there first (two taps at the same instant).
        current = service_store.open_visit_of(ctx.session, volunteer_id)
        return _already_in(ctx, current) if current else _not_checked_in(ctx)
    return record


def _already_in(ctx: Context, current: ServiceRecord, since=None) -> Reply:
    """`since`: when the visit began, if it has just been moved (`current` is the row as it was read)."""
    t = ctx.t
    return Reply(
        t(
            "You are already checked in since {time} at {unit}.",
            time=_moment(ctx, since or current.check_in),
            unit=_unit_name(ctx, current.unit_id),
        ),
        (Button(t("Check out"), t("check out")), Button(t("My hours"), t("hours"))),
    )


def _not_checked_in(ctx: Context) -> Reply:
    t = ctx.t
    return Reply(
        t("You are not checked in, so nothing was recorded."), (Button(t("Check in"), t("check in")),)
    )


def check_out(ctx: Context, argument: str) -> list[Reply]:
    return check_out_person(ctx, ctx.volunteer_id, time_of_record(ctx.incoming.sent_at, ctx.now), argument)


def check_out_person(ctx: Context, volunteer_id: int, at, argument: str = "") -> list[Reply]:
    """Closes the person's open visit at `at` (the person, or a coordinator on their behalf); a check-out
    from before the open visit began, or from before the latest check-out, goes to review instead."""
    t = ctx.t
    service_store.hold_person(ctx.session, volunteer_id)
    current = service_store.open_visit_of(ctx.session, volunteer_id)
    if current is None:
        later = later_check_out(ctx, volunteer_id, at)
        return [late_check_out(ctx, volunteer_id, at, *later) if later else _not_checked_in(ctx)]
    if current.check_in is not None and at < current.check_in:
        return [late_check_out(ctx, volunteer_id, at, current.unit_id, current.check_in)]
    if at - current.check_in > ctx.rules.max_visit:
        review = send_to_review(ctx, current, at)
        return [review or _not_checked_in(ctx)]
    if argument.strip().casefold() in ("shift end", "班末") and current.shift_id:  # the question's button
        at = max(current.check_in, min(at, shift_end(ctx.session, current)))  # "check out at the shift's end"
    left_at, again = at, current.late_after  # a check-in that came while the visit was open
    # How far the person was from any award before this visit counts (the award check may need no history).
    headroom = award_store.headroom_held(ctx.session, volunteer_id) if current.headroom_kept else None
    at, late_minutes = credited_end(ctx.session, current, at)
    parts = split_at_midnight(current.check_in, at, ctx.rules.timezone)
    first_end = parts[0][1]
    first_minutes = max(0, visit_minutes(current.check_in, first_end) - late_minutes)
    if not service_store.finish_visit(ctx.session, current, first_end, first_minutes, RecordStatus.COUNTED):
        return [_not_checked_in(ctx)]  # a check-out at the same instant closed it first
    for start, end in parts[1:]:
        # A visit past midnight counts on each day it covered: 31 Dec 23:30 – 1 Jan 00:30 is half an
        # hour in each year (and half-year).
        service_store.add_visit_part(
            ctx.session,
            current,
            start,
            end,
            visit_minutes(start, end),
            start.astimezone(ctx.rules.timezone).date(),
            ctx.now,
        )
    minutes = max(0, visit_minutes(current.check_in, at) - late_minutes)
    last_day = at.astimezone(ctx.rules.timezone).date()
    today_minutes, counted = service_store.counted_minutes_on_and_in_all(ctx.session, volunteer_id, last_day)
    category, city = current.unit_category, current.unit_city
    added = [
        (
            start.astimezone(ctx.rules.timezone).date(),
            max(0, visit_minutes(start, end) - (late_minutes if n == 0 else 0)),
            category,
            city,
        )
        for n, (start, end) in enumerate(parts)
    ]
    reached = award_progress.milestones(ctx, volunteer_id, added, counted, headroom)
    text = t(
        "Checked out at {time}. This session: {session} hours. Today: {today} hours.",
        time=_moment(ctx, at),
        session=hours_from_minutes(minutes, ctx.locale),
        today=hours_from_minutes(today_minutes, ctx.locale),
    )
    buttons = (Button(t("My hours"), t("hours")),)
    if reached:
        buttons = (Button(t("My awards"), t("awards")), *buttons)
    lines = [text, *reached]
    if again is not None and again > left_at:
        lines += check_in_again(ctx, volunteer_id, current, again)
    return [Reply("\n".join(lines), buttons)]


def check_in_again(ctx: Context, volunteer_id: int, closed: ServiceRecord, at) -> list[str]:
    """The check-out came late, after a check-in the person sent later still (then answered "already checked
    in"): that check-in opens the next visit now, as it was meant to."""
    opened = start_visit(ctx, volunteer_id, closed.unit_id, at, shift_id=closed.shift_id)
    if isinstance(opened, Reply):
        return [opened.text]
    return [
        ctx.t(
            "Your check-in of {time} reached me before this check-out: you are checked in again since {time}.",
            time=_moment(ctx, at),
        )
    ]
