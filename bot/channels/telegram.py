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
from dataclasses import replace

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

from bot.channels.base import SENT, Delivery, StoredEvent, text_with_link
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
    for part in (update.callback_query, update.message):
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


def keyboard(buttons: list[Button]):
    """Inline buttons; a location button needs Telegram's reply keyboard instead (inline ones cannot share it)."""
    if not buttons:
        return None
    if any(b.kind == "location" for b in buttons):
        rows = [[KeyboardButton(b.label, request_location=True)] for b in buttons if b.kind == "location"]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.text[:64])] for b in buttons])


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
        await self._ensure_ready()
        replies = replies_from_json(message.payload)
        # The first file goes as a document; any other reply shows its download link instead.
        first = next((n for n, reply in enumerate(replies) if reply.document is not None), None)
        text = "\n\n".join(
            reply.text if n == first else text_with_link(reply) for n, reply in enumerate(replies)
        )[:4096]
        buttons = [button for reply in replies for button in reply.buttons]
        markup = keyboard(buttons)
        await asyncio.sleep(self._pacer.wait_for(message.recipient))
        try:
            if (
                first is not None
            ):  # the file, with the text as its caption (Telegram allows 1,024 characters there)
                document = replies[first].document
                await self._bot.send_document(
                    chat_id=int(message.recipient),
                    caption=text[:1024],
                    reply_markup=markup,
                    document=InputFile(base64.b64decode(document.data), filename=document.name),
                )
                return SENT
            await self._bot.send_message(chat_id=int(message.recipient), text=text, reply_markup=markup)
            return SENT
        except RetryAfter as error:
            retry_after = error.retry_after
            seconds = (
                retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else float(retry_after)
            )
            return Delivery("retry", "Telegram answered 429", retry_after=seconds)
        except (BadRequest, Forbidden, InvalidToken) as error:
            return Delivery("failed", f"Telegram refused: {error}")
        except (TimedOut, NetworkError) as error:
            return Delivery("retry", f"Telegram not reached: {error}")
        except TelegramError as error:  # Conflict, ChatMigrated …: another 4xx, which a retry will not mend
            return Delivery("failed", f"Telegram refused: {error!r}")
