"""Events: shifts and rosters, the poster code and the rotating code, walk-ups, crediting rules, live view."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from handlers.events import admin as event_admin
from handlers.events.codes import rotating_code
from handlers.people import admin
from handlers.validation import InputError
from storage import people_store
from storage.db import UnitOfWork, make_engine, migrate
from storage.models import Event, Notification, ServiceRecord, Shift, Volunteer
from storage.vocabulary import Role
from tests.test_reminders import Town, local


@pytest.fixture
async def fair(harness):
    """臺北燈節: a Taipei unit with a coordinator and two volunteers, one shift 09:00–12:00 on 1 April."""
    harness.now = local(2026, 3, 30, 9)
    town = Town(harness)
    unit = harness.add_unit("臺北市觀光傳播局志工隊")
    town.boss = await town.person(unit, line_user="Uboss", role="coordinator", name="林組長")
    town.amy = await town.person(unit, line_user="Uamy", name="陳美玲")
    town.bob = await town.person(unit, telegram_user=7001, name="李大同")
    with town.uow() as session:
        event = event_admin.add_event(
            session,
            harness.now,
            "test",
            unit_id=unit,
            title="臺北燈節",
            starts_at=local(2026, 4, 1, 8),
            ends_at=local(2026, 4, 1, 22),
            place="中正紀念堂",
        )
        shift = event_admin.add_shift(
            session,
            harness.now,
            "test",
            event_id=event.id,
            starts_at=local(2026, 4, 1, 9),
            ends_at=local(2026, 4, 1, 12),
            capacity=10,
            post="服務台",
        )
        event_admin.add_to_roster(session, harness.now, "test", shift.id, town.amy)
        session.commit()
        town.unit, town.event, town.shift, town.code = unit, event.id, shift.id, event.code
    return town


def records(town) -> list[ServiceRecord]:
    with town.uow() as session:
        return list(session.exec(select(ServiceRecord).order_by(ServiceRecord.id)).all())


async def test_the_poster_code_checks_a_rostered_volunteer_into_their_shift_from_an_hour_before(fair):
    h = fair.h
    early = await h.line_says(
        "Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 7, 59), now=local(2026, 4, 1, 7, 59)
    )
    assert "08:00" in early[0] and records(fair) == []
    answer = await h.line_says(
        "Uamy", f"簽到 {fair.code.lower()}", at=local(2026, 4, 1, 8, 0), now=local(2026, 4, 1, 8, 0)
    )
    assert "服務台" in answer[0] and "簽到" in answer[0]
    [record] = records(fair)
    assert record.shift_id == fair.shift and not record.walk_up and record.unit_id == fair.unit
    unknown = await h.line_says("Uboss", "簽到 ZZZZZZ", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    assert "ZZZZZZ" in unknown[0]


async def test_after_the_shift_the_code_is_refused(fair):
    answer = await fair.h.line_says(
        "Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 12, 1), now=local(2026, 4, 1, 12, 1)
    )
    assert "結束" in answer[0] and records(fair) == []


async def test_a_walk_up_is_accepted_and_flagged_or_refused_and_flagged(fair):
    h = fair.h
    answer = await h.telegram_says(
        7001, f"/start ci_{fair.code}", at=local(2026, 4, 1, 9, 5), now=local(2026, 4, 1, 9, 5)
    )
    assert "臨時" in answer[0] or "名單" in answer[0]
    [record] = records(fair)
    assert record.walk_up and record.shift_id == fair.shift
    *_, line, _ = await fair.remind(local(2026, 4, 1, 9, 6))
    assert any("李大同" in text for text in h.line_api.texts_to("Uboss"))

    with fair.uow() as session:
        event = session.get(Event, fair.event)
        event.walk_ups = "refuse"
        session.add(event)
        session.commit()
    carol = await fair.person(fair.unit, line_user="Ucarol", name="張小萍")
    answer = await h.line_says(
        "Ucarol", f"簽到 {fair.code}", at=local(2026, 4, 1, 9, 10), now=local(2026, 4, 1, 9, 10)
    )
    assert "無法簽到" in answer[0] and len(records(fair)) == 1
    await fair.remind(local(2026, 4, 1, 9, 11))
    assert any("張小萍" in text for text in h.line_api.texts_to("Uboss"))
    assert carol


async def test_a_rotating_code_works_for_its_minute_and_the_next_and_the_poster_code_does_not(fair):
    h = fair.h
    with fair.uow() as session:
        event = session.get(Event, fair.event)
        event.rotating_code = True
        session.add(event)
        session.commit()
        secret = event.secret
    shown_at = local(2026, 4, 1, 9, 0) + dt.timedelta(seconds=10)
    code = rotating_code(secret, shown_at)
    answer = await h.line_says("Uamy", f"簽到 {fair.code}", at=shown_at, now=shown_at)
    assert "螢幕" in answer[0] and records(fair) == []
    stale = await h.line_says(
        "Uamy", f"簽到 {code}", at=shown_at + dt.timedelta(minutes=2), now=shown_at + dt.timedelta(minutes=2)
    )
    assert code in stale[0] and records(fair) == []
    fresh = await h.line_says(
        "Uamy",
        f"簽到 {code}",
        at=shown_at + dt.timedelta(seconds=50),
        now=shown_at + dt.timedelta(seconds=50),
    )
    assert "服務台" in fresh[0] and len(records(fair)) == 1


async def test_capped_credit_stops_at_the_shift_end_plus_grace_and_lateness_costs_an_hour(fair):
    h = fair.h
    with fair.uow() as session:
        event = session.get(Event, fair.event)
        event.credit, event.grace_minutes = "capped", 10
        session.add(event)
        session.commit()
    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 8, 50), now=local(2026, 4, 1, 8, 50))
    answer = await h.line_says("Uamy", "簽退", at=local(2026, 4, 1, 14), now=local(2026, 4, 1, 14))
    assert "3.3" in answer[0]  # 08:50 to 12:10, not to 14:00
    with fair.uow() as session:
        event = session.get(Event, fair.event)
        event.credit = "lateness"
        session.add(event)
        session.commit()
    dan = await fair.person(
        fair.unit, line_user="Udan", name="王大明"
    )  # Amy's own day is over: another person
    with fair.uow() as session:
        event_admin.add_to_roster(session, h.now, "test", fair.shift, dan)
        session.commit()
    await h.line_says("Udan", f"簽到 {fair.code}", at=local(2026, 4, 1, 9, 20), now=local(2026, 4, 1, 9, 20))
    answer = await h.line_says("Udan", "簽退", at=local(2026, 4, 1, 12), now=local(2026, 4, 1, 12))
    assert "1.7" in answer[0]  # 09:20–12:00 is 2 h 40 min, less an hour for coming 20 minutes late


async def test_live_shows_expected_present_missing_and_walk_ups_to_coordinators_only(fair):
    h = fair.h
    dan = await fair.person(fair.unit, line_user="Udan", name="王大明")
    with fair.uow() as session:
        event_admin.add_to_roster(session, h.now, "test", fair.shift, dan)
        session.commit()
    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 8, 55), now=local(2026, 4, 1, 8, 55))
    await h.telegram_says(7001, f"簽到 {fair.code}", at=local(2026, 4, 1, 9, 2), now=local(2026, 4, 1, 9, 2))
    answer = await h.line_says("Uboss", "現場", at=local(2026, 4, 1, 9, 20), now=local(2026, 4, 1, 9, 20))
    assert (
        "臺北燈節" in answer[0] and "應到 2" in answer[0] and "已到 1" in answer[0] and "未到 1" in answer[0]
    )
    assert "王大明" in answer[0] and "李大同" in answer[0]
    refused = await h.line_says("Uamy", "現場", at=local(2026, 4, 1, 9, 20), now=local(2026, 4, 1, 9, 20))
    assert "王大明" not in refused[0]

    answer = await h.line_says(
        "Uboss", f"代簽到 {dan}", at=local(2026, 4, 1, 9, 30), now=local(2026, 4, 1, 9, 30)
    )
    assert "王大明" in answer[0]
    record = records(fair)[-1]
    assert (
        record.volunteer_id == dan
        and record.shift_id == fair.shift
        and record.checked_in_by == f"volunteer:{fair.boss}"
    )
    answer = await h.line_says(
        "Uamy", f"代簽到 {fair.bob}", at=local(2026, 4, 1, 9, 31), now=local(2026, 4, 1, 9, 31)
    )
    assert "督導" in answer[0]
    answer = await h.line_says(
        "Uboss", f"代簽退 {dan}", at=local(2026, 4, 1, 11, 30), now=local(2026, 4, 1, 11, 30)
    )
    assert "王大明" in answer[0] and "2" in answer[0]
    assert records(fair)[-1].status == "counted" and records(fair)[-1].minutes == 120
    answer = await h.line_says(
        "Uboss", f"代簽退 {dan}", at=local(2026, 4, 1, 11, 31), now=local(2026, 4, 1, 11, 31)
    )
    assert "沒有簽到" in answer[0]


async def test_volunteers_see_open_shifts_sign_up_and_cancel_and_a_late_cancellation_is_told(fair):
    h = fair.h
    answer = await h.telegram_says(7001, "班表", at=local(2026, 3, 31, 10), now=local(2026, 3, 31, 10))
    assert "服務台" in answer[0] and "9" in answer[0]
    keyboard = json.loads(h.telegram_api.sent("/sendMessage")[-1].body["reply_markup"])["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == f"報名 #{fair.shift}"
    answer = await h.telegram_says(
        7001, f"報名 #{fair.shift}", at=local(2026, 3, 31, 10), now=local(2026, 3, 31, 10)
    )
    assert "服務台" in answer[0]
    with fair.uow() as session:
        assert session.get(Shift, fair.shift).taken == 2
    answer = await h.telegram_says(
        7001, f"取消 #{fair.shift}", at=local(2026, 3, 31, 10), now=local(2026, 3, 31, 10)
    )
    with fair.uow() as session:
        assert session.get(Shift, fair.shift).taken == 1
        told = session.exec(select(Notification).where(Notification.job == "late-cancellation")).all()
    assert len(told) == 1 and told[0].recipient == "Uboss"


def test_fifty_sign_ups_at_once_fill_ten_places_and_no_more(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    uow = UnitOfWork(engine)
    now = dt.datetime(2026, 3, 30, 1, tzinfo=dt.UTC)
    with uow() as session:
        unit = admin.add_unit(session, now, "test", name="馬拉松志工隊", category="general", city="taipei").id
        people = [
            admin.add_volunteer(
                session, now, "test", unit_id=unit, name=f"跑者{n}", invite_valid_for=dt.timedelta(days=1)
            )[0].id
            for n in range(50)
        ]
        event = event_admin.add_event(
            session,
            now,
            "test",
            unit_id=unit,
            title="臺北馬拉松",
            starts_at=local(2026, 12, 20, 5),
            ends_at=local(2026, 12, 20, 14),
        )
        shift = event_admin.add_shift(
            session,
            now,
            "test",
            event_id=event.id,
            starts_at=local(2026, 12, 20, 6),
            ends_at=local(2026, 12, 20, 10),
            capacity=10,
        ).id
        session.commit()
    start = threading.Barrier(len(people))
    outcomes = []

    def sign_up(volunteer_id):
        start.wait()
        try:
            with uow() as session:
                event_admin.add_to_roster(session, now, "test", shift, volunteer_id)
                session.commit()
            outcomes.append("on")
        except InputError:
            outcomes.append("full")

    threads = [threading.Thread(target=sign_up, args=(v,)) for v in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with uow() as session:
        assert session.get(Shift, shift).taken == 10
        from storage.event_store import roster_of

        assert len(roster_of(session, [shift])) == 10
    assert outcomes.count("on") == 10 and outcomes.count("full") == 40
    engine.dispose()


async def test_the_poster_command_writes_a_png_and_a_pdf_whose_code_is_the_short_link(
    tmp_path, line_api, telegram_api
):
    import zxingcpp
    from PIL import Image

    from tests.conftest import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN
    from tests.test_serve import vbot

    env = {
        k: v for k, v in __import__("os").environ.items() if not k.startswith(("VBOT_", "LINE_", "TELEGRAM_"))
    }
    env |= {
        "VBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'poster.db'}",
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "LINE_API_BASE_URL": line_api.url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }
    run = lambda *args: __import__("asyncio").to_thread(vbot, env, *args)  # noqa: E731
    unit = str((await run("unit", "add", "--name", "臺北市觀光傳播局志工隊"))["id"])
    event = await run(
        "event",
        "add",
        "--unit",
        unit,
        "--title",
        "臺北燈節",
        "--start",
        "2026-04-01T08:00",
        "--end",
        "2026-04-01T22:00",
        "--place",
        "中正紀念堂",
    )
    shift = await run(
        "shift",
        "add",
        "--event",
        str(event["id"]),
        "--start",
        "2026-04-01T09:00",
        "--end",
        "2026-04-01T12:00",
        "--capacity",
        "10",
        "--post",
        "服務台",
    )
    assert set(shift) == {"id"}
    png = await run("event", "poster", "--event", str(event["id"]), "-o", str(tmp_path / "poster.png"))
    await run("event", "poster", "--event", str(event["id"]), "-o", str(tmp_path / "poster.pdf"))
    found = {code.text for code in zxingcpp.read_barcodes(Image.open(png["file"]))}
    # One code, of the bot's short link: it sends LINE's browser to the chat and others to a page of buttons.
    assert found == {f"http://127.0.0.1:8080/e/{event['code']}"}
    assert (tmp_path / "poster.pdf").read_bytes().startswith(b"%PDF")


async def test_shifts_join_the_reminders_missing_volunteers_and_forgotten_check_outs(fair):
    h = fair.h
    dan = await fair.person(fair.unit, line_user="Udan", name="王大明")
    with fair.uow() as session:
        event_admin.add_to_roster(session, h.now, "test", fair.shift, dan)
        session.commit()
    *_, line, _ = await fair.remind(local(2026, 3, 31, 18, 0))
    assert len(h.line_api.texts_to("Uamy")) == 1 and "明天" in h.line_api.texts_to("Uamy")[0]
    assert "服務台" in h.line_api.texts_to("Udan")[0]
    assert not any("服務台" in text for text in h.line_api.texts_to("Uboss"))  # not on the roster
    await fair.remind(local(2026, 4, 1, 8, 0))
    assert "一小時" in h.line_api.texts_to("Uamy")[-1]

    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 8, 55), now=local(2026, 4, 1, 8, 55))
    await fair.remind(local(2026, 4, 1, 9, 14))
    # (The coordinator may hear of 王大明 for other reasons by now, e.g. a record book to apply for.)
    assert not any("仍未簽到" in text for text in h.line_api.texts_to("Uboss"))
    await fair.remind(local(2026, 4, 1, 9, 15))
    report = [text for text in h.line_api.texts_to("Uboss") if "王大明" in text and "仍未簽到" in text]
    assert len(report) == 1 and "陳美玲" not in report[0]
    await fair.remind(local(2026, 4, 1, 9, 30))
    assert (
        len([text for text in h.line_api.texts_to("Uboss") if "王大明" in text and "仍未簽到" in text]) == 1
    )  # once

    *_, line, _ = await fair.remind(local(2026, 4, 1, 12, 29))
    assert not any("還在服務" in text for text in line)
    await fair.remind(local(2026, 4, 1, 12, 30))
    question = h.line_api.texts_to("Uamy")[-1]
    assert "12:00" in question and "還在服務" in question
    push = [c for c in h.line_api.calls if c.path.endswith("/push") and c.body["to"] == "Uamy"][-1]
    first_button = push.body["messages"][-1]["quickReply"]["items"][0]["action"]["text"]
    answer = await h.line_says(
        "Uamy", first_button, at=local(2026, 4, 1, 13, 5), now=local(2026, 4, 1, 13, 5)
    )
    assert "12:00" in answer[0] and "3.1" in answer[0]  # 08:55 to the shift's end, not to 13:05


async def test_an_event_with_a_radius_needs_a_location_within_it_on_line_and_telegram(fair):
    h = fair.h
    with fair.uow() as session:
        event = session.get(Event, fair.event)
        event.latitude, event.longitude, event.radius_m = 25.0347, 121.5218, 200  # 中正紀念堂
        session.add(event)
        session.commit()
    at = local(2026, 4, 1, 8, 50)
    answer = await h.line_says("Uamy", f"簽到 {fair.code}", at=at, now=at)
    assert "位置" in answer[0] and [r.status for r in records(fair)] == ["location"]
    reply = h.line_api.sent("/reply")[-1].body["messages"][-1]["quickReply"]["items"][0]["action"]
    assert reply["type"] == "location"

    def location_event(lat, lon, when):
        event = h.line_event("Uamy", None, at=when)
        event["message"] = {
            "id": "77",
            "type": "location",
            "latitude": lat,
            "longitude": lon,
            "address": "臺北",
        }
        return event

    far = local(2026, 4, 1, 8, 51)
    h.now = far
    assert (
        await h.post_line(location_event(25.0478, 121.5170, far))
    ).status_code == 200  # Taipei Main Station
    await h.drain(far)
    assert "公尺" in h.line_api.delivered_texts()[-1] and records(fair)[0].status == "location"
    near = local(2026, 4, 1, 8, 52)
    h.now = near
    await h.post_line(location_event(25.0350, 121.5215, near))
    await h.drain(near)
    assert "08:50" in h.line_api.delivered_texts()[-1]
    [record] = records(fair)
    assert record.status == "open" and record.check_in == at and record.shift_id == fair.shift

    await h.telegram_says(7001, f"簽到 {fair.code}", at=near, now=near)
    keyboard = json.loads(h.telegram_api.sent("/sendMessage")[-1].body["reply_markup"])
    assert keyboard["keyboard"][0][0]["request_location"] is True
    update = h.telegram_update(7001, None, at=near)
    update["message"]["location"] = {"latitude": 25.0349, "longitude": 121.5220}
    await h.post_telegram(update)
    await h.drain(near)
    assert "08:52" in h.telegram_api.delivered_texts()[-1]
    assert [r.status for r in records(fair)] == ["open", "open"] and records(fair)[1].walk_up


def test_the_kiosk_command_prints_a_signed_link_only_for_a_rotating_code_event(tmp_path):
    from urllib.parse import parse_qs, urlsplit

    from handlers.events.codes import kiosk_link_valid
    from tests.test_cli import clean_env, last_json
    from tests.test_cli import vbot as run_vbot

    env = clean_env(
        VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'k.db'}", VBOT_PUBLIC_URL="https://vbot.example.tw"
    )
    unit = str(
        last_json(run_vbot(tmp_path, "unit", "add", "--name", "馬拉松志工隊", "--json", env=env))["id"]
    )
    times = ["--start", "2026-12-20T05:00", "--end", "2026-12-20T14:00"]
    plain = str(
        last_json(
            run_vbot(tmp_path, "event", "add", "--unit", unit, "--title", "路跑", *times, "--json", env=env)
        )["id"]
    )
    rotating = str(
        last_json(
            run_vbot(
                tmp_path,
                "event",
                "add",
                "--unit",
                unit,
                "--title",
                "馬拉松",
                *times,
                "--rotating-code",
                "--json",
                env=env,
            )
        )["id"]
    )
    refused = run_vbot(tmp_path, "event", "kiosk", "--event", plain, env=env)
    assert refused.returncode == 2 and "--rotating-code" in refused.stderr
    url = last_json(
        run_vbot(tmp_path, "event", "kiosk", "--event", rotating, "--hours", "2", "--json", env=env)
    )["url"]
    parts = urlsplit(url)
    assert url.startswith(f"https://vbot.example.tw/events/{rotating}/kiosk?")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    with UnitOfWork(engine)() as session:
        secret = session.get(Event, int(rotating)).secret
    engine.dispose()
    now = dt.datetime.now(dt.UTC)
    assert kiosk_link_valid(secret, int(rotating), int(query["expires"]), query["sig"], now)
    assert not kiosk_link_valid(
        secret, int(rotating), int(query["expires"]), query["sig"], now + dt.timedelta(hours=3)
    )


def test_a_roster_file_is_imported_row_by_row_and_importing_it_again_changes_nothing(tmp_path):
    from tests.test_cli import clean_env, last_json
    from tests.test_cli import vbot as run_vbot

    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    run = lambda *args: last_json(run_vbot(tmp_path, *args, "--json", env=env))  # noqa: E731
    unit = str(run("unit", "add", "--name", "馬拉松志工隊")["id"])
    people = [
        str(run("volunteer", "add", "--unit", unit, "--name", name)["id"]) for name in ("甲", "乙", "丙")
    ]
    event = str(
        run(
            "event",
            "add",
            "--unit",
            unit,
            "--title",
            "馬拉松",
            "--start",
            "2026-12-20T05:00",
            "--end",
            "2026-12-20T14:00",
        )["id"]
    )
    shift = str(
        run(
            "shift",
            "add",
            "--event",
            event,
            "--start",
            "2026-12-20T06:00",
            "--end",
            "2026-12-20T10:00",
            "--capacity",
            "2",
            "--post",
            "補給站",
        )["id"]
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"shift,volunteer\n{shift},{people[0]}\n{shift},{people[1]}\n{shift},{people[2]}\n"
        f"{shift},abc\n999,{people[0]}\n",
        encoding="utf-8-sig",
    )
    first = run("roster", "import", str(roster), "--event", event)
    assert (first["added"], first["unchanged"]) == (2, 0)
    assert [e["line"] for e in first["errors"]] == [4, 5, 6]
    assert "full" in first["errors"][0]["error"] and "999" in first["errors"][2]["error"]
    again = run("roster", "import", str(roster), "--event", event)
    assert (again["added"], again["unchanged"]) == (0, 2)
    not_csv = tmp_path / "roster.xlsx"
    not_csv.write_bytes(b"PK\x03\x04\xff\xfe")
    refused = run_vbot(tmp_path, "roster", "import", str(not_csv), "--event", event, env=env)
    assert refused.returncode == 2 and "UTF-8" in refused.stderr and "Traceback" not in refused.stderr


async def test_coordinators_settle_sessions_waiting_for_review_and_correct_records_of_their_units_only(fair):
    h = fair.h
    other = h.add_unit("新北市立圖書館", city="other")
    outsider = await fair.person(other, line_user="Uother", role="coordinator", name="外單位組長")
    await h.line_says("Uamy", "簽到", at=local(2026, 4, 2, 8), now=local(2026, 4, 2, 8))
    await h.line_says("Uamy", "簽退", at=local(2026, 4, 2, 21), now=local(2026, 4, 2, 21))  # 13 h: to review
    [record] = records(fair)
    assert record.status == "review"
    refused = await h.line_says(
        "Uother", f"核准 #{record.id}", at=local(2026, 4, 3, 9), now=local(2026, 4, 3, 9)
    )
    assert "找不到" in refused[0] and records(fair)[0].status == "review"  # another unit's: as if unknown
    listing = await h.line_says("Uboss", "審核", at=local(2026, 4, 3, 9), now=local(2026, 4, 3, 9))
    assert f"#{record.id} 陳美玲" in listing[0] and "13" in listing[0]
    answer = await h.line_says(
        "Uboss",
        f"更正 #{record.id} 8 忘記簽退，實際服務到17點",
        at=local(2026, 4, 3, 9, 5),
        now=local(2026, 4, 3, 9, 5),
    )
    assert "8" in answer[0]
    old, new = records(fair)
    assert (old.status, old.minutes) == ("void", 780) and (new.status, new.minutes, new.source) == (
        "counted",
        480,
        "manual",
    )
    assert "忘記簽退" in new.note
    await fair.remind(local(2026, 4, 3, 9, 6))
    assert any("8 小時" in text and "忘記簽退" in text for text in h.line_api.texts_to("Uamy"))
    again = await h.line_says(
        "Uboss", f"核准 #{record.id}", at=local(2026, 4, 3, 9, 7), now=local(2026, 4, 3, 9, 7)
    )
    assert "已經處理" in again[0]
    assert outsider


async def test_people_see_and_correct_their_data_ask_for_leave_and_have_their_identity_deleted(fair):
    h = fair.h
    at = local(2026, 4, 1, 10)
    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    await h.line_says("Uamy", "簽退", at=at, now=at)
    shown = await h.line_says("Uamy", "我的資料", at=at, now=at)
    assert "陳美玲" in shown[0] and "line" in shown[0] and "臺北市觀光傳播局志工隊" in shown[0]
    assert "陳美玲" in (await h.line_says("Uamy", "我的姓名 陳美齡", at=at, now=at))[0].replace(
        "陳美齡", "陳美玲"
    )
    await h.line_says("Uamy", "請假 2026-04-03 回診", at=at, now=at)
    await h.line_says("Uamy", "意見 希望有週末的班", at=at, now=at)
    await fair.remind(at + dt.timedelta(minutes=1))
    boss = h.line_api.texts_to("Uboss")
    assert any("陳美齡" in text and "回診" in text and "115年4月3日" in text for text in boss)
    assert any("週末" in text for text in boss)

    refused = await h.line_says("Uboss", f"確認刪除 {fair.amy}", at=at, now=at)
    assert "沒有要求" in refused[0]  # she has not asked
    await h.line_says("Uamy", "刪除我的資料 確定", at=at, now=at)
    await fair.remind(at + dt.timedelta(minutes=2))
    stranger = await h.line_says("Ustranger", f"確認刪除 {fair.amy}", at=at, now=at)
    assert "綁定" in stranger[0]  # someone not linked is only told how to link
    outsider = await h.line_says("Uamy", f"確認刪除 {fair.amy}", at=at, now=at)
    assert "督導" in outsider[0]
    done = await h.line_says("Uboss", f"確認刪除 {fair.amy}", at=at, now=at)
    assert "刪除" in done[0]
    with fair.uow() as session:
        person = session.get(Volunteer, fair.amy)
        assert person.name == "（已刪除）" and person.phone is None
    [record] = records(fair)
    assert record.volunteer_id == fair.amy and record.minutes == 60  # the unit's hours stay
    after = await h.line_says("Uamy", "時數", at=at, now=at)
    assert "綁定" in after[0]  # the chat link is gone: she is a stranger now


async def test_a_coordinator_cannot_check_out_a_shared_member_serving_at_another_unit(fair):
    h = fair.h
    other = h.add_unit("新北市立圖書館", city="other")
    with fair.uow() as session:
        people_store.add_membership(session, fair.amy, other, Role.VOLUNTEER)
        session.commit()
    at = local(2026, 4, 1, 9)
    await h.line_says("Uamy", f"簽到 #{other}", at=at, now=at)
    [visit] = records(fair)
    assert visit.unit_id == other and visit.status == "open"
    later = local(2026, 4, 1, 10)
    answer = await h.line_says("Uboss", f"代簽退 {fair.amy}", at=later, now=later)
    assert "督導" in answer[0] and "新北市立圖書館" not in answer[0]
    [visit] = records(fair)
    assert visit.status == "open" and visit.check_out is None  # still hers to close, or unit B's


async def test_a_coordinator_of_another_unit_is_refused_everything_on_this_units_people(fair):
    """Unit B's coordinator tries every coordinator word on unit A's people: refused, nothing changed or leaked."""
    h = fair.h
    other = h.add_unit("新北市立圖書館", city="other")
    await fair.person(other, line_user="Uother", role="coordinator", name="外單位組長")
    at = local(2026, 4, 1, 9, 30)
    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    [record] = records(fair)
    with fair.uow() as session:
        audit_before = session.execute(sa.text("SELECT count(*) FROM auditentry")).scalar()
    attempts = [
        "獎勵名單",
        "現場",
        f"代簽到 {fair.bob}",
        f"代簽退 {fair.amy}",
        "審核",
        f"核准 #{record.id}",
        f"作廢 #{record.id}",
        f"更正 #{record.id} 1 測試",
        f"確認刪除 {fair.amy}",
        f"完成 {fair.unit} half-year-report-h1 2026-07-10",
        f"匯出 {fair.unit}",
        f"報表 {fair.unit} 2026H1",
    ]
    for text in attempts:
        answer = await h.line_says("Uother", text, at=at, now=at)
        assert len(answer) == 1, text
        assert not any(name in answer[0] for name in ("陳美玲", "李大同", "林組長", "觀光傳播局")), (
            text,
            answer[0],
        )
    with fair.uow() as session:
        audit_after = session.execute(sa.text("SELECT count(*) FROM auditentry")).scalar()
    assert audit_after == audit_before
    assert [(r.status, r.volunteer_id) for r in records(fair)] == [("open", fair.amy)]


async def test_my_records_comes_as_a_file_on_telegram_and_as_a_signed_link_on_line(fair):
    import csv as csv_module
    from urllib.parse import urlsplit

    h = fair.h
    await h.line_says("Uamy", f"簽到 {fair.code}", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    await h.line_says("Uamy", "簽退", at=local(2026, 4, 1, 11, 30), now=local(2026, 4, 1, 11, 30))
    await h.telegram_says(7001, f"簽到 {fair.code}", at=local(2026, 4, 1, 9), now=local(2026, 4, 1, 9))
    await h.telegram_says(7001, "簽退", at=local(2026, 4, 1, 10), now=local(2026, 4, 1, 10))

    at = local(2026, 4, 1, 12)
    await h.telegram_says(7001, "我的紀錄", at=at, now=at)
    [(chat, name, data)] = h.telegram_api.documents
    rows = list(csv_module.reader(data.decode("utf-8-sig").splitlines()))
    assert (chat, name) == (7001, "my-records.csv") and len(rows) == 2 and rows[1][5] == "1.00"

    answer = await h.line_says("Uamy", "我的紀錄", at=at, now=at)
    assert "2.5" in answer[0]
    link = re.search(r"https?://\S+", answer[0]).group(0)
    parts = urlsplit(link)
    path = f"{parts.path}?{parts.query}"
    h.now = at
    download = await h.http.get(path)
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    rows = list(csv_module.reader(download.content.decode("utf-8-sig").splitlines()))
    assert [row[5] for row in rows[1:]] == ["2.50"]
    other = await h.http.get(path.replace(f"/records/{fair.amy}?", f"/records/{fair.bob}?"))
    assert other.status_code == 403  # the signature names one person
    h.now = at + dt.timedelta(hours=25)
    assert (await h.http.get(path)).status_code == 403  # expired
