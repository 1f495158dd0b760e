"""An event's check-in codes and its kiosk link: pure functions of the event's secret and of `now`.

One secret per event both derives the rotating code and signs the kiosk link. Each use hashes its own
prefix, so neither value can be passed off as the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import unicodedata

# Digits 2-9 and capitals without I and O: nothing to mistake for 0/O or 1/I on a printed poster, and
# 32**6 (about a billion) codes rather than the million of six digits. The poster code is unique across
# all events and stays valid for the whole event, so guessing one must stay hopeless.
POSTER_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
POSTER_CODE_LENGTH = 6
ROTATING_CODE_DIGITS = 6
ROTATING_WINDOW_SECONDS = 60


def new_event_secret() -> str:
    return secrets.token_hex(16)


def new_event_code() -> str:
    """A poster code, in capitals (the chat should upper-case what people type). It always holds a letter,
    so the chat can tell it from a rotating code, which is six digits."""
    while True:
        code = "".join(secrets.choice(POSTER_CODE_ALPHABET) for _ in range(POSTER_CODE_LENGTH))
        if not code.isdigit():
            return code


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _since_epoch(moment: dt.datetime) -> dt.timedelta:
    if moment.tzinfo is None:  # a naive time would silently be read as UTC or as the machine's local time
        raise ValueError("moment must be timezone-aware")
    return moment - EPOCH  # exact to the microsecond, unlike a float timestamp at a window's edge


def code_window(moment: dt.datetime, window_seconds: int = ROTATING_WINDOW_SECONDS) -> int:
    """The number of the window `moment` falls in; windows start at multiples of window_seconds since 1970."""
    return _since_epoch(moment) // dt.timedelta(seconds=window_seconds)


def seconds_left_in_window(moment: dt.datetime, window_seconds: int = ROTATING_WINDOW_SECONDS) -> int:
    """Whole seconds, rounded up, until the code shown at `moment` changes (1 to window_seconds)."""
    window_end = dt.timedelta(seconds=(code_window(moment, window_seconds) + 1) * window_seconds)
    return math.ceil((window_end - _since_epoch(moment)).total_seconds())


def _code_of_window(secret: str, window: int) -> str:
    # HOTP's dynamic truncation (RFC 4226) over HMAC-SHA256 of the window number.
    digest = hmac.new(
        secret.encode(), b"rotating-code:" + window.to_bytes(8, "big", signed=True), hashlib.sha256
    ).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**ROTATING_CODE_DIGITS).zfill(ROTATING_CODE_DIGITS)


def rotating_code(secret: str, moment: dt.datetime, window_seconds: int = ROTATING_WINDOW_SECONDS) -> str:
    """The six digits a kiosk shows at `moment`: a screenshot of them is useless a window later."""
    return _code_of_window(secret, code_window(moment, window_seconds))


def rotating_code_accepted(
    secret: str, code: str, now: dt.datetime, window_seconds: int = ROTATING_WINDOW_SECONDS
) -> bool:
    """The code of the current window or of the previous one (someone who scanned just before the change)."""
    window = code_window(now, window_seconds)
    # NFKC: a Chinese keyboard may type full-width digits (１２３). Bytes: compare_digest refuses a str
    # with characters outside ASCII.
    given = unicodedata.normalize("NFKC", code).strip().encode()
    matches = [hmac.compare_digest(given, _code_of_window(secret, w).encode()) for w in (window, window - 1)]
    return any(matches)  # both compared before deciding, so the time taken tells nothing


def kiosk_signature(secret: str, event_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"kiosk:{event_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def kiosk_link(public_url: str, event_id: int, secret: str, expires: int) -> str:
    """The kiosk page's address, good until `expires` (Unix seconds)."""
    signature = kiosk_signature(secret, event_id, expires)
    return f"{public_url.rstrip('/')}/events/{event_id}/kiosk?expires={expires}&sig={signature}"


def kiosk_link_valid(secret: str, event_id: int, expires: int, sig: str, now: dt.datetime) -> bool:
    expected = kiosk_signature(secret, event_id, expires).encode()
    signed = hmac.compare_digest(sig.encode(), expected)
    return signed and _since_epoch(now) // dt.timedelta(seconds=1) < expires
