"""取消 right after the deletion question takes the deletion back, never a shift (issue 16)."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import Session, select

from handlers.i18n import Catalogs
from storage.models import Notification
from tests.conftest import T0


async def people(harness) -> int:
    unit = harness.add_unit()
    _, boss = harness.add_volunteer(unit, name="李督導", role="coordinator")
    await harness.line_says("Uboss", f"綁定 {boss}")
    volunteer, code = harness.add_volunteer(unit, name="王小明")
    await harness.line_says("Udel", f"綁定 {code}")
    return volunteer


def delete_requests(harness) -> list[Notification]:
    with Session(harness.vbot.engine) as session:
        return list(session.exec(select(Notification).where(Notification.job == "delete-request")).all())


async def coordinators_hear(harness, at: dt.datetime) -> list[str]:
    before = len(harness.line_api.texts_to("Uboss"))
    harness.now = at
    await harness.vbot.remind(at)
    await harness.drain(at)
    return harness.line_api.texts_to("Uboss")[before:]


async def test_cancel_right_after_the_deletion_question_keeps_the_data_and_touches_no_shift(harness):
    await people(harness)
    asked = await harness.line_says("Udel", "刪除我的資料")
    assert "確定要刪除" in asked[0]
    [answer] = await harness.line_says("Udel", "取消", at=T0 + dt.timedelta(minutes=1))
    assert "沒有刪除" in answer and "班次" not in answer
    assert delete_requests(harness) == []
    # The question is answered: a second 取消 means a shift again.
    [again] = await harness.line_says("Udel", "取消", at=T0 + dt.timedelta(minutes=2))
    assert "班次" in again


async def test_cancel_right_after_sending_the_request_withdraws_it(harness):
    volunteer = await people(harness)
    await harness.line_says("Udel", "刪除我的資料")
    sent = await harness.line_says("Udel", "刪除我的資料 確定", at=T0 + dt.timedelta(minutes=1))
    assert "確認" in sent[0] and len(delete_requests(harness)) == 1
    [answer] = await harness.line_says("Udel", "取消", at=T0 + dt.timedelta(minutes=2))
    assert "撤回" in answer and "沒有刪除" in answer
    assert delete_requests(harness) == []
    heard = await coordinators_hear(harness, T0 + dt.timedelta(minutes=3))
    assert not any("王小明" in text for text in heard), "the coordinators are not asked any more"
    refused = await harness.line_says("Uboss", f"確認刪除 {volunteer}", at=T0 + dt.timedelta(minutes=4))
    assert "沒有要求刪除" in refused[0]


async def test_cancel_long_after_the_question_is_about_shifts_again(harness):
    await people(harness)
    await harness.line_says("Udel", "刪除我的資料")
    [answer] = await harness.line_says("Udel", "取消", at=T0 + dt.timedelta(hours=1))
    assert "班次" in answer and "刪除" not in answer


async def test_cancel_and_no_in_other_languages_take_it_back_on_telegram(harness):
    unit = harness.add_unit()
    for user, language, word in ((601, "en", "cancel"), (602, "vi", "giữ lại"), (603, "th", "ไม่")):
        _, code = harness.add_volunteer(unit, name="Nguyen")
        update = harness.telegram_update(user, f"/start {code}", language=language)
        await harness.post_telegram(update)
        await harness.drain(T0)
        await harness.post_telegram(harness.telegram_update(user, "/mydata", language=language))
        await harness.drain(T0)
        before = len(harness.telegram_api.delivered_texts())
        markup = json.loads(harness.telegram_api.sent("/sendMessage")[-1].body["reply_markup"])
        delete_word = markup["inline_keyboard"][-1][0]["callback_data"]  # the last button: delete my data
        await harness.post_telegram(harness.telegram_update(user, delete_word, language=language))
        await harness.drain(T0)
        await harness.post_telegram(harness.telegram_update(user, word, language=language))
        await harness.drain(T0)
        answer = harness.telegram_api.delivered_texts()[before:]
        assert len(answer) == 2, (language, answer)
        kept = Catalogs().translator(language)("Nothing was deleted. Your data stays as it is.")
        assert answer[1] == kept, (language, answer)
    assert delete_requests(harness) == []


async def test_a_sticker_answers_a_sticker_on_line_with_the_everyday_buttons_under_it(harness):
    await people(harness)
    sticker = {
        "type": "sticker",
        "id": "9001",
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
        "quoteToken": "q",
    }
    await harness.post_line(harness.line_event("Udel", message=sticker))
    await harness.drain(harness.now)
    [text, answered] = harness.line_api.sent("/reply")[-1].body["messages"]
    assert "謝謝您" in text["text"] and "王小明" in text["text"]
    assert answered["type"] == "sticker" and (answered["packageId"], answered["stickerId"]) == (
        "11537",
        "52002734",
    )
    assert [i["action"]["text"] for i in answered["quickReply"]["items"]] == ["簽到", "時數", "說明"]
    # A picture gets the warm word only.
    picture = {"type": "image", "id": "9002", "contentProvider": {"type": "line"}, "quoteToken": "q"}
    await harness.post_line(harness.line_event("Udel", message=picture))
    await harness.drain(harness.now)
    assert [m["type"] for m in harness.line_api.sent("/reply")[-1].body["messages"]] == ["text"]
