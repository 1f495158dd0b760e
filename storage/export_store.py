"""Reads for the hours export (`vbot export hours`): one query, streamed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import Event, ServiceRecord, Shift, Unit, Volunteer
from storage.vocabulary import RecordKind, RecordSource, RecordStatus

BATCH = 1000  # rows fetched from the database at a time


@dataclass(frozen=True)
class ExportRow:
    record_id: int
    volunteer_id: int
    volunteer_name: str
    record_book_no: str | None
    service_date: dt.date
    check_in: dt.datetime | None  # UTC; None for hours entered by hand
    check_out: dt.datetime | None
    minutes: int
    unit_name: str
    unit_category: str
    shift_post: str | None  # set when the record was served in an event's shift
    event_title: str | None


def counted_service_rows(
    session: Session, unit_id: int, first: dt.date, last: dt.date
) -> Iterator[ExportRow]:
    """Counted service records of a unit with service_date in [first, last], by date, then name. A record-book
    balance is left out: it is no service of its date, and the platforms hold it already (report_store.left_out
    counts what was left out).

    Streamed: rows come BATCH at a time (a server-side cursor on PostgreSQL), so a unit with a million
    records is never in memory at once. The caller must consume the iterator while `session` is open.
    """
    query = (
        sa.select(
            ServiceRecord.id,
            ServiceRecord.volunteer_id,
            Volunteer.name,
            Volunteer.record_book_no,
            ServiceRecord.service_date,
            ServiceRecord.check_in,
            ServiceRecord.check_out,
            ServiceRecord.minutes,
            Unit.name,
            Unit.category,
            Shift.post,
            Event.title,
        )
        .join(Volunteer, Volunteer.id == ServiceRecord.volunteer_id)
        .join(Unit, Unit.id == ServiceRecord.unit_id)
        .outerjoin(Shift, Shift.id == ServiceRecord.shift_id)
        .outerjoin(Event, Event.id == Shift.event_id)
        .where(
            ServiceRecord.unit_id == unit_id,
            ServiceRecord.status == RecordStatus.COUNTED,
            ServiceRecord.kind == RecordKind.SERVICE,
            ServiceRecord.source != RecordSource.BALANCE,
            ServiceRecord.service_date >= first,
            ServiceRecord.service_date <= last,
        )
        # The volunteer's id and the record's id make the order total: the same on SQLite and PostgreSQL.
        .order_by(ServiceRecord.service_date, Volunteer.name, Volunteer.id, ServiceRecord.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        yield ExportRow(*row)
