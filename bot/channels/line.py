"""LINE: signature check, webhook events to neutral Incoming, replies and pushes with the v3 async client."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging

import aiohttp
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
    MulticastRequest,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UserSource,
)

from bot.channels.base import SENT, Delivery, StoredEvent, text_with_link, without_documents
from handlers.types import Button, Card, Incoming, PushTerms, Reply, ReplyTo, replies_from_json
from storage.models import OutboxMessage
from storage.vocabulary import Platform

log = logging.getLogger(__name__)

# LINE does not promise how long a reply token lives; past this we push instead (replies are free, pushes are not).
REPLY_TOKEN_LIFETIME = dt.timedelta(seconds=50)
PROFILE_CACHE_SIZE = 10_000
MAX_MESSAGES = 5  # per reply or push
MULTICAST_LIMIT = 500  # recipients per multicast call
MAX_BUBBLES = 12  # per Flex carousel
ALT_TEXT_LENGTH = 400
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

    def __init__(self, channel_secret: str, access_token: str, api_base_url: str, timeout: float):
        self._secret = channel_secret.encode()
        self._configuration = Configuration(access_token=access_token, host=api_base_url)
        self._timeout = timeout
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._languages: dict[str, str | None] = {}
        self._basic_id: str | None = None

    async def open(self) -> None:
        # The async client's aiohttp session belongs to the running loop, so it is made here, not at import.
        self._client = AsyncApiClient(self._configuration)
        self._api = AsyncMessagingApi(self._client)

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
        reply_to = ReplyTo(user_id, getattr(event, "reply_token", None))
        if isinstance(event, MessageEvent):
            location = None
            if isinstance(event.message, TextMessageContent):
                kind, text = "text", event.message.text or ""
            elif isinstance(event.message, LocationMessageContent):
                kind, text, location = "location", "", (event.message.latitude, event.message.longitude)
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
            return None  # unfollow, unsend, beacons …: nothing to say
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
        if user_id not in self._languages:
            try:
                profile = await self._api.get_profile(user_id, _request_timeout=self._timeout)
                language = profile.language
            except (TimeoutError, ApiException, aiohttp.ClientError, ValueError) as error:
                log.warning("LINE profile of %s not available: %s", user_id, error)
                return None
            if len(self._languages) >= PROFILE_CACHE_SIZE:
                self._languages.clear()
            self._languages[user_id] = language
        return self._languages[user_id]

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
        """Multicasts of up to 500, and this month's push quota with what is used of it; the quota unknown when
        LINE cannot say (the pass goes on)."""
        try:
            limit = await self._api.get_message_quota(_request_timeout=self._timeout)
            used = await self._api.get_message_quota_consumption(_request_timeout=self._timeout)
        except (ApiException, TimeoutError, aiohttp.ClientError, ValueError) as error:
            log.warning("LINE quota not read: %r", error)
            return PushTerms(multicast_limit=MULTICAST_LIMIT)
        return PushTerms(limit.value if limit.type == "limited" else None, used.total_usage, MULTICAST_LIMIT)

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
    def render(payload: str) -> list[Message]:
        """Text messages (with a file's download link); a reply with cards becomes Flex carousels of at most
        12 bubbles.

        Quick replies go on a reply's last message: LINE shows those of the last message only.
        """
        messages: list[Message] = []
        for reply in replies_from_json(payload):
            quick = None
            if reply.buttons:
                quick = QuickReply(
                    items=[QuickReplyItem(action=quick_action(button)) for button in reply.buttons[:13]]
                )
            if reply.cards:
                alt_text = (reply.text.strip().splitlines() or ["…"])[0][:ALT_TEXT_LENGTH]
                chunks = [reply.cards[i : i + MAX_BUBBLES] for i in range(0, len(reply.cards), MAX_BUBBLES)]
                parts: list[Message] = [
                    FlexMessage(
                        alt_text=alt_text, contents=FlexCarousel(contents=[bubble(card) for card in chunk])
                    )
                    for chunk in chunks
                ]
            else:
                parts = [TextMessage(text=text_with_link(reply)[:5000])]
            parts[-1].quick_reply = quick
            messages += parts
        return messages[:MAX_MESSAGES]

    async def deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery:
        messages = self.render(message.payload)
        token_fresh = bool(message.reply_token) and message.reply_token_expires_at > now
        try:
            if token_fresh:
                try:
                    await self._api.reply_message(
                        ReplyMessageRequest(reply_token=message.reply_token, messages=messages),
                        _request_timeout=self._timeout,
                    )
                except ApiException as error:
                    if error.status == 400 and message.attempts > 1:
                        # A fresh token refused on a retry was spent by our earlier attempt, which got through.
                        log.info("LINE reply token of message %s already used; counted as sent", message.id)
                        return SENT
                    raise
            elif message.recipients:
                await self._api.multicast(
                    MulticastRequest(to=json.loads(message.recipients), messages=messages),
                    x_line_retry_key=message.retry_key,
                    _request_timeout=self._timeout,
                )
            else:
                await self._api.push_message(
                    PushMessageRequest(to=message.recipient, messages=messages),
                    x_line_retry_key=message.retry_key,
                    _request_timeout=self._timeout,
                )
            return SENT
        except ApiException as error:
            if error.status == 409 and not token_fresh:
                return SENT  # the retry key was accepted before: LINE delivered it already
            if error.status == 429 or (error.status or 0) >= 500:
                return Delivery("retry", f"LINE answered {error.status}")
            return Delivery("failed", f"LINE answered {error.status}: {(error.body or '')[:200]}")
        except (TimeoutError, aiohttp.ClientError) as error:
            return Delivery("retry", f"LINE not reached: {error!r}")


def quick_action(button: Button):
    if button.kind == "location":
        return LocationAction(label=button.label[:20])
    return MessageAction(label=button.label[:20], text=button.text[:300])


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
