"""`vbot demo`: the terminal as a chat platform, on a fresh sample database, to try the bot without LINE or Telegram."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from bot.channels.base import text_with_link
from bot.config import Settings
from bot.database import prepare_database
from handlers import router
from handlers.context import Rules
from handlers.events import admin as event_admin
from handlers.i18n import Catalogs
from handlers.people import admin
from handlers.types import Incoming, Reply, ReplyTo
from storage.db import UnitOfWork, make_engine
from storage.vocabulary import Platform

DEMO_USER = "demo"


def render(replies: list[Reply]) -> tuple[str, list[str]]:
    """Plain text (a file as its download link) with numbered buttons; typing a button's number sends its text."""
    lines, choices = [], []
    for reply in replies:
        lines.append(text_with_link(reply))
        for button in reply.buttons:
            choices.append(button.text)
            lines.append(f"  [{len(choices)}] {button.label}")
    return "\n".join(lines), choices


def say(engine, rules: Rules, catalogs: Catalogs, user: str, text: str, at: dt.datetime) -> list[Reply]:
    """`user` types `text` at `at` (the platform's timestamp); the bot answers now."""
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine)() as session:
        replies = router.handle(
            session, Incoming(Platform.TERMINAL, user, "text", text, at, ReplyTo(user)), now, rules, catalogs
        )
        session.commit()
    return replies


def chat(engine, rules: Rules, catalogs: Catalogs, lines, out) -> None:
    choices: list[str] = []
    uow = UnitOfWork(engine)
    out.write("> ")
    out.flush()
    for line in lines:
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(choices):
            text = choices[int(text) - 1]
        now = dt.datetime.now(dt.UTC)
        incoming = Incoming(Platform.TERMINAL, DEMO_USER, "text", text, now, ReplyTo(DEMO_USER))
        with uow() as session:
            replies = router.handle(session, incoming, now, rules, catalogs)
            session.commit()
        shown, choices = render(replies)
        out.write(shown + "\n> ")
        out.flush()
    out.write("\n")


def seed(engine, rules: Rules, catalogs: Catalogs) -> None:
    """A sample unit and volunteer with a record-book balance, already linked to this terminal."""
    now = dt.datetime.now(dt.UTC)
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(
            session, now, "demo", name="臺北市立圖書館 (示範)", category="culture", city="taipei"
        )
        person, invite = admin.add_volunteer(
            session,
            now,
            "demo",
            unit_id=unit.id,
            name="王小明",
            invite_valid_for=rules.invite_valid_for,
            trained_on=dt.date(2023, 9, 1),
        )
        admin.set_volunteer(
            session,
            now,
            "demo",
            person.id,
            {"record_book_no": "北市志字第000123號", "record_book_date": dt.date(2023, 9, 20)},
        )
        admin.add_hours(
            session,
            now,
            "demo",
            volunteer_id=person.id,
            unit_id=unit.id,
            day=dt.date(2025, 12, 31),
            hours=120,
            kind=admin.BALANCE,
            note="record-book balance",
        )
        session.commit()
    t = catalogs.translator(rules.default_locale)
    print(render(say(engine, rules, catalogs, DEMO_USER, t("link") + " " + invite.code, now))[0])


def stored(row_id: int | None) -> int:
    """The id of a row the operation has already flushed (SQLModel types every id as optional)."""
    assert row_id is not None
    return row_id


def seed_coordinator(engine, rules: Rules, catalogs: Catalogs) -> None:
    """The sample unit with a day under way, and this terminal linked to its coordinator: a volunteer serving
    at today's event, one missing from its shift, a visit of 13 hours waiting for review, and a volunteer a
    few hours short of the national bronze medal. Everything is done through the same words and operations
    as in real life (the volunteers' chats are other terminal users)."""
    now = dt.datetime.now(dt.UTC)
    link = catalogs.translator(rules.default_locale)("link")
    with UnitOfWork(engine)() as session:
        unit = admin.add_unit(
            session, now, "demo", name="臺北市立圖書館 (示範)", category="culture", city="taipei"
        )
        unit_id = stored(unit.id)
        people = {}
        for name, role in (
            ("李督導", "coordinator"),
            ("陳美玲", "volunteer"),
            ("林志明", "volunteer"),
            ("張淑芬", "volunteer"),
        ):
            person, invite = admin.add_volunteer(
                session,
                now,
                "demo",
                unit_id=unit_id,
                name=name,
                invite_valid_for=rules.invite_valid_for,
                trained_on=dt.date(2015, 3, 1),
                role=role,
            )
            people[name] = (stored(person.id), invite.code)
        veteran = people["張淑芬"][0]
        admin.set_volunteer(
            session,
            now,
            "demo",
            veteran,
            {
                "record_book_no": "北市志字第000456號",
                "record_book_date": dt.date(2015, 3, 20),
                "english_name": "Shu-Fen Chang",
            },
        )
        admin.add_hours(
            session,
            now,
            "demo",
            volunteer_id=veteran,
            unit_id=unit_id,
            day=dt.date(2025, 12, 31),
            hours=2990,
            kind=admin.BALANCE,
            note="record-book balance",
        )
        # Served last month and in the half-year just ended, so that 匯出 and 報表 have something to show.
        today = now.astimezone(rules.timezone).date()
        last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
        last_half = dt.date(today.year, 1, 10) if today.month >= 7 else dt.date(today.year - 1, 7, 10)
        for day, hours in ((last_month, 3.5), (last_half, 4)):
            for name in ("陳美玲", "林志明"):
                admin.add_hours(
                    session, now, "demo", volunteer_id=people[name][0], unit_id=unit_id, day=day, hours=hours
                )
        event = event_admin.add_event(
            session,
            now,
            "demo",
            unit_id=unit_id,
            title="親子說故事活動",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=3),
            place="總館 B1",
        )
        event_id = stored(event.id)
        shift = event_admin.add_shift(
            session,
            now,
            "demo",
            event_id=event_id,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=3),
            capacity=5,
        )
        for name in ("陳美玲", "張淑芬"):
            event_admin.add_to_roster(session, now, "demo", stored(shift.id), people[name][0])
        session.commit()
    for number, name in enumerate(("陳美玲", "林志明", "張淑芬"), start=2):
        say(engine, rules, catalogs, f"demo-{number}", f"{link} {people[name][1]}", now)
    say(engine, rules, catalogs, "demo-2", f"簽到 {event.code}", now - dt.timedelta(minutes=50))
    say(engine, rules, catalogs, "demo-3", "簽到", now - dt.timedelta(hours=13, minutes=30))
    say(engine, rules, catalogs, "demo-3", "簽退", now - dt.timedelta(minutes=20))
    print(render(say(engine, rules, catalogs, DEMO_USER, f"{link} {people['李督導'][1]}", now))[0])


def demo(settings: Settings, coordinator: bool = False) -> int:
    catalogs = Catalogs()
    rules = Rules(
        timezone=settings.zone,
        default_locale=catalogs.default_for(settings.locale),
        max_visit=settings.max_visit,
    )
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a byte that is not UTF-8 is a typo, not a reason to crash
    t = catalogs.translator(rules.default_locale)
    with tempfile.TemporaryDirectory(prefix="vbot-demo-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'demo.db'}")
        try:
            prepare_database(engine)
            if coordinator:
                print(
                    t(
                        "Demo: you are the coordinator of a sample unit. Try 現場, 審核, 獎勵名單, 匯出 and 報表; "
                        "Ctrl-D ends."
                    )
                )
                seed_coordinator(engine, rules, catalogs)
            else:
                print(t("Demo: you are the sample volunteer. Type a word or a button's number; Ctrl-D ends."))
                seed(engine, rules, catalogs)
            chat(engine, rules, catalogs, sys.stdin, sys.stdout)
        finally:
            engine.dispose()
    return 0
