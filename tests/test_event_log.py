"""One log line per event the worker works off, as an operator reads it from a running `vbot serve` with
`VBOT_LOG_FORMAT=json`: the event's id, platform, kind, outcome and time taken, never what the person
wrote, their name or a secret. The operations issue (issue 18: "one line per event handled with its id
and outcome, no personal text")."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import httpx

from tests.conftest import LINE_SECRET, LINE_TOKEN, SECRETS, sign
from tests.test_cli import clean_env
from tests.test_deploy import initialise_with_one_volunteer
from tests.test_serve import free_port, until_listening

SECRET_WORDS = "我住在信義路五段7號"  # what a person might write; the log must never hold it


def line_event(number: int, user: str, text: str) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1_790_000_000_000 + number,
        "source": {"type": "user", "userId": user},
        "webhookEventId": f"01EVENTLOG{number:04d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"event-log-token-{number}",
        "message": {"id": str(number), "type": "text", "text": text, "quoteToken": "q"},
    }


async def test_a_line_webhook_handled_end_to_end_logs_one_json_line_per_event(tmp_path, line_api):
    port = free_port()
    env = clean_env(
        VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'vbot.db'}",
        VBOT_PUBLIC_URL="https://vbot.example.gov.tw",
        VBOT_LOG_FORMAT="json",
        LINE_CHANNEL_SECRET=LINE_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        LINE_API_BASE_URL=line_api.url,
    )
    init = [sys.executable, "-m", "bot", "init"]
    code = await asyncio.to_thread(initialise_with_one_volunteer, tmp_path, env, init)

    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        serve = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-scheduler"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
                await until_listening(http)
                bind = line_event(1, "Ueventlog", f"綁定 {code}")
                body = json.dumps({"destination": "U0", "events": [bind]}).encode()
                for _ in range(2):  # LINE redelivers: the event is stored, handled and logged once
                    answer = await http.post(
                        "/webhooks/line", content=body, headers={"X-Line-Signature": sign(body)}
                    )
                    assert answer.status_code == 200
                await asyncio.wait_for(line_api.arrived.wait(), timeout=20)
                line_api.arrived.clear()
                words = line_event(2, "Ueventlog", SECRET_WORDS)
                body = json.dumps({"destination": "U0", "events": [words]}).encode()
                answer = await http.post(
                    "/webhooks/line", content=body, headers={"X-Line-Signature": sign(body)}
                )
                assert answer.status_code == 200
                await asyncio.wait_for(line_api.arrived.wait(), timeout=20)
            assert "王小明" in line_api.delivered_texts()[0], "the binding was answered: the event really ran"
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), timeout=30)

    said = log_path.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in said.splitlines()]  # every line is one JSON object
    events = [entry for entry in entries if entry["logger"] == "vbot.events"]
    handled = [entry for entry in events if entry["outcome"] != "duplicate"]
    # The redelivery was dropped as it arrived, in one line naming the event stored before.
    assert [(e["event"], e["platform"], e["level"]) for e in events if e not in handled] == [
        (1, "line", "INFO")
    ]
    assert [(e["event"], e["platform"], e["kind"], e["outcome"], e["attempt"]) for e in handled] == [
        (1, "line", "text", "done", 1),
        (2, "line", "text", "done", 1),
    ]
    assert all(isinstance(e["ms"], int | float) and 0 <= e["ms"] < 10_000 for e in handled)
    assert all(e["level"] == "INFO" and "outcome=done" in e["message"] for e in handled)
    # Nothing the person wrote, no name, no invite code, no secret anywhere in the service's log.
    for private in (SECRET_WORDS, "信義路", "王小明", code, "Ueventlog", *SECRETS):
        assert private not in said, private


async def test_an_event_that_cannot_be_read_is_logged_as_retried_then_failed(harness, caplog):
    """A stored payload the worker cannot read: each turn is one line, a retry, until it gives up."""
    import datetime as dt
    import logging

    from bot.channels.base import StoredEvent
    from bot.pipeline import MAX_PROCESSING_ATTEMPTS

    caplog.set_level(logging.INFO, logger="vbot.events")
    now = harness.now
    await harness.vbot.pipeline.store("line", [StoredEvent("broken-1", "Ubroken", "{not json")], now)
    for turn in range(MAX_PROCESSING_ATTEMPTS):
        await harness.vbot.pipeline.process_inbox_once(now + dt.timedelta(hours=turn))
    lines = [record for record in caplog.records if record.name == "vbot.events"]
    outcomes = [(record.fields["outcome"], record.fields["kind"], record.levelname) for record in lines]
    assert outcomes == [("retry", "none", "WARNING")] * (MAX_PROCESSING_ATTEMPTS - 1) + [
        ("failed", "none", "WARNING")
    ]
    assert [record.fields["attempt"] for record in lines] == list(range(1, MAX_PROCESSING_ATTEMPTS + 1))


def inbox_rows(harness) -> list[tuple[int, str]]:
    from sqlmodel import select

    from storage.db import UnitOfWork
    from storage.models import InboxEvent

    with UnitOfWork(harness.vbot.engine)() as session:
        return [(row.id, row.platform) for row in session.exec(select(InboxEvent).order_by(InboxEvent.id))]


def duplicate_lines(caplog) -> list[tuple]:
    return [
        (record.fields["event"], record.fields["platform"], record.fields["outcome"], record.levelname)
        for record in caplog.records
        if record.name == "vbot.events" and record.fields["outcome"] == "duplicate"
    ]


async def test_a_redelivered_line_webhook_is_logged_once_as_a_duplicate_and_stored_once(harness, caplog):
    """LINE redelivers an event (same webhookEventId, isRedelivery true) when our 200 did not reach it:
    the inbox drops the copy as it arrives, and the operator's log says so in one line, without the text."""
    import logging

    caplog.set_level(logging.INFO, logger="vbot.events")
    first = harness.line_event("Uredelivered", SECRET_WORDS)
    again = first | {"deliveryContext": {"isRedelivery": True}}
    assert (await harness.post_line(first)).status_code == 200
    assert duplicate_lines(caplog) == []  # the first delivery is no duplicate
    assert (await harness.post_line(again)).status_code == 200

    [(stored_id, platform)] = inbox_rows(harness)
    assert (stored_id, platform) == (stored_id, "line")
    assert duplicate_lines(caplog) == [(stored_id, "line", "duplicate", "INFO")]
    [line] = [
        r.getMessage() for r in caplog.records if getattr(r, "fields", {}).get("outcome") == "duplicate"
    ]
    assert line == f"inbox event dropped on arrival: event={stored_id} platform=line outcome=duplicate"
    said = caplog.text
    for private in (SECRET_WORDS, "Uredelivered", first["webhookEventId"]):
        assert private not in said, private

    await harness.drain(harness.now)  # handled once: one answer
    assert len(harness.line_api.delivered_texts()) == 1


async def test_copies_arriving_together_are_stored_once_and_each_copy_logged(harness, caplog):
    """Copies that reach the bot at the same moment are stored in one statement: one row, and one
    duplicate line for every copy beyond the first."""
    import asyncio
    import logging

    caplog.set_level(logging.INFO, logger="vbot.events")
    first = harness.line_event("Utogether", "簽到")
    other = harness.line_event("Uother", "簽到")
    answers = await asyncio.gather(
        harness.post_line(first), harness.post_line(first), harness.post_line(other), harness.post_line(first)
    )
    assert [answer.status_code for answer in answers] == [200] * 4
    rows = inbox_rows(harness)
    assert len(rows) == 2
    ids = {stored_id for stored_id, _platform in rows}
    lines = duplicate_lines(caplog)
    assert len(lines) == 2 and {event for event, *_ in lines} <= ids and len({e for e, *_ in lines}) == 1


def test_the_inbox_tells_which_events_of_a_batch_it_dropped(database_url):
    """Stored before, new, and the same key twice in one batch: each copy dropped is named by the id of the
    event kept, and every new event is stored once (SQLite reads back the rows inserted; PostgreSQL
    returns them)."""
    import datetime as dt

    from sqlmodel import select

    from storage import queue_store
    from storage.db import UnitOfWork, make_engine, migrate
    from storage.models import InboxEvent

    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    now = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)

    def store(*keys: tuple[str, str]) -> list[tuple[int | None, str]]:
        with uow() as session:
            dropped = queue_store.store_inbox_events(
                session, [(platform, key, "U1", "{}", now) for platform, key in keys]
            )
            session.commit()
            return dropped

    try:
        assert store(("line", "A"), ("telegram", "A"), ("line", "B")) == []
        with uow() as session:
            ids = {(e.platform, e.event_key): e.id for e in session.exec(select(InboxEvent))}
        dropped = store(
            ("line", "C"), ("line", "A"), ("line", "D"), ("line", "C"), ("line", "B"), ("telegram", "E")
        )
        with uow() as session:
            stored = {(e.platform, e.event_key): e.id for e in session.exec(select(InboxEvent))}
        assert sorted(stored) == sorted([*ids, ("line", "C"), ("line", "D"), ("telegram", "E")])
        assert sorted(dropped) == sorted(
            [(ids["line", "A"], "line"), (ids["line", "B"], "line"), (stored["line", "C"], "line")]
        )
        assert store(("telegram", "A")) == [(ids["telegram", "A"], "telegram")]
    finally:
        engine.dispose()
