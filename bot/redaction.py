"""No secret in any log line, at any level, from any library: every log record is cleaned as it is made.

The HTTP clients log each request's URL (httpx at INFO, httpcore at DEBUG), and a Telegram Bot API URL holds
the bot's token; uvicorn's access log holds the signatures of download and kiosk links; an exception's text
can hold either. A record factory sees every record of every logger before any handler does, so one place
covers them all: the configured secrets themselves, a token in a Telegram URL, and a link's signature.
"""

from __future__ import annotations

import logging
import re
import threading

# A Telegram bot token in a URL (`/bot123456:ABC-def/sendMessage`) and a signed link's signature (`sig=…`).
PATTERNS = (
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot<token>"),
    (re.compile(r"([?&]sig=)[^&\s\"']+"), r"\1<signature>"),
)
SHORTEST_SECRET = 6  # an empty or one-letter "secret" would blank out ordinary words

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "<secret>")
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def protect(*secrets: str | None) -> None:
    """Keeps these values (tokens, channel and webhook secrets) out of every log record from now on."""
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= SHORTEST_SECRET)
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def cleaned_record(*args, **kwargs) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a record whose arguments do not fit its message: leave it to the handler
                return record
            record.msg, record.args = redact(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(cleaned_record)
        _installed = True
