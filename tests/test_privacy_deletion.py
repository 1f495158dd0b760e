"""Deletion deletes: after 刪除我的資料 and a coordinator's 確認刪除, nothing the person gave or wrote is in any
column of any table (JSON decoded), while the unit's hours stay the same, anonymous. And the retention job."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import sqlalchemy as sa
from sqlmodel import select

from bot.commands.main import parser
from bot.commands.main import run as run_cli
from handlers.jobs import retention
from handlers.people import admin
from storage.models import AuditEntry, InviteCode, Notification, ServiceRecord, Volunteer
from tests.conftest import make_settings
from tests.test_events import fair  # noqa: F401  (the fixture)
from tests.test_reminders import local

LINE_ID = "UprivacyLINE1"
TELEGRAM_ID = 987650123
ROSTER = (
    "姓名,性別,出生日期,手機,紀錄冊編號,紀錄冊發給日期,基礎訓練日期,特殊訓練日期,英文姓名,保險到期日\n"
    "王小明,男,1958-03-14,0933111222,北市志字第98765號,2020-05-06,2019-04-01,2019-09-09,"
    "Wang Hsiaoming,2026-12-31\n"
)
# Every value the person gave or wrote, in the forms it could be stored in.
THEIRS = (
    "王小明",
    "王大明",
    LINE_ID,
    str(TELEGRAM_ID),
    "0933111222",
    "1958-03-14",
    "1958/03/14",
    "47年3月14日",
    "47.03.14",
    "北市志字第98765號",
    "北市志字第12345號",
    "Wang Hsiaoming",
    "Ming Wang",
    "0912345678",
    "信義路五段7號",
    "糖尿病回診",
    "週末可以多排班",
)


def cli(h, *argv: str) -> dict:
    """`vbot ARGV --json` in this process, on the harness's database; its JSON answer."""
    out = io.StringIO()
    settings = make_settings(h.vbot.settings.database_url)
    with contextlib.redirect_stdout(out):
        assert run_cli(parser().parse_args([*argv, "--json"]), settings) == 0
    return json.loads(out.getvalue().splitlines()[-1])


def everything(engine) -> list[tuple[str, str, str]]:
    """(table, column, text) of every value in the database; JSON texts decoded, so escapes hide nothing."""
    found = []
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = str(value)
                    with contextlib.suppress(ValueError):
                        text += " " + json.dumps(json.loads(text), ensure_ascii=False)
                    found.append((table.name, column, text))
    return found


def unit_minutes(fair_town) -> dict[int, tuple[int, int]]:
    with fair_town.uow() as session:
        rows = session.exec(select(ServiceRecord).where(ServiceRecord.status == "counted")).all()
        figures: dict[int, tuple[int, int]] = {}
        for r in rows:
            count, minutes = figures.get(r.unit_id, (0, 0))
            figures[r.unit_id] = (count + 1, minutes + r.minutes)
        return figures


async def test_a_deleted_person_leaves_no_value_in_any_column_of_any_table(fair, tmp_path):  # noqa: F811
    h = fair.h
    h.now = local(2026, 3, 30, 9)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    codes = tmp_path / "invites.csv"
    assert (
        cli(h, "volunteer", "import", str(roster), "--unit", str(fair.unit), "--invites", str(codes))[
            "created"
        ]
        == 1
    )
    header, line = codes.read_text(encoding="utf-8-sig").splitlines()
    invite = dict(zip(header.split(","), line.split(","), strict=True))
    me = int(invite["id"])
    cli(h, "volunteer", "set", str(me), "--english-name", "Ming Wang", "--record-book", "北市志字第12345號")
    cli(
        h,
        "hours",
        "add",
        "--volunteer",
        str(me),
        "--unit",
        str(fair.unit),
        "--date",
        "2026-03-02",
        "--hours",
        "2",
    )
    cli(
        h,
        "training",
        "add",
        "--volunteer",
        str(me),
        "--kind",
        "in-service",
        "--date",
        "2026-03-03",
        "--hours",
        "3",
    )
    cli(
        h,
        "award",
        "grant",
        "--volunteer",
        str(me),
        "--award",
        "performance-certificate",
        "--date",
        "2026-03-20",
    )
    with fair.uow() as session:
        second = admin.new_invite(session, me, h.now + dt.timedelta(days=30))
        session.commit()
        telegram_code = second.code
    [welcome] = await h.line_says(LINE_ID, f"綁定 {invite['invite_code']}", at=h.now, now=h.now)
    # The privacy notice says what is kept, for how long, and what a deletion removes.
    assert all(words in welcome for words in ("個資說明", "30天", "90天", "5年", "刪除我的資料", "不具名"))
    await h.telegram_says(TELEGRAM_ID, f"/start {telegram_code}", at=h.now, now=h.now)

    async def says(text: str, at: dt.datetime, who: str = LINE_ID) -> list[str]:
        return await h.line_says(who, text, at=at, now=at)

    # The event: checked in with the poster code (a walk-up, flagged to the coordinator), out at 11:00.
    await says(f"簽到 {fair.code}", local(2026, 4, 1, 9))
    await says("現場", local(2026, 4, 1, 9, 30), who="Uboss")
    await says("簽退", local(2026, 4, 1, 11))
    # Everyday service on Telegram; and one checked in and out by the coordinator.
    await h.telegram_says(TELEGRAM_ID, "簽到", at=local(2026, 4, 2, 9), now=local(2026, 4, 2, 9))
    await h.telegram_says(TELEGRAM_ID, "簽退", at=local(2026, 4, 2, 12), now=local(2026, 4, 2, 12))
    await says(f"代簽到 {me}", local(2026, 4, 3, 9), who="Uboss")
    await says(f"代簽退 {me}", local(2026, 4, 3, 10), who="Uboss")
    at = local(2026, 4, 3, 11)
    for text in (
        "我的姓名 王大明",
        "意見 我的手機是0912345678，住在信義路五段7號，週末可以多排班",
        "請假 2026-04-05 看醫生（糖尿病回診）",
        "我的紀錄",
        "我的資料",
        "時數",
        "獎勵",
        "訓練",
        "提醒 關 獎勵",
        "語言 en",
        "語言 zh_TW",
    ):
        assert await says(text, at), text
    await fair.remind(at + dt.timedelta(minutes=1))
    boss = h.line_api.texts_to("Uboss")
    assert any("糖尿病回診" in text for text in boss) and any("信義路五段7號" in text for text in boss)
    before = unit_minutes(fair)

    await says("刪除我的資料", at)  # asks again
    await says("刪除我的資料 確定", at)
    await fair.remind(at + dt.timedelta(minutes=2))
    done = await says(f"確認刪除 {me}", at + dt.timedelta(minutes=3), who="Uboss")
    assert "刪除" in done[0]
    await fair.remind(at + dt.timedelta(minutes=4))
    assert "已經刪除" in (await says(f"確認刪除 {me}", at + dt.timedelta(minutes=5), who="Uboss"))[0]

    left = [
        (table, column, value)
        for table, column, text in everything(h.vbot.engine)
        for value in THEIRS
        if value in text
    ]
    assert left == []
    assert unit_minutes(fair) == before  # the unit's figures: the same records, the same minutes
    with fair.uow() as session:
        assert session.get(Volunteer, me).name == "（已刪除）"
        records = session.exec(select(ServiceRecord).where(ServiceRecord.volunteer_id == me)).all()
        assert len(records) == 4 and f"volunteer:{me}" in {r.recorded_by for r in records}
        actors = {a.actor for a in session.exec(select(AuditEntry)).all()}
        assert f"volunteer:{me}" in actors  # the audit keeps a pseudonym where the chat id was
        assert session.exec(select(InviteCode).where(InviteCode.volunteer_id == me)).all()  # used, by no one
    # A stranger now: the chat links are gone on both platforms.
    assert "綁定" in (await says("時數", at + dt.timedelta(minutes=6)))[0]
    answer = await h.telegram_says(TELEGRAM_ID, "時數", at=at, now=at + dt.timedelta(minutes=6))
    assert "綁定" in answer[0]


async def test_retention_prunes_old_notifications_and_old_audit_texts_once_a_day(fair):  # noqa: F811
    h = fair.h
    at = local(2026, 4, 1, 10)
    await h.line_says("Uamy", "意見 電話0922000111", at=at, now=at)
    await fair.remind(at + dt.timedelta(minutes=1))
    with fair.uow() as session:
        assert session.exec(select(Notification).where(Notification.job == "feedback")).all()
        audits = session.exec(select(AuditEntry)).all()
        assert any(a.details != "{}" for a in audits)

    def run(now: dt.datetime) -> int:
        with fair.uow() as session:
            done = retention.retention(session, now, h.vbot.rules, h.vbot.catalogs)
            session.commit()
            return done

    assert run(at + dt.timedelta(days=89)) == 0  # kept 90 days after it was sent
    assert run(at + dt.timedelta(days=89, hours=1)) == 0  # once a day
    assert run(at + dt.timedelta(days=91)) >= 1
    with fair.uow() as session:
        assert not session.exec(select(Notification).where(Notification.job == "feedback")).all()
        assert any(a.details != "{}" for a in session.exec(select(AuditEntry)).all())  # 5 years
    assert run(at + dt.timedelta(days=5 * 366)) >= 1
    with fair.uow() as session:
        audits = session.exec(select(AuditEntry)).all()
        assert audits and all(a.details == "{}" and a.reason is None for a in audits)
        assert all(a.actor and a.action and a.target for a in audits)  # who, what, on what stay
