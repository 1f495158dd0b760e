"""Service records: open visits, closing them, the minutes they count. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.models import (
    ServiceRecord,
    Unit,
)


def open_session_of(session: Session, volunteer_id: int) -> ServiceRecord | None:
    return session.exec(
        select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == "open")
    ).first()


def finish_session(
    session: Session, record_id: int, check_out: dt.datetime, minutes: int, status: str, note: str | None = None
) -> bool:
    """Closes a session only if it is still open; False when someone else closed it first."""
    values = {"check_out": check_out, "minutes": minutes, "status": status}
    if note:
        values["note"] = note
    return bool(
        session.execute(
            sa.update(ServiceRecord)
            .where(ServiceRecord.id == record_id, ServiceRecord.status == "open")
            .values(**values)
        ).rowcount
    )


def open_session_ids(session: Session, record_ids: list[int]) -> set[int]:
    """Which of these service records are still open sessions."""
    return set(
        session.exec(
            select(ServiceRecord.id).where(ServiceRecord.id.in_(record_ids), ServiceRecord.status == "open")
        ).all()
    )


@dataclass(frozen=True)
class UnitMinutes:
    unit_id: int
    unit_name: str
    total: int
    since_year_start: int
    since_half_start: int


def counted_service_minutes(
    session: Session, volunteer_id: int, year_start: dt.date, half_start: dt.date
) -> list[UnitMinutes]:
    """Counted service minutes per unit: all time, this year and this half-year — one indexed query."""

    def since(start: dt.date):
        return sa.func.coalesce(
            sa.func.sum(sa.case((ServiceRecord.service_date >= start, ServiceRecord.minutes), else_=0)), 0
        )

    totals = (
        select(
            ServiceRecord.unit_id,
            sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0).label("total"),
            since(year_start).label("year"),
            since(half_start).label("half"),
        )
        .where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == "counted",
            ServiceRecord.kind == "service",
        )
        .group_by(ServiceRecord.unit_id)
        .subquery()
    )
    rows = session.execute(
        select(totals, Unit.name).join(Unit, Unit.id == totals.c.unit_id).order_by(totals.c.unit_id)
    ).all()
    return [
        UnitMinutes(row.unit_id, row.name, int(row.total), int(row.year), int(row.half))
        for row in rows
    ]


def counted_service_minutes_on(session: Session, volunteer_id: int, day: dt.date) -> int:
    """Counted service minutes of one day, all units together."""
    return session.exec(
        select(sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.volunteer_id == volunteer_id,
            ServiceRecord.status == "counted",
            ServiceRecord.kind == "service",
            ServiceRecord.service_date == day,
        )
    ).one()
