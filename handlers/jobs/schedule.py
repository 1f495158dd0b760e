"""Scheduled work as plain functions of `now`: they decide from the store what is due and queue messages."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from handlers.context import Rules
from handlers.formatting import local_moment
from handlers.i18n import Catalogs
from handlers.jobs import (
    award_lists,
    calendar_alerts,
    deadline_alerts,
    reminders,
    report_summaries,
    retention,
    shift_reminders,
)
from handlers.service.counting import visit_minutes
from handlers.types import Reply, replies_to_json
from storage import people_store, queue_store, service_store
from storage.reminder_store import PUSH_PLATFORMS
from storage.vocabulary import RecordStatus


def close_overlong_sessions(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Sessions still open past the maximum go to a coordinator's review, and the volunteer is told.

    The session is closed at the moment the maximum ran out, never later: a forgotten check-out
    must not invent hours. Returns how many sessions were closed.
    """
    overdue = service_store.open_visits_begun_before(session, now - rules.max_visit)
    closed = 0
    today = now.astimezone(rules.timezone).date()
    for record in overdue:
        end = record.check_in + rules.max_visit
        minutes = visit_minutes(record.check_in, end)
        if not service_store.finish_visit(
            session, record, end, minutes, RecordStatus.REVIEW, note="not checked out"
        ):
            continue
        closed += 1
        for account in people_store.linked_accounts(session, record.volunteer_id):
            if account.platform not in PUSH_PLATFORMS or account.unreachable_since is not None:
                continue
            t = catalogs.translator(account.chosen_locale or rules.default_locale)
            text = t(
                "You did not check out after checking in at {since}. "
                "A coordinator will review this session before it counts.",
                since=local_moment(record.check_in, rules.timezone, t.locale, today),
            )
            queue_store.queue_message(
                session, now, account.platform, account.platform_user_id, replies_to_json([Reply(text)])
            )
    return closed


INBOX_KEPT = dt.timedelta(
    days=7
)  # longer than LINE's redelivery window, so a late redelivery is still recognised
OUTBOX_KEPT = dt.timedelta(days=30)


def prune_delivered(session: Session, now: dt.datetime, rules: Rules, catalogs: Catalogs) -> int:
    """Keeps the inbox and outbox small at a city's scale; returns how many rows went."""
    return queue_store.prune_delivered(session, now - INBOX_KEPT, now - OUTBOX_KEPT)


def job_name(job) -> str:
    """`training_reminders` → `training-reminders`: how the command line and the logs name a job."""
    return job.__name__.replace("_", "-")


# The reminder pass runs these in order, then dispatches what they stored (bot/app.py VBot.remind).
REMINDER_JOBS = (
    reminders.training_reminders,
    shift_reminders.shift_reminders,
    reminders.still_serving_questions,
    shift_reminders.shift_checkout_questions,
    shift_reminders.missing_volunteers,
    reminders.award_nudges,
    deadline_alerts.deadline_alerts,
    calendar_alerts.expiring_awards,
    calendar_alerts.record_book_prompts,
    calendar_alerts.uninsured_check_ins,
    report_summaries.report_summaries,
    retention.retention,  # once a day: what is personal is kept no longer than handlers/jobs/retention.py says
    award_lists.award_lists,  # once a day: every unit's award list made for the new day
)
