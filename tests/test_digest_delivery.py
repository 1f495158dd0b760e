"""Issue 14: "A digest for a coordinator of ten units with fifteen eligible volunteers each, in every language,
is delivered whole on LINE and Telegram through stand-ins that refuse what the platforms refuse."

Through the real job on a seeded database: ten Taipei health units, fifteen volunteers each who reached the
MOHW health-and-welfare award's hours; ten coordinators of all ten units, one on LINE and one on Telegram in
each language; the reminder pass run at `now` (14 days before the 31 March deadline) and delivered through the
LINE and Telegram stand-ins (tests/standins.py: over 5,000 UTF-16 units, more than 5 messages a request or over
4,096 characters on Telegram are refused). Every volunteer's line reaches every coordinator; nothing is cut.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from handlers.i18n import SHIPPED
from handlers.people import admin
from storage import people_store
from storage.models import OutboxMessage
from tests.standins import utf16_length
from tests.test_reminders import Town, local

NAMES = {  # a name in each language's script, with an emoji (2 UTF-16 units on LINE)
    "zh_TW": "王小明🌟",
    "en": "Mary Smith🌟",
    "vi": "Nguyễn Thị Hồng🌟",
    "id": "Siti Rahayu🌟",
    "th": "สมชาย ใจดี🌟",
}
UNITS, PER_UNIT = 10, 15
ALERT_DAY = local(2027, 3, 17, 9)  # 14 days before the MOHW health-and-welfare award's deadline (31 March)


def telegram_texts_to(api, chat_id: int) -> list[str]:
    return [
        call.body["text"]
        for call in api.sent("/sendMessage")
        if call.status == 200 and str(call.body.get("chat_id")) == str(chat_id)
    ]


async def test_ten_units_of_fifteen_eligible_volunteers_reach_every_coordinator_whole_in_every_language(
    harness,
):
    town = Town(harness)
    harness.now = local(2026, 3, 30, 9)  # invites made at the harness's T0 are still valid
    units = [harness.add_unit(f"臺北市立聯合醫院第{n + 1}院區", category="health") for n in range(UNITS)]
    coordinators: dict[str, tuple[str, int]] = {}  # locale → (LINE user, Telegram chat)
    for n, locale in enumerate(SHIPPED):
        line_user, chat = f"Uboss{locale}", 7100 + n
        for platform in ("line", "telegram"):
            person = await town.person(
                units[0],
                line_user=line_user if platform == "line" else None,
                telegram_user=chat if platform == "telegram" else None,
                role="coordinator",
                name=f"組長{locale}{platform}",
            )
            with town.uow() as session:
                for unit in units[1:]:
                    people_store.add_membership(session, person, unit, role="coordinator")
                account = people_store.account_for(
                    session, platform, line_user if platform == "line" else str(chat)
                )
                people_store.set_fields(session, account, {"chosen_locale": locale})
                session.commit()
        coordinators[locale] = (line_user, chat)

    names = []
    with town.uow() as session:
        for u, unit in enumerate(units):
            for p in range(PER_UNIT):
                name = f"{NAMES[SHIPPED[(u * PER_UNIT + p) % len(SHIPPED)]]} {u + 1}-{p + 1}"
                names.append(name)
                person, _ = admin.add_volunteer(
                    session,
                    harness.now,
                    "test",
                    unit_id=unit,
                    name=name,
                    invite_valid_for=dt.timedelta(days=1),
                    trained_on=dt.date(2020, 1, 1),
                )
                admin.set_volunteer(
                    session, harness.now, "test", person.id, {"record_book_no": f"北市志字第{u}{p}號"}
                )
                admin.add_hours(
                    session,
                    harness.now,
                    "test",
                    volunteer_id=person.id,
                    unit_id=unit,
                    day=dt.date(2025, 1, 5),
                    hours=1600,
                )
        session.commit()

    line_api, telegram_api = harness.line_api, harness.telegram_api
    _stored, result, _line, _telegram = await town.remind(ALERT_DAY)
    assert harness.vbot.pipeline.failed == 0
    for locale, (line_user, chat) in coordinators.items():
        line_text = "\n".join(line_api.texts_to(line_user))
        telegram_text = "\n".join(telegram_texts_to(telegram_api, chat))
        missing_line = [name for name in names if name not in line_text]
        missing_telegram = [name for name in names if name not in telegram_text]
        assert not missing_line, (locale, len(missing_line), missing_line[:3])
        assert not missing_telegram, (locale, len(missing_telegram), missing_telegram[:3])
        for n in range(UNITS):  # each unit's alert is there, in the coordinator's words
            assert (
                f"臺北市立聯合醫院第{n + 1}院區" in line_text
                and f"臺北市立聯合醫院第{n + 1}院區" in telegram_text
            )
    # The stand-ins refused nothing: every request was within the platforms' limits.
    assert all(call.status == 200 for call in line_api.sent("/push") + line_api.sent("/multicast"))
    assert all(call.status == 200 for call in telegram_api.sent("/sendMessage"))
    assert max(utf16_length(text) for text in line_api.delivered_texts()) <= 5000
    assert max(len(text) for text in telegram_api.delivered_texts()) <= 4096
    assert all(len(call.body["messages"]) <= 5 for call in line_api.sent("/push"))
    with town.uow() as session:
        assert {m.status for m in session.exec(select(OutboxMessage)).all()} == {"sent"}
    # Several messages for each coordinator: a digest of ten units' alerts is far over one message's limit.
    assert len(line_api.texts_to(coordinators["zh_TW"][0])) > 1
