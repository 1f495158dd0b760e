"""Load on the LINE webhook: volunteers checking in and out, against a minimal echo webhook on the same stack.

    python -m benchmarks.webhook_load [--database sqlite|postgresql|both] [--requests 5000] [--concurrency 32]
                                      [--volunteers 500] [--client httpx|raw] [--no-workers]
                                      [--separate-worker [--workers N]] [--rate R]

Three processes besides this one (the load generator): the real bot under uvicorn (inbox worker and sender
running, no scheduler), a stand-in of the LINE API (tests/standins.py) and, for the comparison, an echo app
(one POST route that reads the body and answers {}) under uvicorn with the same settings.

Figures:
  req/s, p50, p99   the webhook's answers as the load generator sees them (a fixed number of requests at a
                    fixed concurrency, keep-alive connections, bodies signed beforehand)
  e2e ev/s          events / (first request sent → last answer received by the LINE stand-in): how fast the
                    inbox is really worked off, answers delivered included
  srv/cli ms/r      CPU time of the server process / of this load generator per request, load phase only
  ×echo             req/s relative to the echo's
  ans p50, p99      ms from a webhook sent to its answer arriving at the LINE stand-in (end to end)

With the default httpx client the load generator needs several times the echo server's CPU per request, so
the echo's req/s is the client's limit; `--client raw` (a minimal HTTP/1.1 client) shows the servers' own.
`--no-workers` runs the bot without its inbox worker and sender: the webhook path alone (no e2e figure).
`--rate R` paces the load instead: R webhooks a second, spread evenly whatever the answers do (open loop),
--requests in all; for the latency of a load the bot can take (one process against `serve` + `work`).

The goal the project set: check-in webhook throughput ≥ ½ of the echo's, and p99 < 100 ms.
Every request goes to 127.0.0.1; every loop and wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks._common import ROOT, database, kinds, median, percentile

LINE_SECRET = "bench-line-channel-secret"
LINE_TOKEN = "bench-line-access-token"
READY_TIMEOUT = 60
DRAIN_TIMEOUT = 180
STOP_TIMEOUT = 30
WARMUP_REQUESTS = 200
PATH = "/webhooks/line"


# --- the child processes -------------------------------------------------------------------------


async def _serve_uvicorn(asgi) -> None:
    import uvicorn

    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(READY_TIMEOUT * 100):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        await task  # raises what made the start fail
        raise SystemExit("uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"READY http://127.0.0.1:{port}", flush=True)
    await task  # until SIGTERM, which uvicorn turns into a graceful shutdown (and then re-raises)


def run_bot(database_url: str, line_api: str, workers: bool = True) -> None:
    from bot.app import build_app
    from bot.config import Settings

    settings = Settings(
        database_url=database_url,
        line_channel_secret=LINE_SECRET,
        line_channel_access_token=LINE_TOKEN,
        line_api_base_url=line_api,
        api_timeout_seconds=10,
    )
    vbot = build_app(settings, workers=workers, scheduler=False)
    vbot.migrate()  # as `vbot serve` does: the schema, and the award table seeded (the check-out asks it)
    asyncio.run(_serve_uvicorn(vbot.asgi))


def run_worker(database_url: str, line_api: str) -> None:
    """What `vbot work` runs: the inbox worker and the sender, no web server."""
    from bot.app import build_app
    from bot.config import Settings

    settings = Settings(
        database_url=database_url,
        line_channel_secret=LINE_SECRET,
        line_channel_access_token=LINE_TOKEN,
        line_api_base_url=line_api,
        api_timeout_seconds=10,
    )
    vbot = build_app(settings, scheduler=False)
    vbot.migrate()  # as `vbot work` does

    async def until_stopped() -> None:
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        await vbot.start()
        print("READY -", flush=True)
        await stopped.wait()
        await vbot.stop()

    asyncio.run(until_stopped())


def echo_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({})

    return Starlette(routes=[Route("/webhooks/line", echo, methods=["POST"])])


def run_echo() -> None:
    asyncio.run(_serve_uvicorn(echo_app()))


def run_standin() -> None:
    """The LINE stand-in, plus GET /_stats: answers accepted (reply/push) and when the last one came."""
    from aiohttp import web

    from tests.standins import LineStandIn
    from tests.standins import StandIn as StandInBase

    class CountingLineStandIn(LineStandIn):
        def __init__(self):
            super().__init__()
            self.accepted = Counter()
            self.last_accepted = 0.0
            self.answered_at: dict[str, float] = {}  # reply token → when its answer arrived

        async def handle(self, request):
            body = await request.read() if request.path.endswith(("/reply", "/push")) else b""
            response = await super().handle(request)
            if request.path.endswith(("/reply", "/push")) and response.status == 200:
                self.accepted[request.path.rsplit("/", 1)[1]] += 1
                self.last_accepted = time.time()
                token = json.loads(body or b"{}").get("replyToken")
                if token:
                    self.answered_at[token] = self.last_accepted
            self.calls.clear()  # nothing reads them here; keeps memory flat
            return response

        async def stats(self, _request):
            return web.json_response(
                {"accepted": dict(self.accepted), "last": self.last_accepted, "answered_at": self.answered_at}
            )

        async def start(self):
            app = web.Application()
            app.router.add_post("/v2/bot/message/reply", self.handle)
            app.router.add_post("/v2/bot/message/push", self.handle)
            app.router.add_get("/v2/bot/profile/{user}", self.handle)
            app.router.add_get("/_stats", self.stats)
            await StandInBase.start(self, app)

    async def main() -> None:
        standin = CountingLineStandIn()
        await standin.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"READY {standin.url}", flush=True)
        await stop.wait()
        await standin.stop()

    asyncio.run(main())


# --- the load generator ----------------------------------------------------------------------------


class Child:
    """A child process of this script that prints `READY <url>` once it listens."""

    def __init__(self, name: str, args: list[str], log_dir: Path):
        self.name = name
        self.args = args
        self.log_path = log_dir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def __aenter__(self) -> Child:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.webhook_load",
            *self.args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=os.environ
            | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
        )
        log.close()
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            line = b""
        if not line.startswith(b"READY "):
            await self.stop()
            raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n{self.log_tail()}")
        self.url = line.decode().split()[1]
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the child so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()


_event_ids = iter(range(1, 10**9))


def line_text_event(user: str, text: str, n: int, at_ms: int, event_id: str, reply_token: str) -> dict:
    """One LINE text message event, as LINE's webhook sends it (the benchmarks' one copy)."""
    return {
        "type": "message",
        "mode": "active",
        "timestamp": at_ms,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "message": {"id": str(n), "type": "text", "text": text, "quoteToken": "q"},
    }


def line_webhook(user: str, text: str) -> tuple[bytes, dict]:
    n = next(_event_ids)
    event = line_text_event(
        user,
        text,
        n,
        int(time.time() * 1000),
        f"01B{os.getpid():08d}{n:015d}",
        f"bench-reply-{os.getpid()}-{n}",
    )
    body = json.dumps({"destination": "Ubench", "events": [event]}, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", "X-Line-Signature": sign(body)}


@dataclass
class Load:
    requests: int
    seconds: float
    started_at: float  # wall clock, to compare with the stand-in's
    latencies: list[float]
    statuses: Counter
    client_cpu: float
    server_cpu: float = float("nan")
    e2e_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    e2e_latencies: list[float] = field(default_factory=list)  # webhook sent → its answer at LINE, seconds

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def e2e_rate(self) -> float | None:
        return self.requests / self.e2e_seconds if self.e2e_seconds else None


class LoadGenerator:
    """`concurrency` keep-alive connections to one server, each used by one sender at a time.

    httpx (the default): one httpx.AsyncClient per connection. A single AsyncClient whose pool holds 32
    connections spends ~5 ms of CPU per request in its pool bookkeeping and caps an echo at ~200 req/s here,
    so it would measure the client, not the server.
    raw: a minimal HTTP/1.1 client on asyncio streams (~10× less CPU per request than httpx), for when
    the client, sharing the two cores with the server, is what limits the echo.
    """

    def __init__(self, base_url: str, concurrency: int, client: str):
        self.base_url = base_url
        self.concurrency = concurrency
        self.client = client
        self.hostport = base_url.removeprefix("http://")
        self._httpx: list[httpx.AsyncClient] = []
        self._raw: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = [None] * concurrency

    async def __aenter__(self) -> LoadGenerator:
        if self.client == "httpx":
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            self._httpx = [
                httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=30)
                for _ in range(self.concurrency)
            ]
        return self

    async def __aexit__(self, *_exc) -> None:
        for client in self._httpx:
            await client.aclose()
        for connection in self._raw:
            if connection is not None:
                connection[1].close()

    async def _post_raw(self, slot: int, path: str, body: bytes, headers: dict) -> int:
        if self._raw[slot] is not None:
            try:
                return await self._exchange(slot, path, body, headers)
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed the idle keep-alive connection (uvicorn does after 5 s): reconnect once.
                self._raw[slot][1].close()
                self._raw[slot] = None
        host, port = self.hostport.split(":")
        self._raw[slot] = await asyncio.open_connection(host, int(port))
        return await self._exchange(slot, path, body, headers)

    async def _exchange(self, slot: int, path: str, body: bytes, headers: dict) -> int:
        reader, writer = self._raw[slot]
        head = f"POST {path} HTTP/1.1\r\nHost: {self.hostport}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        writer.write(head.encode() + body)
        raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            writer.close()
            self._raw[slot] = None
        return status

    async def post(self, slot: int, path: str, body: bytes, headers: dict) -> int:
        if self.client == "raw":
            return await self._post_raw(slot, path, body, headers)
        return (await self._httpx[slot].post(path, content=body, headers=headers)).status_code

    async def blast(self, path: str, requests: list[tuple[bytes, dict]]) -> Load:
        """Sends every request once, `concurrency` at a time; bounded by len(requests)."""
        pending = iter(requests)
        latencies: list[float] = []
        statuses: Counter = Counter()
        sent_at: dict[str, float] = {}  # reply token → when its webhook was sent (wall clock)

        async def sender(slot: int) -> None:
            for body, headers in pending:  # one shared iterator: each request is taken by exactly one sender
                start = time.perf_counter()
                sent_at[_reply_token(body)] = time.time()
                try:
                    statuses[await self.post(slot, path, body, headers)] += 1
                except (
                    httpx.HTTPError,
                    OSError,
                    asyncio.IncompleteReadError,
                    TimeoutError,
                    KeyError,
                ) as error:
                    statuses[type(error).__name__] += 1
                    self._raw[slot] = None
                latencies.append(time.perf_counter() - start)

        cpu = time.process_time()
        started_at = time.time()
        start = time.perf_counter()
        await asyncio.gather(*(sender(slot) for slot in range(self.concurrency)))
        seconds = time.perf_counter() - start
        load = Load(len(requests), seconds, started_at, latencies, statuses, time.process_time() - cpu)
        load.sent_at = sent_at
        return load

    async def paced(self, path: str, requests: list[tuple[bytes, dict]], rate: float) -> Load:
        """Open loop: request i is due at start + i / rate whatever the answers before it did, and its
        latency counts from when it was due (a request waiting for a free connection counts as late)."""
        free: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(self.concurrency):
            free.put_nowait(slot)
        latencies: list[float] = []
        statuses: Counter = Counter()
        sent_at: dict[str, float] = {}

        async def one(body: bytes, headers: dict, due: float) -> None:
            sent_at[_reply_token(body)] = time.time() - (time.perf_counter() - due)
            slot = await free.get()
            try:
                statuses[await self.post(slot, path, body, headers)] += 1
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, TimeoutError, KeyError) as error:
                statuses[type(error).__name__] += 1
                self._raw[slot] = None
            finally:
                free.put_nowait(slot)
            latencies.append(time.perf_counter() - due)

        cpu = time.process_time()
        started_at = time.time()
        start = time.perf_counter()
        tasks = []
        for i, (body, headers) in enumerate(requests):
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(body, headers, due)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
        load = Load(len(requests), seconds, started_at, latencies, statuses, time.process_time() - cpu)
        load.sent_at = sent_at
        return load


def _reply_token(body: bytes) -> str:
    return json.loads(body)["events"][0].get("replyToken", "")


async def standin_stats(client: httpx.AsyncClient, standin: Child) -> tuple[int, float, dict]:
    stats = (await client.get(f"{standin.url}/_stats")).json()
    return sum(stats["accepted"].values()), stats["last"], stats["accepted"]


async def wait_for_answers(
    client: httpx.AsyncClient, standin: Child, expected: int
) -> tuple[int, float, dict]:
    """Polls the stand-in until `expected` answers were accepted, or DRAIN_TIMEOUT passed."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        accepted, last, split = await standin_stats(client, standin)
        if accepted >= expected or time.monotonic() > deadline:
            return accepted, last, split
        await asyncio.sleep(0.05)


def make_roster(database_url: str, volunteers: int) -> list[str]:
    """One unit and `volunteers` volunteers with invite codes, made through handlers.people.admin; returns the codes."""
    import datetime as dt

    from handlers.people import admin
    from storage.db import UnitOfWork, make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    codes = []
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(session, now, "bench", name="臺北市立圖書館", category="culture", city="taipei")
        for i in range(volunteers):
            _person, invite = admin.add_volunteer(
                session,
                now,
                "bench",
                unit_id=unit.id,
                name=f"志工{i:04d}",
                invite_valid_for=dt.timedelta(days=30),
            )
            codes.append(invite.code)
        session.commit()
    engine.dispose()
    return codes


def check_store(database_url: str) -> str:
    """What the run left in the store, to show the load did what it claims."""
    import sqlalchemy as sa

    from storage.db import make_engine

    SENT = "SELECT count(*) FROM outboxmessage WHERE status = 'sent'"
    COUNTED = "SELECT count(*) FROM servicerecord WHERE status = 'counted'"
    engine = make_engine(database_url)
    with engine.connect() as connection:

        def one(sql: str) -> int:
            return connection.execute(sa.text(sql)).scalar_one()

        summary = (
            f"inbox {one('SELECT count(*) FROM inboxevent')} events "
            f"({one('SELECT count(*) FROM inboxevent WHERE processed_at IS NULL')} unprocessed, "
            f"{one('SELECT count(*) FROM inboxevent WHERE error IS NOT NULL')} failed); "
            f"outbox {one('SELECT count(*) FROM outboxmessage')} "
            f"({one(SENT)} sent); "
            f"service records {one('SELECT count(*) FROM servicerecord')} "
            f"({one(COUNTED)} counted)"
        )
    engine.dispose()
    return summary


async def run_echo_load(args, log_dir: Path) -> Load:
    async with (
        Child("echo", ["--role", "echo"], log_dir) as echo,
        LoadGenerator(echo.url, args.concurrency, args.client) as generator,
    ):
        users = [f"Ubench{v:05d}" for v in range(args.volunteers)]
        await generator.blast(
            PATH, [line_webhook(users[i % len(users)], "簽到") for i in range(WARMUP_REQUESTS)]
        )
        requests = [
            line_webhook(users[i % len(users)], "簽到" if (i // len(users)) % 2 == 0 else "簽退")
            for i in range(args.requests)
        ]
        cpu_before = echo.cpu_seconds()
        load = await generator.blast(PATH, requests)
        load.server_cpu = echo.cpu_seconds() - cpu_before
        return load


async def run_bot_load(kind: str, database_url: str, args, log_dir: Path) -> Load:
    users = [f"Ubench{v:05d}" for v in range(args.volunteers)]
    codes = await asyncio.to_thread(make_roster, database_url, args.volunteers)
    async with contextlib.AsyncExitStack() as stack:
        standin = await stack.enter_async_context(Child(f"standin-{kind}", ["--role", "standin"], log_dir))
        bot = await stack.enter_async_context(
            Child(
                f"bot-{kind}",
                ["--role", "bot", "--database-url", database_url, "--line-api", standin.url]
                + (["--no-workers"] if args.no_workers or args.separate_worker else []),
                log_dir,
            )
        )
        workers = []
        for n in range(args.workers if args.separate_worker else 0):
            worker = await stack.enter_async_context(
                Child(
                    f"worker-{kind}-{n + 1}",
                    ["--role", "worker", "--database-url", database_url, "--line-api", standin.url],
                    log_dir,
                )
            )
            workers.append(worker)
        load = await _bot_load(database_url, args, users, codes, standin, bot, workers)
    load.notes.append(check_store(database_url))
    if bot.log_path.exists() and bot.log_path.stat().st_size:
        load.notes.append(f"server log (warnings and errors): {bot.log_path}")
    return load


async def _bot_load(
    database_url: str,
    args,
    users: list[str],
    codes: list[str],
    standin: Child,
    bot: Child,
    workers: list[Child],
) -> Load:
    async with (
        LoadGenerator(bot.url, args.concurrency, args.client) as generator,
        httpx.AsyncClient(timeout=10) as probe,
    ):
        # Linking every volunteer also warms the server up: connections, the profile cache, the pools.
        links = await generator.blast(
            PATH, [line_webhook(u, f"綁定 {c}") for u, c in zip(users, codes, strict=True)]
        )
        if set(links.statuses) != {200}:
            raise RuntimeError(
                f"linking answered {dict(links.statuses)}; see {bot.log_path}:\n{bot.log_tail()}"
            )
        accepted, _last, _split = (
            await wait_for_answers(probe, standin, len(users))
            if not args.no_workers
            else (len(users), 0.0, {})
        )
        if accepted < len(users):
            raise RuntimeError(f"only {accepted} of {len(users)} link answers arrived; see {bot.log_path}")

        # Volunteer v % N, alternately checking in and out: all check in, then all check out, and so on.
        requests = [
            line_webhook(users[i % len(users)], "簽到" if (i // len(users)) % 2 == 0 else "簽退")
            for i in range(args.requests)
        ]
        cpu_before = bot.cpu_seconds()
        workers_cpu_before = sum(worker.cpu_seconds() for worker in workers)
        load = await (
            generator.paced(PATH, requests, args.rate) if args.rate else generator.blast(PATH, requests)
        )
        load.server_cpu = bot.cpu_seconds() - cpu_before  # the load phase only (the worker keeps going after)
        if args.no_workers:
            load.notes.append(
                "--no-workers: events stored only (webhook path alone), nothing processed or answered"
            )
            return load
        accepted, last, split = await wait_for_answers(probe, standin, len(users) + args.requests)
        answered = accepted - len(users)
        if workers:
            worker_cpu = sum(worker.cpu_seconds() for worker in workers) - workers_cpu_before
            load.notes.append(
                f"`vbot work` CPU (worker and sender): {worker_cpu / args.requests * 1000:.2f} ms an event"
            )
        if answered >= args.requests:
            load.e2e_seconds = last - load.started_at
            answered_at = (await probe.get(f"{standin.url}/_stats")).json()["answered_at"]
            load.e2e_latencies = [
                answered_at[token] - sent for token, sent in load.sent_at.items() if token in answered_at
            ]
        else:
            load.notes.append(f"only {answered} of {args.requests} answers arrived within {DRAIN_TIMEOUT} s")
        load.notes.append(f"answers by reply/push (link phase included): {split}")
        load.notes.append(
            f"inbox backlog worked off {max(0.0, last - load.started_at - load.seconds):.1f} s after the last webhook answer"
        )
    return load


def row(name: str, load: Load, echo: Load | None) -> str:
    ms = [x * 1000 for x in load.latencies]
    ratio = f"{load.rate / echo.rate:7.2f}" if echo else f"{1:7.2f}"
    e2e = f"{load.e2e_rate:10.0f}" if load.e2e_rate else f"{'—':>10}"
    cpu = f"{load.server_cpu / load.requests * 1000:9.2f}{load.client_cpu / load.requests * 1000:9.2f}"
    bad = sum(n for status, n in load.statuses.items() if status != 200)
    e2e_ms = [x * 1000 for x in load.e2e_latencies]
    answer = f"{median(e2e_ms):9.0f}{percentile(e2e_ms, 99):9.0f}" if e2e_ms else f"{'—':>9}{'—':>9}"
    return f"{name:<26}{load.rate:8.0f}{median(ms):9.1f}{percentile(ms, 99):9.1f}{ratio}{e2e}{cpu}{bad:7d}{answer}"


async def orchestrate(args) -> int:
    wanted = kinds(args.database)
    log_dir = Path(tempfile.mkdtemp(prefix="vbot-webhook-load-"))
    print(
        f"{args.requests} requests at concurrency {args.concurrency}, {args.volunteers} volunteers, "
        f"client {args.client}; "
        + (f"paced at {args.rate:g} webhooks/s; " if args.rate else "")
        + f"server logs in {log_dir}",
        flush=True,
    )
    echo = await run_echo_load(args, log_dir)
    results: list[tuple[str, Load]] = []
    for kind in wanted:
        print(f"… {kind}", flush=True)
        with database(kind) as url:
            name = f"webhook only ({kind})" if args.no_workers else f"check-in/out ({kind})"
            if args.separate_worker:
                name = f"{kind}, serve + {args.workers} work"
            results.append((name, await run_bot_load(kind, url, args, log_dir)))

    print()
    print(
        f"{'stack':<26}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'×echo':>7}{'e2e ev/s':>10}{'srv ms/r':>9}{'cli ms/r':>9}{'non200':>7}{'ans p50':>9}{'ans p99':>9}"
    )
    print(row("echo (same stack)", echo, None))
    for name, load in results:
        print(row(name, load, echo))
    print()
    if echo.client_cpu / max(echo.seconds, 1e-9) > 0.8:
        print(
            f"note: the load generator was busy {echo.client_cpu / echo.seconds:.0%} of the echo run "
            f"({echo.client_cpu / echo.requests * 1000:.2f} ms CPU/request against the echo server's "
            f"{echo.server_cpu / echo.requests * 1000:.2f}): the echo figure is the client's limit, not the "
            f"server's; --client raw measures the servers' own limits"
        )
    verdict = 0
    for name, load in results:
        p99 = percentile([x * 1000 for x in load.latencies], 99)
        if args.rate:  # a paced load measures latency, not throughput
            ok = p99 < 100
            print(f"{name}: paced at {args.rate:g}/s, p99 {p99:.1f} ms (goal < 100 ms)", end="")
        else:
            ok = load.rate >= echo.rate / 2 and p99 < 100
            print(
                f"{name}: throughput {load.rate / echo.rate:.0%} of echo (goal ≥ 50%), p99 {p99:.1f} ms (goal < 100 ms)",
                end="",
            )
        verdict |= not ok
        print(f" → {'meets the goal' if ok else 'MISSES the goal'}")
        if load.e2e_latencies:  # the answer at LINE, not only the webhook's 200 (issue 19)
            answer_p99 = percentile([x * 1000 for x in load.e2e_latencies], 99)
            answered = answer_p99 < 100
            verdict |= not answered
            print(
                f"    answers at LINE: p99 {answer_p99:.0f} ms from the webhook sent (goal < 100 ms) → "
                f"{'meets the goal' if answered else 'MISSES the goal'}"
            )
        for note in load.notes:
            print(f"    {note}")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--volunteers", type=int, default=500)
    parser.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="load generator: httpx.AsyncClient (default) or a minimal raw HTTP/1.1 client",
    )
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="diagnosis: run the bot without its inbox worker and sender (the webhook path alone)",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="webhooks in one process, the worker and sender in another (`vbot serve --no-workers` + `vbot work`)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="with --separate-worker: how many `vbot work` processes share the inbox (PostgreSQL)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="paced load: this many webhooks a second, spread evenly (open loop), --requests in all; "
        "default: as fast as --concurrency connections allow",
    )
    parser.add_argument(
        "--role", choices=["load", "bot", "echo", "standin", "worker"], default="load", help=argparse.SUPPRESS
    )
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--line-api", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "bot":
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run_bot(args.database_url, args.line_api, workers=not args.no_workers)
        return 0
    if args.role == "worker":
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run_worker(args.database_url, args.line_api)
        return 0
    if args.role == "echo":
        run_echo()
        return 0
    if args.role == "standin":
        run_standin()
        return 0
    if not (
        1 <= args.requests <= 1_000_000
        and 1 <= args.concurrency <= 1000
        and 1 <= args.volunteers <= 100_000
        and 1 <= args.workers <= 16
        and 0 <= args.rate <= 100_000
    ):
        parser.error("--requests, --concurrency, --volunteers or --workers out of range")
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
