"""`GET /metrics` in the Prometheus text format, for the operator's monitoring.

Only for addresses listed in VBOT_METRICS_ALLOW or a request with `Authorization: Bearer VBOT_METRICS_TOKEN`;
with neither configured nobody can read it (a reverse proxy in front would make every visitor look local).
The queue figures are read from the database at each scrape, so every process reports the same ones; the
timings (webhook latency, the reminder pass) are this process's own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import ipaddress
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.backlog_gate import BacklogGate
from handlers.types import PushTerms
from storage.db import UnitOfWork
from storage.queue_store import queue_figures


class Metrics:
    """One registry per running bot (tests run several bots in one process)."""

    def __init__(self, allow: tuple[str, ...] = (), token: str | None = None) -> None:
        self.allow = allow
        self.token = token
        self.registry = CollectorRegistry()
        self.webhook_seconds = Histogram(
            "vbot_webhook_seconds",
            "Time from a webhook's arrival to its answer, by platform",
            ["platform"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.reminder_pass_seconds = Histogram(
            "vbot_reminder_pass_seconds",
            "Duration of one reminder pass (every job, then the dispatch)",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.pushes = Gauge(
            "vbot_push_quota",
            "Pushes of this month as the platform last said at a reminder pass (used, left)",
            ["platform", "figure"],
            registry=self.registry,
        )

    def observe_pass(self, seconds: float, terms: dict[str, PushTerms]) -> None:
        self.reminder_pass_seconds.observe(seconds)
        for platform, term in terms.items():
            if term.quota_limit is not None:
                self.pushes.labels(platform, "used").set(term.quota_used)
                self.pushes.labels(platform, "left").set(term.quota_left or 0)

    def watch_queues(self, engine: Engine, now: Callable[[], dt.datetime]) -> None:
        self.registry.register(QueueCollector(engine, now))

    def watch_gate(self, gate: BacklogGate) -> None:
        self.registry.register(GateCollector(gate))


class GateCollector(Collector):
    """How often this process's webhook answers waited for the workers (bot/backlog_gate.py): a count that
    climbs in every burst says the workers are behind; holds that ran out, that none is claiming."""

    def __init__(self, gate: BacklogGate) -> None:
        self.gate = gate

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "vbot_webhook_answers_held",
            "Webhook answers that waited for the workers' next claim (more events waited than the gate lets by)",
            value=self.gate.held,
        )
        yield CounterMetricFamily(
            "vbot_webhook_holds_ran_out",
            "Webhook answers that waited the whole hold: no worker claimed anything meanwhile",
            value=self.gate.ran_out,
        )


class QueueCollector(Collector):
    def __init__(self, engine: Engine, now: Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with UnitOfWork(self.engine)() as session:
            waiting, oldest, outbox = queue_figures(session)
        yield GaugeMetricFamily("vbot_inbox_waiting", "Stored events not yet processed", value=waiting)
        age = (self.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "vbot_inbox_oldest_waiting_seconds", "Age of the oldest event not yet processed", value=age
        )
        messages = GaugeMetricFamily(
            "vbot_outbox_messages",
            "Outgoing messages kept in the outbox, by platform and status (pending, sent, failed)",
            labels=["platform", "status"],
        )
        for platform, status, count in outbox:
            messages.add_metric([platform, status], count)
        yield messages


def allowed(request: Request, networks: tuple[str, ...], token: str | None) -> bool:
    header = request.headers.get("authorization", "")
    if token and hmac.compare_digest(header.encode("utf-8", "replace"), f"Bearer {token}".encode()):
        return True
    if not request.client or not networks:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def metrics_routes(metrics: Metrics) -> list[Route]:
    async def scrape(request: Request) -> Response:
        if not allowed(request, metrics.allow, metrics.token):
            return PlainTextResponse("forbidden\n", status_code=403)
        body = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", scrape, methods=["GET"])]
