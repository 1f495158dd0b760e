"""Fixtures: a fresh database per test (SQLite, and PostgreSQL when VBOT_TEST_POSTGRES_URL is set),
the API stand-ins, and a harness that runs the real bot behind a real uvicorn server."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import logging
import os
import sys
import uuid
from contextlib import contextmanager

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from bot.app import VBot, build_app
from bot.config import Settings
from handlers.people import admin
from storage.db import UnitOfWork
from tests.standins import LineStandIn, TelegramStandIn

LINE_SECRET = "test-line-channel-secret"
LINE_TOKEN = "test-line-access-token"
TELEGRAM_TOKEN = "123456:TEST-telegram-token"
TELEGRAM_SECRET = "test-telegram-webhook-secret"
POSTGRES_URL = os.environ.get("VBOT_TEST_POSTGRES_URL")

# Fixed instants: the platform's timestamps of messages, and the bot's clock, both in UTC.
T0 = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)  # 09:00 in Taipei
EVENT_NUMBERS = itertools.count(1)  # shared by all harnesses: event ids and reply tokens never repeat


@contextmanager
def postgres_schema(server_url: str | None = None):
    """A fresh schema on a PostgreSQL server; yields the URL that uses it, drops it afterwards."""
    server_url = server_url or POSTGRES_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(server_url)
    with server.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with server.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vbot.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("VBOT_TEST_POSTGRES_URL is not set")
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def line_api():
    standin = LineStandIn()
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def telegram_api():
    standin = TelegramStandIn()
    await standin.start()
    yield standin
    await standin.stop()


# Every log line of the whole suite, at every level and from every library, is kept and searched for the
# test secrets when the run ends (tests/test_log_secrets.py says why): one leak fails the run.
SECRETS = (LINE_SECRET, LINE_TOKEN, TELEGRAM_TOKEN, TELEGRAM_SECRET)
SUITE_LOG: list[str] = []


class EveryLogLine(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        SUITE_LOG.append(self.format(record))


# The loggers that see requests, tokens and links, kept at DEBUG for the check; the root keeps its level, so
# that tests which read caplog see what they saw before.
SPEAKING_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "linebot",
    "aiohttp",
    "uvicorn",
    "bot",
    "handlers",
    "storage",
)


def pytest_configure(config):
    # The stand-ins' own access logs (aiohttp.access) print the Telegram URLs they serve; the bot protects its
    # configured secrets when it is built, which a test that only prints invites may never do.
    from bot import redaction

    redaction.protect(*SECRETS)
    handler = EveryLogLine(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    for name in SPEAKING_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


def pytest_sessionfinish(session, exitstatus):
    leaked = [line for line in SUITE_LOG if any(secret in line for secret in SECRETS)]
    if leaked:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"{len(leaked)} log lines hold a test secret, the first: {leaked[0][:300]}", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def sign(body: bytes, secret: str = LINE_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Harness:
    """The real bot on a real server; tests drive the inbox and outbox passes with an explicit `now`."""

    def __init__(self, vbot: VBot, base_url: str, line_api: LineStandIn, telegram_api: TelegramStandIn):
        self.vbot = vbot
        self.base_url = base_url
        self.line_api = line_api
        self.telegram_api = telegram_api
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)
        self._ids = EVENT_NUMBERS
        self.now = T0  # the bot's clock; webhooks are stored as received at this instant

    # --- people ---
    def add_unit(self, name="臺北市立圖書館", **kw) -> int:
        with UnitOfWork(self.vbot.engine)() as session:
            unit = admin.add_unit(
                session,
                T0,
                "test",
                name=name,
                category=kw.get("category", "culture"),
                city=kw.get("city", "taipei"),
            )
            session.commit()
            return unit.id

    def add_volunteer(self, unit_id: int, name="王小明", role="volunteer") -> tuple[int, str]:
        with UnitOfWork(self.vbot.engine)() as session:
            person, invite = admin.add_volunteer(
                session,
                T0,
                "test",
                unit_id=unit_id,
                name=name,
                invite_valid_for=dt.timedelta(days=30),
                role=role,
                allow_duplicate=True,  # the harness's people are different persons who may share the placeholder name
            )
            session.commit()
            return person.id, invite.code

    def add_membership(self, volunteer_id: int, unit_id: int) -> None:
        from storage.models import Membership

        with UnitOfWork(self.vbot.engine)() as session:
            session.add(Membership(volunteer_id=volunteer_id, unit_id=unit_id))
            session.commit()

    # --- LINE ---
    def line_event(self, user: str, text: str | None = None, at: dt.datetime = T0, **extra) -> dict:
        n = next(self._ids)
        event = {
            "type": "message",
            "mode": "active",
            "timestamp": int(at.timestamp() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": f"01H{n:023d}",
            "deliveryContext": {"isRedelivery": False},
            "replyToken": f"reply-token-{n}",
            "message": {"id": str(n), "type": "text", "text": text, "quoteToken": "q"},
        }
        event.update(extra)
        return event

    async def post_line(self, *events: dict, signature: str | None = None, raw: bytes | None = None):
        body = (
            raw if raw is not None else json.dumps({"destination": "Ubot", "events": list(events)}).encode()
        )
        headers = {"Content-Type": "application/json", "X-Line-Signature": signature or sign(body)}
        return await self.http.post("/webhooks/line", content=body, headers=headers)

    async def line_says(
        self, user: str, text: str, at: dt.datetime = T0, now: dt.datetime | None = None
    ) -> list[str]:
        """The user sends text; the bot processes and answers; returns the texts LINE delivered for it."""
        before = len(self.line_api.delivered_texts())
        self.now = now or at
        response = await self.post_line(self.line_event(user, text, at))
        assert response.status_code == 200, response.text
        await self.drain(self.now)
        return self.line_api.delivered_texts()[before:]

    # --- Telegram ---
    def telegram_update(
        self, user: int, text: str | None = None, at: dt.datetime = T0, language="zh-hant"
    ) -> dict:
        n = next(self._ids)
        sender = {"id": user, "is_bot": False, "first_name": "小明", "language_code": language}
        message = {
            "message_id": n,
            "date": int(at.timestamp()),
            "chat": {"id": user, "type": "private"},
            "from": sender,
        }
        if text is not None:
            message["text"] = text
        return {"update_id": 10_000 + n, "message": message}

    async def post_telegram(self, update: dict, secret: str | None = TELEGRAM_SECRET):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.http.post("/webhooks/telegram", json=update, headers=headers)

    async def telegram_says(
        self, user: int, text: str, at: dt.datetime = T0, now: dt.datetime | None = None
    ) -> list[str]:
        before = len(self.telegram_api.delivered_texts())
        self.now = now or at
        response = await self.post_telegram(self.telegram_update(user, text, at))
        assert response.status_code == 200, response.text
        await self.drain(self.now)
        return self.telegram_api.delivered_texts()[before:]

    async def drain(self, now: dt.datetime) -> None:
        """Runs inbox and outbox passes at `now` until nothing more is due."""
        for _ in range(20):
            processed = await self.vbot.pipeline.process_inbox_once(now)
            sent = await self.vbot.pipeline.send_outbox_once(now)
            if not processed and not sent:
                return


def make_settings(database_url: str, line_api=None, telegram_api=None, **overrides) -> Settings:
    values = dict(database_url=database_url, api_timeout_seconds=0.5)
    if line_api is not None:
        values |= dict(
            line_channel_secret=LINE_SECRET,
            line_channel_access_token=LINE_TOKEN,
            line_api_base_url=line_api.url,
        )
    if telegram_api is not None:
        values |= dict(
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_base_url=telegram_api.url,
        )
    return Settings(**(values | overrides))


async def start_server(vbot: VBot) -> tuple[uvicorn.Server, asyncio.Task, str]:
    config = uvicorn.Config(vbot.asgi, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn has no "started" event to await)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def stop_server(server: uvicorn.Server, task: asyncio.Task) -> None:
    server.should_exit = True
    await task


@pytest.fixture
async def harness_factory(database_url, line_api, telegram_api):
    """Builds harnesses on one database; more than one at a time stands for several processes."""
    running = []

    async def make(workers: bool = False, on_database: str | None = None, **overrides) -> Harness:
        settings = make_settings(on_database or database_url, line_api, telegram_api, **overrides)
        harness: Harness | None = None
        vbot = build_app(settings, workers=workers, scheduler=False, clock=lambda: harness.now)
        vbot.migrate()
        if not workers:  # the test works the inbox off itself: no answer waits for a worker's claim
            vbot.pipeline.gate.limit = sys.maxsize
        server, task, url = await start_server(vbot)
        harness = Harness(vbot, url, line_api, telegram_api)
        running.append((harness, server, task))
        return harness

    yield make
    for harness, server, task in running:
        await harness.http.aclose()
        await stop_server(server, task)


@pytest.fixture
async def harness(harness_factory) -> Harness:
    return await harness_factory()
