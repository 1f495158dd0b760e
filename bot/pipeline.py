"""The inbox worker and the outbox sender.

Webhooks store events (the inbox) and answer at once. The worker claims stored events, runs the handlers
and writes their answers to the outbox in the same transaction that marks the event done, so an event's
effects happen once even when the process dies halfway or several processes share one database.
The sender claims due outbox rows and delivers each once, retrying 5xx, 429 and time-outs with backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import time

import sqlalchemy as sa

from bot.backlog_gate import BacklogGate
from bot.channels.base import Channel, Delivery, StoredEvent
from bot.channels.line import REPLY_TOKEN_LIFETIME
from bot.channels.line_menus import MenuFollower
from bot.event_log import DONE, FAILED, RETRY, TAKEN_OVER, WAITING, log_duplicate_event, log_event_outcome
from handlers import router
from handlers.context import Rules
from handlers.i18n import Catalogs
from handlers.types import Incoming, Reply, replies_to_json
from storage import people_store, queue_store
from storage.db import UnitOfWork
from storage.models import InboxEvent, OutboxMessage
from storage.vocabulary import Platform

log = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(seconds=60)
BATCH = 50
MAX_PROCESSING_ATTEMPTS = 5
MAX_DELIVERY_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 300
IDLE_WAIT_SECONDS = 1.0  # the poll: how long an idle worker waits when nothing wakes it
LISTEN_RETRY_SECONDS = 5.0
# SQLite: the longest a batch's transaction holds the write lock before it commits and goes on in another.
SQLITE_TRANSACTION_SECONDS = 0.02


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2**attempts))


class Pipeline:
    def __init__(self, engine: sa.Engine, rules: Rules, catalogs: Catalogs, channels: dict[str, Channel]):
        self.uow = UnitOfWork(engine)
        self.rules = rules
        self.catalogs = catalogs
        self.channels = channels
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.failed = 0  # messages given up on by this process (refused, or out of attempts)
        self.batch = BATCH  # events claimed, and worked off in one transaction, at a time
        self.inbox_waiting = asyncio.Event()
        self.outbox_waiting = asyncio.Event()
        self.listening = asyncio.Event()  # set while LISTEN is in place (PostgreSQL)
        self.inbox_idle = asyncio.Event()  # set while the running worker waits for something to do
        self._to_store: list[tuple[str, list[StoredEvent], dt.datetime, asyncio.Future]] = []
        self.gate = BacklogGate()  # webhook answers keep pace with the workers
        self._storing: asyncio.Task | None = None
        # The last claim took a full batch: more may be waiting (see _loop).
        self._inbox_claim_full = self._outbox_claim_full = False
        # Keeps each LINE user's rich menu right after their messages (a language chosen, an account linked).
        self.line_menus = (
            MenuFollower(self.uow, channels[Platform.LINE], rules.default_locale)
            if Platform.LINE in channels
            else None
        )

    # --- the webhook side ---------------------------------------------------------------------

    async def store(self, platform: str, events: list[StoredEvent], now: dt.datetime) -> int:
        """Returns once the events are committed: how many stored events then waited for a worker (the
        webhook's answer keeps pace with them: self.gate). Webhooks arriving meanwhile are committed
        together: one thread hop and one transaction for many requests (measured: 665 → ~2,000 webhooks/s on
        SQLite)."""
        arrival = asyncio.get_running_loop().create_future()
        self._to_store.append((platform, events, now, arrival))
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_waiting())
        waiting = await arrival
        self.inbox_waiting.set()
        return waiting

    async def _store_waiting(self) -> None:
        while self._to_store:
            batch, self._to_store = self._to_store, []
            try:
                waiting = await asyncio.to_thread(self._store_batch, batch)
            except Exception as error:
                for *_, arrival in batch:
                    arrival.set_exception(error)
            else:
                for *_, arrival in batch:
                    arrival.set_result(waiting)

    def _store_batch(self, batch) -> int:
        rows = [(platform, *event, now) for platform, events, now, _arrival in batch for event in events]
        with self.uow() as session:
            dropped = queue_store.store_inbox_events(session, rows)
            queue_store.announce_new_events(session)
            waiting = queue_store.waiting_inbox_count(session, batch[-1][2])
            session.commit()
        for event_id, platform in dropped:
            log_duplicate_event(event_id, platform)
        return waiting

    # --- the inbox worker ----------------------------------------------------------------------

    def _claim_events(self, now: dt.datetime) -> list[InboxEvent]:
        # Rows with InboxEvent's fields (the claim's RETURNING), read-only like the objects they replace.
        with self.uow() as session:
            events = queue_store.claim_inbox_events(session, now, CLAIM_LEASE, self.batch)
            session.commit()
        return events

    async def process_inbox_once(self, now: dt.datetime | None = None) -> int:
        """Processes what is stored and due; returns how many events were finished."""
        now = now or utcnow()
        events = await asyncio.to_thread(self._claim_events, now)
        self._inbox_claim_full = len(events) >= self.batch
        if not events:
            return 0
        self.gate.claimed()
        claimed = time.perf_counter()  # an event's logged time counts from its claim (a batch is one turn)
        readable: list[tuple[InboxEvent, Incoming | None]] = []
        unreadable = 0
        for event in events:
            channel = self.channels.get(event.platform)
            try:
                incoming = await channel.to_incoming(json.loads(event.payload), now) if channel else None
            except Exception as error:  # one bad event must not hold up the others
                log.exception("inbox event %s could not be read", event.id)
                outcome = await asyncio.to_thread(self._after_failure, event, None, now, repr(error))
                log_event_outcome(event, None, outcome, claimed)
                unreadable += 1
                continue
            readable.append((event, incoming))
        # One transaction for the batch (on SQLite a few, see _handle_batch); if anything in one fails, what
        # is left again one event a transaction, so that only the failing event is retried (and a person's
        # later events wait for it).
        done, menus = (
            await asyncio.to_thread(self._handle_batch, readable, now) if not unreadable else (0, {})
        )
        finished = readable[:done]
        for event, incoming in finished:
            log_event_outcome(event, incoming, DONE, claimed)
        one_by_one = []
        for event, incoming in readable[done:]:
            started = time.perf_counter()
            outcome = await asyncio.to_thread(self._handle, event, incoming, now)
            log_event_outcome(event, incoming, outcome, started)
            if outcome == DONE:
                one_by_one.append((event, incoming))
        if finished or one_by_one:
            self.outbox_waiting.set()
        if self.line_menus is not None:
            if finished:  # their menus were checked in the batch's transaction
                await self.line_menus.follow(self._line_senders(finished), menus)
            if line_senders := self._line_senders(one_by_one):
                await self.line_menus.follow(line_senders)
        return len(finished) + len(one_by_one)

    def _line_senders(self, handled: list[tuple[InboxEvent, Incoming | None]]) -> dict[str, str | None]:
        """The LINE users among those whose events were handled (not a block), with their app's language:
        the rich menu each should now have follows (bot/channels/line_menus.py)."""
        return {
            incoming.user_id: self.catalogs.match(incoming.platform_locale)
            for _event, incoming in handled
            if incoming is not None and incoming.platform == Platform.LINE and incoming.kind != "blocked"
        }

    def _handle_batch(
        self, batch: list[tuple[InboxEvent, Incoming | None]], now: dt.datetime
    ) -> tuple[int, dict[str, str | None]]:
        """The events of one claim in one transaction, in id order, marked done together; returns how many
        were kept, and the LINE rich menus their senders should now have linked (checked in the same
        transaction: no other one for them). On SQLite a transaction holds the file's only write lock, which
        the webhooks wait for to store what arrives: there it is committed after SQLITE_TRANSACTION_SECONDS,
        and the rest goes on in the next. Stops (what is left not kept) when an event failed or another worker
        took the claim over."""
        kept = 0
        menus: dict[str, str | None] = {}
        box = SQLITE_TRANSACTION_SECONDS if self.uow.engine.dialect.name == "sqlite" else None
        while kept < len(batch):
            taken: list[InboxEvent] = []
            # Written together before the commit. The chat's handlers write nothing else to the outbox (the
            # jobs do, in transactions of their own), so each person's answers keep their events' order.
            answers: list[dict] = []
            try:
                with self.uow() as session:
                    started = time.perf_counter()
                    for event, incoming in batch[kept:]:
                        replies = (
                            router.handle(session, incoming, now, self.rules, self.catalogs)
                            if incoming
                            else []
                        )
                        answers += self._answer(event, incoming, replies, now)
                        # What one event's handlers loaded must not stand for the database in the next one.
                        session.flush()
                        session.expunge_all()
                        taken.append(event)
                        if box is not None and time.perf_counter() - started > box:
                            break
                    queue_store.queue_answers(session, answers)
                    if not queue_store.finish_claimed_events(session, taken, now):
                        log.warning("a claim of %s inbox events was taken over by another worker", len(batch))
                        return kept, menus
                    senders = self._line_senders(batch[kept : kept + len(taken)])
                    changes = self.line_menus.changes(session, senders) if senders and self.line_menus else {}
                    session.commit()
            except Exception:
                log.warning("an inbox event failed in a batch; working the rest off one by one")
                return kept, menus
            kept += len(taken)
            menus.update(changes)
        return kept, menus

    def _handle(self, event: InboxEvent, incoming: Incoming | None, now: dt.datetime) -> str:
        """How the event's turn ended (bot/event_log.py): DONE, WAITING, TAKEN_OVER, RETRY or FAILED."""
        try:
            with self.uow() as session:
                if queue_store.has_earlier_pending_event(session, event):
                    queue_store.defer_inbox_event(session, event)
                    session.commit()
                    return WAITING
                replies = router.handle(session, incoming, now, self.rules, self.catalogs) if incoming else []
                queue_store.queue_answers(session, self._answer(event, incoming, replies, now))
                if not queue_store.finish_inbox_event(session, event, now):
                    log.warning("inbox event %s was taken over by another worker", event.id)
                    return TAKEN_OVER
                session.commit()
                return DONE
        except Exception as error:
            log.exception("inbox event %s failed (attempt %s)", event.id, event.attempts)
            return self._after_failure(event, incoming, now, repr(error))

    def _answer(
        self, event: InboxEvent, incoming: Incoming | None, replies: list[Reply], now: dt.datetime
    ) -> list[dict]:
        """The outbox row of the answer to the event (queue_store.answer), if it has one."""
        if not replies or incoming is None:
            return []
        channel = self.channels.get(event.platform)
        if (
            channel is not None
        ):  # what the platform will not send (a file too large, or any file) is not stored
            replies = channel.fit(replies)
        expires = event.received_at + _reply_token_lifetime(event.platform)
        return [
            queue_store.answer(
                now,
                event.platform,
                incoming.reply_to.recipient,
                replies_to_json(replies),
                incoming.reply_to.reply_token,
                expires if incoming.reply_to.reply_token else None,
            )
        ]

    def _after_failure(
        self, event: InboxEvent, incoming: Incoming | None, now: dt.datetime, error: str
    ) -> str:
        outcome = RETRY
        with self.uow() as session:
            if event.attempts < MAX_PROCESSING_ATTEMPTS:
                queue_store.release_inbox_event(session, event, now + backoff(event.attempts), error)
            elif queue_store.finish_inbox_event(session, event, now, error):
                outcome = FAILED
                # Give up on this event, but never leave the person without an answer.
                locale = self.catalogs.match(incoming.platform_locale) if incoming else None
                t = self.catalogs.translator(locale or self.rules.default_locale)
                apology = Reply(t("Sorry, something went wrong. Please try again in a moment."))
                queue_store.queue_answers(session, self._answer(event, incoming, [apology], now))
            else:
                outcome = TAKEN_OVER
            session.commit()
        return outcome

    # --- the outbox sender --------------------------------------------------------------------

    def _claim_messages(self, now: dt.datetime):
        with self.uow() as session:
            messages = queue_store.claim_outbox_messages(
                session, now, CLAIM_LEASE, BATCH, list(self.channels)
            )
            session.commit()
        return messages

    async def send_outbox_once(self, now: dt.datetime | None = None) -> int:
        """Delivers what is due, all claimed messages at once; returns how many were sent."""
        now = now or utcnow()
        messages = await asyncio.to_thread(self._claim_messages, now)
        self._outbox_claim_full = len(messages) >= BATCH
        return await self._send(messages, now) if messages else 0

    async def deliver_due(self, now: dt.datetime) -> int:
        """Delivers everything due at `now`, batch after batch (what fails waits for its retry time);
        returns how many messages were sent. For `vbot remind`, which then ends."""
        sent = 0
        while messages := await asyncio.to_thread(self._claim_messages, now):
            sent += await self._send(messages, now)
        return sent

    async def _send(self, messages: list[OutboxMessage], now: dt.datetime) -> int:
        """Everyone's messages at once; one person's one after another, in the order they were written (a
        long answer's parts and the next answer must not overtake each other)."""
        queues: dict[tuple[str, str], list[OutboxMessage]] = {}
        for message in messages:
            queues.setdefault((message.platform, message.recipient or message.retry_key), []).append(message)

        async def in_order(queue: list[OutboxMessage]) -> list[tuple[OutboxMessage, Delivery]]:
            return [(message, await self._deliver(message, now)) for message in queue]

        delivered = await asyncio.gather(*(in_order(queue) for queue in queues.values()))
        outcomes = [
            self._outcome(message, delivery, now) for queue in delivered for message, delivery in queue
        ]
        # Refused because the person blocked the bot (a block whose event never came): stop pushing to them.
        blocked = {
            (message.platform, message.recipient)
            for queue in delivered
            for message, delivery in queue
            if delivery.unreachable and message.recipient
        }
        await asyncio.to_thread(self._settle, outcomes, now, blocked)
        self.failed += sum(status == "failed" for _message, status, *_rest in outcomes)
        return sum(status == "sent" for _message, status, *_rest in outcomes)

    async def _deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery:
        try:
            return await self.channels[message.platform].deliver(message, now)
        except Exception as error:  # an unforeseen failure is retried like an outage, and logged in full
            log.exception("message %s: delivery raised", message.id)
            return Delivery("retry", repr(error))

    def _outcome(self, message: OutboxMessage, delivery: Delivery, now: dt.datetime):
        status, retry_at = delivery.status, None
        if status == "retry":
            if message.attempts >= MAX_DELIVERY_ATTEMPTS:
                status = "failed"
            else:
                status = "pending"
                wait = backoff(message.attempts)
                if delivery.retry_after:
                    wait = max(wait, dt.timedelta(seconds=delivery.retry_after))
                retry_at = now + wait
        if status == "failed":
            log.error(
                "message %s to %s %s not delivered: %s",
                message.id,
                message.platform,
                message.recipient,
                delivery.error,
            )
        elif status == "pending":
            log.warning("message %s will be retried at %s: %s", message.id, retry_at, delivery.error)
        return message, status, delivery.error, retry_at, delivery.progress()

    def _settle(self, outcomes, now: dt.datetime, blocked: set[tuple[str, str]] | None = None) -> None:
        """Every outcome of one round in one transaction; what was sent, in one statement; the chats that
        answered "blocked" marked unreachable."""
        sent = [
            (message, progress) for message, status, _error, _retry, progress in outcomes if status == "sent"
        ]
        with self.uow() as session:
            for message, progress in queue_store.mark_sent(session, sent, now, self.worker):
                queue_store.settle_outbox_message(
                    session, message, "sent", now, self.worker, progress=progress
                )
            for message, status, error, retry_at, progress in outcomes:
                if status != "sent":
                    queue_store.settle_outbox_message(
                        session, message, status, now, self.worker, error, retry_at, progress=progress
                    )
            for platform, recipient in sorted(blocked or ()):
                people_store.mark_unreachable(session, platform, recipient, now)
            session.commit()

    # --- running forever inside `vbot serve` ----------------------------------------------------

    async def run_inbox(self) -> None:
        await self._loop(
            self.process_inbox_once, self.inbox_waiting, lambda: self._inbox_claim_full, self.inbox_idle
        )

    async def listen_for_events(self, workers: bool = True, webhooks: bool = False) -> None:
        """PostgreSQL: what other processes announce, heard the moment they commit (LISTEN/NOTIFY) — new
        events wake this process's worker (`workers`) instead of the next poll; claims let this process's
        webhook answers held by the gate go (`webhooks`, bot/backlog_gate.py). A lost connection is made again
        after LISTEN_RETRY_SECONDS; meanwhile the worker looks every IDLE_WAIT_SECONDS and, with no worker of
        its own, the gate holds nothing."""
        engine = self.uow.engine
        if engine.dialect.name != "postgresql":
            return
        import psycopg

        wake = {}
        if workers:
            wake[queue_store.INBOX_CHANNEL] = self.inbox_waiting.set
        if webhooks:
            wake[queue_store.CLAIMED_CHANNEL] = self.gate.claimed
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
                    for channel in wake:
                        await connection.execute(f"LISTEN {channel}")
                    self.inbox_waiting.set()  # what was stored while nobody listened
                    self.gate.hears_claims = True
                    self.listening.set()
                    async for notice in connection.notifies():
                        wake[notice.channel]()
            except Exception as error:  # never the URL: it may hold the password
                log.warning("not listening for new events (%s); polling meanwhile", type(error).__name__)
            self.listening.clear()
            self.gate.hears_claims = workers  # a worker of this process still tells it of its own claims
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def run_outbox(self) -> None:
        await self._loop(self.send_outbox_once, self.outbox_waiting, lambda: self._outbox_claim_full)

    async def _loop(self, step, waiting: asyncio.Event, full, idle: asyncio.Event | None = None) -> None:
        """Runs `step` again at once while it took a full batch (`full()`) or something new was announced
        while it ran (`waiting`, cleared before each step: what is announced after that is seen by the next
        one); otherwise waits for an announcement, or IDLE_WAIT_SECONDS (the poll). A step that took less than a
        full batch is not followed by a claim that would find nothing (measured: 0.7–0.9 ms of CPU a claim
        on PostgreSQL, for each event and each answer when they come one by one)."""
        while True:
            waiting.clear()
            try:
                busy = await step()
            except Exception:  # a database outage must not end the loop; it resumes when the database does
                log.exception("pipeline step failed")
                busy = 0
            if (busy and full()) or waiting.is_set():
                continue
            if idle is not None:
                idle.set()
            try:
                await asyncio.wait_for(waiting.wait(), IDLE_WAIT_SECONDS)
            except TimeoutError:
                pass
            if idle is not None:
                idle.clear()


def _reply_token_lifetime(platform: str) -> dt.timedelta:
    return REPLY_TOKEN_LIFETIME if platform == Platform.LINE else dt.timedelta(0)
