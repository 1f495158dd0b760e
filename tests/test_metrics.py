"""/metrics as an operator's Prometheus reads it: figures that move as events are handled, and nobody
else reads them. The operations issue; CONTRACT.md, HTTP."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import T0

TOKEN = "metrics-token-for-the-test"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(harness) -> dict[tuple[str, tuple], float]:
    response = await harness.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_move_as_events_are_handled(harness_factory):
    harness = await harness_factory(metrics_token=TOKEN)
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    await harness.line_says("Umetrics1", f"綁定 {code}")
    before = await scrape(harness)
    assert before[("vbot_inbox_waiting", ())] == 0
    assert before[("vbot_outbox_messages", (("platform", "line"), ("status", "sent")))] == 1

    # A check-in stored but not yet processed: the inbox shows it waiting, and how long.
    harness.now = T0 + dt.timedelta(minutes=1)
    response = await harness.post_line(harness.line_event("Umetrics1", "簽到", harness.now))
    assert response.status_code == 200
    harness.now = T0 + dt.timedelta(minutes=1, seconds=30)
    waiting = await scrape(harness)
    assert waiting[("vbot_inbox_waiting", ())] == 1
    assert waiting[("vbot_inbox_oldest_waiting_seconds", ())] == 30
    webhooks = waiting[("vbot_webhook_seconds_count", (("platform", "line"),))]
    assert webhooks == before[("vbot_webhook_seconds_count", (("platform", "line"),))] + 1

    await harness.drain(harness.now)
    after = await scrape(harness)
    assert after[("vbot_inbox_waiting", ())] == 0
    assert after[("vbot_outbox_messages", (("platform", "line"), ("status", "sent")))] == 2

    await harness.vbot.remind(harness.now)
    passed = await scrape(harness)
    assert passed[("vbot_reminder_pass_seconds_count", ())] == 1


async def test_metrics_are_refused_without_the_token_or_an_allowed_address(harness_factory):
    closed = await harness_factory(metrics_token=TOKEN)
    assert (await closed.http.get("/metrics")).status_code == 403
    wrong = await closed.http.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 403 and "vbot_" not in wrong.text
    odd = await closed.http.get("/metrics", headers={"Authorization": "Bearer \u00e9\u00e9".encode()})
    assert odd.status_code == 403

    nobody = await harness_factory()  # neither a token nor addresses configured: nobody reads it
    assert (await nobody.http.get("/metrics")).status_code == 403

    local = await harness_factory(metrics_allow=("127.0.0.0/8",))
    assert (await local.http.get("/metrics")).status_code == 200
    elsewhere = await harness_factory(metrics_allow=("10.0.0.0/8",))
    assert (await elsewhere.http.get("/metrics")).status_code == 403
