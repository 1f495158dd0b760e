"""How long what is personal is kept, enforced once a day (a job of the reminder pass).

| what | kept | why |
|---|---|---|
| inbox (what people typed) | 7 days after it was handled (jobs.prune_delivered, hourly) | longer than a platform's redelivery, so a late redelivery is still recognised |
| outbox (the answers) | 30 days after it was written (jobs.prune_delivered) | to see what was sent when someone asks |
| notifications (reminders, leave, feedback to coordinators) | 90 days after sent or dropped | a coordinator's question about a message of last quarter; a request to delete stays until done |
| audit texts (reason, details: names, numbers, free text) | 5 years | the award rounds look back up to 5 years (the lifetime award); who did what, when and on what stays, and the service records keep the figures |
| service, training and award records | while the unit keeps its records | they are the hours |

A deletion (確認刪除) removes the person's values from all of these at once (handlers/people/erasure.py).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from handlers.context import Rules
from handlers.i18n import Catalogs
from storage import people_store, privacy_store
from storage.reminder_store import claim_job_run

NOTIFICATIONS_KEPT = dt.timedelta(days=90)
AUDIT_TEXTS_KEPT = dt.timedelta(days=5 * 365 + 1)
KEPT_UNTIL_DONE = ("delete-request",)
WRONG_CODES_KEPT = dt.timedelta(
    days=1
)  # only their times, for the overall limit of handlers/people/linking.py


def retention(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Once a local day: removes the notifications and the audit texts past their time; returns how many."""
    if not claim_job_run(session, f"retention:{now.astimezone(rules.timezone).date()}", now):
        return 0
    removed = privacy_store.prune_notifications(session, now - NOTIFICATIONS_KEPT, KEPT_UNTIL_DONE)
    removed += people_store.prune_wrong_codes(session, now - WRONG_CODES_KEPT)
    return removed + privacy_store.clear_old_audit_texts(session, now - AUDIT_TEXTS_KEPT)
