"""Keeping under a platform's sending limits: token buckets that say how long to wait before a message."""

from __future__ import annotations

import time
from collections.abc import Callable


class Bucket:
    """`rate` messages a second on average, bursts of up to `burst`. Taking a token from an empty bucket
    reserves the next one: the answer is how long to wait for it."""

    def __init__(self, rate: float, burst: float, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, now

    def take(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


class Pacer:
    """Telegram's limits: about 30 messages a second in all, and one a second to one chat (short bursts
    allowed: a person's quick questions are answered at once). Beyond them Telegram answers 429."""

    MAX_CHATS = 10_000  # chat buckets kept; full ones are forgotten first

    def __init__(
        self,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        chat_burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock
        self._all = Bucket(per_second, per_second, clock())
        self._chat_rate, self._chat_burst = per_chat_per_second, chat_burst
        self._chats: dict[str, Bucket] = {}

    def wait_for(self, chat: str) -> float:
        """Takes a slot for one message to `chat`; returns the seconds to wait before sending it."""
        now = self._clock()
        if chat not in self._chats:
            if len(self._chats) >= self.MAX_CHATS:
                self._chats = {c: b for c, b in self._chats.items() if not b.full(now)}
            self._chats[chat] = Bucket(self._chat_rate, self._chat_burst, now)
        return max(self._all.take(now), self._chats[chat].take(now))
