"""Telegram: secret-header check, updates to neutral Incoming, answers with sendMessage.

Only python-telegram-bot's Bot is used: no Application, so no updater and no job queue of its own.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import logging
import os
from dataclasses import dataclass, replace

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.base import Delivery, StoredEvent, split_text, text_with_link, utf16_length
from bot.channels.pacing import Pacer
from handlers.types import Button, Document, Incoming, PushTerms, Reply, ReplyTo, replies_from_json
from storage.models import OutboxMessage
from storage.vocabulary import Platform

log = logging.getLogger(__name__)

# python-telegram-bot 22.2+ emits a deprecation warning for every 429 (inside RetryAfter's own constructor)
# unless one opts in to time periods as timedelta, which `deliver` handles. The library reads this variable
# when the value is used, so setting it here is enough; an operator's own setting wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")

DOCUMENT_LIMIT = 5 * 1024 * 1024  # larger files go as their link: they would weigh on the outbox


def _real_ids(update: Update) -> bool:
    """Whether every chat and user id the update names is a number (a forged update may say "abc")."""
    for part in (update.callback_query, update.message, update.my_chat_member):
        if part is None:
            continue
        chat = (
            part.message.chat
            if isinstance(part, CallbackQuery) and part.message
            else getattr(part, "chat", None)
        )
        people = (part.from_user, chat)
        if any(
            who is not None and (not isinstance(who.id, int) or isinstance(who.id, bool)) for who in people
        ):
            return False
    return True


TEXT_LENGTH = 4096  # per message (counted here in UTF-16 units, which is never more than Telegram counts)
CAPTION_LENGTH = 1024
CALLBACK_BYTES = 64


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Inline buttons; a location button needs Telegram's reply keyboard instead (inline ones cannot share it).
    A button whose words do not fit Telegram's 64 bytes of callback data is left to `typed_words`."""
    if not buttons:
        return None
    if any(b.kind == "location" for b in buttons):
        share = [
            [KeyboardButton(b.label or "📍", request_location=True)] for b in buttons if b.kind == "location"
        ]
        return ReplyKeyboardMarkup(share, resize_keyboard=True, one_time_keyboard=True)
    rows = [[InlineKeyboardButton(b.label or b.text, callback_data=b.text)] for b in buttons if fits(b)]
    return InlineKeyboardMarkup(rows) if rows else None


def fits(button: Button) -> bool:
    return 1 <= len(button.text.encode()) <= CALLBACK_BYTES


def typed_words(buttons: list[Button]) -> str:
    """The words of the buttons Telegram cannot carry, as lines the person can type."""
    if any(b.kind == "location" for b in buttons):
        return ""
    return "\n".join(f"→ {b.text}" for b in buttons if b.text and not fits(b))


def storable(text: str) -> str:
    """The text with anything UTF-8 cannot encode (lone surrogates) replaced, so the handlers can store it."""
    return text.encode("utf-8", "replace").decode("utf-8")


def document_size(document: Document) -> int:
    return len(base64.b64decode(document.data))


class TelegramChannel:
    platform = Platform.TELEGRAM

    def __init__(self, token: str, webhook_secret: str, api_base_url: str, timeout: float):
        self._secret = webhook_secret.encode()
        self._bot = Bot(
            token,
            base_url=f"{api_base_url}/bot",
            base_file_url=f"{api_base_url}/file/bot",
            request=HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout),
        )
        self._ready = False
        self._pacer = Pacer()

    async def open(self) -> None:
        await self._ensure_ready()

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        try:
            await self._bot.initialize()  # opens the HTTP client, then asks getMe
            self._ready = True
        except TelegramError as error:
            log.warning("Telegram getMe failed, will try again: %s", error)

    async def username(self) -> str | None:
        """The bot's user name (from getMe, asked once), or None when Telegram does not answer."""
        await self._ensure_ready()
        return self._bot.username if self._ready else None

    async def close(self) -> None:
        try:
            await self._bot.shutdown()
        except TelegramError as error:
            log.warning("Telegram shutdown: %s", error)

    @staticmethod
    def fit(replies: list[Reply]) -> list[Reply]:
        """A file goes as a document up to DOCUMENT_LIMIT; a larger one stays out of the outbox, its link goes."""
        return [
            replace(reply, document=None)
            if reply.document is not None and document_size(reply.document) > DOCUMENT_LIMIT
            else reply
            for reply in replies
        ]

    async def push_terms(self) -> PushTerms:
        """No monthly quota and no multicast: each person gets their own message."""
        return PushTerms()

    def secret_ok(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self._secret)

    def event_keys(self, body: object) -> list[StoredEvent] | None:
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("update_id"), int)
            or isinstance(body["update_id"], bool)
        ):
            return None
        # ASCII escapes keep what JSON allows but UTF-8 cannot store (a lone surrogate such as \ud800).
        sender = next(
            (
                str(part["from"].get("id"))
                for part in body.values()
                if isinstance(part, dict) and isinstance(part.get("from"), dict)
            ),
            "",
        )
        return [StoredEvent(str(body["update_id"]), sender, json.dumps(body))]

    async def to_incoming(self, raw: dict, now: dt.datetime) -> Incoming | None:
        try:
            update = Update.de_json(raw, self._bot)
        except Exception as error:  # malformed update: nothing sensible to answer
            log.info("Telegram update not understood: %s", error)
            return None
        if not _real_ids(update):  # Telegram's ids are numbers: anything else names no chat to answer
            log.info("Telegram update %s names no numeric chat", update.update_id)
            return None
        if update.callback_query is not None:
            query = update.callback_query
            chat = query.message.chat if query.message else None
            if chat is None or chat.type != "private":
                return None
            await self._answer_callback(query.id)
            return Incoming(
                Platform.TELEGRAM,
                str(query.from_user.id),
                "text",
                storable(query.data or ""),
                now,
                ReplyTo(str(chat.id)),
                query.from_user.language_code,
            )
        if update.my_chat_member is not None:
            return membership_change(update)
        message = update.message
        if message is None or message.from_user is None or message.chat.type != "private":
            return None
        location = None
        if message.text is not None:
            kind, text = "text", storable(message.text)
        elif message.location is not None:
            kind, text = "location", ""
            location = (message.location.latitude, message.location.longitude)
        else:
            kind, text = "other", ""
        return Incoming(
            Platform.TELEGRAM,
            str(message.from_user.id),
            kind,
            text,
            message.date,
            ReplyTo(str(message.chat.id)),
            message.from_user.language_code,
            location,
        )

    async def _answer_callback(self, query_id: str) -> None:
        await self._ensure_ready()
        try:
            await self._bot.answer_callback_query(query_id)
        except TelegramError as error:  # only stops the button's spinner; the answer still comes
            log.info("answerCallbackQuery failed: %s", error)

    async def deliver(self, message: OutboxMessage, now: dt.datetime) -> Delivery:
        """Sends the parts of the answer not yet delivered, in order. Telegram has no idempotency key: a part
        whose outcome is unknown (a time-out, the process died with it in flight) is sent again, so a rare
        duplicate is possible; it costs nothing. A refusal (4xx) is final and logged with Telegram's reason."""
        await self._ensure_ready()
        parts = telegram_parts(replies_from_json(message.payload))
        for number in range(message.parts_sent or 0, len(parts)):
            await asyncio.sleep(self._pacer.wait_for(message.recipient))
            problem = await self._send_part(int(message.recipient), parts[number])
            if problem is not None:
                if problem.status == "failed":
                    log.warning("Telegram refused message %s: %s", message.id, problem.error)
                return replace(problem, parts_sent=number)
        return Delivery("sent", parts_sent=len(parts))

    async def _send_part(self, chat_id: int, part: Part) -> Delivery | None:
        try:
            if part.document is not None:
                await self._bot.send_document(
                    chat_id=chat_id,
                    caption=part.text or None,
                    reply_markup=part.markup,
                    document=InputFile(base64.b64decode(part.document.data), filename=part.document.name),
                )
            else:
                await self._bot.send_message(chat_id=chat_id, text=part.text, reply_markup=part.markup)
            return None
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = (
                retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)
            )
            return Delivery("retry", "Telegram answered 429", retry_after=seconds)
        except Forbidden as error:  # "bot was blocked by the user", "user is deactivated"
            return Delivery("failed", f"Telegram refused: {error}", unreachable=True)
        except (BadRequest, InvalidToken) as error:
            return Delivery("failed", f"Telegram refused: {error}")
        except (TimedOut, NetworkError) as error:
            return Delivery("retry", f"Telegram not reached: {error}")
        except TelegramError as error:  # Conflict, ChatMigrated …: another 4xx, which a retry will not mend
            return Delivery("failed", f"Telegram refused: {error!r}")


def membership_change(update: Update) -> Incoming | None:
    """The person blocked the bot (`kicked`) or unblocked it (`member`) in their private chat with it."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return None
    status = change.new_chat_member.status
    kind = {"kicked": "blocked", "member": "unblocked"}.get(status)
    if kind is None:
        return None
    return Incoming(
        Platform.TELEGRAM,
        str(change.from_user.id),
        kind,
        "",
        change.date,
        ReplyTo(str(change.chat.id)),
        change.from_user.language_code,
    )


@dataclass(frozen=True)
class Part:
    """One Telegram call of an answer: a text, or a document with its caption; the buttons go on the last."""

    text: str
    document: Document | None = None
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None


def telegram_parts(replies: list[Reply]) -> list[Part]:
    """The calls that carry an answer: its texts joined and cut at line boundaries to 4,096 units, the first
    file as a document (with the text as its caption when that fits 1,024), the buttons on the last call."""
    first = next((n for n, reply in enumerate(replies) if reply.document is not None), None)
    buttons = [button for reply in replies for button in reply.buttons]
    text = "\n\n".join(reply.text if n == first else text_with_link(reply) for n, reply in enumerate(replies))
    if extra := typed_words(buttons):
        text = f"{text}\n\n{extra}"
    markup = keyboard(buttons)
    if first is not None:
        document = replies[first].document
        if utf16_length(text) <= CAPTION_LENGTH:
            return [Part(text, document, markup)]
        return [Part(t) for t in split_text(text, TEXT_LENGTH) if t.strip()] + [Part("", document, markup)]
    texts = [t for t in split_text(text, TEXT_LENGTH) if t.strip()] or ["…"]
    return [Part(t) for t in texts[:-1]] + [Part(texts[-1], None, markup)]
