"""The coordinator console in a real headless Chromium (Debian's, driven by selenium), with the bot's chats
on the LINE stand-in: sign in from the link the chat sent, approve a visit and see it in 時數, a new invite
used on LINE, an event with a shift and its poster, the live board changing after a LINE check-in, 登出."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil

import pytest
from sqlmodel import select

from handlers.events import admin as event_admin
from storage.db import UnitOfWork
from storage.models import Event, Shift
from tests.conftest import T0
from tests.test_console import ROSTER, add_review_record, chat_link, coordinator
from tests.test_kiosk import chromium_or_skip
from tests.test_kiosk import open_chromium as open_kiosk_chromium

PHONE = (390, 844)  # an everyday phone's CSS pixels: LINE's in-app browser shows the page this wide


def open_phone_chromium(profile_dir, size=PHONE):
    """test_kiosk's Chromium, in Chinese, with a phone's viewport."""
    driver = open_kiosk_chromium(profile_dir, size, "--lang=zh-TW")
    # A window cannot be narrower than Chromium's minimum; a phone's viewport is emulated, as DevTools does.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 2, "mobile": True},
    )
    return driver


class Browser:
    """The selenium calls, each in a thread so that the bot's server keeps answering."""

    def __init__(self, driver, base_url: str):
        self.driver, self.base_url = driver, base_url

    async def get(self, path: str) -> None:
        await asyncio.to_thread(self.driver.get, self.base_url + path)

    async def text(self, css: str = "body") -> str:
        """The element's text, once the page that has it has loaded (a click's answer may still be coming)."""
        from selenium.webdriver.common.by import By

        found = await self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, css), 5)
        return await asyncio.to_thread(lambda: found[0].text)

    async def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        await asyncio.to_thread(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def type(self, css: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        await asyncio.to_thread(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(text))

    async def set(self, css: str, value: str) -> None:
        """Date and time inputs: their typed form depends on the browser's locale, their value does not."""
        await asyncio.to_thread(
            self.driver.execute_script,
            "document.querySelector(arguments[0]).value = arguments[1]",
            css,
            value,
        )

    async def wait(self, condition, seconds: float):
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def settled():
            try:
                return condition()
            except WebDriverException as error:
                # Chromium's other word for a stale element, when the page is replaced as it is read.
                if "does not belong to the document" in (error.msg or ""):
                    return False
                raise

        # The page may be replaced between finding an element and reading it (a form's answer arriving).
        waiting = WebDriverWait(
            self.driver, seconds, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        return await asyncio.to_thread(waiting.until, lambda _: settled())

    async def fetch_head(self, path: str) -> dict:
        """What the browser downloads from a link of the page (with its cookie): status, type, first bytes."""
        script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: "same-origin"}).then(r => r.arrayBuffer().then(b => done({
          status: r.status, type: r.headers.get("content-type"),
          head: Array.from(new Uint8Array(b).slice(0, 8)), size: b.byteLength})));
        """
        return await asyncio.to_thread(self.driver.execute_async_script, script, path)


@pytest.fixture
async def chromium(tmp_path):
    chromium_or_skip()
    driver = await asyncio.to_thread(open_phone_chromium, tmp_path / "profile")
    yield driver
    await asyncio.to_thread(driver.quit)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_coordinators_morning_in_the_console(harness, chromium, tmp_path):
    h = harness
    unit = h.add_unit()
    await coordinator(h, unit)
    member, code = h.add_volunteer(unit, "王小明")
    await h.line_says("Umember", f"綁定 {code}")
    record = add_review_record(h, member, unit, minutes=150)
    browser = Browser(chromium, h.base_url)

    # Signing in: the link the bot sent on LINE, opened in the browser, lands on Today.
    await browser.get(await chat_link(h, "Ucoord"))
    await browser.click("#sign-in")
    await browser.wait(lambda: chromium.current_url == f"{h.base_url}/console/u/{unit}/today", 5)
    today = await browser.text("main")
    assert "今日" in today and "115年3月25日" in today and f"#{record} 王小明" in today
    # The page fits a phone: nothing wider than the screen but the tables, which scroll on their own.
    width = await asyncio.to_thread(chromium.execute_script, "return document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    shot = tmp_path / "today.png"
    await asyncio.to_thread(chromium.save_screenshot, str(shot))
    inner = await asyncio.to_thread(chromium.execute_script, "return window.innerWidth")
    assert inner == PHONE[0]
    if os.environ.get("VBOT_CONSOLE_SCREENSHOT"):
        shutil.copy(shot, os.environ["VBOT_CONSOLE_SCREENSHOT"])

    # 核准 in place: the volunteer's hours count it.
    assert "累計：2.5" not in (await h.line_says("Umember", "時數"))[0]  # waiting, not counted yet
    await browser.click(f"#approve-{record}")
    note = await browser.wait(lambda: chromium.find_element("css selector", ".note").text, 5)
    assert f"#{record}" in note
    assert f"#{record} 王小明" not in await browser.text("main")
    assert "累計：2.5" in (await h.line_says("Umember", "時數"))[0]

    # A new volunteer, a new invite code, linked with it on LINE.
    await browser.get(f"/console/u/{unit}/volunteers")
    await browser.type("#new-name", "張美玲")
    await browser.type("#new-phone", "0912345678")
    await browser.click("form.stack button[type=submit]")
    await browser.wait(lambda: "張美玲" in chromium.find_element("css selector", "h1").text, 5)
    added_note = await browser.text(".note")  # the code made with the person
    await browser.click("#new-invite")
    note = await browser.wait(
        lambda: "新邀請碼" in (text := chromium.find_element("css selector", ".note").text) and text, 5
    )
    assert re.search(r"\d{8}", added_note).group(0) != re.search(r"\d{8}", note).group(0)
    invite = re.search(r"\d{8}", note).group(0)
    assert "張美玲" in note
    assert "歡迎" in (await h.line_says("Unew", f"綁定 {invite}"))[0]

    # An event with a shift, its poster.
    await browser.get(f"/console/u/{unit}/events")
    await browser.type("#ev-title", "大稻埕淨灘")
    await browser.set("#ev-day", "2026-03-25")
    await browser.set("#ev-starts", "08:00")
    await browser.set("#ev-ends", "12:00")
    await browser.click("form.stack button[type=submit]")
    await browser.wait(lambda: "大稻埕淨灘" in chromium.find_element("css selector", "h1").text, 5)
    await browser.type("#sh-post", "報到處")
    await browser.set("#sh-starts", "08:30")
    await browser.set("#sh-ends", "12:00")
    await browser.type("#sh-capacity", "5")
    await browser.click("form.stack button[type=submit]")
    await browser.wait(lambda: chromium.find_elements("css selector", "a[id^=live-]"), 5)
    poster = await browser.fetch_head(f"/console/u/{unit}/events/{event_id(h)}/poster")
    assert poster["status"] == 200 and poster["type"] == "image/png", poster
    assert poster["head"] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] and poster["size"] > 10_000
    pdf = await browser.fetch_head(f"/console/u/{unit}/events/{event_id(h)}/poster?as=pdf")
    assert pdf["status"] == 200 and bytes(pdf["head"][:5]) == b"%PDF-"

    # The live board: 王小明 on the roster, then checking in on LINE shows within 5 s, without a reload.
    shift_id, event_code = shift_and_code(h)
    with UnitOfWork(h.vbot.engine)() as session:
        event_admin.add_to_roster(session, T0, "test", shift_id, member)
        session.commit()
    await browser.click(f"#live-{shift_id}")
    await browser.wait(lambda: chromium.find_element("css selector", "#n-missing").text == "1", 5)
    await asyncio.to_thread(chromium.execute_script, "window.notReloaded = true")
    answer = await h.line_says("Umember", f"簽到 {event_code}", at=T0 + dt.timedelta(minutes=5))
    assert "報到處" in answer[0]
    await browser.wait(lambda: chromium.find_element("css selector", "#n-present").text == "1", 5)
    assert await browser.text("#present") == "王小明"
    assert await browser.text("#n-missing") == "0"
    assert await asyncio.to_thread(chromium.execute_script, "return window.notReloaded === true")

    # A roster with one bad row: the preview names it by its line and changes nothing, then one click imports.
    roster = tmp_path / "名冊.csv"
    roster.write_bytes(ROSTER)
    await browser.get(f"/console/u/{unit}/import")
    await browser.type("#roster", str(roster))
    await browser.click("form[enctype] button[type=submit]")
    figures = await browser.wait(lambda: chromium.find_element("css selector", "#import-figures").text, 5)
    assert "新增：1" in figures and "有錯誤：1" in figures
    assert "林大同" not in await browser.text("main")
    await browser.click("#import-confirm")
    await browser.wait(lambda: "已匯入" in chromium.find_element("css selector", "main").text, 5)
    assert "林大同" in await browser.text("main")

    # 登出: the next page is refused.
    await browser.click("#sign-out")
    assert "登出" in await browser.text("#refused")
    await browser.get(f"/console/u/{unit}/today")
    assert "管理" in await browser.text("#refused")

    errors = [
        entry["message"]
        for entry in await asyncio.to_thread(chromium.get_log, "browser")
        if entry["level"] == "SEVERE" and " 403 " not in entry["message"]
    ]
    assert errors == []


def event_id(h) -> int:
    with UnitOfWork(h.vbot.engine)() as session:
        return session.exec(select(Event)).one().id


def shift_and_code(h) -> tuple[int, str]:
    with UnitOfWork(h.vbot.engine)() as session:
        shift = session.exec(select(Shift)).one()
        return shift.id, session.get(Event, shift.event_id).code


async def downloaded(browser: Browser, folder, suffix: str) -> bytes:
    """The file Chromium saved into `folder`, once its download has finished (no .crdownload left)."""

    def finished():
        names = [p.name for p in folder.iterdir()]
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        return done[0] if done and not any(n.endswith(".crdownload") for n in names) else None

    return (await browser.wait(finished, 10)).read_bytes()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_merge_edit_a_shift_cards_xlsx_and_a_form_error_in_zh_tw(harness, chromium, tmp_path):
    import io

    from openpyxl import load_workbook

    from tests.test_console import add_event_with_shift, set_phone

    h = harness
    unit = h.add_unit()
    await coordinator(h, unit)
    kept, code = h.add_volunteer(unit, "王小明")
    await h.line_says("Umember", f"綁定 {code}")
    removed, _ = h.add_volunteer(unit, "王小明")
    set_phone(h, kept, "0922333444")
    set_phone(h, removed, "0922333444")
    record = add_review_record(h, removed, unit, minutes=150)
    h.add_volunteer(unit, "林大同")  # not linked: gets a card
    event, shift = add_event_with_shift(h, unit, "大稻埕淨灘", T0 + dt.timedelta(days=1))
    folder = tmp_path / "downloads"
    folder.mkdir()
    await asyncio.to_thread(
        chromium.execute_cdp_cmd,
        "Page.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(folder)},
    )
    browser = Browser(chromium, h.base_url)
    await browser.get(await chat_link(h, "Ucoord"))
    await browser.click("#sign-in")
    await browser.wait(lambda: chromium.current_url.endswith("/today"), 5)

    # Two rows of one person (the same phone), merged: the hours move to the one kept, linked on LINE.
    await browser.get(f"/console/u/{unit}/volunteers")
    await browser.click("#duplicates")
    assert "電話相同" in await browser.text("main")
    await browser.click(f"#keep-{kept}-remove-{removed}")
    note = await browser.wait(lambda: chromium.find_element("css selector", ".note").text, 5)
    assert "併入" in note and "1 筆" in note
    assert f"#{kept}" in await browser.text("h1")
    with UnitOfWork(h.vbot.engine)() as session:
        from storage.models import ServiceRecord

        session.exec(select(ServiceRecord).where(ServiceRecord.id == record)).one().status = "counted"
        session.commit()
    assert "累計：2.5" in (await h.line_says("Umember", "時數"))[0]

    # Editing a shift: a form error in zh_TW beside its field, the values kept; then saved, and its roster.
    await browser.get(f"/console/u/{unit}/events/{event}")
    await browser.click(f"#edit-shift-{shift}")
    await browser.wait(lambda: chromium.find_elements("css selector", "#shift-capacity"), 5)
    chromium.find_element("css selector", "#shift-post").clear()
    await browser.type("#shift-post", "報到處")
    await browser.set("#shift-starts", "12:00")
    await browser.set("#shift-ends", "11:00")
    await browser.click("#save-shift")
    error = await browser.text("#shift-ends-error")
    assert error == "結束時間必須晚於開始時間。"
    value = chromium.find_element("css selector", "#shift-post").get_attribute("value")
    assert value == "報到處"
    assert chromium.find_element("css selector", "#shift-ends").get_attribute("aria-invalid") == "true"
    await browser.set("#shift-ends", "15:00")
    chromium.find_element("css selector", "#shift-capacity").clear()
    await browser.type("#shift-capacity", "8")
    await browser.click("#save-shift")
    await browser.wait(lambda: "已儲存" in chromium.find_element("css selector", ".note").text, 5)
    assert "0／8" in await browser.text("main") or "0 of 8" in await browser.text("main")
    await browser.type("#roster-volunteer", f"#{kept}")
    await browser.click("#roster-add")
    await browser.wait(lambda: chromium.find_elements("css selector", f"#roster-{kept}"), 5)
    await browser.click(f"#remove-{kept}")
    await browser.wait(lambda: not chromium.find_elements("css selector", f"#roster-{kept}"), 5)
    with UnitOfWork(h.vbot.engine)() as session:
        changed = session.get(Shift, shift)
        assert (changed.post, changed.capacity, changed.taken) == ("報到處", 8, 0)

    # The printable invite cards of everyone not yet linked, downloaded.
    await browser.get(f"/console/u/{unit}/volunteers")
    await browser.click("#all-cards")
    pdf = await downloaded(browser, folder, ".pdf")
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000

    # The hours of the period as XLSX, downloaded.
    await browser.get(f"/console/u/{unit}/hours")
    await browser.click("#export-xlsx")
    sheet = load_workbook(io.BytesIO(await downloaded(browser, folder, ".xlsx"))).active
    cells = [str(row) for row in sheet.iter_rows(values_only=True)]
    assert len(cells) == 2 and "王小明" in cells[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_corrections_and_the_roster_upload_show_their_error_beside_the_field(
    harness, chromium, tmp_path
):
    """更正 on Today with a bad time, then without a reason; 更正 on a person's page; a roster that cannot be
    read: each error beside its field, in the page's language, the values typed kept, nothing changed."""
    from selenium.webdriver.support.ui import Select

    from storage.models import ServiceRecord

    h = harness
    unit = h.add_unit()
    await coordinator(h, unit)
    member, code = h.add_volunteer(unit, "王小明")
    await h.line_says("Umember", f"綁定 {code}")
    record = add_review_record(h, member, unit, minutes=150)
    other = add_review_record(h, member, unit, minutes=60)
    browser = Browser(chromium, h.base_url)
    await browser.get(await chat_link(h, "Ucoord"))
    await browser.click("#sign-in")
    await browser.wait(lambda: chromium.current_url.endswith("/today"), 5)

    def statuses() -> list[str]:
        with UnitOfWork(h.vbot.engine)() as session:
            rows = session.exec(select(ServiceRecord).order_by(ServiceRecord.id)).all()
            return [row.status for row in rows]

    # A time that is no time: beside the hours of this record's form, the reason kept.
    await browser.type(f"#hours-{record}", "25")
    await browser.type(f"#reason-{record}", "忘記簽退")
    await browser.click(f"#record-{record} form.correct button[type=submit]")
    assert await browser.text(f"#hours-{record}-error") == "時數必須在 0 到 24 之間。"
    assert chromium.find_element("css selector", f"#hours-{record}").get_attribute("aria-invalid") == "true"
    assert chromium.find_element("css selector", f"#reason-{record}").get_attribute("value") == "忘記簽退"
    assert chromium.find_element("css selector", f"#hours-{record}").get_attribute("value") == "25"
    assert not chromium.find_elements("css selector", f"#hours-{other}-error")  # the other form is untouched
    assert not chromium.find_elements("css selector", ".note")  # no banner: the error is where it belongs
    assert statuses() == ["review", "review"]

    # No reason: beside the reason. Then both right: corrected.
    chromium.find_element("css selector", f"#hours-{record}").clear()
    await browser.type(f"#hours-{record}", "2")
    chromium.find_element("css selector", f"#reason-{record}").clear()
    await browser.click(f"#record-{record} form.correct button[type=submit]")
    assert await browser.text(f"#reason-{record}-error") == "請填寫更正的原因。"
    assert chromium.find_element("css selector", f"#hours-{record}").get_attribute("value") == "2"
    assert statuses() == ["review", "review"]
    await browser.type(f"#reason-{record}", "忘記簽退")
    await browser.click(f"#record-{record} form.correct button[type=submit]")
    await browser.wait(lambda: f"#{record}" in chromium.find_element("css selector", ".note").text, 5)
    assert statuses() == ["void", "review", "counted"]

    # The same on the person's page, in English (the language chosen on the page).
    await browser.get(f"/console/u/{unit}/volunteers/{member}")
    await asyncio.to_thread(
        lambda: Select(chromium.find_element("css selector", "#lang")).select_by_value("en")
    )
    await browser.click("footer form.inline button[type=submit]")
    await browser.wait(lambda: "Volunteers" in chromium.find_element("css selector", "main").text, 5)
    await browser.get(f"/console/u/{unit}/volunteers/{member}")
    assert "Correct a record" in await browser.text("main")
    await asyncio.to_thread(
        lambda: Select(chromium.find_element("css selector", "#fix-record")).select_by_value(str(other))
    )
    await browser.type("#fix-hours", "1.5")
    await browser.click("#fix-title + form button[type=submit]")
    assert await browser.text("#fix-reason-error") == "Please give the reason for the correction."
    assert chromium.find_element("css selector", "#fix-hours").get_attribute("value") == "1.5"
    kept = Select(chromium.find_element("css selector", "#fix-record")).first_selected_option
    assert kept.get_attribute("value") == str(other)
    assert statuses() == ["void", "review", "counted"]

    # A roster that is no roster: beside the file field, in English.
    broken = tmp_path / "roster.xlsx"
    broken.write_bytes(b"not a workbook")
    await browser.get(f"/console/u/{unit}/import")
    await browser.type("#roster", str(broken))
    await browser.click("#upload-title + form button[type=submit]")
    assert await browser.text("#roster-error") == "The roster file is not a readable .xlsx workbook."
    assert chromium.find_element("css selector", "#roster").get_attribute("aria-invalid") == "true"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_award_list_on_a_phone_by_keyboard(harness, chromium):
    """Awards on a phone: the summary per award, one award's people 50 a page; the next page and a grant
    reached with the keyboard alone (Tab to it, Enter), large targets, nothing wider than the screen."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from tests.test_eligibility import person

    h = harness
    unit = h.add_unit()
    await coordinator(h, unit)
    today, trained = T0.date(), T0.date() - dt.timedelta(days=500)
    with UnitOfWork(h.vbot.engine)() as session:
        for n in range(52):
            person(session, unit, f"齊全{n:02d}", 150, trained=trained, on=today - dt.timedelta(days=30))
        session.commit()
    browser = Browser(chromium, h.base_url)
    await browser.get(await chat_link(h, "Ucoord"))
    await browser.click("#sign-in")
    await browser.wait(lambda: chromium.current_url.endswith("/today"), 5)

    await browser.get(f"/console/u/{unit}/awards")
    summary = await browser.text("#summary")
    assert "52" in summary
    assert "第 1–50 筆，共 52 筆" in await browser.text("#shown")
    width = await asyncio.to_thread(chromium.execute_script, "return document.documentElement.scrollWidth")
    assert width <= PHONE[0]

    def press_on(css: str) -> None:
        """Tab until the element has the focus, then Enter: what a keyboard user does."""
        target = chromium.find_element(By.CSS_SELECTOR, css)
        assert target.size["height"] >= 44  # a large target
        body = chromium.find_element(By.TAG_NAME, "body")
        body.click()
        for _ in range(400):
            if chromium.switch_to.active_element == target:
                break
            chromium.switch_to.active_element.send_keys(Keys.TAB)
        assert chromium.switch_to.active_element == target, css
        target.send_keys(Keys.ENTER)

    await asyncio.to_thread(press_on, "#next")
    await browser.wait(lambda: "page=2" in chromium.current_url, 5)
    assert "第 51–52 筆，共 52 筆" in await browser.text("#shown")
    await asyncio.to_thread(press_on, "#people ~ table button")
    await browser.wait(lambda: "共 51 筆" in chromium.find_element(By.CSS_SELECTOR, "#shown").text, 5)
    assert "page=2" in chromium.current_url and "已儲存" in await browser.text("main")
