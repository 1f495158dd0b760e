"""The whole loop on LINE: link, check in, check out, hours — through the real SDK and a real server."""

from __future__ import annotations

import datetime as dt

from tests.conftest import T0


async def test_volunteer_links_checks_in_and_out_and_asks_hours(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)

    linked = await harness.line_says("Uvol1", f"綁定 {code}")
    assert "王小明" in linked[0] and "臺北市立圖書館" in linked[0]
    assert "個資" in linked[0]  # tells what is stored and why

    checked_in = await harness.line_says("Uvol1", "簽到", at=T0)
    assert "09:00" in checked_in[0]
    quick = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert [item["action"]["text"] for item in quick] == ["簽退"]

    out_at = T0 + dt.timedelta(hours=2, minutes=30)
    checked_out = await harness.line_says("Uvol1", "簽退", at=out_at)
    assert "11:30" in checked_out[0] and "2.5 小時" in checked_out[0]
    quick = harness.line_api.sent("/reply")[-1].body["messages"][0]["quickReply"]["items"]
    assert [item["action"]["text"] for item in quick] == ["時數"]

    hours = await harness.line_says("Uvol1", "時數", at=out_at)
    assert "累計：2.5 小時" in hours[0]
    assert "今年：2.5 小時" in hours[0]
    assert "本半年（1至6月）：2.5 小時" in hours[0]


async def test_answers_use_the_reply_token_while_fresh_and_push_after(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    await harness.line_says("Uvol1", f"link {code}")
    assert len(harness.line_api.sent("/reply")) == 1 and not harness.line_api.sent("/push")

    # The worker only gets to the event two minutes later: the reply token is stale, so it pushes.
    response = await harness.post_line(harness.line_event("Uvol1", "hours"))
    assert response.status_code == 200
    await harness.drain(T0 + dt.timedelta(minutes=2))
    push = harness.line_api.sent("/push")
    assert len(push) == 1 and push[0].body["to"] == "Uvol1"
    assert push[0].headers.get("X-Line-Retry-Key")
