"""A question about the state of one's service (`簽到了嗎`, `did I check in?`): answered, never acted on.

Only a plain order changes a record; a question gets the state and the one button that would change it.
"""

from __future__ import annotations

from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_moment
from handlers.types import Button, Reply
from storage import people_store, service_store


def my_status(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    current = service_store.open_visit_of(ctx.session, ctx.volunteer_id)
    if current is not None:
        unit = people_store.unit(ctx.session, current.unit_id)
        return [
            Reply(
                t(
                    "You have been serving at {unit} since {time}. Nothing was changed.",
                    unit=unit.name if unit else "?",
                    time=local_moment(current.check_in or ctx.now, ctx.rules.timezone, ctx.locale, ctx.today),
                ),
                (Button(t("Check out"), t("check out")), Button(t("My hours"), t("hours"))),
            )
        ]
    minutes = service_store.counted_service_minutes_on(ctx.session, ctx.volunteer_id, ctx.today)
    if minutes:
        text = t(
            "You are not checked in now. Today you served {hours} hours. Nothing was changed.",
            hours=hours_from_minutes(minutes, ctx.locale),
        )
    else:
        text = t("You have not checked in today. Nothing was changed.")
    return [Reply(text, (Button(t("Check in"), t("check in")), Button(t("My hours"), t("hours"))))]
