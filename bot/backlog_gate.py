"""The backlog gate: webhook answers that keep pace with the workers.

A webhook answers once its events are stored, and the workers take them in turn. A platform that sends its
next webhooks when the last were answered (LINE over its connections, the load generator's clients) would
otherwise be answered faster than events are worked off in a burst: a backlog of seconds builds, and every
answer in it comes late (measured: p99 5–7 s on PostgreSQL with `serve --no-workers` + `work`). So while more
than `limit` stored events wait for a worker, a webhook's answer waits — its events are already stored —
until a worker next claims events, and never longer than `hold` seconds (LINE gives up on a webhook after
2 s). The backlog then stays within `limit` and what the platform's open connections add, however long the
burst. One process on SQLite kept pace without this: its webhooks wait for the worker's write lock.

A worker's claim is heard at once: from a worker in this process directly, from other processes by
PostgreSQL's LISTEN (`queue_store.CLAIMED_CHANNEL`). Where none can be heard (SQLite with `--no-workers`, or
while LISTEN is down) answers are not held. If no claim comes within `hold`, the workers are stopped or far
too few: holding only slows the platform, so nothing is held again until a claim is heard.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

# Events waiting for a worker (stored, not yet claimed) beyond which webhook answers wait for the next claim.
# One or two webhooks at once never wait; more wait for the worker's next claim, which then takes them all, so
# claims stay short and answers come soon (measured on PostgreSQL, 8 clients sending as fast as answered:
# answer p99 94–130 ms with 2, as one SQLite process in the same hour; 140–200 ms with 8; seconds with no
# limit. README "Measured figures").
WAITING_LIMIT = 2
HOLD_SECONDS = 0.5  # the longest an answer waits (LINE's limit for a webhook's answer is 2 s)


class BacklogGate:
    def __init__(self, limit: int = WAITING_LIMIT, hold: float = HOLD_SECONDS):
        self.limit = limit
        self.hold = hold
        self.hears_claims = False  # a worker runs in this process, or LISTEN is in place
        self.behind = False  # a hold ran out: nothing is held until a claim is heard
        self.holding = 0  # answers waiting now
        self.held = 0  # answers that waited, since the start (GET /metrics)
        self.ran_out = 0  # of them, those whose hold ran out
        self.claims = 0  # claims heard, since the start
        self._next_claim: asyncio.Future[None] | None = None

    def claimed(self) -> None:
        """A worker claimed events: the answers held go (the next webhooks find out whether they wait)."""
        self.claims += 1
        self.behind = False
        if self._next_claim is not None and not self._next_claim.done():
            self._next_claim.set_result(None)
        self._next_claim = None

    async def wait_for_workers(self, waiting: int, claims_before: int) -> None:
        """Returns when the answer to a webhook may go: at once while `waiting` (the events waiting for a
        worker, counted as its events were stored) is within the limit, or when a claim was heard since its
        events began to be stored (`claims_before`: `claims` then; that claim may have taken them, and
        another may not come soon); else at the next claim, or after `hold` seconds."""
        if waiting <= self.limit or self.behind or not self.hears_claims or self.claims != claims_before:
            return
        if self._next_claim is None:
            self._next_claim = asyncio.get_running_loop().create_future()
        self.holding += 1
        self.held += 1
        try:
            await asyncio.wait_for(asyncio.shield(self._next_claim), self.hold)
        except TimeoutError:
            self.ran_out += 1
            if not self.behind:
                log.warning(
                    "%s events wait and no worker claimed any within %s s: webhooks are answered without "
                    "waiting for the workers until one does",
                    waiting,
                    self.hold,
                )
            self.behind = True
        finally:
            self.holding -= 1
