"""訓練 / training: the volunteer's basic and special training, the record book, and the units' next sessions.

Short lines: many volunteers are over 65. The record book (服務紀錄冊) is issued after both trainings, so
a training date from the roster (trained_on) or a record book's date vouches for both, as for the awards.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from handlers.awards.progress import requirement_name
from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_date
from handlers.i18n import Translator
from handlers.types import Button, Reply
from storage import award_store, people_store
from storage.models import TrainingClass, TrainingRecord, Unit

UPCOMING_SHOWN = 5


def training_line(t: Translator, name: str, records: list[TrainingRecord], vouched: bool) -> str:
    if records:
        hours = hours_from_minutes(sum(record.minutes for record in records), t.locale)
        return t("✅ {training}: done, {hours} h", training=name, hours=hours)
    if vouched:
        return t("✅ {training}: done", training=name)
    return t("❌ {training}: not recorded yet", training=name)


def record_book_line(t: Translator, number: str | None, issued: dt.date | None) -> str:
    number = number.strip() if number else None
    if number and issued:
        return t(
            "📘 Record book {number}, issued on {date}", number=number, date=local_date(issued, t.locale)
        )
    if number:
        return t("📘 Record book {number}", number=number)
    if issued:
        return t("📘 Record book issued on {date}", date=local_date(issued, t.locale))
    return t("📘 Record book: not yet")


def class_kind(t: Translator, kind: str) -> str:
    if kind in ("basic", "special"):
        return requirement_name(t, f"{kind}_training")  # the names the award answers use
    names = {
        "in-service": t("in-service training"),
        "observation": t("observation visit"),
        "meeting": t("meeting"),
    }
    return names.get(kind, kind)


def class_lines(t: Translator, zone: ZoneInfo, row: TrainingClass, unit: Unit) -> list[str]:
    """`115年4月10日 09:00–12:00`, then unit, title and kind, then the place (also the reminders' words)."""
    start = row.starts_at.astimezone(zone)
    end = row.ends_at.astimezone(zone)
    when = f"{local_date(start.date(), t.locale)} {start:%H:%M}–"
    when += (
        f"{end:%H:%M}" if end.date() == start.date() else f"{local_date(end.date(), t.locale)} {end:%H:%M}"
    )
    lines = [
        "📅 " + when,
        t("{unit}: {title} ({kind})", unit=unit.name, title=row.title, kind=class_kind(t, row.kind)),
    ]
    if row.place:
        lines.append("📍 " + row.place)
    return lines


def my_training(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    session = ctx.session
    volunteer_id = ctx.volunteer_id
    person = people_store.volunteer(session, volunteer_id)
    units = [unit for unit, _role in people_store.units_of(session, volunteer_id)]
    categories = {unit.category for unit in units}
    records = award_store.trainings_of(session, volunteer_id)
    basic = [r for r in records if r.kind == "basic"]
    # Special training counts for the category of the volunteer's units (one recorded without a category counts).
    special = [r for r in records if r.kind == "special" and (r.category is None or r.category in categories)]
    vouched = person.trained_on is not None or person.record_book_date is not None
    has_book = (
        bool(person.record_book_no and person.record_book_no.strip()) or person.record_book_date is not None
    )

    lines = [
        t("Your training"),
        training_line(t, requirement_name(t, "basic_training"), basic, vouched),
        training_line(t, requirement_name(t, "special_training"), special, vouched),
        record_book_line(t, person.record_book_no, person.record_book_date),
    ]
    if not has_book:
        missing = [
            requirement_name(t, code)
            for code, done in (("basic_training", basic or vouched), ("special_training", special or vouched))
            if not done
        ]
        if missing:
            lines.append(t("For the record book you still need: {items}", items=t(", ").join(missing)))
        else:
            lines.append(
                t("👉 Both trainings are done: you can apply for your record book now. Ask your unit.")
            )

    upcoming = award_store.upcoming_training_classes(
        session, [unit.id for unit in units], ctx.now, UPCOMING_SHOWN
    )
    parts = ["\n".join(lines)]
    if upcoming:
        parts.append(
            "\n\n".join("\n".join(class_lines(t, ctx.rules.timezone, row, unit)) for row, unit in upcoming)
        )
        parts[-1] = t("Upcoming training") + "\n" + parts[-1]
    else:
        parts.append(t("No training sessions planned at your units."))
    buttons = (Button(t("My awards"), t("awards")), Button(t("My hours"), t("hours")))
    return [Reply("\n\n".join(parts), buttons)]
