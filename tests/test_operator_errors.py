"""What the office reads when a command is refused or fails: the words of VBOT_LOCALE (zh_TW unless set),
the operator's English detail beside them, one line, no traceback; `--json` keeps the English line that
scripts match. Unknown ids, a roster's bad lines, the platform setups, a database that cannot be used.
The operations issue (issue 18: "human-readable output (in VBOT_LOCALE) unless --json")."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.test_cli import clean_env, sqlite_url, vbot
from tests.test_cli_locale import say
from tests.test_native_menus import line_env, one_line_error, telegram_env
from tests.test_serve import free_port


def refused(cwd, env, *args: str, code: int = 2) -> str:
    """The one line on stderr of a refused command, without the `vbot: ` in front."""
    line = one_line_error(vbot(cwd, *args, env=env), code)
    assert line.startswith("vbot: ")
    return line.removeprefix("vbot: ")


def office(cwd, locale: str) -> dict[str, str]:
    env = clean_env(VBOT_DATABASE_URL=sqlite_url(cwd), VBOT_LOCALE=locale)
    say(cwd, env, "init")
    say(cwd, env, "unit", "add", "--name", "臺北市立圖書館")
    return env


HOURS_OF_7 = ("hours", "add", "--volunteer", "7", "--unit", "1", "--date", "2026-03-25", "--hours", "1")


@pytest.mark.parametrize(
    ("locale", "volunteer", "unit"),
    [
        ("zh_TW", "沒有志工 7。", "沒有單位 7。"),
        ("vi", "Không có tình nguyện viên 7.", "Không có đơn vị 7."),
    ],
)
def test_an_unknown_id_is_said_in_the_office_language(tmp_path, locale, volunteer, unit):
    env = office(tmp_path, locale)
    assert refused(tmp_path, env, *HOURS_OF_7) == f"{volunteer} (there is no volunteer 7)"
    assert refused(tmp_path, env, "awards", "eligible", "--unit", "7") == f"{unit} (there is no unit 7)"
    assert refused(tmp_path, env, "event", "poster", "--event", "7", "-o", "p.png").startswith(
        ("沒有活動 7。", "Không có sự kiện 7.")
    )
    # In English the words and the detail are the same: said once.
    assert refused(tmp_path, env | {"VBOT_LOCALE": "en"}, *HOURS_OF_7) == "There is no volunteer 7."
    # Scripts read --json: the English line, the same in every language.
    assert refused(tmp_path, env, *HOURS_OF_7, "--json") == "there is no volunteer 7"


ROSTER = (
    "姓名,性別,出生日期,時數結餘\n"
    "王小明,男,1960-05-01,\n"
    "林大同,男生,1961-01-01,\n"  # line 3: no such gender
    "陳美玲,女,115/13/40,\n"  # line 4: no such day
    "張志強,男,1962-02-02,12\n"  # line 5: a balance without its date
    '"李四,女,1963-03-03,\n'  # line 6: a quote never closed
)


@pytest.mark.parametrize(
    ("locale", "lines"),
    [
        (
            "zh_TW",
            [
                "第 3 列：性別：'男生' 不是 男、女、其他 之一。",
                "第 4 列：出生日期：'115/13/40' 不是可採用的日期（例如 2026-03-25 或 115/03/25）。",
                "第 5 列：時數結餘 需要 結餘日期（結餘的日期）。",
                '第 6 列：這一行無法讀取：有引號（"）未關閉，或某個儲存格含有逗號卻沒有加引號。',
            ],
        ),
        (
            "en",
            [
                "line 3: 性別: '男生' is none of 男, 女, 其他.",
                "line 4: 出生日期: '115/13/40' is not a date that can be kept (e.g. 2026-03-25 or 115/03/25).",
                "line 5: 時數結餘 needs 結餘日期 (the date of the balance).",
                'line 6: This line cannot be read: a quote (") is not closed, or a cell holds a comma without'
                " quotes around it.",
            ],
        ),
    ],
)
def test_a_rosters_bad_lines_are_said_in_the_office_language(tmp_path, locale, lines):
    env = office(tmp_path, locale)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    said = say(tmp_path, env, "volunteer", "import", "roster.csv", "--unit", "1").splitlines()
    assert said[1:] == lines
    # --json: each line with the operator's English, stable for scripts.
    (tmp_path / "again.csv").write_text(ROSTER.replace("王小明", "王大明"), encoding="utf-8")
    answer = json.loads(say(tmp_path, env, "volunteer", "import", "again.csv", "--unit", "1", "--json"))
    assert [(e["line"], e["error"]) for e in answer["errors"]] == [
        (3, "性別: '男生' is none of 男, 女, 其他"),
        (4, answer["errors"][1]["error"]),
        (5, "時數結餘 needs 結餘日期 (the date of the balance)"),
        (6, answer["errors"][3]["error"]),
    ]
    assert answer["errors"][1]["error"].startswith("出生日期: ") and "quote" in answer["errors"][3]["error"]


@pytest.mark.parametrize(
    ("locale", "url_words", "closed_words"),
    [
        ("zh_TW", "資料庫位址（VBOT_DATABASE_URL）無法使用。", "無法開啟資料庫。"),
        (
            "id",
            "Alamat basis data (VBOT_DATABASE_URL) tidak dapat digunakan.",
            "Basis data tidak dapat dibuka.",
        ),
    ],
)
def test_init_on_a_database_url_that_cannot_work_says_so_in_the_office_language(
    tmp_path, locale, url_words, closed_words
):
    env = clean_env(VBOT_DATABASE_URL="no database at all", VBOT_LOCALE=locale)
    line = refused(tmp_path, env, "init")
    assert line.startswith(f"{url_words} (VBOT_DATABASE_URL is not a database URL")
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    env = clean_env(VBOT_DATABASE_URL=closed, VBOT_LOCALE=locale)
    line = refused(tmp_path, env, "init", code=1)
    assert line.startswith(f"{closed_words} (the database cannot be opened: ")
    assert refused(tmp_path, env, "init", "--json", code=1).startswith("the database cannot be opened: ")


async def test_line_setup_refused_or_unreachable_is_said_in_the_office_language(tmp_path, line_api):
    url = sqlite_url(tmp_path)
    line_api.fail_next("/v2/bot/richmenu/list", 401)
    env = line_env(url, line_api) | {"VBOT_LOCALE": "zh_TW"}
    line = await asyncio.to_thread(refused, tmp_path, env, "line", "setup", code=1)
    assert line.startswith(
        "LINE 拒絕了頻道存取權杖（LINE_CHANNEL_ACCESS_TOKEN）。 (LINE rich menus not set up: LINE"
    )
    gone = f"http://127.0.0.1:{free_port()}"
    env = env | {"VBOT_LOCALE": "th", "LINE_API_BASE_URL": gone, "LINE_DATA_API_BASE_URL": gone}
    line = await asyncio.to_thread(refused, tmp_path, env, "line", "setup", code=1)
    assert line.startswith("ติดต่อ LINE ไม่ได้: โปรดตรวจสอบเครือข่าย (LINE rich menus not set up: LINE not reached")
    env = clean_env(VBOT_DATABASE_URL=url, VBOT_LOCALE="zh_TW")
    line = await asyncio.to_thread(refused, tmp_path, env, "line", "setup")
    assert line.startswith("尚未設定 LINE：請設定 LINE_CHANNEL_SECRET 與 LINE_CHANNEL_ACCESS_TOKEN。")


async def test_telegram_setup_refused_or_unreachable_is_said_in_the_office_language(tmp_path, telegram_api):
    url = sqlite_url(tmp_path)
    telegram_api.fail_next("/setWebhook", 401)
    env = telegram_env(url, telegram_api, VBOT_LOCALE="zh_TW")
    line = await asyncio.to_thread(refused, tmp_path, env, "telegram", "setup", code=1)
    assert line.startswith("Telegram 拒絕了機器人權杖（TELEGRAM_BOT_TOKEN）。 (Telegram not set up: ")
    env = env | {"VBOT_LOCALE": "en", "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    line = await asyncio.to_thread(refused, tmp_path, env, "telegram", "setup", code=1)
    assert line.startswith(
        "Telegram could not be reached or did not answer: check the network. (Telegram not set up: "
    )
    line = await asyncio.to_thread(refused, tmp_path, env, "telegram", "setup", "--json", code=1)
    assert line.startswith("Telegram not set up: Telegram not reached or not answering")
