"""One log line per inbox event the worker works off: which event, from which platform, what kind, how it
ended and how long it took — for an operator following a running service (`VBOT_LOG_FORMAT=json` gives
each as one JSON object with these fields).

Never the message's text, a name or a secret: only the inbox row's id, the platform, the kind of event the
handlers saw (text, follow, location, other), the attempt and the outcome.
"""

from __future__ import annotations

import logging
import time

from handlers.types import Incoming
from storage.models import InboxEvent

log = logging.getLogger("vbot.events")

# How an event's turn ended.
DONE = "done"  # handled, its answer queued, the event marked done
WAITING = "waiting"  # an earlier event of the same person is not done yet: it waits for its turn
TAKEN_OVER = "taken_over"  # another worker took it over (this worker's claim ran out): nothing was kept
RETRY = "retry"  # it failed and will be tried again later
FAILED = "failed"  # it failed for the last time: the person got an apology
DUPLICATE = "duplicate"  # a redelivery of an event stored before: dropped as it arrived, not handled again


def log_event_outcome(event: InboxEvent, incoming: Incoming | None, outcome: str, started: float) -> None:
    """`started` is time.perf_counter() when the worker began with the event."""
    fields = {
        "event": event.id,
        "platform": event.platform,
        "kind": incoming.kind if incoming is not None else "none",
        "outcome": outcome,
        "attempt": event.attempts,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    level = logging.WARNING if outcome in (RETRY, FAILED) else logging.INFO
    log.log(
        level,
        "inbox event handled: %s",
        " ".join(f"{key}={value}" for key, value in fields.items()),
        extra={"fields": fields},
    )


def log_duplicate_event(event_id: int | None, platform: str) -> None:
    """A webhook brought an event the inbox already holds (LINE redelivers with the same webhookEventId,
    Telegram the same update_id): one line, with the id of the event stored before."""
    fields = {"event": event_id, "platform": platform, "outcome": DUPLICATE}
    log.info(
        "inbox event dropped on arrival: %s",
        " ".join(f"{key}={value}" for key, value in fields.items()),
        extra={"fields": fields},
    )
