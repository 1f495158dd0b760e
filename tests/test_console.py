"""The coordinator console over plain HTTP against the real server: signing in from the chat's link, who
sees what (another unit's ids are 404 and change nothing), CSRF, the session's end, and the pages."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from handlers.people import console_access
from storage.db import UnitOfWork
from storage.models import AuditEntry, ConsoleLink, Event, Membership, ServiceRecord, Shift
from tests.conftest import T0

LINK = re.compile(r"https?://\S+/console/login/(\S+)")


async def chat_link(harness, user: str, word: str = "管理") -> str:
    """The path of the sign-in link the bot sent on LINE."""
    texts = await harness.line_says(user, word)
    found = LINK.search(texts[-1])
    assert found, texts
    return urlsplit(found.group(0)).path


async def coordinator(harness, unit_id: int, user: str = "Ucoord", name: str = "陳協調") -> int:
    person, code = harness.add_volunteer(unit_id, name, role="coordinator")
    await harness.line_says(user, f"綁定 {code}")
    return person


def browser(harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=harness.base_url, timeout=10, follow_redirects=False)


async def open_link(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Opening the link shows a button (a chat app's preview fetches the link too); tapping it signs in."""
    shown = await client.get(path)
    if shown.status_code != 200:
        return shown
    assert 'id="sign-in"' in shown.text and "set-cookie" not in shown.headers
    return await client.post(path)


async def signed_in(harness, user: str = "Ucoord") -> httpx.AsyncClient:
    client = browser(harness)
    response = await open_link(client, await chat_link(harness, user))
    assert response.status_code == 303, response.text
    return client


def rows(page: str) -> str:
    """The table's body of a list page."""
    return page.split("<tbody>")[1].split("</tbody>")[0]


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def add_review_record(harness, volunteer_id: int, unit_id: int, minutes: int = 150) -> int:
    with UnitOfWork(harness.vbot.engine)() as session:
        record = ServiceRecord(
            volunteer_id=volunteer_id,
            unit_id=unit_id,
            status="review",
            check_in=T0 - dt.timedelta(hours=14),
            check_out=T0 - dt.timedelta(hours=14) + dt.timedelta(minutes=minutes),
            minutes=minutes,
            service_date=(T0 - dt.timedelta(hours=14)).date(),
            recorded_by="chat",
            created_at=T0,
        )
        session.add(record)
        session.commit()
        return record.id


def count(harness, model, *where) -> int:
    with UnitOfWork(harness.vbot.engine)() as session:
        return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()


# ---- signing in ----


async def test_the_chat_word_sends_a_one_time_link_that_signs_in(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = browser(harness)
    path = await chat_link(harness, "Ucoord")
    for _ in range(3):  # previews and a second look do not use it up
        assert (await client.get(path)).status_code == 200
    response = await open_link(client, path)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "vbot_console=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the public URL is http here
    assert response.headers["location"] == "/console"
    home = await client.get("/console")
    assert home.headers["location"] == f"/console/u/{unit}/today"
    today = await client.get(home.headers["location"])
    assert today.status_code == 200
    assert "陳協調" in today.text and "今日" in today.text
    assert today.headers["cache-control"] == "no-store"
    # Only the token's hash is stored.
    token = path.rsplit("/", 1)[1]
    with UnitOfWork(harness.vbot.engine)() as session:
        hashes = session.execute(sa.select(ConsoleLink.token_hash)).scalars().all()
    assert token not in hashes and console_access.token_hash(token) in hashes
    # The link worked once: a second browser opening it gets a 403 page.
    again = await browser(harness).get(path)
    assert again.status_code == 403 and "管理" in again.text
    assert (await browser(harness).post(path)).status_code == 403
    # The sign-in is in the audit trail, with the person's name.
    with UnitOfWork(harness.vbot.engine)() as session:
        actions = session.execute(sa.select(AuditEntry.action, AuditEntry.details)).all()
    assert ("console.sign_in", '{"name": "\\u9673\\u5354\\u8abf"}') in actions
    await client.aclose()


async def test_a_volunteer_gets_no_link(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit, "王小明")
    await harness.line_says("Uvol", f"綁定 {code}")
    texts = await harness.line_says("Uvol", "管理")
    assert texts == ["管理頁面是給單位協調人使用的。"]
    assert count(harness, ConsoleLink) == 0


async def test_telegram_console_command_sends_the_link(harness):
    unit = harness.add_unit()
    _, code = harness.add_volunteer(unit, "林協調", role="coordinator")
    await harness.telegram_says(4242, f"/start {code}")
    texts = await harness.telegram_says(4242, "/console")
    assert LINK.search(texts[-1]), texts


async def test_expired_and_forged_links_are_refused_and_change_nothing(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    path = await chat_link(harness, "Ucoord")
    harness.now = T0 + console_access.LINK_VALID  # ten minutes later: expired
    response = await browser(harness).get(path)
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert (await browser(harness).post(path)).status_code == 403
    for forged in (
        path[:-1] + ("A" if path[-1] != "A" else "B"),
        "/console/login/x",
        "/console/login/" + "a" * 300,
    ):
        for response in (await browser(harness).get(forged), await browser(harness).post(forged)):
            assert response.status_code == 403, forged
            assert "set-cookie" not in response.headers
    assert count(harness, ConsoleLink, ConsoleLink.used_at.is_not(None)) == 0


async def test_a_link_of_someone_who_stepped_down_is_refused(harness):
    unit = harness.add_unit()
    person = await coordinator(harness, unit)
    path = await chat_link(harness, "Ucoord")
    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(
            sa.update(Membership).where(Membership.volunteer_id == person).values(role="volunteer")
        )
        session.commit()
    for response in (await browser(harness).get(path), await browser(harness).post(path)):
        assert response.status_code == 403
    assert count(harness, ConsoleLink, ConsoleLink.used_at.is_not(None)) == 0


async def test_stepping_down_ends_access_at_the_next_request(harness):
    unit = harness.add_unit()
    person = await coordinator(harness, unit)
    client = await signed_in(harness)
    assert (await client.get(f"/console/u/{unit}/today")).status_code == 200
    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(
            sa.update(Membership).where(Membership.volunteer_id == person).values(role="volunteer")
        )
        session.commit()
    response = await client.get(f"/console/u/{unit}/today")
    assert response.status_code == 403 and "管理" in response.text


async def test_the_session_ends_after_eight_idle_hours_and_on_sign_out(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = await signed_in(harness)
    harness.now = T0 + dt.timedelta(hours=7, minutes=59)
    page = await client.get(f"/console/u/{unit}/today")
    assert page.status_code == 200  # used: idle time starts again
    harness.now += dt.timedelta(hours=7, minutes=59)
    assert (await client.get(f"/console/u/{unit}/today")).status_code == 200
    harness.now += console_access.IDLE_LIMIT
    assert (await client.get(f"/console/u/{unit}/today")).status_code == 403

    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/today")
    assert (await client.post("/console/logout", data={})).status_code == 403  # no CSRF token
    out = await client.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 200 and "vbot_console=" in out.headers["set-cookie"]
    cookie = client.cookies.get("vbot_console")
    assert not cookie
    stale = browser(harness)
    stale.cookies.set(
        "vbot_console",
        page.request.headers["cookie"].split("vbot_console=")[1].split(";")[0],
        path="/console",
    )
    assert (await stale.get(f"/console/u/{unit}/today")).status_code == 403


# ---- who sees what ----


async def test_another_units_ids_are_404_and_change_nothing(harness):
    mine, theirs = harness.add_unit("臺北市立圖書館"), harness.add_unit("高雄市立美術館", city="other")
    await coordinator(harness, mine)
    stranger, _ = harness.add_volunteer(theirs, "李秘密")
    record = add_review_record(harness, stranger, theirs)
    with UnitOfWork(harness.vbot.engine)() as session:
        event = Event(
            unit_id=theirs,
            title="秘密活動",
            starts_at=T0,
            ends_at=T0 + dt.timedelta(hours=3),
            code="ABCDEF",
            secret="0" * 32,
            created_at=T0,
        )
        session.add(event)
        session.flush()
        shift = Shift(
            event_id=event.id, starts_at=T0, ends_at=T0 + dt.timedelta(hours=3), capacity=5, created_at=T0
        )
        session.add(shift)
        session.commit()
        event_id, shift_id = event.id, shift.id
    client = await signed_in(harness)
    csrf = csrf_of((await client.get(f"/console/u/{mine}/today")).text)
    audit_before = count(harness, AuditEntry)
    gets = [
        f"/console/u/{theirs}/today",
        f"/console/u/{theirs}/volunteers",
        f"/console/u/{theirs}/audit",
        f"/console/u/{theirs}/awards",
        f"/console/u/{theirs}/awards/print",
        f"/console/u/{theirs}/reports",
        f"/console/u/{theirs}/reports/xlsx",
        f"/console/u/{theirs}/calendar",
        f"/console/u/{theirs}/import",
        f"/console/u/{theirs}/hours/export?span=2026",
        f"/console/u/{mine}/volunteers/{stranger}",
        f"/console/u/{theirs}/volunteers/{stranger}",
        f"/console/u/{mine}/events/{event_id}",
        f"/console/u/{mine}/events/{event_id}/poster",
        f"/console/u/{mine}/shifts/{shift_id}/live",
        f"/console/u/{mine}/shifts/{shift_id}/live.json",
        f"/console/u/{10**12}/today",
    ]
    for path in gets:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert (
            "李秘密" not in response.text and "秘密活動" not in response.text and "高雄" not in response.text
        ), path
    posts = [
        (f"/console/u/{mine}/records/{record}/approve", {}),
        (f"/console/u/{mine}/records/{record}/void", {}),
        (f"/console/u/{mine}/records/{record}/correct", {"hours": "1", "reason": "x"}),
        (f"/console/u/{theirs}/records/{record}/approve", {}),
        (f"/console/u/{mine}/volunteers/{stranger}", {"record_book_no": "X1"}),
        (f"/console/u/{mine}/volunteers/{stranger}/invite", {}),
        (
            f"/console/u/{mine}/volunteers/{stranger}/hours",
            {"day": "2026-03-24", "hours": "3", "kind": "service"},
        ),
        (
            f"/console/u/{mine}/volunteers/{stranger}/correct",
            {"record": str(record), "hours": "1", "reason": "x"},
        ),
        (f"/console/u/{theirs}/volunteers", {"name": "新人"}),
        (
            f"/console/u/{mine}/events/{event_id}/shifts",
            {"day": "2026-03-25", "starts": "10:00", "ends": "11:00", "capacity": "3"},
        ),
        (
            f"/console/u/{theirs}/events",
            {"title": "x", "day": "2026-03-25", "starts": "10:00", "ends": "11:00"},
        ),
    ]
    for path, data in posts:
        response = await client.post(path, data=data | {"csrf": csrf})
        assert response.status_code == 404, path
        assert "李秘密" not in response.text
    assert count(harness, AuditEntry) == audit_before
    assert count(harness, ServiceRecord, ServiceRecord.status == "review") == 1
    assert count(harness, Shift) == 1


async def test_every_form_needs_its_csrf_token(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    member, _ = harness.add_volunteer(unit, "王小明")
    record = add_review_record(harness, member, unit)
    client = await signed_in(harness)
    before = count(harness, AuditEntry)
    for path, data in [
        (f"/console/u/{unit}/records/{record}/approve", {}),
        (f"/console/u/{unit}/volunteers", {"name": "新人"}),
        (f"/console/u/{unit}/volunteers/{member}/invite", {}),
        (
            f"/console/u/{unit}/events",
            {"title": "x", "day": "2026-03-25", "starts": "10:00", "ends": "11:00"},
        ),
        ("/console/language", {"lang": "en"}),
    ]:
        for bad in ({}, {"csrf": "forged"}):
            response = await client.post(path, data=data | bad)
            assert response.status_code == 403, (path, bad)
    assert count(harness, AuditEntry) == before
    assert count(harness, ServiceRecord, ServiceRecord.status == "review") == 1


# ---- the pages ----


async def test_approving_on_today_counts_the_visit_in_hours(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    member, code = harness.add_volunteer(unit, "王小明")
    await harness.line_says("Umember", f"綁定 {code}")
    record = add_review_record(harness, member, unit, minutes=150)
    client = await signed_in(harness)
    today = await client.get(f"/console/u/{unit}/today")
    assert f"#{record} 王小明" in today.text
    done = await client.post(
        f"/console/u/{unit}/records/{record}/approve",
        data={"csrf": csrf_of(today.text), "back": f"/console/u/{unit}/today"},
    )
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert f"已核准 #{record}" in after.text or f"#{record}" in after.text
    assert f"#{record} 王小明" not in after.text
    hours = await harness.line_says("Umember", "時數")
    assert "2.5" in hours[0]


async def test_search_add_and_a_new_invite(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/volunteers")
    added = await client.post(
        f"/console/u/{unit}/volunteers",
        data={
            "csrf": csrf_of(page.text),
            "name": "張美玲",
            "phone": "0912-345-678",
            "back": f"/console/u/{unit}/volunteers",
        },
    )
    assert added.status_code == 303
    person_page = await client.get(added.headers["location"])
    assert "張美玲" in person_page.text
    found = await client.get(f"/console/u/{unit}/volunteers", params={"q": "345"})
    assert "張美玲" in rows(found.text) and "陳協調" not in rows(found.text)
    unlinked = await client.get(f"/console/u/{unit}/volunteers", params={"only": "unlinked"})
    assert "張美玲" in rows(unlinked.text) and "陳協調" not in rows(unlinked.text)
    everyone = await client.get(f"/console/u/{unit}/volunteers")
    assert "張美玲" in rows(everyone.text) and "陳協調" in rows(everyone.text)
    person_id = int(added.headers["location"].rsplit("/", 1)[1])
    invited = await client.post(
        f"/console/u/{unit}/volunteers/{person_id}/invite", data={"csrf": csrf_of(page.text)}
    )
    shown = await client.get(invited.headers["location"])
    code = re.search(r"(\d{8})", shown.text.split('class="note"')[1]).group(1)
    assert "歡迎" in (await harness.line_says("Unew", f"綁定 {code}"))[0]


async def test_cli_prints_a_link(harness, tmp_path, monkeypatch, capsys):
    from bot.commands.main import main

    unit = harness.add_unit()
    person, _ = harness.add_volunteer(unit, "陳協調", role="coordinator")
    volunteer, _ = harness.add_volunteer(unit, "王小明")
    monkeypatch.setenv("VBOT_DATABASE_URL", harness.vbot.settings.database_url)
    monkeypatch.setenv("VBOT_PUBLIC_URL", "https://vbot.example.tw")
    monkeypatch.chdir(tmp_path)
    assert main(["console", "link", "--volunteer", str(person), "--json"]) == 0
    import json

    url = json.loads(capsys.readouterr().out)["url"]
    assert url.startswith("https://vbot.example.tw/console/login/")
    response = await open_link(browser(harness), urlsplit(url).path)
    assert response.status_code == 303
    assert main(["console", "link", "--volunteer", str(volunteer)]) == 2
    assert "coordinates no unit" in capsys.readouterr().err


# ---- its words ----


def test_every_word_of_the_console_pages_is_in_every_catalog():
    """tests/test_structure.py reads the Python files; the templates' t("…") are read here."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    from handlers.i18n import LOCALES_DIR, SHIPPED

    templates = Path(__file__).resolve().parent.parent / "bot" / "web" / "console" / "templates"
    words = set()
    for template in templates.glob("*.html"):
        text = template.read_text()
        words |= set(re.findall(r'\bt\(\s*"([^"]+)"', text)) | set(re.findall(r"\bt\(\s*'([^']+)'", text))
    assert len(words) > 50
    for locale in SHIPPED:
        with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            translated = {m.id for m in read_po(po) if m.id and m.string}
        assert words <= translated, (locale, sorted(words - translated))


ROSTER = "姓名,電話,出生日期\n林大同,0911222333,1960-05-01\n黃小華,0922333444,明年\n".encode()


async def test_import_previews_with_the_bad_row_then_imports(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = await signed_in(harness)
    csrf = csrf_of((await client.get(f"/console/u/{unit}/import")).text)
    people_before = count(harness, Membership)
    preview = await client.post(
        f"/console/u/{unit}/import", data={"csrf": csrf}, files={"file": ("roster.csv", ROSTER, "text/csv")}
    )
    assert preview.status_code == 200, preview.text
    assert "預覽" in preview.text and "新增：1" in preview.text and "有錯誤：1" in preview.text
    assert "<td>3</td>" in preview.text  # the bad row by its line in the file
    assert count(harness, Membership) == people_before  # nothing changed yet
    data = re.search(r'name="data" value="([^"]+)"', preview.text).group(1)
    done = await client.post(
        f"/console/u/{unit}/import",
        data={"csrf": csrf, "data": data, "filename": "roster.csv", "confirm": "yes"},
    )
    assert "已匯入" in done.text and "林大同" in done.text
    assert count(harness, Membership) == people_before + 1


async def test_awards_reports_and_calendar_pages(harness):
    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = await signed_in(harness)
    assert (await client.get(f"/console/u/{unit}/awards")).status_code == 200
    report = await client.get(f"/console/u/{unit}/reports", params={"span": "2026H1"})
    assert report.status_code == 200 and "115年1月1日" in report.text
    xlsx = await client.get(f"/console/u/{unit}/reports/xlsx", params={"span": "2026H1"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    chart = await client.get(f"/console/u/{unit}/reports/chart.png", params={"span": "2026H1"})
    assert chart.content[:4] == b"\x89PNG"
    calendar = await client.get(f"/console/u/{unit}/calendar")
    added = await client.post(
        f"/console/u/{unit}/calendar",
        data={"csrf": csrf_of(calendar.text), "title": "志工大會", "date": "2026-04-10"},
    )
    assert added.status_code == 303
    shown = await client.get(added.headers["location"])
    assert "115年4月10日 志工大會" in shown.text
    bad = await client.post(
        f"/console/u/{unit}/calendar/quiet",
        data={"csrf": csrf_of(calendar.text), "form": "quiet", "quiet_hours": "晚上"},
    )
    # The form again, its value kept and the error beside the field in the page's language.
    assert bad.status_code == 400
    assert 'value="晚上"' in bad.text and "勿擾時段要填兩個時間，例如 21:00-08:00。" in bad.text
    assert 'aria-invalid="true"' in bad.text and "give them as" not in bad.text
    audit = await client.get(f"/console/u/{unit}/audit")
    assert "deadline.add" in audit.text and "陳協調" in audit.text


async def test_the_cookie_is_secure_behind_https(harness_factory):
    harness = await harness_factory(public_url="https://vbot.example.tw")
    unit = harness.add_unit()
    await coordinator(harness, unit)
    texts = await harness.line_says("Ucoord", "console")
    assert "https://vbot.example.tw/console/login/" in texts[-1]
    response = await open_link(browser(harness), urlsplit(LINK.search(texts[-1]).group(0)).path)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]


async def test_the_volunteer_filters(harness):
    from storage.models import Volunteer

    unit = harness.add_unit()
    await coordinator(harness, unit)
    ending, _ = harness.add_volunteer(unit, "保險到期")
    harness.add_volunteer(unit, "沒受訓")
    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(
            sa.update(Volunteer).values(trained_on=dt.date(2020, 1, 1)).where(Volunteer.name != "沒受訓")
        )
        session.execute(
            sa.update(Volunteer).values(insured_until=dt.date(2026, 3, 31)).where(Volunteer.id == ending)
        )
        session.commit()
    client = await signed_in(harness)
    untrained = rows((await client.get(f"/console/u/{unit}/volunteers", params={"only": "no-training"})).text)
    assert "沒受訓" in untrained and "保險到期" not in untrained and "陳協調" not in untrained
    insured = rows(
        (await client.get(f"/console/u/{unit}/volunteers", params={"only": "insurance-ending"})).text
    )
    assert "保險到期" in insured and "沒受訓" not in insured
    unknown = await client.get(f"/console/u/{unit}/volunteers", params={"only": "'; drop table"})
    assert unknown.status_code == 200 and "沒受訓" in rows(unknown.text)


# ---- merging, cards, editing events, tonight, XLSX (the console's second round) ----


def set_phone(harness, volunteer_id: int, phone: str) -> None:
    from storage.models import Volunteer

    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(sa.update(Volunteer).where(Volunteer.id == volunteer_id).values(phone=phone))
        session.commit()


def add_event_with_shift(harness, unit_id: int, title: str, starts: dt.datetime, capacity: int = 5):
    from handlers.events import admin as event_admin

    with UnitOfWork(harness.vbot.engine)() as session:
        event = event_admin.add_event(
            session,
            T0,
            "test",
            unit_id=unit_id,
            title=title,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=3),
        )
        shift = event_admin.add_shift(
            session,
            T0,
            "test",
            event_id=event.id,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=3),
            capacity=capacity,
        )
        session.commit()
        return event.id, shift.id


def put_on_roster(harness, shift_id: int, volunteer_id: int) -> None:
    from handlers.events import admin as event_admin

    with UnitOfWork(harness.vbot.engine)() as session:
        event_admin.add_to_roster(session, T0, "test", shift_id, volunteer_id)
        session.commit()


async def test_the_new_actions_with_another_units_ids_are_404_and_change_nothing(harness):
    from storage.models import InviteCode, RosterEntry, Volunteer

    mine, theirs = harness.add_unit("臺北市立圖書館"), harness.add_unit("高雄市立美術館", city="other")
    await coordinator(harness, mine)
    member, _ = harness.add_volunteer(mine, "王小明")
    stranger, _ = harness.add_volunteer(theirs, "李秘密")
    set_phone(harness, member, "0911000111")
    set_phone(harness, stranger, "0911000111")  # the same phone, but in another unit
    their_event, their_shift = add_event_with_shift(harness, theirs, "秘密活動", T0 + dt.timedelta(days=1))
    _my_event, my_shift = add_event_with_shift(harness, mine, "淨灘", T0 + dt.timedelta(days=1))
    put_on_roster(harness, their_shift, stranger)
    client = await signed_in(harness)
    csrf = csrf_of((await client.get(f"/console/u/{mine}/today")).text)
    before = (count(harness, AuditEntry), count(harness, InviteCode), count(harness, RosterEntry))
    for path in [
        f"/console/u/{mine}/shifts/{their_shift}",
        f"/console/u/{theirs}/volunteers/duplicates",
        f"/console/u/{theirs}/volunteers?only=near-award",
        f"/console/u/{theirs}/hours/export?span=2026&as=xlsx",
    ]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "李秘密" not in response.text and "秘密活動" not in response.text, path
    shift_form = {"day": "2026-03-26", "starts": "10:00", "ends": "11:00", "capacity": "9", "post": "改"}
    for path, data in [
        (f"/console/u/{mine}/volunteers/merge", {"keep": str(member), "remove": str(stranger)}),
        (f"/console/u/{mine}/volunteers/merge", {"keep": str(stranger), "remove": str(member)}),
        (f"/console/u/{theirs}/volunteers/merge", {"keep": str(member), "remove": str(stranger)}),
        (f"/console/u/{mine}/volunteers/{stranger}/card", {}),
        (f"/console/u/{theirs}/volunteers/cards", {}),
        (
            f"/console/u/{mine}/events/{their_event}/edit",
            {"title": "改名", "day": "2026-03-26", "starts": "10:00", "ends": "11:00"},
        ),
        (f"/console/u/{mine}/shifts/{their_shift}", shift_form),
        (f"/console/u/{mine}/shifts/{their_shift}/roster", {"volunteer": str(member)}),
        (f"/console/u/{mine}/shifts/{their_shift}/roster/{stranger}/remove", {}),
        (f"/console/u/{mine}/shifts/{my_shift}/roster/{stranger}/remove", {}),
    ]:
        response = await client.post(path, data=data | {"csrf": csrf})
        assert response.status_code == 404, path
        assert "李秘密" not in response.text and "秘密活動" not in response.text, path
    # Their member named on my shift's roster form is no member of mine: refused in words, nothing added.
    refused = await client.post(
        f"/console/u/{mine}/shifts/{my_shift}/roster",
        data={"csrf": csrf, "form": "roster", "volunteer": f"#{stranger}"},
    )
    assert refused.status_code == 400 and "本單位沒有這個編號或姓名的成員。" in refused.text
    assert "李秘密" not in refused.text
    assert (count(harness, AuditEntry), count(harness, InviteCode), count(harness, RosterEntry)) == before
    assert count(harness, Volunteer, Volunteer.id.in_([member, stranger])) == 2
    assert count(harness, Event, Event.title == "秘密活動") == 1
    assert count(harness, Shift, Shift.capacity == 5) == 2


async def test_the_new_forms_need_their_csrf_token(harness):
    from storage.models import InviteCode, RosterEntry, Volunteer

    unit = harness.add_unit()
    await coordinator(harness, unit)
    first, _ = harness.add_volunteer(unit, "王小明")
    second, _ = harness.add_volunteer(unit, "王小明")
    event, shift = add_event_with_shift(harness, unit, "淨灘", T0 + dt.timedelta(days=1))
    put_on_roster(harness, shift, first)
    client = await signed_in(harness)
    before = (count(harness, AuditEntry), count(harness, InviteCode), count(harness, RosterEntry))
    for path, data in [
        (f"/console/u/{unit}/volunteers/merge", {"keep": str(first), "remove": str(second)}),
        (f"/console/u/{unit}/volunteers/{first}/card", {}),
        (f"/console/u/{unit}/volunteers/cards", {}),
        (
            f"/console/u/{unit}/events/{event}/edit",
            {"title": "改名", "day": "2026-03-26", "starts": "10:00", "ends": "11:00"},
        ),
        (
            f"/console/u/{unit}/shifts/{shift}",
            {"day": "2026-03-26", "starts": "10:00", "ends": "11:00", "capacity": "9"},
        ),
        (f"/console/u/{unit}/shifts/{shift}/roster", {"volunteer": str(second)}),
        (f"/console/u/{unit}/shifts/{shift}/roster/{first}/remove", {}),
    ]:
        for bad in ({}, {"csrf": "forged"}):
            response = await client.post(path, data=data | bad)
            assert response.status_code == 403, (path, bad)
    assert (count(harness, AuditEntry), count(harness, InviteCode), count(harness, RosterEntry)) == before
    assert count(harness, Volunteer, Volunteer.id.in_([first, second])) == 2
    assert (
        count(harness, Event, Event.title == "淨灘") == 1 and count(harness, Shift, Shift.capacity == 5) == 1
    )


async def test_duplicates_are_found_and_merged_with_their_hours_and_chat_link(harness):
    from storage.models import ChatAccount, Volunteer

    unit = harness.add_unit()
    await coordinator(harness, unit)
    kept, _ = harness.add_volunteer(unit, "王小明")
    removed, code = harness.add_volunteer(unit, "王 小明")
    other, _ = harness.add_volunteer(unit, "林大同")
    set_phone(harness, kept, "0922333444")
    set_phone(harness, removed, "0922333444")
    await harness.line_says("Uold", f"綁定 {code}")  # the removed row is the one linked on LINE
    record = add_review_record(harness, removed, unit, minutes=150)
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/volunteers/duplicates")
    assert page.status_code == 200 and "電話相同" in page.text
    assert f"#{kept}" in page.text and f"#{removed}" in page.text and "林大同" not in page.text
    merged = await client.post(
        f"/console/u/{unit}/volunteers/merge",
        data={"csrf": csrf_of(page.text), "form": "merge", "keep": str(kept), "remove": str(removed)},
    )
    assert merged.status_code == 303 and merged.headers["location"].endswith(f"/volunteers/{kept}")
    assert count(harness, Volunteer, Volunteer.id == removed) == 0
    assert count(harness, ServiceRecord, ServiceRecord.volunteer_id == kept, ServiceRecord.id == record) == 1
    assert count(harness, ChatAccount, ChatAccount.volunteer_id == kept) == 1
    # The LINE account of the removed row now speaks for the one kept.
    with UnitOfWork(harness.vbot.engine)() as session:
        entry = session.execute(
            sa.select(AuditEntry.actor, AuditEntry.details).where(AuditEntry.action == "volunteer.merge")
        ).one()
    assert str(removed) in entry.details and "王 小明" in json_text(entry.details)
    audit = await client.get(f"/console/u/{unit}/audit")
    assert "volunteer.merge" in audit.text and "陳協調" in audit.text
    assert "沒有找到重複的人。" in (await client.get(f"/console/u/{unit}/volunteers/duplicates")).text
    # Merging a person with themselves is refused in words, on the page.
    again = await client.post(
        f"/console/u/{unit}/volunteers/merge",
        data={"csrf": csrf_of(page.text), "form": "merge", "keep": str(kept), "remove": str(kept)},
    )
    assert again.status_code == 400 and "請選兩位不同的人。" in again.text


def json_text(details: str) -> str:
    import json

    return json.dumps(json.loads(details), ensure_ascii=False)


async def test_cards_xlsx_tonight_and_the_near_award_filter(harness):
    import io

    from openpyxl import load_workbook

    from storage.models import InviteCode, Volunteer

    unit = harness.add_unit()
    await coordinator(harness, unit)
    linked, code = harness.add_volunteer(unit, "王小明")
    await harness.line_says("Umember", f"綁定 {code}")
    near_person, _ = harness.add_volunteer(unit, "林大同")
    harness.add_volunteer(unit, "黃小華")
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/volunteers")
    codes = count(harness, InviteCode)
    cards = await client.post(f"/console/u/{unit}/volunteers/cards", data={"csrf": csrf_of(page.text)})
    assert cards.status_code == 200 and cards.content[:5] == b"%PDF-"
    assert cards.headers["content-type"] == "application/pdf"
    assert count(harness, InviteCode) == codes + 2  # the two not yet linked
    one = await client.post(f"/console/u/{unit}/volunteers/{linked}/card", data={"csrf": csrf_of(page.text)})
    assert one.content[:5] == b"%PDF-" and count(harness, InviteCode) == codes + 3

    # The hours export as XLSX, the same rows as the CSV.
    add_review_record(harness, linked, unit, minutes=150)
    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(sa.update(ServiceRecord).values(status="counted"))
        session.commit()
    xlsx = await client.get(f"/console/u/{unit}/hours/export", params={"span": "2026", "as": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert any("王小明" in str(row) for row in values[1:]) and len(values) == 2
    csv = await client.get(f"/console/u/{unit}/hours/export", params={"span": "2026"})
    assert "王小明" in csv.content.decode("utf-8-sig") and csv.headers["content-type"].startswith("text/csv")

    # Tonight: a shift tomorrow with one person on it; its evening reminder goes at 18:00.
    _event, shift = add_event_with_shift(harness, unit, "淨灘", T0 + dt.timedelta(days=1))
    put_on_roster(harness, shift, linked)
    today = await client.get(f"/console/u/{unit}/today")
    tonight = today.text.split('id="tonight"')[1].split("</ul>")[0]
    assert "18:00" in tonight and "明天的班次" in tonight and "淨灘" in tonight and "1 人" in tonight

    # Within 20 h of an award (the award engine's answer): 140 h served, two years since the first service,
    # is 10 h from the service certificate's 150; 2.5 h is near nothing.
    with UnitOfWork(harness.vbot.engine)() as session:
        session.add(
            ServiceRecord(
                volunteer_id=near_person,
                unit_id=unit,
                status="counted",
                kind="service",
                minutes=140 * 60,
                service_date=dt.date(2025, 1, 10),
                recorded_by="test",
                created_at=T0,
            )
        )
        session.execute(
            sa.update(Volunteer)
            .where(Volunteer.id == near_person)
            .values(first_service_date=dt.date(2024, 1, 10), record_book_date=dt.date(2024, 1, 10))
        )
        session.commit()
    near = await client.get(f"/console/u/{unit}/volunteers", params={"only": "near-award"})
    assert near.status_code == 200
    assert "林大同" in rows(near.text) and "王小明" not in rows(near.text) and "黃小華" not in rows(near.text)


async def test_an_event_and_a_shift_changed_audited_and_their_errors_in_words(harness):
    from storage.models import RosterEntry

    unit, other = harness.add_unit(), harness.add_unit("高雄市立美術館", city="other")
    await coordinator(harness, unit)
    member, _ = harness.add_volunteer(unit, "王小明")
    second, _ = harness.add_volunteer(unit, "林大同")
    harness.add_membership(second, other)  # also in a unit this coordinator does not run
    event, shift = add_event_with_shift(harness, unit, "淨灘", T0 + dt.timedelta(days=1), capacity=2)
    put_on_roster(harness, shift, member)
    put_on_roster(harness, shift, second)
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/events/{event}")
    csrf = csrf_of(page.text)
    changed = await client.post(
        f"/console/u/{unit}/events/{event}/edit",
        data={
            "csrf": csrf,
            "form": "edit",
            "title": "大稻埕淨灘",
            "place": "碼頭",
            "day": "2026-03-27",
            "starts": "08:00",
            "ends": "12:00",
        },
    )
    assert changed.status_code == 303
    shown = await client.get(changed.headers["location"])
    assert "大稻埕淨灘" in shown.text and "碼頭" in shown.text and "115年3月27日" in shown.text
    # Fewer places than the two on the roster: refused beside the field, the values kept, nothing changed.
    fewer = await client.post(
        f"/console/u/{unit}/shifts/{shift}",
        data={
            "csrf": csrf,
            "form": "edit-shift",
            "post": "服務台",
            "day": "2026-03-26",
            "starts": "09:00",
            "ends": "12:00",
            "capacity": "1",
        },
    )
    assert fewer.status_code == 400 and "名單上已有 2 人，名額不能更少。" in fewer.text
    assert 'value="服務台"' in fewer.text and count(harness, Shift, Shift.capacity == 2) == 1
    # In English, the same error in English words.
    await client.post(
        "/console/language", data={"csrf": csrf, "lang": "en", "back": f"/console/u/{unit}/today"}
    )
    english = await client.post(
        f"/console/u/{unit}/shifts/{shift}",
        data={
            "csrf": csrf,
            "form": "edit-shift",
            "day": "2026-03-26",
            "starts": "09:00",
            "ends": "08:00",
            "capacity": "3",
        },
    )
    assert english.status_code == 400 and "The end must be after the start." in english.text
    taken_off = await client.post(
        f"/console/u/{unit}/shifts/{shift}/roster/{member}/remove", data={"csrf": csrf}
    )
    assert taken_off.status_code == 303
    assert count(harness, RosterEntry, RosterEntry.status == "signed") == 1
    with UnitOfWork(harness.vbot.engine)() as session:
        actions = (
            session.execute(sa.select(AuditEntry.action).where(AuditEntry.actor.like("volunteer:%")))
            .scalars()
            .all()
        )
    assert "event.set" in actions and "roster.cancel" in actions and "shift.set" not in actions
    # 林大同 is also a member of another unit: not merged from here.
    merge = await client.post(
        f"/console/u/{unit}/volunteers/merge",
        data={"csrf": csrf, "form": "merge", "keep": str(member), "remove": str(second)},
    )
    assert merge.status_code == 400 and "ask its coordinator" in merge.text
    assert count(harness, RosterEntry) == 2


async def test_a_refused_form_comes_back_with_its_values_and_the_reason_beside_the_field(harness):
    from storage.models import Volunteer

    unit = harness.add_unit()
    await coordinator(harness, unit)
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/volunteers")
    people = count(harness, Volunteer)
    for data, field, words in [
        ({"name": "  ", "phone": "0912345678"}, "new-name", "請填寫這一欄。"),
        ({"name": "張美玲", "phone": "12"}, "new-phone", "電話號碼要有 8 到 16 位數字。"),
        ({"name": "張美玲", "birth_date": "1960-13-45"}, "new-birth", "請填寫日期，例如 2026-03-25。"),
    ]:
        answer = await client.post(
            f"/console/u/{unit}/volunteers", data=data | {"csrf": csrf_of(page.text), "form": "add"}
        )
        assert answer.status_code == 400, data
        beside = answer.text.split(f'id="{field}"')[1].split("</p>")[0]
        assert f'id="{field}-error"' in beside and words in beside, beside
        for value in data.values():
            assert f'value="{value}"' in answer.text
    assert count(harness, Volunteer) == people


def test_a_merge_keeps_a_coordinators_role_and_the_award_sums(harness):
    """The row removed coordinated the unit and had counted hours: the one kept now coordinates it, and the
    kept sums the award list reads hold the moved hours (the triggers follow the moved records)."""
    from handlers.people.merging import merge_people
    from storage import people_store

    unit = harness.add_unit()
    kept, _ = harness.add_volunteer(unit, "王小明")
    removed, _ = harness.add_volunteer(unit, "王小明", role="coordinator")
    record = add_review_record(harness, removed, unit, minutes=150)
    with UnitOfWork(harness.vbot.engine)() as session:
        session.execute(sa.update(ServiceRecord).where(ServiceRecord.id == record).values(status="counted"))
        merge_people(session, T0, "test", keep_id=kept, remove_id=removed, unit_ids=[unit])
        session.commit()
    with UnitOfWork(harness.vbot.engine)() as session:
        roles = {u.id: role for u, role in people_store.units_of(session, kept)}
        assert roles == {unit: "coordinator"}
        sums = session.execute(
            sa.text("SELECT volunteer_id, minutes FROM servicetotal WHERE unit_id = :u AND minutes <> 0"),
            {"u": unit},
        ).all()
    assert [tuple(row) for row in sums] == [(kept, 150)]


async def test_today_names_who_blocked_the_bot_until_they_follow_again(harness):
    """A volunteer who blocks the bot on LINE is named on Today (no reminder can reach them); a follow clears it."""
    from tests.test_blocking import line_membership_event

    unit = harness.add_unit()
    await coordinator(harness, unit)
    _amy, code = harness.add_volunteer(unit, "王小美")
    await harness.line_says("Uamy", f"綁定 {code}")
    client = await signed_in(harness)
    page = await client.get(f"/console/u/{unit}/today")
    assert "每個人都聯絡得到。" in page.text
    await harness.post_line(line_membership_event(harness, "Uamy", "unfollow", harness.now))
    await harness.drain(harness.now)
    blocked = (
        (await client.get(f"/console/u/{unit}/today")).text.split('id="unreachable"')[1].split("</ul>")[0]
    )
    assert "王小美" in blocked and "在 LINE 封鎖" in blocked and "陳協調" not in blocked
    await harness.post_line(line_membership_event(harness, "Uamy", "follow", harness.now))
    await harness.drain(harness.now)
    assert "每個人都聯絡得到。" in (await client.get(f"/console/u/{unit}/today")).text


async def test_the_award_list_a_summary_then_one_award_a_page_at_a_time(harness):
    """Per award how many can apply, have reached it, are near; one award's people 50 a page, by what they
    still need, with previous and next; granting keeps the page; the printable list holds everyone. The same
    rows as 獎勵名單 computes from scratch."""
    from handlers.awards.eligibility import eligible_list
    from tests.test_eligibility import person

    unit = harness.add_unit()
    await coordinator(harness, unit)
    today, trained = T0.date(), T0.date() - dt.timedelta(days=500)
    with UnitOfWork(harness.vbot.engine)() as session:
        for n in range(53):
            person(session, unit, f"齊全{n:02d}", 150, trained=trained, on=today - dt.timedelta(days=30))
        for n, hours in enumerate((135, 140, 100)):
            person(session, unit, f"差一點{n}", hours, trained=trained, on=today - dt.timedelta(days=30))
        session.commit()
    with UnitOfWork(harness.vbot.engine)() as session:
        everyone = eligible_list(session, unit, today, within_hours=20, from_scratch=True)
    by_award: dict[str, list] = {}
    for row in everyone:
        by_award.setdefault(row.award, []).append(row)
    award, listed = max(by_award.items(), key=lambda item: len(item[1]))
    assert len(listed) > 50 and any(not r.reached for r in listed)
    client = await signed_in(harness)

    page = await client.get(f"/console/u/{unit}/awards", params={"award": award})
    assert page.status_code == 200
    summary = re.search(r'<table id="summary">.*?</table>', page.text, re.S).group(0)
    name = listed[0].award_name("zh_TW")
    line = re.search(rf"{name}</a></th>\s*<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", summary)
    assert [int(x) for x in line.groups()] == [
        sum(r.eligible for r in listed),
        sum(r.reached and not r.eligible for r in listed),
        sum(not r.reached for r in listed),
    ]
    people = page.text.split('<h2 id="people">', 1)[1]
    shown = [r.name for r in listed if r.name in people]
    assert shown == [r.name for r in listed[:50]]  # the first 50, in the list's order
    assert (
        f"第 1–50 筆，共 {len(listed)} 筆" in people and 'rel="next"' in people and 'rel="prev"' not in people
    )
    second = await client.get(f"/console/u/{unit}/awards", params={"award": award, "page": 2})
    rest = second.text.split('<h2 id="people">', 1)[1]
    assert [r.name for r in listed if r.name in rest] == [r.name for r in listed[50:]]
    assert "差一點0" in rest and "差一點2" not in rest  # 15 h to go is near; 50 h is not
    assert 'rel="prev"' in rest and 'rel="next"' not in rest

    # granting from page 2 comes back to page 2, the person no longer on the list
    who = next(r for r in listed[50:] if r.eligible)
    granted = await client.post(
        f"/console/u/{unit}/awards/grant",
        data={
            "csrf": csrf_of(second.text),
            "volunteer": str(who.volunteer_id),
            "award": award,
            "back": f"/console/u/{unit}/awards?award={award}&within=20&page=2",
        },
    )
    assert granted.status_code == 303 and granted.headers["location"].endswith("page=2")
    after = await client.get(granted.headers["location"])
    assert who.name not in after.text.split('<h2 id="people">', 1)[1]
    assert f"共 {len(listed) - 1} 筆" in after.text

    printed = await client.get(f"/console/u/{unit}/awards/print")
    with UnitOfWork(harness.vbot.engine)() as session:
        now_listed = eligible_list(session, unit, today, within_hours=20, from_scratch=True)
    assert rows(printed.text).count("<tr>") == len(now_listed)  # every award's rows, on one page
    assert all(r.name in printed.text for r in now_listed)
