"""獎勵 on LINE as a Flex carousel (one bubble per award, bars for hours and years); text bars on Telegram."""

from __future__ import annotations

import datetime as dt

from bot.channels.line import LineChannel
from handlers.awards.progress import award_card, facts_for, progress_all, requirement_name, rules_in_store
from handlers.awards.rules import CountedMinutes, VolunteerFacts, load_rules, progress
from handlers.i18n import Catalogs
from handlers.types import Bar, Button, Card, Reply, replies_from_json, replies_to_json
from storage.db import UnitOfWork
from storage.models import AwardGrant, InviteCode
from tests.conftest import T0
from tests.test_awards_chat import prepare

TODAY = dt.date(2026, 3, 25)  # T0 in Taipei


def texts_in(component: dict) -> list[str]:
    found = [component["text"]] if component.get("type") == "text" else []
    for part in ("body", "header", "footer"):
        if isinstance(component.get(part), dict):
            found += texts_in(component[part])
    for child in component.get("contents") or ():
        found += texts_in(child)
    return found


def bar_widths(bubble: dict) -> list[str]:
    """The filled widths of the bubble's progress bars: a box whose only content is a box with a width."""
    widths = []

    def walk(component: dict) -> None:
        inner = component.get("contents") or []
        if (
            component.get("type") == "box"
            and len(inner) == 1
            and inner[0].get("type") == "box"
            and "width" in inner[0]
        ):
            widths.append(inner[0]["width"])
            return
        for child in inner:
            walk(child)

    walk(bubble["body"])
    return widths


def assert_line_flex_schema(message: dict) -> None:
    """What LINE's API checks of a Flex message (the stand-in accepts any body)."""
    assert message["type"] == "flex"
    assert 1 <= len(message["altText"]) <= 400
    assert message["contents"]["type"] == "carousel"
    bubbles = message["contents"]["contents"]
    assert 1 <= len(bubbles) <= 12
    for bubble in bubbles:
        assert bubble["type"] == "bubble" and bubble["body"]["type"] == "box"
        for width in bar_widths(bubble):
            assert width.endswith("%") and 0 <= int(width[:-1]) <= 100


def percent(fraction: float) -> str:
    return f"{round(fraction * 100)}%"


def shown_steps(harness, volunteer_id: int):
    with UnitOfWork(harness.vbot.engine)() as session:
        return progress_all(rules_in_store(session), facts_for(session, volunteer_id), TODAY)


async def test_awards_on_line_are_a_carousel_with_one_bubble_per_award_and_true_bars(harness):
    _unit, volunteer_id, code = prepare(harness, 280, trained_on=dt.date(2023, 6, 1))
    await harness.line_says("Uvol1", f"綁定 {code}")
    await harness.line_says("Uvol1", "獎勵", at=T0)
    [message] = harness.line_api.sent("/reply")[-1].body["messages"]
    assert_line_flex_schema(message)
    assert message["altText"] == "您的獎勵進度"
    assert [item["action"]["text"] for item in message["quickReply"]["items"]] == ["時數", "簽到"]

    bubbles = message["contents"]["contents"]
    steps = shown_steps(harness, volunteer_id)
    assert len(bubbles) == len(steps) >= 3
    for bubble, step in zip(bubbles, steps, strict=True):
        assert step.name("zh_TW") in texts_in(bubble)[0]  # the title names the award
        expected = [percent(step.hours_fraction)] + (
            [percent(step.years_fraction)] if step.years_needed else []
        )
        if step.years_needed and step.years_met_on is not None and step.years_met_on <= TODAY:
            expected[1] = "100%"
        assert bar_widths(bubble) == expected

    honor = next(b for b in bubbles if "志願服務榮譽卡" in texts_in(b)[0])
    # 280 of 300 hours; 3 years from 1 June 2023, on 25 March 2026 (1028 of 1096 days).
    assert bar_widths(honor) == ["93%", "94%"]
    assert "280 小時，還差 20 小時" in texts_in(honor) and "115年6月1日 滿 3 年" in texts_in(honor)
    assert all(t["size"] in ("lg", "xl") and t["wrap"] for t in _text_components(honor))


def _text_components(component: dict) -> list[dict]:
    found = [component] if component.get("type") == "text" else []
    for child in component.get("contents") or ():
        found += _text_components(child)
    return found + (_text_components(component["body"]) if "body" in component else [])


async def test_a_granted_award_bubble_says_granted_and_the_next_tier_follows(harness):
    _unit, volunteer_id, code = prepare(harness, 400, trained_on=dt.date(2019, 1, 1))
    with UnitOfWork(harness.vbot.engine)() as session:
        for award in ("performance-certificate", "mohw-welfare-bronze"):
            session.add(
                AwardGrant(
                    volunteer_id=volunteer_id,
                    award_code=award,
                    granted_on=dt.date(2024, 3, 1),
                    recorded_by="test",
                    created_at=T0,
                )
            )
        session.commit()
    await harness.line_says("Uvol1", f"綁定 {code}")
    await harness.line_says("Uvol1", "獎勵", at=T0)
    [message] = harness.line_api.sent("/reply")[-1].body["messages"]
    assert_line_flex_schema(message)
    titles = [texts_in(bubble)[0] for bubble in message["contents"]["contents"]]
    assert "✅ 志願服務績效證明書：113年3月1日 已獲頒" in titles
    bronze = titles.index("✅ 衛生福利志願服務獎勵 銅質：113年3月1日 已獲頒")
    assert "衛生福利志願服務獎勵 銀質" in titles[bronze + 1]  # the next tier, as a goal

    # Telegram shows the same as text with ▓░ bars, not a carousel.
    await harness.telegram_says(7001, "/start " + _second_code(harness, volunteer_id))
    answer = (await harness.telegram_says(7001, "/awards", at=T0))[0]
    assert "✅ 志願服務績效證明書：113年3月1日 已獲頒" in answer
    assert "衛生福利志願服務獎勵 銀質" in answer
    sent = harness.telegram_api.sent("/sendMessage")[-1].body
    assert "carousel" not in str(sent)
    number = next(line.split(".")[0] for line in answer.splitlines() if "銀質" in line)
    details = (await harness.telegram_says(7001, f"/awards {number}", at=T0))[0]
    assert "░" in details and "還差 2,000 小時" in details and "衛生福利志願服務獎勵 銀質" in details


def _second_code(harness, volunteer_id: int) -> str:
    """A fresh invite for the same volunteer, to link a Telegram chat too."""
    with UnitOfWork(harness.vbot.engine)() as session:
        session.add(
            InviteCode(code="87654321", volunteer_id=volunteer_id, expires_at=T0 + dt.timedelta(days=30))
        )
        session.commit()
    return "87654321"


def test_cards_survive_the_outbox_and_old_payloads_still_load():
    card = Card("▫️ 榮譽卡", (Bar("280 小時", 0.93), Bar("3 年", 0.5)), ("申請期限：115年5月31日",))
    reply = Reply("您的獎勵進度\n\n…", (Button("時數", "時數"),), (card,))
    assert replies_from_json(replies_to_json([reply])) == [reply]
    assert replies_from_json('[{"text": "hi", "buttons": []}]') == [Reply("hi")]


def test_more_than_twelve_cards_make_more_carousels_and_the_last_keeps_the_buttons():
    cards = tuple(Card(f"獎 {n}", (Bar("h", n / 13),)) for n in range(13))
    payload = replies_to_json([Reply("您的獎勵進度\n\nx", (Button("時數", "時數"),), cards)])
    first, second = (message.to_dict() for message in LineChannel.render(payload)[0])
    assert len(first["contents"]["contents"]) == 12 and len(second["contents"]["contents"]) == 1
    assert "quickReply" not in first and second["quickReply"]["items"][0]["action"]["text"] == "時數"
    assert bar_widths(second["contents"]["contents"][0]) == ["92%"]


def test_the_lifetime_bubble_has_a_line_for_the_age_not_a_bar():
    lifetime = next(rule for rule in load_rules() if rule.code == "taipei-lifetime")
    t = Catalogs().translator("zh_TW")
    served = VolunteerFacts(
        record_book_no="A-1",
        trained_on=dt.date(2019, 1, 1),
        cities=frozenset({"taipei"}),
        # Served in 2019: five years after turning 65 for the one born in 1950 (domain.md, corrected).
        records=(CountedMinutes(dt.date(2019, 1, 1), 700 * 60, "culture", "taipei"),),
    )

    def card(born):
        return award_card(
            t, progress(lifetime, VolunteerFacts(**{**served.__dict__, "birth_date": born}), TODAY), TODAY
        )

    soon = card(dt.date(1961, 10, 2))
    assert len(soon.bars) == 2  # hours and years
    assert [line for line in soon.lines if "65" in line and "115年10月2日" in line]
    already = card(dt.date(1950, 1, 1))
    assert already.title.startswith("🎉") and len(already.bars) == 2
    age_lines = [line for line in already.lines if "65" in line]
    assert len(age_lines) == 1 and "年" not in age_lines[0].replace("65", "")  # done: no date
    unknown = card(None)
    assert not [line for line in unknown.lines if "65" in line]
    assert t("Still needed: {items}", items=requirement_name(t, "birth_date")) in unknown.lines
