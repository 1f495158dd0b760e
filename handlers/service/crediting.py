"""How a visit's time is credited when it closes: at an event shift, the event's rule (the actual time,
capped at the shift's end plus grace, or capped with an hour off for coming late)."""

from __future__ import annotations

import datetime as dt

from storage import event_store
from storage.models import ServiceRecord

LATE_AFTER = dt.timedelta(minutes=15)  # domain.md: more than 15 minutes late = one hour less (`lateness`)
LATE_PENALTY_MINUTES = 60


def shift_end(session, record: ServiceRecord) -> dt.datetime:
    return event_store.shift(session, record.shift_id).ends_at


def credited_end(session, record: ServiceRecord, at: dt.datetime) -> tuple[dt.datetime, int]:
    """When the event's rule ends the credited time, and the minutes to take off for lateness."""
    if record.shift_id is None:
        return at, 0
    shift = event_store.shift(session, record.shift_id)
    event = event_store.event(session, shift.event_id)
    if event.credit == "actual":
        return at, 0
    end = max(record.check_in, min(at, shift.ends_at + dt.timedelta(minutes=event.grace_minutes)))
    late = event.credit == "lateness" and record.check_in > shift.starts_at + LATE_AFTER
    return end, LATE_PENALTY_MINUTES if late else 0
