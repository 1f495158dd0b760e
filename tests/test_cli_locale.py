"""What the commands print for a person is in VBOT_LOCALE (zh_TW unless set): a coordinator's office reads
Chinese, with ROC dates and award names, never internal codes; `--json` keeps the codes for scripts. The
operations issue (issue 18: "human-readable output (in VBOT_LOCALE) unless --json")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import clean_env, sqlite_url, vbot


def say(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = vbot(cwd, *args, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout.strip()


def setting_up(cwd: Path, locale: str) -> dict[str, str]:
    """An office's first steps in one language: what each command printed, by command."""
    env = clean_env(VBOT_DATABASE_URL=sqlite_url(cwd), VBOT_LOCALE=locale)
    said = {"init": say(cwd, env, "init")}
    said["unit"] = say(cwd, env, "unit", "add", "--name", "臺北市立圖書館")
    said["volunteer"] = say(
        cwd, env, *("volunteer", "add", "--unit", "1", "--name", "王小明", "--trained-on", "2024-01-02")
    )
    said["set"] = say(
        cwd, env, "volunteer", "set", "1", "--birth-date", "1960-05-01", "--record-book", "北市志字第1號"
    )
    said["hours"] = say(
        cwd,
        env,
        *("hours", "add", "--volunteer", "1", "--unit", "1", "--date", "114/03/25", "--hours", "2.5"),
    )
    said["grant"] = say(
        cwd, env, *("award", "grant", "--volunteer", "1", "--award", "honor-card", "--date", "114/04/01")
    )
    said["deadline"] = say(
        cwd, env, *("deadline", "add", "--unit", "1", "--title", "聯繫會議", "--date", "2030-01-05")
    )
    said["event"] = say(
        cwd,
        env,
        *("event", "add", "--unit", "1", "--title", "淨灘"),
        *("--start", "2030-02-14T09:00", "--end", "2030-02-14T12:00"),
    )
    said["report"] = say(cwd, env, "report", "--unit", "1", "--period", "2025H1")
    said["export"] = say(
        cwd,
        env,
        *("export", "hours", "--unit", "1", "--from", "2025-01-01", "--to", "2025-06-30", "-o", "h.csv"),
    )
    said["backup"] = say(cwd, env, "backup", "-o", "office.backup")
    return said


def test_the_office_reads_chinese_by_default(tmp_path):
    said = setting_up(tmp_path, "zh_TW")
    assert said["init"] == "資料庫已就緒"
    assert said["unit"] == "已新增單位 1：臺北市立圖書館"
    assert (
        said["volunteer"].startswith("已新增志工 1；邀請碼 ") and "30 天內有效，限用一次" in said["volunteer"]
    )
    assert said["set"] == "志工 1：已設定 --birth-date, --record-book"
    assert said["hours"] == "紀錄 1：服務 2.5 小時"
    assert said["grant"] == "已授予志工 1：志願服務榮譽卡"  # the award's name, not honor-card
    assert said["deadline"] == "已新增期限 1：聯繫會議，119年1月5日"  # the ROC date
    assert said["event"].startswith("已新增活動 1；簽到代碼 ")
    report = said["report"].splitlines()
    assert report[0] == "報表 2025H1（114年1月1日 – 114年6月30日），單位 1"
    assert report[1].startswith("服務志工 1 人，1 人次，2.50 小時")
    assert report[3].startswith("65 歲以上 1 人")
    assert (
        said["export"]
        == "h.csv：單位 1（臺北市立圖書館）114年1月1日 至 114年6月30日 的紀錄 1 筆，共 2.5 小時"
    )
    assert said["backup"] == "備份已寫入 office.backup"
    everything = "\n".join(words for command, words in said.items() if command != "set")  # set names options
    for english in ("added", "record", "hours", "unit ", "report", "honor-card", "written"):
        assert english not in everything, english


def test_english_when_the_office_chooses_it(tmp_path):
    said = setting_up(tmp_path, "en")
    assert said["init"] == "database is ready"
    assert said["unit"] == "unit 1 added: 臺北市立圖書館"
    assert said["hours"] == "record 1: 2.5 hours of service"
    assert said["grant"].endswith("granted to volunteer 1") and "honor-card" not in said["grant"]
    assert said["deadline"] == "deadline 1 added: 聯繫會議 on Jan 5, 2030"
    assert said["report"].splitlines()[0] == "report 2025H1 (Jan 1, 2025 – Jun 30, 2025), unit 1"
    assert said["backup"] == "backup written to office.backup"
    assert not any("\u4e00" <= char <= "\u9fff" for char in said["hours"] + said["backup"] + said["init"])


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_json_keeps_its_codes_in_every_language(tmp_path, locale):
    env = clean_env(VBOT_DATABASE_URL=sqlite_url(tmp_path), VBOT_LOCALE=locale)
    say(tmp_path, env, "init")
    say(tmp_path, env, "unit", "add", "--name", "臺北市立圖書館")
    say(tmp_path, env, "volunteer", "add", "--unit", "1", "--name", "王小明", "--trained-on", "2024-01-02")
    answer = json.loads(
        say(
            tmp_path,
            env,
            *(
                "hours",
                "add",
                "--volunteer",
                "1",
                "--unit",
                "1",
                "--date",
                "2025-03-25",
                "--hours",
                "1",
                "--json",
            ),
        )
    )
    assert answer["kind"] == "service" and answer["warning"] is None
    init = json.loads(say(tmp_path, env, "init", "--json"))
    assert init["schema"] == "current"


async def test_the_platform_setups_report_in_the_office_language(tmp_path, line_api, telegram_api):
    import asyncio

    from tests.test_native_menus import PUBLIC_URL, line_env, telegram_env

    url = sqlite_url(tmp_path)
    telegram = await asyncio.to_thread(
        say, tmp_path, telegram_env(url, telegram_api, VBOT_LOCALE="zh_TW"), "telegram", "setup"
    )
    assert telegram.startswith(f"Webhook 已設為 {PUBLIC_URL}/webhooks/telegram；已設定指令的語言：任何語言、")
    line = await asyncio.to_thread(
        say, tmp_path, line_env(url, line_api) | {"VBOT_LOCALE": "en"}, "line", "setup"
    )
    assert line.startswith("10 rich menus created, 0 old ones deleted; default richmenu-")


@pytest.mark.parametrize(
    ("locale", "words"),
    [("zh_TW", "時數必須是 0 以外、最多 100000 的數字。"), ("en", "Hours must be a number other than 0")],
)
def test_a_refused_command_says_why_in_the_office_language_with_the_operator_detail(tmp_path, locale, words):
    env = clean_env(VBOT_DATABASE_URL=sqlite_url(tmp_path), VBOT_LOCALE=locale)
    say(tmp_path, env, "init")
    say(tmp_path, env, "unit", "add", "--name", "臺北市立圖書館")
    say(tmp_path, env, "volunteer", "add", "--unit", "1", "--name", "王小明")
    done = vbot(
        tmp_path,
        *("hours", "add", "--volunteer", "1", "--unit", "1", "--date", "2026-03-25", "--hours", "0"),
        env=env,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("vbot: ") and words in line
    if locale == "zh_TW":
        assert "(" in line  # the English detail kept beside the words, for a support question
