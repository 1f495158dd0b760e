"""Telegram's sending limits, on a clock the test moves: no sleeping."""

from bot.channels.pacing import Pacer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_burst_to_many_chats_is_spread_to_30_a_second():
    clock = Clock()
    pacer = Pacer(clock=clock)
    waits = [pacer.wait_for(str(chat)) for chat in range(90)]
    assert waits[:30] == [0.0] * 30  # a full bucket: the first 30 go at once
    assert abs(waits[59] - 1.0) < 1e-9 and abs(waits[89] - 2.0) < 1e-9
    assert all(later >= earlier for earlier, later in zip(waits, waits[1:], strict=False))


def test_one_chat_gets_a_short_burst_then_one_message_a_second():
    clock = Clock()
    pacer = Pacer(clock=clock)
    waits = [pacer.wait_for("42") for _ in range(6)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert [round(w, 6) for w in waits[3:]] == [1.0, 2.0, 3.0]
    assert pacer.wait_for("43") == 0.0  # another chat is not held up by this one
    clock.now += 60
    assert pacer.wait_for("42") == 0.0  # after a quiet minute the burst is back


def test_forgetting_idle_chats_keeps_the_busy_ones():
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.MAX_CHATS = 3
    for chat in ("a", "b", "c"):
        pacer.wait_for(chat)
    for _ in range(4):
        pacer.wait_for("c")  # c has messages waiting
    clock.now += 2  # a and b have their burst back; c not
    pacer.wait_for("d")
    assert pacer.wait_for("c") > 0  # c's reservations were kept: it still waits its turn
    assert pacer.wait_for("a") == 0.0
