"""Every gate holds in every command: a coordinator acts only on their own units' things, even for a member the
units share; no coordinator settles their own hours; tampered links get a 4xx; invite guessing is limited
over all chat accounts."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from sqlmodel import select

from handlers.events import admin as event_admin
from handlers.events.codes import kiosk_link
from handlers.people import linking
from storage import people_store
from storage.models import ChatAccount, DeadlineDone, ServiceRecord
from storage.vocabulary import Role
from tests.test_events import fair  # noqa: F401  (the fixture)
from tests.test_reminders import local

B_NAME = "新北市立圖書館"


def records(town) -> list[ServiceRecord]:
    with town.uow() as session:
        return list(session.exec(select(ServiceRecord).order_by(ServiceRecord.id)).all())


@pytest.fixture
async def shared(fair):  # noqa: F811
    """陳美玲 (amy) serves in unit A (the fair's) and in unit B, which has its own coordinator and an event."""
    h = fair.h
    fair.b = h.add_unit(B_NAME, city="other")
    fair.b_boss = await fair.person(fair.b, line_user="Ubboss", role="coordinator", name="外單位組長")
    with fair.uow() as session:
        people_store.add_membership(session, fair.amy, fair.b, Role.VOLUNTEER)
        event = event_admin.add_event(
            session,
            h.now,
            "test",
            unit_id=fair.b,
            title="B市集",
            starts_at=local(2026, 4, 2, 8),
            ends_at=local(2026, 4, 2, 22),
            rotating_code=True,
        )
        session.commit()
        fair.b_event, fair.b_secret = event.id, event.secret
    # A 13-hour session at B waits for review; a 2-hour one at B counts.
    await h.line_says("Uamy", f"簽到 #{fair.b}", at=local(2026, 4, 2, 8), now=local(2026, 4, 2, 8))
    await h.line_says("Uamy", "簽退", at=local(2026, 4, 2, 21), now=local(2026, 4, 2, 21))
    await h.line_says("Uamy", f"簽到 #{fair.b}", at=local(2026, 4, 3, 8), now=local(2026, 4, 3, 8))
    await h.line_says("Uamy", "簽退", at=local(2026, 4, 3, 10), now=local(2026, 4, 3, 10))
    review, counted = records(fair)
    assert (review.unit_id, review.status, counted.unit_id, counted.status) == (
        fair.b,
        "review",
        fair.b,
        "counted",
    )
    fair.review, fair.counted = review.id, counted.id
    return fair


def snapshot(town) -> list[tuple]:
    with town.uow() as session:
        audit = session.execute(sa.text("SELECT count(*) FROM auditentry")).scalar()
        done = len(session.exec(select(DeadlineDone)).all())
    return [(r.id, r.unit_id, r.status, r.minutes, r.check_out) for r in records(town)] + [audit, done]


@pytest.mark.parametrize(
    "word",
    [
        "核准 #{review}",
        "作廢 #{counted}",
        "作廢 #{review}",
        "更正 #{counted} 9 加時數",
        "更正 #{review} 1 減時數",
        "完成 {b} half-year-report-h1 2026-07-10",
        "匯出 {b}",
        "匯出 {b} 2026",
        "報表 {b} 2026H1",
        "報表 {b} 2026",
        "現場",
        "審核",
        "代簽退 {amy}",
        "代簽到 {bboss}",
        "代簽退 {bboss}",
        "確認刪除 {bboss}",
    ],
)
async def test_unit_a_coordinator_cannot_touch_a_shared_members_unit_b_things(shared, word):
    h = shared.h
    before = snapshot(shared)
    text = word.format(
        review=shared.review, counted=shared.counted, b=shared.b, amy=shared.amy, bboss=shared.b_boss
    )
    at = local(2026, 4, 3, 11)
    answer = await h.line_says("Uboss", text, at=at, now=at)
    leaks = (B_NAME, "B市集", "外單位組長")
    assert answer and not any(name in a for a in answer for name in leaks), (text, answer)
    assert not any("/downloads/" in a for a in answer), (text, answer)
    assert f"#{shared.review}" not in "".join(answer) or "找不到" in answer[0], (text, answer)
    assert snapshot(shared) == before, text  # nothing changed, nothing audited


async def test_code_check_in_for_a_shared_member_opens_only_in_the_coordinators_unit(shared):
    h = shared.h
    at = local(2026, 4, 3, 11)
    answer = await h.line_says("Uboss", f"代簽到 {shared.amy}", at=at, now=at)
    assert B_NAME not in answer[0]
    opened = [r for r in records(shared) if r.status == "open"]
    assert [r.unit_id for r in opened] == [shared.unit]


async def test_a_coordinator_cannot_approve_or_correct_their_own_session_another_can(shared):
    h = shared.h
    await h.line_says("Uboss", "簽到", at=local(2026, 4, 4, 8), now=local(2026, 4, 4, 8))
    await h.line_says("Uboss", "簽退", at=local(2026, 4, 4, 21), now=local(2026, 4, 4, 21))
    own = records(shared)[-1]
    assert own.status == "review" and own.unit_id == shared.unit
    at = local(2026, 4, 5, 9)
    for text in (f"核准 #{own.id}", f"更正 #{own.id} 24 自己加時數"):
        answer = await h.line_says("Uboss", text, at=at, now=at)
        assert "另一位督導" in answer[0], answer
    assert [(r.status, r.minutes) for r in records(shared) if r.id >= own.id] == [("review", own.minutes)]
    second = await shared.person(shared.unit, line_user="Uboss2", role="coordinator", name="副組長")
    assert second
    answer = await h.line_says("Uboss2", f"核准 #{own.id}", at=at, now=at)
    assert f"#{own.id}" in answer[0] and records(shared)[-1].status == "counted"


FORGED_SIGNATURES = ["ääää", "", "%00", "0" * 5000, "'\"<>", "\u202e", "🙂", "sig&sig=x", "%FF%FE"]


async def test_tampered_download_and_kiosk_links_get_a_4xx_never_a_5xx(shared):
    h = shared.h
    at = local(2026, 4, 3, 11)
    answer = await h.line_says("Ubboss", f"匯出 {shared.b} 2026-04", at=at, now=at)
    link = re.search(r"https?://\S+", "\n".join(answer)).group(0)
    parts = urlsplit(link)
    good = f"{parts.path}?{parts.query}"
    h.now = at
    assert (await h.http.get(good)).status_code == 200
    kiosk = urlsplit(kiosk_link("", shared.b_event, shared.b_secret, int(at.timestamp()) + 3600))
    assert (await h.http.get(f"{kiosk.path}?{kiosk.query}")).status_code == 200
    tried = []
    for base in (good, f"{kiosk.path}?{kiosk.query}"):
        path, query = base.split("?")
        bare = re.sub(r"&?sig=[^&]*", "", query)
        for sig in FORGED_SIGNATURES:
            tried.append(f"{path}?{bare}&sig={quote(sig, safe='%&=')}")
        tried += [
            f"{path}?{bare}",
            f"{path}?{query}&expires=1e99",
            f"{path}?{query.replace('expires=', 'expires=-')}",
            f"{path}?{query.replace('expires=', 'expires=%EF%BC%99')}",
            f"{path}?sig=&expires=&by=",
            f"{path}?{'&'.join(['sig=a'] * 200)}",
        ]
    tried.append(f"{good}&by=%C2%B2")  # a second `by`, not a digit Python's int() reads
    tried.append(good.replace(f"/hours/{shared.b}/", "/hours/99999999999999999999999/"))
    tried.append(f"/events/{shared.b_event}/kiosk/code?expires=abc&sig=%E4")
    for url in tried:
        status = (await h.http.get(url)).status_code
        assert 400 <= status < 500, (url[:120], status)


async def test_invite_guessing_from_many_chat_accounts_pauses_linking_for_everyone_for_an_hour(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit)
    at = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)
    limit = linking.MAX_WRONG_CODES_OVERALL
    for n in range(limit):  # one guess from each of many accounts: the per-account limit never trips
        guess = f"{(n * 7919) % 10**8:08d}"
        if guess == code:
            continue
        answer = await harness.telegram_says(5_000_000 + n, f"/start {guess}", at=at, now=at)
        assert "無法使用" in answer[0]
    late = at + dt.timedelta(minutes=30)
    answer = await harness.telegram_says(5_999_999, "/start 12345678", at=late, now=late)
    assert "暫停" in answer[0]
    answer = await harness.line_says("Ureal", f"綁定 {code}", at=late, now=late)
    assert "暫停" in answer[0] and "有效" in answer[0]  # the real code is refused too, and told it stays good
    with harness.vbot.engine.connect() as connection:
        linked = connection.execute(
            sa.select(sa.func.count()).select_from(ChatAccount).where(ChatAccount.volunteer_id.is_not(None))
        ).scalar()
    assert linked == 0
    later = at + dt.timedelta(hours=1, minutes=1)  # the guesses of the last hour are below the limit again
    answer = await harness.line_says("Ureal", f"綁定 {code}", at=later, now=later)
    assert "歡迎" in answer[0]
