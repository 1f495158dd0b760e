"""Small local HTTP stand-ins of the LINE and Telegram APIs, answering schema-valid JSON.

The real SDK clients talk to them over real sockets. Each records what it was sent and can be told to
fail the next calls to an endpoint (status codes, or a hang past the client's time-out).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import io
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from PIL import Image, UnidentifiedImageError


@dataclass
class Call:
    path: str
    headers: dict
    body: dict
    status: int = 200


# What fail_next can plan besides an HTTP status:
HANG = 0  # no answer within the client's time-out, and the call is not taken
TAKEN_THEN_500 = 599  # the call is taken (delivered), then the answer is 500
TAKEN_THEN_NO_ANSWER = 598  # the call is taken, then no answer comes within the client's time-out
TAKEN_THEN_HELD = 597  # the call is taken, and the answer held back until `release()` (a crash in flight)


@dataclass
class StandIn:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hang_seconds: float = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    runner: web.AppRunner | None = None
    url: str = ""
    retry_after: dict[str, str] = field(default_factory=dict)  # endpoint → Retry-After of its planned 429s
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # endpoint → released when set
    taken_and_held: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    clock_offset: dt.timedelta = dt.timedelta(
        0
    )  # how far the platform's clock (its Date header) is from ours

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        """The next calls whose path ends with `endpoint` answer these statuses (see HANG, TAKEN_THEN_…)."""
        self.failures[endpoint].extend(statuses)

    def throttle_next(self, endpoint: str, seconds: int) -> None:
        """The next call to `endpoint` answers 429 with `Retry-After: seconds`."""
        self.retry_after[endpoint] = str(seconds)
        self.fail_next(endpoint, 429)

    def hold(self, endpoint: str) -> None:
        """Every call to `endpoint` hangs from now until `release(endpoint)` (the client times out meanwhile)."""
        self.held[endpoint] = asyncio.Event()

    def release(self, endpoint: str | None = None) -> None:
        """Ends a hold; without an endpoint, lets a TAKEN_THEN_HELD call answer."""
        if endpoint is None:
            self.released.set()
        elif endpoint in self.held:
            self.held.pop(endpoint).set()

    async def _wait_if_held(self, path: str) -> None:
        for endpoint, event in list(self.held.items()):
            if endpoint in path:
                await event.wait()

    def _planned_failure(self, path: str) -> int | None:
        for endpoint, statuses in self.failures.items():
            if path.endswith(endpoint) and statuses:
                return statuses.pop(0)
        return None

    def _headers_of_429(self, path: str) -> dict[str, str]:
        for endpoint, seconds in self.retry_after.items():
            if path.endswith(endpoint):
                return {"Retry-After": seconds}
        return {}

    def sent(self, endpoint: str) -> list[Call]:
        return [call for call in self.calls if call.path.endswith(endpoint)]

    async def _stamp_date(self, _request: web.Request, response: web.StreamResponse) -> None:
        if self.clock_offset:
            moment = dt.datetime.now(dt.UTC) + self.clock_offset
            response.headers["Date"] = email.utils.format_datetime(moment, usegmt=True)

    async def start(self, app: web.Application) -> None:
        app.on_response_prepare.append(self._stamp_date)
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
    per recipient, replies none.

    Rich menus, kept as LINE keeps them: created (and checked as LINE checks them), listed, deleted; their
    image uploaded once on the data host (`data_url`, as api-data.line.me), a PNG or JPEG of at most 1 MB
    and of the menu's size; the default menu and each user's own, which only a menu with an image can be."""

    def __init__(self, languages: dict[str, str] | None = None, quota_limit: int | None = 200):
        super().__init__()
        self.languages = languages or {}
        self.accepted_retry_keys: set[str] = set()
        self.used_reply_tokens: set[str] = set()
        self.quota_limit = quota_limit
        self.usage = 0
        self.rich_menus: dict[str, dict] = {}  # richMenuId → the menu as created (with its id)
        self.rich_menu_images: dict[str, tuple[str, bytes]] = {}  # richMenuId → (content type, bytes)
        self.default_rich_menu: str | None = None
        self.user_rich_menus: dict[str, str] = {}  # userId → richMenuId linked to that user
        self._menu_numbers = itertools.count(1)
        self.data_url = ""
        self._data_runner: web.AppRunner | None = None
        # GET /v2/bot/channel/webhook/endpoint: what the channel's console has on record (none at first).
        self.webhook_endpoint: dict = {"endpoint": "", "active": False}

    async def handle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        path = request.path
        await self._wait_if_held(path)
        failure = self._planned_failure(path)
        if failure == HANG:
            await asyncio.sleep(2)  # hang past the client's time-out (the tests give it 0.5 s)
        # TAKEN_THEN_…: the stand-in takes the call, then its answer is lost on the way back.
        taken = failure in (TAKEN_THEN_500, TAKEN_THEN_NO_ANSWER, TAKEN_THEN_HELD)
        call = Call(path, dict(request.headers), body, 200 if taken else failure or 200)
        self.calls.append(call)
        if failure and not taken:
            headers = self._headers_of_429(path) if failure == 429 else {}
            return web.json_response({"message": "stand-in failure"}, status=failure, headers=headers)
        if path.endswith(("/reply", "/push", "/multicast")) and (problems := line_message_problems(body)):
            call.status = 400
            return line_error(f"The request body has {len(problems)} error(s)", details=problems)
        if path.startswith("/v2/bot/profile/"):
            user_id = request.match_info["user"]
            profile = {"displayName": "志工", "userId": user_id}
            if user_id in self.languages:
                profile["language"] = self.languages[user_id]
            return web.json_response(profile)
        if path.endswith("/v2/bot/channel/webhook/endpoint"):
            if request.method == "PUT":
                self.webhook_endpoint = {"endpoint": body.get("endpoint", ""), "active": True}
                return web.json_response({})
            return web.json_response(self.webhook_endpoint)
        if path.endswith("/v2/bot/info"):
            return web.json_response(
                {
                    "userId": "Ubot",
                    "basicId": "@123abcde",
                    "displayName": "志工小幫手",
                    "chatMode": "bot",
                    "markAsReadMode": "auto",
                }
            )
        if path.endswith("/quota"):
            limited = self.quota_limit is not None
            return web.json_response(
                {"type": "limited", "value": self.quota_limit} if limited else {"type": "none"}
            )
        if path.endswith("/quota/consumption"):
            return web.json_response({"totalUsage": self.usage})
        sent = {
            "sentMessages": [
                {"id": str(len(self.calls)), "quoteToken": "q"} for _ in body.get("messages", [])
            ]
        }
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
        if failure == TAKEN_THEN_500:
            return web.json_response({"message": "stand-in failure after accepting"}, status=500)
        if failure == TAKEN_THEN_NO_ANSWER:
            await asyncio.sleep(2)
        if failure == TAKEN_THEN_HELD:
            self.taken_and_held.set()
            await self.released.wait()
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
        app.router.add_get("/v2/bot/channel/webhook/endpoint", self.handle)
        app.router.add_put("/v2/bot/channel/webhook/endpoint", self.handle)
        app.router.add_get("/v2/bot/message/quota/consumption", self.handle)
        app.router.add_get("/v2/bot/profile/{user}", self.handle)
        menus = self._rich_menu_endpoint
        app.router.add_post("/v2/bot/richmenu", menus(self._create_rich_menu))
        app.router.add_get("/v2/bot/richmenu/list", menus(self._list_rich_menus))
        app.router.add_post("/v2/bot/richmenu/bulk/link", menus(self._bulk_link))
        app.router.add_post("/v2/bot/richmenu/bulk/unlink", menus(self._bulk_unlink))
        app.router.add_delete("/v2/bot/richmenu/{menu}", menus(self._delete_rich_menu))
        app.router.add_get("/v2/bot/user/all/richmenu", menus(self._get_default))
        app.router.add_delete("/v2/bot/user/all/richmenu", menus(self._cancel_default))
        app.router.add_post(
            "/v2/bot/user/{user}/richmenu/{menu}", menus(self._link)
        )  # user "all": the default
        app.router.add_get("/v2/bot/user/{user}/richmenu", menus(self._linked))
        app.router.add_delete("/v2/bot/user/{user}/richmenu", menus(self._unlink))
        await super().start(app)
        data = web.Application(client_max_size=8 * 1024 * 1024)  # LINE's own limit is checked in the handler
        data.router.add_post("/v2/bot/richmenu/{menu}/content", menus(self._upload_image))
        self._data_runner = web.AppRunner(data)
        await self._data_runner.setup()
        site = web.TCPSite(self._data_runner, "127.0.0.1", 0)
        await site.start()
        self.data_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        await super().stop()
        if self._data_runner:
            await self._data_runner.cleanup()

    # --- rich menus ---

    def _rich_menu_endpoint(self, answer):
        """Records the call, plays planned failures and checks the token, then lets `answer` answer."""

        async def endpoint(request: web.Request) -> web.Response:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            else:
                body = {"content_type": request.content_type, "bytes": len(raw)} if raw else {}
            failure = self._planned_failure(request.path)
            if failure == 0:
                await asyncio.sleep(2)
            call = Call(
                request.path, dict(request.headers), body if isinstance(body, dict) else {}, failure or 200
            )
            self.calls.append(call)
            if failure:
                return web.json_response({"message": "stand-in failure"}, status=failure)
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                response = line_error(
                    "Authentication failed. Confirm that the access token in the authorization "
                    "header is valid.",
                    401,
                )
            elif body is None:
                response = line_error("The request body has 1 error(s)", details=[("", "invalid JSON")])
            else:
                response = answer(request, body, raw)
            call.status = response.status
            return response

        return endpoint

    def _create_rich_menu(self, request, body, raw) -> web.Response:
        problems = rich_menu_problems(body)
        if problems:
            return line_error(f"The request body has {len(problems)} error(s)", details=problems)
        if len(self.rich_menus) >= 1000:
            return line_error("The number of rich menus has reached the upper limit")
        menu_id = f"richmenu-{next(self._menu_numbers):032x}"
        self.rich_menus[menu_id] = {"richMenuId": menu_id, **body}
        return web.json_response({"richMenuId": menu_id})

    def _list_rich_menus(self, request, body, raw) -> web.Response:
        return web.json_response({"richmenus": list(self.rich_menus.values())})

    def _delete_rich_menu(self, request, body, raw) -> web.Response:
        menu_id = request.match_info["menu"]
        if self.rich_menus.pop(menu_id, None) is None:
            return line_error("Not found", 404)
        self.rich_menu_images.pop(menu_id, None)
        if self.default_rich_menu == menu_id:
            self.default_rich_menu = None
        self.user_rich_menus = {user: menu for user, menu in self.user_rich_menus.items() if menu != menu_id}
        return web.json_response({})

    def _upload_image(self, request, body, raw) -> web.Response:
        menu_id = request.match_info["menu"]
        menu = self.rich_menus.get(menu_id)
        if menu is None:
            return line_error("Not found", 404)
        if menu_id in self.rich_menu_images:
            return line_error("An image has already been uploaded to the richmenu")
        if request.content_type not in ("image/png", "image/jpeg"):
            return line_error(f"Unsupported content type: {request.content_type}", 415)
        if len(raw) > 1024 * 1024:
            return line_error("The image file size is too large (max 1 MB)", 413)
        try:
            image = Image.open(io.BytesIO(raw))
            image.load()
        except (UnidentifiedImageError, OSError):
            return line_error("Invalid image")
        if image.format != {"image/png": "PNG", "image/jpeg": "JPEG"}[request.content_type]:
            return line_error("The image does not match its content type")
        if image.size != (menu["size"]["width"], menu["size"]["height"]):
            return line_error("Image size must be the same as the rich menu size")
        self.rich_menu_images[menu_id] = (request.content_type, raw)
        return web.json_response({})

    def _menu_problem(self, menu_id: str) -> web.Response | None:
        if menu_id not in self.rich_menus:
            return line_error("richmenu not found", 404)
        if menu_id not in self.rich_menu_images:
            return line_error("must upload richmenu image before applying it to user")
        return None

    def _link(self, request, body, raw) -> web.Response:
        user, menu_id = request.match_info["user"], request.match_info["menu"]
        if (problem := self._menu_problem(menu_id)) is not None:
            return problem
        if user == "all":
            self.default_rich_menu = menu_id
        else:
            self.user_rich_menus[user] = menu_id
        return web.json_response({})

    def _linked(self, request, body, raw) -> web.Response:
        menu_id = self.user_rich_menus.get(request.match_info["user"])
        return (
            web.json_response({"richMenuId": menu_id})
            if menu_id
            else line_error("the user has no richmenu", 404)
        )

    def _unlink(self, request, body, raw) -> web.Response:
        self.user_rich_menus.pop(request.match_info["user"], None)
        return web.json_response({})

    def _get_default(self, request, body, raw) -> web.Response:
        if self.default_rich_menu is None:
            return line_error("no default richmenu", 404)
        return web.json_response({"richMenuId": self.default_rich_menu})

    def _cancel_default(self, request, body, raw) -> web.Response:
        self.default_rich_menu = None
        return web.json_response({})

    def _bulk_users(self, body) -> list[str] | web.Response:
        users = body.get("userIds")
        if (
            not isinstance(users, list)
            or not 1 <= len(users) <= 500
            or not all(isinstance(u, str) for u in users)
        ):
            return line_error(
                "The request body has 1 error(s)", details=[("userIds", "must be 1 to 500 user IDs")]
            )
        return users

    def _bulk_link(self, request, body, raw) -> web.Response:
        users = self._bulk_users(body)
        if isinstance(users, web.Response):
            return users
        if (problem := self._menu_problem(str(body.get("richMenuId")))) is not None:
            return problem
        for user in users:
            self.user_rich_menus[user] = body["richMenuId"]
        return web.json_response({}, status=202)

    def _bulk_unlink(self, request, body, raw) -> web.Response:
        users = self._bulk_users(body)
        if isinstance(users, web.Response):
            return users
        for user in users:
            self.user_rich_menus.pop(user, None)
        return web.json_response({}, status=202)

    def menu_of(self, user_id: str) -> str | None:
        """The rich menu a user sees: their own, else the default."""
        return self.user_rich_menus.get(user_id) or self.default_rich_menu


class TelegramStandIn(StandIn):
    """/bot<token>/getMe, sendMessage, sendDocument (kept in `documents`) and answerCallbackQuery; the webhook
    (setWebhook, getWebhookInfo) and the command lists by scope and language (setMyCommands, getMyCommands,
    deleteMyCommands), checked as Telegram checks them."""

    def __init__(self):
        super().__init__()
        self.documents: list[tuple[int, str, bytes]] = []
        self.webhook: dict | None = None
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope as JSON, language code) → commands

    async def handle(self, request: web.Request) -> web.Response:
        body = await _body(request)
        path = request.path
        await self._wait_if_held(path)
        failure = self._planned_failure(path)
        if failure == HANG:
            await asyncio.sleep(2)
        taken = failure == TAKEN_THEN_NO_ANSWER
        call = Call(path, dict(request.headers), body, 200 if taken else failure or 200)
        self.calls.append(call)
        if taken:
            failure = None
        if failure == 429:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3},
                },
                status=429,
            )
        if failure:
            return web.json_response(
                {"ok": False, "error_code": failure, "description": "stand-in failure"}, status=failure
            )
        method = request.match_info["method"]
        if problem := telegram_problem(method, body):
            call.status = 400
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}, status=400
            )
        if taken:
            await asyncio.sleep(2)  # taken, but the answer comes after the client's time-out
        if method == "getMe":
            result = {"id": 4242, "is_bot": True, "first_name": "志工小幫手", "username": "vbot_test_bot"}
        elif method == "sendMessage":
            chat_id = int(body["chat_id"])
            result = {
                "message_id": len(self.calls),
                "date": 1_700_000_000,
                "text": body.get("text", ""),
                "chat": {"id": chat_id, "type": "private"},
            }
            self.arrived.set()
        elif method == "sendDocument":
            chat_id = int(body["chat_id"])
            document = body["document"]  # a multipart file field
            self.documents.append((chat_id, document.filename, document.file.read()))
            result = {
                "message_id": len(self.calls),
                "date": 1_700_000_000,
                "caption": body.get("caption", ""),
                "chat": {"id": chat_id, "type": "private"},
                "document": {"file_id": "f1", "file_unique_id": "u1", "file_name": document.filename},
            }
            self.arrived.set()
        elif method in ("setWebhook", "getWebhookInfo", "setMyCommands", "getMyCommands", "deleteMyCommands"):
            result, problem = self._setting(method, body)
            if problem:
                call.status = 400
                return web.json_response(
                    {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}, status=400
                )
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    def _setting(self, method: str, body: dict) -> tuple[object, str | None]:
        """(result, None), or (None, what Telegram would say is wrong)."""
        if method == "getWebhookInfo":
            info = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            return (info | self.webhook if self.webhook else info), None
        if method == "setWebhook":
            url = str(body.get("url", ""))
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                return None, "bad webhook: An HTTPS URL must be provided for webhook"
            if (parts.port or 443) not in (443, 80, 88, 8443):
                return None, "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            secret = body.get("secret_token")
            if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
                return None, "secret token contains unallowed characters"
            allowed = _json_field(body, "allowed_updates", [])
            known = {
                "message",
                "edited_message",
                "channel_post",
                "edited_channel_post",
                "callback_query",
                "inline_query",
                "chosen_inline_result",
                "my_chat_member",
                "chat_member",
                "chat_join_request",
                "poll",
                "poll_answer",
                "shipping_query",
                "pre_checkout_query",
                "message_reaction",
            }
            if not isinstance(allowed, list) or not set(allowed) <= known:
                return None, "can't parse allowed updates"
            self.webhook = {"url": url, "allowed_updates": allowed, "secret_token": secret}
            return True, None
        scope = _json_field(body, "scope", {"type": "default"})
        scopes = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if not isinstance(scope, dict) or scope.get("type") not in scopes:
            return None, "can't parse BotCommandScope"
        if scope["type"].startswith("chat") and not isinstance(scope.get("chat_id"), int):
            return None, "chat not found"
        language = str(body.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            return None, "LANG_CODE_INVALID"
        key = (json.dumps(scope, sort_keys=True), language)
        if method == "getMyCommands":
            return self.commands.get(key, []), None
        if method == "deleteMyCommands":
            self.commands.pop(key, None)
            return True, None
        commands = _json_field(body, "commands", None)
        if not isinstance(commands, list) or len(commands) > 100:
            return None, "can't parse commands"
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command"))
            ):
                return None, "BOT_COMMAND_INVALID"
            if not isinstance(command.get("description"), str) or not 1 <= len(command["description"]) <= 256:
                return None, "command description must be 1-256 characters"
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True, None

    def commands_for(self, language: str = "", chat_id: int | None = None) -> list[tuple[str, str]]:
        """(command, description) as Telegram shows them to a person with this language in this chat."""
        chat = json.dumps({"type": "chat", "chat_id": chat_id}, sort_keys=True)
        default = json.dumps({"type": "default"}, sort_keys=True)
        order = ([(chat, language), (chat, "")] if chat_id is not None else []) + [
            (default, language),
            (default, ""),
        ]
        for key in order:
            if key in self.commands:
                return [(c["command"], c["description"]) for c in self.commands[key]]
        return []

    def delivered_texts(self) -> list[str]:
        return [call.body["text"] for call in self.sent("/sendMessage") if call.status == 200]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        await super().start(app)


def _json_field(body: dict, name: str, missing):
    """A structured parameter: python-telegram-bot sends it as JSON text in a form, others as JSON."""
    value = body.get(name, missing)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def line_error(message: str, status: int = 400, details: list[tuple[str, str]] | None = None) -> web.Response:
    body: dict = {"message": message}
    if details:
        body["details"] = [{"property": prop, "message": text} for prop, text in details]
    return web.json_response(body, status=status)


LINE_ACTION_TYPES = {
    "message",
    "postback",
    "uri",
    "datetimepicker",
    "richmenuswitch",
    "camera",
    "cameraRoll",
    "location",
    "clipboard",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value, longest: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= longest


def rich_menu_problems(menu: dict) -> list[tuple[str, str]]:
    """What LINE would refuse in a rich menu object, as (property, message) pairs."""
    size = menu.get("size")
    if not isinstance(size, dict) or not _is_int(size.get("width")) or not _is_int(size.get("height")):
        return [("size", "must be specified")]
    width, height = size["width"], size["height"]
    problems = []
    if not 800 <= width <= 2500:
        problems.append(("size.width", "must be between 800 and 2500"))
    if height < 250:
        problems.append(("size.height", "must be 250 or more"))
    elif width / height < 1.45:
        problems.append(("size", "the aspect ratio (width / height) must be at least 1.45"))
    if not isinstance(menu.get("selected"), bool):
        problems.append(("selected", "must be specified"))
    if not _is_text(menu.get("name"), 300):
        problems.append(("name", "must be 1 to 300 characters"))
    if not _is_text(menu.get("chatBarText"), 14):
        problems.append(("chatBarText", "must be 1 to 14 characters"))
    areas = menu.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
        return [*problems, ("areas", "must be 1 to 20 areas")]
    for i, area in enumerate(areas):
        bounds = area.get("bounds") if isinstance(area, dict) else None
        if not isinstance(bounds, dict) or not all(
            _is_int(bounds.get(k)) for k in ("x", "y", "width", "height")
        ):
            problems.append((f"areas[{i}].bounds", "must be specified"))
        elif (
            min(bounds["x"], bounds["y"]) < 0
            or min(bounds["width"], bounds["height"]) < 1
            or bounds["x"] + bounds["width"] > width
            or bounds["y"] + bounds["height"] > height
        ):
            problems.append((f"areas[{i}].bounds", "must be within the rich menu"))
        action = area.get("action") if isinstance(area, dict) else None
        if not isinstance(action, dict) or action.get("type") not in LINE_ACTION_TYPES:
            problems.append((f"areas[{i}].action", "must be a valid action"))
            continue
        if "label" in action and not _is_text(action["label"], 20):
            problems.append((f"areas[{i}].action.label", "must be 1 to 20 characters"))
        if action["type"] == "message" and not _is_text(action.get("text"), 300):
            problems.append((f"areas[{i}].action.text", "must be 1 to 300 characters"))
    return problems


def message_text(message: dict) -> str:
    """A text message's text; for a Flex message, every text in it, one a line, as a person reads it."""
    if message.get("type") == "sticker":
        return f"[sticker {message.get('packageId')}/{message.get('stickerId')}]"
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


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


LINE_TEXT_LENGTH = 5000  # UTF-16 units
LINE_ALT_TEXT_LENGTH = 1500
LINE_BUBBLE_BYTES = 30_000
LINE_CAROUSEL_BYTES = 50_000


def line_message_problems(body: dict) -> list[tuple[str, str]]:
    """What LINE refuses in a reply, push or multicast body, as (property, message) pairs."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [("messages", "Size must be between 1 and 5")]
    problems: list[tuple[str, str]] = []
    for n, message in enumerate(messages):
        where = f"messages[{n}]"
        if message.get("type") == "text":
            if not 1 <= utf16_length(str(message.get("text", ""))) <= LINE_TEXT_LENGTH:
                problems.append((f"{where}.text", "Length must be between 1 and 5000"))
        elif message.get("type") == "flex":
            problems += flex_problems(where, message)
        elif message.get("type") == "sticker":
            for field_name in ("packageId", "stickerId"):
                if not isinstance(message.get(field_name), str) or not message[field_name]:
                    problems.append((f"{where}.{field_name}", "must be specified"))
        problems += quick_reply_problems(where, message.get("quickReply"))
    return problems


def flex_problems(where: str, message: dict) -> list[tuple[str, str]]:
    problems = []
    if not 1 <= utf16_length(str(message.get("altText", ""))) <= LINE_ALT_TEXT_LENGTH:
        problems.append((f"{where}.altText", "Length must be between 1 and 1500"))
    contents = message.get("contents") or {}
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents.get("type") == "carousel":
        bubbles = contents.get("contents") or []
        if not 1 <= len(bubbles) <= 12:
            problems.append((f"{where}.contents.contents", "Size must be between 1 and 12"))
        if size > LINE_CAROUSEL_BYTES:
            problems.append((f"{where}.contents", "The carousel is over 50 KB"))
    elif size > LINE_BUBBLE_BYTES:
        problems.append((f"{where}.contents", "The bubble is over 30 KB"))
    return problems


def quick_reply_problems(where: str, quick: dict | None) -> list[tuple[str, str]]:
    if quick is None:
        return []
    items = quick.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 13:
        return [(f"{where}.quickReply.items", "Size must be between 1 and 13")]
    problems = []
    for i, item in enumerate(items):
        action = item.get("action") or {}
        if not 1 <= utf16_length(str(action.get("label", ""))) <= 20:
            problems.append(
                (f"{where}.quickReply.items[{i}].action.label", "Length must be between 1 and 20")
            )
        if action.get("type") == "message" and not 1 <= utf16_length(str(action.get("text", ""))) <= 300:
            problems.append(
                (f"{where}.quickReply.items[{i}].action.text", "Length must be between 1 and 300")
            )
    return problems


TELEGRAM_TEXT_LENGTH = 4096
TELEGRAM_CAPTION_LENGTH = 1024


def telegram_problem(method: str, body: dict) -> str | None:
    """What Telegram answers 400 for in sendMessage and sendDocument, as its description says it."""
    if method == "sendMessage":
        length = utf16_length(str(body.get("text", "")))
        if length == 0:
            return "message text is empty"
        if length > TELEGRAM_TEXT_LENGTH:
            return "message is too long"
    elif method == "sendDocument":
        if utf16_length(str(body.get("caption") or "")) > TELEGRAM_CAPTION_LENGTH:
            return "message caption is too long"
    else:
        return None
    markup = _json_field(body, "reply_markup", None)
    for row in (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []:
        for button in row:
            if not str(button.get("text", "")).strip():
                return "text buttons are unallowed in the inline keyboard"
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return "BUTTON_DATA_INVALID"
    return None
