"""APScheduler is only the clock: it calls the job functions of handlers/jobs.py with the current time."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.jobs import schedule as jobs

# (job, minutes between runs). A job is a function of (session, now, rules, catalogs).
SCHEDULE = ((jobs.close_overlong_sessions, 5), (jobs.prune_delivered, 60))
# The reminder pass (all of handlers.jobs.schedule.REMINDER_JOBS, then the dispatch) every minute: reminders fall
# due at whole minutes (18:00, an hour before 09:30), and a pass with nothing due reads a few index pages.
REMINDER_MINUTES = 1


def build_scheduler(vbot) -> AsyncIOScheduler:
    # Each process keeps its own in-memory job store: jobs are idempotent, so two processes may both run them.
    scheduler = AsyncIOScheduler(
        timezone=vbot.settings.zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    for job, minutes in SCHEDULE:
        scheduler.add_job(vbot.run_job, "interval", minutes=minutes, args=[job], id=job.__name__)
    scheduler.add_job(vbot.remind, "interval", minutes=REMINDER_MINUTES, id="reminders")
    return scheduler
