"""我的紀錄 / my records: a volunteer's own service history as a file.

Telegram gets the CSV as a document; LINE cannot receive files from a bot, so it gets a short-lived signed
link that `vbot serve` answers (/downloads/records/ID); the terminal gets the summary.
"""

from __future__ import annotations

import base64
import csv
import io

from sqlmodel import Session, select

from handlers.context import Context
from handlers.files.links import signed_link
from handlers.formatting import hours_from_minutes
from handlers.types import Button, Document, Reply
from storage.models import ServiceRecord, Unit

COUNTED = ("counted",)


def records_csv(session: Session, volunteer_id: int, zone) -> tuple[bytes, int, int]:
    """(CSV bytes, records, counted minutes) of the person's service, oldest first; UTF-8 with BOM for Excel."""
    rows = session.exec(
        select(ServiceRecord, Unit.name).join(Unit, Unit.id == ServiceRecord.unit_id)
        .where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status.in_(("counted", "review", "void")))
        .order_by(ServiceRecord.service_date, ServiceRecord.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # Column names of a file, like a spreadsheet's: data for the person's own records, the same in every language.
    writer.writerow(["date", "unit", "kind", "start", "end", "hours", "status", "note"])
    minutes = 0
    for record, unit_name in rows:
        start = record.check_in.astimezone(zone).strftime("%H:%M") if record.check_in else ""
        end = record.check_out.astimezone(zone).strftime("%H:%M") if record.check_out else ""
        writer.writerow([record.service_date.isoformat(), unit_name, record.kind, start, end,
                         f"{record.minutes / 60:.2f}", record.status, record.note or ""])
        if record.status in COUNTED and record.kind == "service":
            minutes += record.minutes
    return ("\ufeff" + out.getvalue()).encode("utf-8"), len(rows), minutes


def my_records(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    volunteer_id = ctx.account.volunteer_id
    data, count, minutes = records_csv(ctx.session, volunteer_id, ctx.rules.timezone)
    text = t("Your service records: {count} entries, {hours} hours counted.", count=count,
             hours=hours_from_minutes(minutes, ctx.locale))
    buttons = (Button(t("My hours"), t("hours")),)
    if ctx.incoming.platform == "telegram":
        return [Reply(text, buttons, document=Document("my-records.csv", base64.b64encode(data).decode()))]
    if ctx.incoming.platform == "line" and ctx.rules.link_key:
        link = signed_link(ctx.rules, ctx.now, f"/downloads/records/{volunteer_id}")
        return [Reply(text + "\n" + t("Download (works for 24 hours): {link}", link=link), buttons)]
    return [Reply(text, buttons)]
