"""LINE: signature check, webhook events to neutral Incoming, replies and pushes with the v3 async client."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import functools
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexCarousel,
    FlexMessage,
    FlexText,
    LocationAction,
    Message,
    MessageAction,
    QuickReply,
    QuickReplyItem,
    StickerMessage,
    TextMessage,
)
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)
from yarl import URL

from bot.channels.base import (
    Delivery,
    StoredEvent,
    split_text,
    text_with_link,
    utf16_length,
    without_documents,
)
from handlers.types import Button, Card, Incoming, PushTerms, Reply, ReplyTo, replies_from_json
from storage.models import OutboxMessage
from storage.vocabulary import Platform

log = logging.getLogger(__name__)

# LINE does not promise how long a reply token lives; past this we push instead (replies are free, pushes are not).
REPLY_TOKEN_LIFETIME = dt.timedelta(seconds=50)
PROFILE_CACHE_SIZE = 10_000
MAX_MESSAGES = 5  # per reply or push request; a longer answer goes as several requests
MULTICAST_LIMIT = 500  # recipients per multicast call
MAX_BUBBLES = 12  # per Flex carousel
CAROUSEL_BYTES = 50_000  # LINE's limit on a carousel's JSON
TEXT_LENGTH = 5000  # UTF-16 units per text message
MAX_QUICK_REPLIES = 13
LABEL_LENGTH = 20
ALT_TEXT_LENGTH = 400  # LINE allows 1,500; the first line of the answer is enough
# Calls made while a person waits (their language) wait this long at most; the lookup may go on behind.
PROFILE_WAIT_SECONDS = 1.0
PROFILE_FAILURE_MEMORY_SECONDS = 300  # a failed lookup is not tried again for this long
PROFILE_SLOW_SECONDS = 60  # after a lookup outlived its wait, nobody waits for one for this long
QUOTA_TIMEOUT_SECONDS = 3.0
RETRY_AFTER_LIMIT_SECONDS = 3600
# Stickers a bot may send (LINE's list of stickers for the Messaging API), by the mood a reply asks for.
STICKERS = {"thanks": ("11537", "52002734")}
# Flex cards: large text that follows the size a person set in LINE (a third of the volunteers are 65+).
BAR_FILLED = "#2E7D32"
BAR_EMPTY = "#D9D9D9"


def timestamp_or(milliseconds, now: dt.datetime) -> dt.datetime:
    """LINE's event time, or `now` when it is missing or absurd (the time-of-record rule then uses `now`)."""
    try:
        return dt.datetime.fromtimestamp(milliseconds / 1000, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now


class LineChannel:
    platform = Platform.LINE

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        api_base_url: str,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._secret = channel_secret.encode()
        self._configuration = Configuration(access_token=access_token, host=api_base_url)
        self._timeout = timeout
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._clock = clock
        self._languages: dict[str, str | None] = {}
        self._failed_lookups: dict[str, float] = {}  # user id → when their lookup failed
        self._lookups: dict[str, asyncio.Task] = {}  # lookups under way, one per person
        self._profiles_slow_until = 0.0
        self._basic_id: str | None = None

    async def open(self) -> None:
        # The async client's aiohttp session belongs to the running loop, so it is made here, not at import.
        self._client = AsyncApiClient(self._configuration)
        self._api = AsyncMessagingApi(self._client)
        _proxy_looked_up_once(self._client, self._configuration.host)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def signature_ok(self, body: bytes, signature: str) -> bool:
        """HMAC-SHA256 of the raw bytes, as LINE signs them; compared in constant time."""
        expected = base64.b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
        return hmac.compare_digest(expected, signature.encode("ascii", "replace"))

    def event_keys(self, body: object) -> list[StoredEvent] | None:
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            return None
        if not all(isinstance(event, dict) for event in body["events"]):
            return None
        keys = []
        for event in body["events"]:
            # A redelivery repeats webhookEventId and the event, with only deliveryContext changed.
            content = {k: v for k, v in event.items() if k != "deliveryContext"}
            digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
            # ASCII escapes keep what JSON allows but UTF-8 cannot store (a lone surrogate such as \ud800).
            source = event.get("source") if isinstance(event.get("source"), dict) else {}
            sender = str(source.get("userId") or source.get("groupId") or source.get("roomId") or "")
            keys.append(StoredEvent(f"{event.get('webhookEventId', '')}:{digest}", sender, json.dumps(event)))
        return keys

    async def to_incoming(self, raw: dict, now: dt.datetime) -> Incoming | None:
        try:
            event = Event.from_dict(raw)
        except Exception as error:  # the SDK rejects types it does not know
            log.info("LINE event not understood (%s): %s", raw.get("type"), error)
            return await self._unknown_message(raw, now)
        if not isinstance(getattr(event, "source", None), UserSource) or not event.source.user_id:
            return None  # groups and rooms: the bot only talks one to one
        user_id = event.source.user_id
        sent_at = timestamp_or(event.timestamp, now)
        if isinstance(event, UnfollowEvent):  # blocked: no profile to ask for, nothing to answer
            return Incoming(Platform.LINE, user_id, "blocked", "", sent_at, ReplyTo(user_id))
        reply_to = ReplyTo(user_id, getattr(event, "reply_token", None))
        if isinstance(event, MessageEvent):
            location = None
            if isinstance(event.message, TextMessageContent):
                kind, text = "text", event.message.text or ""
            elif isinstance(event.message, LocationMessageContent):
                kind, text, location = "location", "", (event.message.latitude, event.message.longitude)
            elif isinstance(event.message, StickerMessageContent):
                kind, text = "sticker", ""
            else:
                kind, text = "other", ""
            return Incoming(
                Platform.LINE,
                user_id,
                kind,
                text,
                sent_at,
                reply_to,
                await self._language_of(user_id),
                location,
            )
        elif isinstance(event, PostbackEvent):
            kind, text = "text", event.postback.data or ""
        elif isinstance(event, FollowEvent):
            kind, text = "follow", ""
        else:
            return None  # unsend, beacons …: nothing to say
        return Incoming(
            Platform.LINE, user_id, kind, text, sent_at, reply_to, await self._language_of(user_id)
        )

    async def _unknown_message(self, raw: dict, now: dt.datetime) -> Incoming | None:
        """A message of a kind the SDK does not know yet, from a person: still worth a short help answer."""
        source = raw.get("source")
        user_id = source.get("userId") if isinstance(source, dict) and source.get("type") == "user" else None
        token = raw.get("replyToken")
        # Only with a reply token: answering costs nothing then, while a push for a malformed event would.
        if (
            raw.get("type") != "message"
            or not isinstance(user_id, str)
            or not user_id
            or not isinstance(token, str)
        ):
            return None
        reply_to = ReplyTo(user_id, token)
        sent_at = timestamp_or(raw.get("timestamp"), now)
        return Incoming(
            Platform.LINE, user_id, "other", "", sent_at, reply_to, await self._language_of(user_id)
        )

    async def _language_of(self, user_id: str) -> str | None:
        """The person's LINE language, without holding up the worker: a known answer at once; else a lookup
        waited for at most PROFILE_WAIT_SECONDS (none while lookups are known to be slow, or for a person
        whose lookup failed lately), which goes on behind and fills the cache for their next message.
        None (the default language) when it is not known in time."""
        if user_id in self._languages:
            return self._languages[user_id]
        now = self._clock()
        failed = self._failed_lookups.get(user_id)
        if failed is not None and now - failed < PROFILE_FAILURE_MEMORY_SECONDS:
            return None
        lookup = self._lookups.get(user_id)
        if lookup is None:
            lookup = asyncio.create_task(self._look_up_language(user_id))
            self._lookups[user_id] = lookup
        if now < self._profiles_slow_until:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(lookup), min(PROFILE_WAIT_SECONDS, self._timeout))
        except TimeoutError:
            log.warning("LINE profile lookups are slow: answering in the default language for a while")
            self._profiles_slow_until = self._clock() + PROFILE_SLOW_SECONDS
            return None

    async def _look_up_language(self, user_id: str) -> str | None:
        try:
            profile = await self._api.get_profile(user_id, _request_timeout=self._timeout)
        except Exception as error:  # an outage, a time-out or an answer the SDK's models refuse
            log.warning("LINE profile of %s not available: %r", user_id, error)
            self._failed_lookups[user_id] = self._clock()
            if len(self._failed_lookups) >= PROFILE_CACHE_SIZE:
                self._failed_lookups.clear()
            return None
        finally:
            self._lookups.pop(user_id, None)
        self._failed_lookups.pop(user_id, None)
        self._profiles_slow_until = 0.0
        if len(self._languages) >= PROFILE_CACHE_SIZE:
            self._languages.clear()
        self._languages[user_id] = profile.language
        return profile.language

    async def basic_id(self) -> str | None:
        """The bot's LINE ID (`@123abcde`), asked once: the kiosk's QR codes open the chat with it."""
        if self._basic_id is None:
            try:
                info = await self._api.get_bot_info(_request_timeout=self._timeout)
                self._basic_id = info.basic_id
            except (ApiException, TimeoutError, aiohttp.ClientError, ValueError) as error:
                log.warning("LINE bot info not read: %r", error)
        return self._basic_id

    async def push_terms(self) -> PushTerms:
        """Multicasts of up to 500, and this month's push quota with what is used of it. Every answer LINE
        documents is read: a limited plan (`{"type": "limited", "value": N}`), none (`{"type": "none"}`: no
        monthly limit); when LINE cannot say in QUOTA_TIMEOUT_SECONDS (an error, a time-out, an answer its
        models refuse) the quota is unknown and the pass goes on (a push beyond the month's limit is refused
        with 429 and shows as failed)."""
        wait = min(QUOTA_TIMEOUT_SECONDS, self._timeout)
        try:
            limit = await self._api.get_message_quota(_request_timeout=wait)
            if limit.type != "limited" or limit.value is None:
                return PushTerms(multicast_limit=MULTICAST_LIMIT)
            used = await self._api.get_message_quota_consumption(_request_timeout=wait)
            return PushTerms(limit.value, used.total_usage, MULTICAST_LIMIT)
        except Exception as error:  # noqa: BLE001  (the pass must go on whatever LINE answers)
            log.warning("LINE quota not read: %r", error)
            return PushTerms(multicast_limit=MULTICAST_LIMIT)

    @staticmethod
    def fit(replies: list[Reply]) -> list[Reply]:
        """LINE cannot receive files from a bot: a reply's file stays out of the outbox, its link goes."""
        return without_documents(replies)

    async def link_rich_menu(self, user_id: str, menu_id: str | None) -> None:
        """Links a rich menu to one person, or with None unlinks theirs (they then see the default menu).
        Raises ApiException, TimeoutError or aiohttp.ClientError: bot/line_menus.py retries later."""
        if menu_id is None:
            await self._api.unlink_rich_menu_id_from_user(user_id, _request_timeout=self._timeout)
        else:
            await self._api.link_rich_menu_id_to_user(user_id, menu_id, _request_timeout=self._timeout)

    @staticmethod
    def render(payload: str) -> list[list[Message]]:
        """The requests that carry a stored answer, each of at most 5 messages: texts cut at line boundaries
        to 5,000 UTF-16 units, cards as Flex carousels of at most 12 bubbles and 50 KB. Nothing is cut off:
        what needs more than one request goes as several.

        Quick replies go on a reply's last message (LINE shows those of the last message only), at most 13;
        the words of any further buttons are listed at the end of its text instead."""
        return [
            [_message_model(message, buttons) for message, buttons in request]
            for request in _rendered(payload)
        ]

    @staticmethod
    def request_messages(payload: str) -> list[list[dict]]:
        """render()'s requests as the JSON the SDK sends: a text's built directly, and the quick replies of
        each set of buttons turned into JSON once a process (the same few follow most answers)."""
        return [
            [_message_json(message, buttons) for message, buttons in request]
            for request in _rendered(payload)
        ]

    async def deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery:
        """Sends the requests of the answer not yet delivered, in order. LINE's semantics, per request:

        - a reply: free, no retry key. 2xx: delivered. 429: not taken (waits for Retry-After). A 5xx is
          LINE saying it failed: not taken. No answer (a time-out, a dropped connection, the process died
          with it in flight): in doubt, and the reply is tried again with the same token, stale or not
          (free). "Invalid reply token": after an attempt in doubt, that attempt used the token, so it counts
          as delivered (no push); otherwise the token was spent or expired unused: pushed at once.
        - a push or multicast: carries X-Line-Retry-Key (one per request); 409 means LINE took it before.
        Any other 4xx is a refusal of the content: failed, with LINE's reason (never the text) in the log."""
        requests = self.request_messages(message.payload)
        done = message.parts_sent or 0
        in_doubt = bool(message.in_doubt)
        token_spent = False
        for part in range(done, len(requests)):
            use_token = part == 0 and bool(message.reply_token) and not token_spent
            use_token = use_token and (message.reply_token_expires_at > now or in_doubt)
            outcome = await self._send_part(message, part, requests[part], use_token, in_doubt)
            if outcome == "token refused":
                token_spent = True
                outcome = await self._send_part(message, part, requests[part], False, False)
            if isinstance(outcome, Delivery):
                return Delivery(
                    outcome.status,
                    outcome.error,
                    outcome.retry_after,
                    parts_sent=part,
                    in_doubt=outcome.in_doubt if use_token and not token_spent else False,
                    token_spent=token_spent,
                )
            in_doubt = False
        return Delivery("sent", parts_sent=len(requests), in_doubt=False, token_spent=token_spent)

    async def _send_part(
        self, message: OutboxMessage, part: int, messages: list[dict], reply: bool, in_doubt: bool
    ) -> Delivery | str | None:
        """None when LINE took the request, "token refused", or the Delivery that says why not."""
        try:
            if reply:
                await self._post(
                    "/v2/bot/message/reply",
                    {"replyToken": message.reply_token, "messages": messages, "notificationDisabled": False},
                )
            elif message.recipients:
                await self._post(
                    "/v2/bot/message/multicast",
                    {
                        "to": json.loads(message.recipients),
                        "messages": messages,
                        "notificationDisabled": False,
                    },
                    part_key(message.retry_key, part),
                )
            else:
                await self._post(
                    "/v2/bot/message/push",
                    {"to": message.recipient, "messages": messages, "notificationDisabled": False},
                    part_key(message.retry_key, part),
                )
            return None
        except ApiException as error:
            return refusal(message, error, reply, in_doubt)
        except aiohttp.ClientConnectorError as error:  # never connected: LINE did not see it
            return Delivery("retry", f"LINE not reached: {error!r}", in_doubt=in_doubt)
        except (TimeoutError, aiohttp.ClientError) as error:  # sent, but no answer: it may have been taken
            return Delivery("retry", f"LINE did not answer: {error!r}", in_doubt=True)

    async def _post(self, path: str, body: dict, retry_key: str | None = None) -> None:
        """Sends a message request through line-bot-sdk's client (its authentication, its HTTP session, an
        answer other than 2xx raised as ApiException), as its reply_message, push_message and multicast do,
        less what costs most of a call: checking the arguments against its models and reading LINE's answer
        into them (nothing in it is used), and walking the body, which holds JSON types only (_Ready)."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if retry_key:
            headers["X-Line-Retry-Key"] = retry_key
        await self._client.call_api(  # type: ignore[union-attr]
            path,
            "POST",
            header_params=headers,
            body=_Ready(body),
            response_types_map={},
            auth_settings=["Bearer"],
            _request_timeout=self._timeout,
        )


class _Ready(dict):
    """A request body of JSON types only (str, int, bool, None, lists and dicts of them), which the SDK's
    call_api need not walk: it walks a body only when it is true (`if body: body =
    sanitize_for_serialization(body)`: a copy of every dict and list, ~30 µs for an everyday answer), and its
    rest client then writes any body as json.dumps(body), which reads a dict subclass as a dict. Were the SDK
    to walk every body, this one would still be sent the same, only slower."""

    def __bool__(self) -> bool:
        return False


def _rendered(payload: str) -> list[list[tuple[Message | str, tuple[Button, ...]]]]:
    """render()'s requests, each message (a text as its str) with the buttons of its quick replies (none but
    on a reply's last message)."""
    messages: list[tuple[Message | str, tuple[Button, ...]]] = []
    for reply in replies_from_json(payload):
        extra = "\n".join(
            f"→ {button.text}" for button in reply.buttons[MAX_QUICK_REPLIES:] if button.kind != "location"
        )
        if reply.cards:
            parts: list[Message | str] = [
                *carousels(reply),
                *(split_text(extra, TEXT_LENGTH) if extra else []),
            ]
        else:
            text = text_with_link(reply) + (f"\n\n{extra}" if extra else "")
            parts = [part or "…" for part in split_text(text, TEXT_LENGTH)]
        if reply.sticker in STICKERS:
            package, sticker = STICKERS[reply.sticker]
            parts.append(StickerMessage(package_id=package, sticker_id=sticker))
        messages += [(part, ()) for part in parts[:-1]] + [(parts[-1], reply.buttons)]
    return [messages[i : i + MAX_MESSAGES] for i in range(0, len(messages), MAX_MESSAGES)] or [[]]


def _message_model(message: Message | str, buttons: tuple[Button, ...]) -> Message:
    model = TextMessage(text=message) if isinstance(message, str) else message
    model.quick_reply = quick_reply(buttons)[0]
    return model


def _message_json(message: Message | str, buttons: tuple[Button, ...]) -> dict:
    """The message's JSON, as _message_model(…).to_dict() gives it."""
    found = {"type": "text", "text": message} if isinstance(message, str) else message.to_dict()
    quick = _quick_reply_json(buttons)
    if quick is not None:
        found["quickReply"] = quick
    return found


@functools.lru_cache(maxsize=1024)
def _quick_reply_json(buttons: tuple[Button, ...]) -> dict | None:
    quick, _extra = quick_reply(buttons)
    return quick.to_dict() if quick is not None else None


def _proxy_looked_up_once(client: AsyncApiClient, host: str) -> None:
    """line-bot-sdk's HTTP session reads the proxy settings from the environment on every request
    (aiohttp's trust_env; measured ~0.3 ms of CPU a call). Read once here instead: a proxy the environment
    names for LINE's host (HTTPS_PROXY, NO_PROXY, …) is still used, given to the session explicitly."""
    rest = client.rest_client
    if not rest.proxy:
        try:
            proxy, auth = get_env_proxy_for_url(URL(host))
        except LookupError:
            pass
        else:
            rest.proxy = str(proxy.with_user(auth.login).with_password(auth.password) if auth else proxy)
    environment_reading = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(connector=environment_reading.connector, trust_env=False)
    environment_reading.detach()  # the connector (the pool of connections) now belongs to the new session


def part_key(retry_key: str, part: int) -> str:
    """The X-Line-Retry-Key of one request of a message (a UUID, as LINE requires; the first is the row's)."""
    return retry_key if part == 0 else str(uuid.uuid5(uuid.UUID(retry_key), str(part)))


def refusal(
    message: OutboxMessage, error: ApiException, reply: bool, in_doubt: bool
) -> Delivery | str | None:
    status = error.status or 0
    body = error.body or ""
    if reply and status == 400 and "invalid reply token" in body.lower():
        if in_doubt:
            log.info(
                "LINE reply token of message %s used by the attempt in doubt; counted as sent", message.id
            )
            return None
        log.info("LINE reply token of message %s refused; pushing instead", message.id)
        return "token refused"
    if status == 409 and not reply:
        return None  # the retry key was accepted before: LINE took it already
    if status == 429 and "monthly limit" not in body.lower():
        return Delivery("retry", "LINE answered 429", retry_after=retry_after(error), in_doubt=in_doubt)
    if status >= 500:
        return Delivery("retry", f"LINE answered {status}", in_doubt=in_doubt)
    log.warning("LINE refused message %s (%s): %s", message.id, status, body[:300])
    return Delivery("failed", f"LINE answered {status}: {body[:300]}", in_doubt=in_doubt)


def retry_after(error: ApiException) -> float | None:
    """LINE's Retry-After header in seconds (a number or an HTTP date), at most an hour."""
    value = (error.headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (moment - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_LIMIT_SECONDS)


def quick_reply(buttons: tuple[Button, ...]) -> tuple[QuickReply | None, str]:
    """At most 13 quick-reply buttons; the words of the others as lines to add to the text."""
    if not buttons:
        return None, ""
    shown, rest = buttons[:MAX_QUICK_REPLIES], buttons[MAX_QUICK_REPLIES:]
    quick = QuickReply(items=[QuickReplyItem(action=quick_action(button)) for button in shown])
    return quick, "\n".join(f"→ {button.text}" for button in rest if button.kind != "location")


def carousels(reply: Reply) -> list[Message]:
    """The reply's cards as Flex carousels of at most 12 bubbles and CAROUSEL_BYTES of JSON."""
    alt_text = cut_utf16((reply.text.strip().splitlines() or ["…"])[0], ALT_TEXT_LENGTH) or "…"
    groups: list[list[FlexBubble]] = [[]]
    size = 0
    for card in reply.cards:
        one = bubble(card)
        weight = len(one.to_json().encode()) + 1
        if groups[-1] and (len(groups[-1]) == MAX_BUBBLES or size + weight > CAROUSEL_BYTES - 100):
            groups.append([])
            size = 0
        groups[-1].append(one)
        size += weight
    return [FlexMessage(alt_text=alt_text, contents=FlexCarousel(contents=group)) for group in groups]


def cut_utf16(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` UTF-16 units (for labels, which LINE shows short)."""
    while utf16_length(text) > limit:
        text = text[:-1]
    return text


def quick_action(button: Button):
    label = cut_utf16(button.label or button.text, LABEL_LENGTH) or "…"
    if button.kind == "location":
        return LocationAction(label=label)
    return MessageAction(label=label, text=button.text[:300])


def big_text(text: str, size: str = "lg", **style) -> FlexText:
    return FlexText(text=text, size=size, wrap=True, scaling=True, **style)


def progress_bar(fraction: float) -> FlexBox:
    """A grey track with a green box filling `fraction` of its width (LINE's flex percentages)."""
    percent = round(min(1.0, max(0.0, fraction)) * 100)
    filled = FlexBox(
        layout="vertical", contents=[], width=f"{percent}%", height="14px", background_color=BAR_FILLED
    )
    return FlexBox(
        layout="vertical",
        contents=[filled],
        height="14px",
        background_color=BAR_EMPTY,
        corner_radius="7px",
        margin="sm",
    )


def bubble(card: Card) -> FlexBubble:
    contents: list = [big_text(card.title[:500], size="xl", weight="bold")]
    for bar in card.bars:
        contents.append(
            FlexBox(
                layout="vertical",
                margin="lg",
                contents=[big_text(bar.label[:500]), progress_bar(bar.fraction)],
            )
        )
    contents += [big_text(line[:500], margin="lg") for line in card.lines]
    return FlexBubble(size="mega", body=FlexBox(layout="vertical", spacing="md", contents=contents))
