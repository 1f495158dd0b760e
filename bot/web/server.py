"""The ASGI app: both webhooks and /healthz here, the signed downloads and the kiosk composed in.

A webhook answers 200 only once its events are stored."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.web.console import console_routes
from bot.web.downloads import download_routes
from bot.web.kiosk import kiosk_routes
from bot.web.metrics import metrics_routes
from bot.web.runtime import Runtime
from bot.web.short_links import short_link_routes
from storage.db import database_answers

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# Real webhooks nest a dozen levels at most. Deeper bodies are refused before anything recurses over them:
# json.loads raises RecursionError (not ValueError) past Python's limit, and the worker decodes them again.
MAX_JSON_DEPTH = 64
# A database that does not answer within this time is as good as down for /healthz (a hung connection
# attempt would otherwise keep the health check waiting for as long as the operating system allows).
HEALTH_TIMEOUT_SECONDS = 5.0


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge
    return bytes(body)


def nesting_depth(value: object) -> int:
    """How deeply lists and objects nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(body: bytes) -> object:
    """The decoded body; ValueError when it is not UTF-8 JSON of a sensible depth."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error
    if nesting_depth(parsed) > MAX_JSON_DEPTH:
        raise ValueError("JSON nested too deeply")
    return parsed


def problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": detail}, status_code=status)


def build_web(vbot: Runtime, lifespan=None) -> Starlette:
    return Starlette(
        routes=[
            *webhook_routes(vbot),
            *health_routes(vbot),
            *download_routes(vbot),
            *kiosk_routes(vbot),
            *metrics_routes(vbot.metrics),
            *short_link_routes(vbot),
            *console_routes(vbot),
        ],
        lifespan=lifespan,
    )


async def accept(vbot: Runtime, platform: str, channel, body: bytes) -> JSONResponse:
    try:
        parsed = parse_json(body)
    except ValueError:  # UnicodeDecodeError is one too
        return problem(400, "body is not JSON")
    events = channel.event_keys(parsed)
    if events is None:
        return problem(400, f"not a {platform} webhook")
    gate = vbot.pipeline.gate
    claims_before = gate.claims
    try:
        waiting = await vbot.pipeline.store(platform, events, vbot.now())
    except Exception:
        log.exception("could not store %s events", platform)
        return problem(503, "try again later")  # the platform redelivers; nothing is lost
    await gate.wait_for_workers(waiting, claims_before)  # while the workers are behind (bot/backlog_gate.py)
    return JSONResponse({})


def webhook_routes(vbot: Runtime) -> list[Route]:
    latency = vbot.metrics.webhook_seconds

    async def line_webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            return await answer_line(request)
        finally:
            latency.labels("line").observe(time.perf_counter() - started)

    async def telegram_webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            return await answer_telegram(request)
        finally:
            latency.labels("telegram").observe(time.perf_counter() - started)

    async def answer_line(request: Request) -> JSONResponse:
        channel = vbot.channels.get("line")
        if channel is None:
            return problem(404, "LINE is not configured")
        try:
            body = await read_body(request)
        except BodyTooLarge:
            return problem(413, "body too large")
        if not channel.signature_ok(body, request.headers.get("x-line-signature", "")):
            log.warning("LINE webhook with a missing or wrong signature from %s", request.client)
            return problem(401, "bad signature")
        return await accept(vbot, "line", channel, body)

    async def answer_telegram(request: Request) -> JSONResponse:
        channel = vbot.channels.get("telegram")
        if channel is None:
            return problem(404, "Telegram is not configured")
        if not channel.secret_ok(request.headers.get("x-telegram-bot-api-secret-token")):
            log.warning("Telegram webhook with a missing or wrong secret from %s", request.client)
            return problem(401, "bad secret")
        try:
            body = await read_body(request)
        except BodyTooLarge:
            return problem(413, "body too large")
        return await accept(vbot, "telegram", channel, body)

    return [
        Route("/webhooks/line", line_webhook, methods=["POST"]),
        Route("/webhooks/telegram", telegram_webhook, methods=["POST"]),
    ]


def health_routes(vbot: Runtime) -> list[Route]:
    async def healthz(_request: Request) -> JSONResponse:
        try:
            answers = await asyncio.wait_for(
                asyncio.to_thread(database_answers, vbot.engine), HEALTH_TIMEOUT_SECONDS
            )
        except TimeoutError:
            log.warning("database check took longer than %s s", HEALTH_TIMEOUT_SECONDS)
            answers = False
        if answers:
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    return [Route("/healthz", healthz, methods=["GET"])]
