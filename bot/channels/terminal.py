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
    incoming = Incoming(
        Platform.TERMINAL, DEMO_USER, "text", t("link") + " " + invite.code, now, ReplyTo(DEMO_USER)
    )
    with UnitOfWork(engine)() as session:
        replies = router.handle(session, incoming, now, rules, catalogs)
        session.commit()
    print(render(replies)[0])


def demo(settings: Settings) -> int:
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
            print(t("Demo: you are the sample volunteer. Type a word or a button's number; Ctrl-D ends."))
            seed(engine, rules, catalogs)
            chat(engine, rules, catalogs, sys.stdin, sys.stdout)
        finally:
            engine.dispose()
    return 0
