"""Events that reach the bot after a later one of the same person (a platform's late redelivery, a shuffled
backlog): never applied silently. The person's timeline only moves forward: a check-in never opens before
their latest check-out, and a check-out never closes a session begun after it. A late event goes to the
coordinators' review (審核) with its own time and the later one's, and the person is told."""

from __future__ import annotations

import datetime as dt

from handlers.context import Context
from handlers.formatting import local_moment
from handlers.service.counting import visit_minutes
from handlers.types import Button, Reply
from storage import service_store


def _moment(ctx: Context, moment: dt.datetime) -> str:
    return local_moment(moment, ctx.rules.timezone, ctx.locale, ctx.today)


def _keep(ctx: Context, volunteer_id: int, unit_id: int, at, until, later, note: str) -> None:
    service_store.add_late_event(
        ctx.session,
        volunteer_id=volunteer_id,
        unit_id=unit_id,
        check_in=at,
        check_out=until,
        minutes=visit_minutes(at, until),
        late_after=later,
        service_date=at.astimezone(ctx.rules.timezone).date(),
        recorded_by=f"{ctx.incoming.platform}:{ctx.incoming.user_id}",
        created_at=ctx.now,
        note=note,
    )


def later_check_out(
    ctx: Context, volunteer_id: int, at: dt.datetime | None
) -> tuple[int, dt.datetime] | None:
    """The unit and end of the person's latest closed session, if it ended after `at`: a check-in or
    check-out at `at` arrived too late to be applied."""
    latest = service_store.latest_closed_visit(ctx.session, volunteer_id)
    return ended_after(latest, at)


def ended_after(latest, at: dt.datetime | None) -> tuple[int, dt.datetime] | None:
    """`latest` (a row with the `unit_id` and `check_out` of the person's latest closed session, or None) as
    later_check_out gives it: its unit and end if it ended after `at`."""
    if latest is None or latest.check_out is None or at is None or at >= latest.check_out:
        return None
    return latest.unit_id, latest.check_out


def uncovered_until(ctx: Context, volunteer_id: int, at: dt.datetime, later: dt.datetime) -> dt.datetime:
    """Where the stretch from `at` that none of the person's sessions covers ends (at most `later`); `at`
    itself when a session covers it. Approving the late check-in counts only this stretch: never a minute
    twice."""
    if service_store.covers(ctx.session, volunteer_id, at):
        return at
    following = service_store.next_time_recorded(ctx.session, volunteer_id, at)
    return min(following, later) if following is not None else later


def late_check_in(
    ctx: Context, volunteer_id: int, at: dt.datetime, unit_id: int, later: dt.datetime
) -> Reply:
    """A check-in whose time lies before the person's latest check-out (`later`)."""
    until = uncovered_until(ctx, volunteer_id, at, later)
    _keep(ctx, volunteer_id, unit_id, at, until, later, "late check-in")
    t = ctx.t
    return Reply(
        t(
            "Your check-in of {time} reached me only after your check-out of {later}, so I did not open a "
            "session. A coordinator will review it; it adds no hours until approved.",
            time=_moment(ctx, at),
            later=_moment(ctx, later),
        ),
        (Button(t("My hours"), t("hours")),),
    )


def late_check_out(
    ctx: Context, volunteer_id: int, at: dt.datetime, unit_id: int, later: dt.datetime
) -> Reply:
    """A check-out whose time lies before the start of the open session, or before the latest check-out."""
    _keep(ctx, volunteer_id, unit_id, at, at, later, "late check-out")
    t = ctx.t
    return Reply(
        t(
            "Your check-out of {time} reached me only after your check-in or check-out of {later}, so I did "
            "not apply it. A coordinator will review it.",
            time=_moment(ctx, at),
            later=_moment(ctx, later),
        ),
        (Button(t("My hours"), t("hours")),),
    )
