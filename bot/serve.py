"""`vbot serve` (uvicorn running the ASGI app, with the worker, sender and scheduler inside) and `vbot work`
(the worker, sender and scheduler alone), so that a busy unit can give webhooks and processing a core each."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal

import uvicorn

from bot.app import build_app
from bot.config import Settings

log = logging.getLogger("vbot")


def warn_without_platforms(settings: Settings) -> None:
    """Said once at start: with no platform nothing reaches anyone, which a quiet start would hide."""
    if not (settings.line_enabled or settings.telegram_enabled):
        log.warning(
            "no chat platform is configured: nothing will be received or sent. Set LINE_CHANNEL_SECRET and "
            "LINE_CHANNEL_ACCESS_TOKEN, or TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (see .env.example)"
        )


def serve(settings: Settings, host: str, port: int, scheduler: bool = True, workers: bool = True) -> int:
    warn_without_platforms(settings)
    vbot = build_app(settings, scheduler=scheduler, workers=workers)
    vbot.migrate()
    # With JSON logs uvicorn's own lines go through the same handler (one JSON object a line) too.
    log_config = None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    uvicorn.run(vbot.asgi, host=host, port=port, log_level="info", access_log=False, log_config=log_config)
    return 0


def work(settings: Settings, scheduler: bool = True, workers: bool = True) -> int:
    """Without workers (`vbot scheduler`): the scheduled jobs and the sender of what they queue."""
    warn_without_platforms(settings)
    vbot = build_app(settings, scheduler=scheduler, workers=workers)
    vbot.migrate()

    async def until_stopped() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stopped.set)
        await vbot.start()
        try:
            await stopped.wait()
        finally:
            await vbot.stop()

    asyncio.run(until_stopped())
    return 0


def remind_once(settings: Settings, now: dt.datetime) -> tuple[dict[str, int], int, int]:
    """`vbot remind --now T`: one reminder pass at `now`, then delivery of everything due; returns the
    notifications each job stored, how many messages were sent and how many failed (refused by the platform,
    the reason in the log and on the outbox row)."""
    warn_without_platforms(settings)
    vbot = build_app(settings, workers=False, scheduler=False)
    vbot.migrate()

    async def once() -> tuple[dict[str, int], int, int]:
        await vbot.start()
        try:
            stored, _dispatched = await vbot.remind(now)
            sent = await vbot.pipeline.deliver_due(now)
            return stored, sent, vbot.pipeline.failed
        finally:
            await vbot.stop()

    return asyncio.run(once())
