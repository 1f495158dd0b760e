"""時數 / hours: counted service hours in total, this year and this half-year, per unit when there are several."""

from __future__ import annotations

from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_moment
from handlers.service.counting import half_year_start, year_start
from handlers.types import Button, Reply
from storage import service_store


def my_hours(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    today = ctx.today
    volunteer_id = ctx.volunteer_id
    per_unit = service_store.counted_service_minutes(
        ctx.session, volunteer_id, year_start(today), half_year_start(today)
    )

    def h(minutes: int) -> str:
        return hours_from_minutes(minutes, ctx.locale)

    half = t("January–June") if today.month <= 6 else t("July–December")
    lines = [
        t("Your service hours"),
        t("Total: {hours} hours", hours=h(sum(u.total for u in per_unit))),
        t("This year: {hours} hours", hours=h(sum(u.since_year_start for u in per_unit))),
        t(
            "This half-year ({half}): {hours} hours",
            half=half,
            hours=h(sum(u.since_half_start for u in per_unit)),
        ),
    ]
    if len(per_unit) > 1:
        lines += [t("{unit}: {hours} hours", unit=u.unit_name, hours=h(u.total)) for u in per_unit]

    current = service_store.open_visit_of(ctx.session, volunteer_id)
    if current is not None:
        since = local_moment(current.check_in, ctx.rules.timezone, ctx.locale, today)
        lines.append(t("Checked in now since {time}.", time=since))
        button = Button(t("Check out"), t("check out"))
    else:
        button = Button(t("Check in"), t("check in"))
    return [Reply("\n".join(lines), (button,))]
