"""No token, channel secret, webhook secret or link signature in any log line, at any level.

The whole suite's log is also searched for the test secrets when the run ends (tests/conftest.py,
pytest_sessionfinish): this file shows the check can fail, then drives the places that used to leak.
"""

from __future__ import annotations

import logging

from tests.conftest import (
    LINE_SECRET,
    LINE_TOKEN,
    SECRETS,
    SUITE_LOG,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    EveryLogLine,
)

USER = 5150


def suite_log_since(start: int) -> str:
    return "\n".join(SUITE_LOG[start:])


async def test_the_http_clients_request_lines_hold_no_token(harness):
    """httpx logs every request's URL at INFO, and a Telegram URL holds the bot token."""
    start = len(SUITE_LOG)
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    await harness.telegram_says(USER, f"/start {code}")
    await harness.line_says("Usecret", "說明")
    said = suite_log_since(start)
    assert "HTTP Request: POST" in said and "/bot<secret>/sendMessage" in said  # the lines are there, cleaned
    assert not any(secret in said for secret in SECRETS)


def test_a_secret_logged_by_anyone_is_cleaned_even_in_a_traceback(harness):
    start = len(SUITE_LOG)
    logging.getLogger("httpcore.connection").debug(
        "calling https://x/bot%s/getMe with %s", TELEGRAM_TOKEN, LINE_TOKEN
    )
    logging.getLogger("httpx").info("another bot's URL: https://x/bot987654:AAH-other_Token/getMe")
    try:
        raise RuntimeError(f"refused: secret {TELEGRAM_SECRET} and {LINE_SECRET}")
    except RuntimeError:
        logging.getLogger("somelibrary").exception("it failed")
    access = logging.getLogger(
        "uvicorn.access"
    )  # uvicorn's own logger: it does not reach the root's handlers
    handler = EveryLogLine(level=logging.DEBUG)
    access.addHandler(handler)
    level, access.level = access.level, logging.INFO
    try:
        access.info('"GET /downloads/records/1?expires=9&sig=AbC_123-x HTTP/1.1" 200')
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    said = suite_log_since(start)
    assert said.count("<secret>") >= 3 and "bot<token>" in said and "sig=<signature>" in said
    assert "RuntimeError" in said and "AbC_123" not in said and "AAH-other_Token" not in said
    assert not any(secret in said for secret in SECRETS)
