"""我的紀錄 / my records: a volunteer's own service history as a file.

The answer carries the CSV and a short-lived signed link to it that `vbot serve` answers
(/downloads/records/ID); the channel sends what its platform takes: Telegram the file, LINE (which cannot
receive files from a bot) the link.
"""

from __future__ import annotations

import base64
import csv
import io

from sqlmodel import Session

from handlers.context import Context
from handlers.files.links import signed_link
from handlers.formatting import hours_from_minutes, spreadsheet_row
from handlers.i18n import Translator
from handlers.types import Button, Document, Reply
from storage import service_store
from storage.vocabulary import RecordKind, RecordStatus

COUNTED = (RecordStatus.COUNTED,)


def record_headers(t: Translator) -> list[str]:
    return [t("Date"), t("Unit"), t("Kind"), t("Start"), t("End"), t("Hours"), t("Status"), t("Note")]


def kind_word(t: Translator, kind: str) -> str:
    return {"service": t("Service"), "training": t("Training"), "meeting": t("Meeting")}.get(kind, kind)


def status_word(t: Translator, status: str) -> str:
    return {"counted": t("Counted"), "review": t("Waiting for review"), "void": t("Void")}.get(status, status)


def records_csv(session: Session, volunteer_id: int, zone, t: Translator) -> tuple[bytes, int, int]:
    """(CSV bytes, records, counted minutes) of the person's service, oldest first; UTF-8 with BOM for Excel.
    Headers, kinds and statuses in the person's language (t); dates ISO, hours a plain number."""
    rows = service_store.records_with_unit_names(
        session, volunteer_id, (RecordStatus.COUNTED, RecordStatus.REVIEW, RecordStatus.VOID)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(record_headers(t))
    minutes = 0
    for record, unit_name in rows:
        start = record.check_in.astimezone(zone).strftime("%H:%M") if record.check_in else ""
        end = record.check_out.astimezone(zone).strftime("%H:%M") if record.check_out else ""
        writer.writerow(
            spreadsheet_row(
                [
                    record.service_date.isoformat(),
                    unit_name,
                    kind_word(t, record.kind),
                    start,
                    end,
                    f"{record.minutes / 60:.2f}",
                    status_word(t, record.status),
                    record.note or "",
                ]
            )
        )
        if record.status in COUNTED and record.kind == RecordKind.SERVICE:
            minutes += record.minutes
    return ("\ufeff" + out.getvalue()).encode("utf-8"), len(rows), minutes


def my_records(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    volunteer_id = ctx.volunteer_id
    data, count, minutes = records_csv(ctx.session, volunteer_id, ctx.rules.timezone, t)
    text = t(
        "Your service records: {count} entries, {hours} hours counted.",
        count=count,
        hours=hours_from_minutes(minutes, ctx.locale),
    )
    buttons = (Button(t("My hours"), t("hours")),)
    link = None
    if ctx.rules.link_key:
        url = signed_link(ctx.rules, ctx.now, f"/downloads/records/{volunteer_id}")
        link = t("Download (works for 24 hours): {link}", link=url)
    document = Document("my-records.csv", base64.b64encode(data).decode())
    return [Reply(text, buttons, document=document, link=link)]
