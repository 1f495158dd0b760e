"""Small local HTTP stand-ins of the LINE and Telegram APIs, answering schema-valid JSON.

The real SDK clients talk to them over real sockets. Each records what it was sent and can be told to
fail the next calls to an endpoint (status codes, or a hang past the client's time-out).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Call:
    path: str
    headers: dict
    body: dict
    status: int = 200


@dataclass
class StandIn:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hang_seconds: float = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    runner: web.AppRunner | None = None
    url: str = ""

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        """The next calls whose path ends with `endpoint` answer these statuses (0 = hang past the time-out)."""
        self.failures[endpoint].extend(statuses)

    def _planned_failure(self, path: str) -> int | None:
        for endpoint, statuses in self.failures.items():
            if path.endswith(endpoint) and statuses:
                return statuses.pop(0)
        return None

    def sent(self, endpoint: str) -> list[Call]:
        return [call for call in self.calls if call.path.endswith(endpoint)]

    async def start(self, app: web.Application) -> None:
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


async def _body(request: web.Request) -> dict:
    if request.content_type == "multipart/form-data":  # a file (sendDocument): parsed from the stream
        return dict((await request.post()).items())
    raw = await request.read()
    if not raw:
        return {}
    if request.content_type == "application/json":
        return json.loads(raw)
    form = await request.post()
    return {key: value for key, value in form.items()}


class LineStandIn(StandIn):
    """/v2/bot/message/reply, /push and /multicast (with X-Line-Retry-Key: a repeat answers 409), /profile,
    and the monthly quota: `quota_limit` pushes (None = unlimited), of which pushes and multicasts use one
    per recipient, replies none."""

    def __init__(self, languages: dict[str, str] | None = None, quota_limit: int | None = 200):
        super().__init__()
        self.languages = languages or {}
        self.accepted_retry_keys: set[str] = set()
        self.used_reply_tokens: set[str] = set()
        self.quota_limit = quota_limit
        self.usage = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        path = request.path
        failure = self._planned_failure(path)
        if failure == 0:
            await asyncio.sleep(2)  # hang past the client's time-out (the tests give it 0.5 s)
        # 599: the stand-in accepts the call, then answers 500 as if the answer were lost on the way back.
        accepted_then_lost = failure == 599
        call = Call(path, dict(request.headers), body, 200 if accepted_then_lost else failure or 200)
        self.calls.append(call)
        if failure and not accepted_then_lost:
            return web.json_response({"message": "stand-in failure"}, status=failure)
        if path.startswith("/v2/bot/profile/"):
            user_id = request.match_info["user"]
            profile = {"displayName": "志工", "userId": user_id}
            if user_id in self.languages:
                profile["language"] = self.languages[user_id]
            return web.json_response(profile)
        if path.endswith("/v2/bot/info"):
            return web.json_response({"userId": "Ubot", "basicId": "@123abcde", "displayName": "志工小幫手",
                                      "chatMode": "bot", "markAsReadMode": "auto"})
        if path.endswith("/quota"):
            limited = self.quota_limit is not None
            return web.json_response({"type": "limited", "value": self.quota_limit} if limited else {"type": "none"})
        if path.endswith("/quota/consumption"):
            return web.json_response({"totalUsage": self.usage})
        sent = {"sentMessages": [{"id": str(len(self.calls)), "quoteToken": "q"} for _ in body.get("messages", [])]}
        if path.endswith("/reply"):
            token = body.get("replyToken")
            if token in self.used_reply_tokens:
                call.status = 400
                return web.json_response({"message": "Invalid reply token"}, status=400)
            self.used_reply_tokens.add(token)
        if path.endswith(("/push", "/multicast")):
            key = request.headers.get("X-Line-Retry-Key")
            if key and key in self.accepted_retry_keys:
                call.status = 409
                return web.json_response({"message": "The retry key is already accepted", **sent}, status=409)
            if key:
                self.accepted_retry_keys.add(key)
            self.usage += len(body["to"]) if path.endswith("/multicast") else 1
            if path.endswith("/multicast"):
                sent = {}
        self.arrived.set()
        if accepted_then_lost:
            return web.json_response({"message": "stand-in failure after accepting"}, status=500)
        return web.json_response(sent)

    def delivered_texts(self) -> list[str]:
        """Every text the bot delivered (replies and pushes that were accepted)."""
        texts = []
        for call in self.calls:
            if call.path.endswith(("/reply", "/push", "/multicast")) and call.status == 200:
                texts += [message_text(message) for message in call.body["messages"]]
        return texts

    def texts_to(self, user_id: str) -> list[str]:
        """Every text pushed or multicast to one person (accepted calls only)."""
        texts = []
        for call in self.calls:
            if call.status != 200 or not call.path.endswith(("/push", "/multicast")):
                continue
            if user_id == call.body.get("to") or user_id in (call.body.get("to") or []):
                texts += [message_text(message) for message in call.body["messages"]]
        return texts

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self.handle)
        app.router.add_post("/v2/bot/message/push", self.handle)
        app.router.add_post("/v2/bot/message/multicast", self.handle)
        app.router.add_get("/v2/bot/message/quota", self.handle)
        app.router.add_get("/v2/bot/info", self.handle)
        app.router.add_get("/v2/bot/message/quota/consumption", self.handle)
        app.router.add_get("/v2/bot/profile/{user}", self.handle)
        await super().start(app)


class TelegramStandIn(StandIn):
    """/bot<token>/getMe, sendMessage, sendDocument (kept in `documents`) and answerCallbackQuery."""

    def __init__(self):
        super().__init__()
        self.documents: list[tuple[int, str, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        path = request.path
        failure = self._planned_failure(path)
        if failure == 0:
            await asyncio.sleep(2)
        self.calls.append(Call(path, dict(request.headers), body, failure or 200))
        if failure == 429:
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                 "parameters": {"retry_after": 3}}, status=429)
        if failure:
            return web.json_response(
                {"ok": False, "error_code": failure, "description": "stand-in failure"}, status=failure)
        method = request.match_info["method"]
        if method == "getMe":
            result = {"id": 4242, "is_bot": True, "first_name": "志工小幫手", "username": "vbot_test_bot"}
        elif method == "sendMessage":
            chat_id = int(body["chat_id"])
            result = {"message_id": len(self.calls), "date": 1_700_000_000, "text": body.get("text", ""),
                      "chat": {"id": chat_id, "type": "private"}}
            self.arrived.set()
        elif method == "sendDocument":
            chat_id = int(body["chat_id"])
            document = body["document"]  # a multipart file field
            self.documents.append((chat_id, document.filename, document.file.read()))
            result = {"message_id": len(self.calls), "date": 1_700_000_000, "caption": body.get("caption", ""),
                      "chat": {"id": chat_id, "type": "private"},
                      "document": {"file_id": "f1", "file_unique_id": "u1", "file_name": document.filename}}
            self.arrived.set()
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    def delivered_texts(self) -> list[str]:
        return [call.body["text"] for call in self.sent("/sendMessage") if call.status == 200]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        await super().start(app)


def message_text(message: dict) -> str:
    """A text message's text; for a Flex message, every text in it, one a line, as a person reads it."""
    if message.get("type") != "flex":
        return message["text"]

    def texts(component: dict) -> list[str]:
        found = [component["text"]] if component.get("type") == "text" else []
        for part in ("header", "hero", "body", "footer"):
            if isinstance(component.get(part), dict):
                found += texts(component[part])
        for child in component.get("contents") or ():
            if isinstance(child, dict):
                found += texts(child)
        return found

    return "\n".join(texts(message["contents"]))
