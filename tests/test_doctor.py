"""`vbot doctor` as a city's IT person runs it on the server: one line per check, ✓ or ✗ with what to do,
against the LINE and Telegram stand-ins. The operations issue."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path

import pytest

from tests.conftest import LINE_SECRET, LINE_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.test_cli import clean_env
from tests.test_cli import vbot as run_vbot

PUBLIC = "https://vbot.example.gov.tw"


def environment(tmp_path: Path, line_api=None, telegram_api=None, **extra: str) -> dict[str, str]:
    env = clean_env(VBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'vbot.db'}", VBOT_PUBLIC_URL=PUBLIC, **extra)
    if line_api is not None:
        env |= {
            "LINE_CHANNEL_SECRET": LINE_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "LINE_API_BASE_URL": line_api.url,
            "VBOT_API_TIMEOUT_SECONDS": "2",
        }
    if telegram_api is not None:
        env |= {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": telegram_api.url,
        }
    return env


async def doctor(tmp_path: Path, env: dict[str, str]) -> tuple[int, dict[str, dict], str]:
    done = await asyncio.to_thread(run_vbot, tmp_path, "doctor", "--json", env=env)
    human = await asyncio.to_thread(run_vbot, tmp_path, "doctor", env=env)
    assert "Traceback" not in done.stderr + human.stderr
    assert human.returncode == done.returncode
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    return done.returncode, checks, human.stdout


async def test_a_ready_server_passes_every_check(tmp_path, line_api, telegram_api):
    env = environment(tmp_path, line_api, telegram_api)
    assert (await asyncio.to_thread(run_vbot, tmp_path, "init", env=env)).returncode == 0
    line_api.webhook_endpoint = {"endpoint": f"{PUBLIC}/webhooks/line", "active": True}
    telegram_api.webhook = {"url": f"{PUBLIC}/webhooks/telegram"}

    code, checks, human = await doctor(tmp_path, env)
    assert code == 0, human
    assert all(check["ok"] for check in checks.values())
    assert {
        "database",
        "LINE token",
        "LINE webhook",
        "clock (LINE)",
        "Telegram token",
        "Telegram webhook",
        "clock (Telegram)",
        "fonts",
        "PDF fonts",
    } <= set(checks)
    assert "@vbot_test_bot" in checks["Telegram token"]["detail"]
    assert all(line.startswith("✓ ") for line in human.splitlines())


async def test_a_wrong_webhook_on_record_and_an_uninitialised_database_say_what_to_do(
    tmp_path, line_api, telegram_api
):
    env = environment(tmp_path, line_api, telegram_api)
    line_api.webhook_endpoint = {"endpoint": "https://old-host.example/callback", "active": True}
    telegram_api.webhook = {
        "url": f"{PUBLIC}/webhooks/telegram",
        "last_error_date": 2_000_000_000,  # 2033: "recent" for any clock this test runs on
        "last_error_message": "Wrong response from the webhook: 502 Bad Gateway",
        "pending_update_count": 7,
    }

    code, checks, human = await doctor(tmp_path, env)
    assert code == 1
    assert not checks["database"]["ok"] and "vbot init" in checks["database"]["detail"]
    assert not (tmp_path / "vbot.db").exists(), "doctor changes nothing, not even by creating the file"
    line = checks["LINE webhook"]
    assert not line["ok"] and "https://old-host.example/callback" in line["detail"]
    assert f"{PUBLIC}/webhooks/line" in line["detail"]
    telegram = checks["Telegram webhook"]
    assert (
        not telegram["ok"] and "502 Bad Gateway" in telegram["detail"] and "7 updates" in telegram["detail"]
    )
    assert "✗ LINE Webhook: LINE 登記的是 https://old-host.example/callback" in human  # VBOT_LOCALE: zh_TW
    english = await asyncio.to_thread(run_vbot, tmp_path, "doctor", env=env | {"VBOT_LOCALE": "en"})
    assert "✗ LINE webhook: LINE has https://old-host.example/callback on record" in english.stdout


async def test_a_refused_token_is_named_and_secrets_stay_out(tmp_path, line_api, telegram_api):
    env = environment(tmp_path, line_api)
    line_api.fail_next("/v2/bot/info", 401)
    code, checks, human = await doctor(tmp_path, env)
    assert code == 1
    assert not checks["LINE token"]["ok"] and "LINE_CHANNEL_ACCESS_TOKEN" in checks["LINE token"]["detail"]
    assert LINE_TOKEN not in human and LINE_SECRET not in human


@pytest.mark.parametrize("public_url", ["http://vbot.example.gov.tw"])
async def test_no_platform_and_plain_http_fail(tmp_path, public_url):
    env = environment(tmp_path) | {"VBOT_PUBLIC_URL": public_url}
    code, checks, _ = await doctor(tmp_path, env)
    assert code == 1
    assert not checks["platforms"]["ok"] and "TELEGRAM_BOT_TOKEN" in checks["platforms"]["detail"]
    assert not checks["public URL"]["ok"] and "https" in checks["public URL"]["detail"]


async def test_missing_fonts_are_named_with_the_package_to_install(tmp_path):
    # Without fontconfig on the PATH only the known CJK file is found, and it has no Thai letters.
    env = environment(tmp_path) | {"PATH": str(tmp_path)}
    _, checks, _ = await doctor(tmp_path, env)
    assert not checks["fonts"]["ok"]
    assert "th" in checks["fonts"]["detail"] and "fonts-thai-tlwg" in checks["fonts"]["detail"]


async def test_a_clock_off_the_platforms_clocks_is_named_with_what_to_do(tmp_path, line_api, telegram_api):
    env = environment(tmp_path, line_api, telegram_api)
    line_api.clock_offset = dt.timedelta(minutes=5)  # their Date header: our clock is 5 minutes slow
    telegram_api.clock_offset = -dt.timedelta(minutes=3)  # and 3 minutes fast
    _, checks, human = await doctor(tmp_path, env)
    for platform, seconds in (("LINE", 300), ("Telegram", 180)):
        check = checks[f"clock ({platform})"]
        assert not check["ok"], check
        assert "timedatectl set-ntp true" in check["detail"]
        off = int(check["detail"].split(" s off")[0])
        assert abs(off - seconds) <= 5, check["detail"]
    assert "✗ 時鐘（Telegram）: " in human and "timedatectl set-ntp true" in human

    line_api.clock_offset = telegram_api.clock_offset = dt.timedelta(seconds=10)  # within the tolerance
    _, checks, _ = await doctor(tmp_path, env)
    assert checks["clock (LINE)"]["ok"] and checks["clock (Telegram)"]["ok"]


def test_missing_pdf_fonts_name_the_debian_packages(tmp_path, monkeypatch, capsys):
    """A machine without the PDFs' fonts (their folders emptied): the check names both packages."""
    from bot.commands.main import main
    from bot.printing import fonts

    for name in [name for name in os.environ if name.startswith(("VBOT_", "LINE_", "TELEGRAM_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'vbot.db'}")
    installed = fonts._NOTO_DIRS
    monkeypatch.setattr(fonts, "_NOTO_DIRS", [str(tmp_path)])
    monkeypatch.setattr(fonts, "_TLWG_DIRS", [str(tmp_path)])
    assert main(["doctor", "--json"]) == 1
    checks = {check["name"]: check for check in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["PDF fonts"]["ok"]
    assert "apt-get install fonts-noto-cjk fonts-thai-tlwg" in checks["PDF fonts"]["detail"]

    monkeypatch.setattr(fonts, "_NOTO_DIRS", installed)
    assert main(["doctor", "--json"]) == 1
    checks = {check["name"]: check for check in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["PDF fonts"]["detail"].endswith("apt-get install fonts-thai-tlwg")
