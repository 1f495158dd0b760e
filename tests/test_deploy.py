"""The README's deployment (docs/deploy.md) followed on this machine as far as it goes: the systemd units
pass `systemd-analyze verify`, and their own command lines — `vbot init`, `vbot serve --no-workers
--no-scheduler`, `vbot work` — configured by an EnvironmentFile, answer a LINE webhook end to end."""

from __future__ import annotations

import asyncio
import configparser
import json
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import LINE_SECRET, LINE_TOKEN, sign
from tests.test_cli import clean_env
from tests.test_serve import free_port, until_listening

DEPLOY = Path(__file__).parent.parent / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
HOME = "/srv/vbot"  # where the units expect the checkout, its venv and its .env


def unit_file(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys keep their case (ExecStart)
    parser.read(path, encoding="utf-8")
    return parser


def commands_of(path: Path) -> list[list[str]]:
    """The unit's ExecStartPre and ExecStart lines, with its venv's `vbot` run from this checkout."""
    service = unit_file(path)["Service"]
    lines = [service[key] for key in ("ExecStartPre", "ExecStart") if key in service]
    commands = []
    for line in lines:
        words = shlex.split(line)
        assert words[0] == f"{HOME}/.venv/bin/vbot", "the units run vbot from the venv the README makes"
        commands.append([sys.executable, "-m", "bot", *words[1:]])
    return commands


def test_there_is_a_web_unit_and_a_worker_unit():
    assert [path.name for path in UNITS] == ["vbot-web.service", "vbot-worker.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=[path.name for path in UNITS])
def test_the_units_pass_systemd_analyze_verify(unit, tmp_path):
    """Verified as installed on a server: the paths point at a real venv and EnvironmentFile here."""
    venv_vbot = Path(sys.executable).parent / "vbot"
    (tmp_path / ".env").write_text("VBOT_LOCALE=zh_TW\n", encoding="utf-8")
    text = unit.read_text(encoding="utf-8")
    text = text.replace(f"{HOME}/.venv/bin/vbot", str(venv_vbot)).replace(HOME, str(tmp_path))
    text = text.replace("User=vbot", "User=root").replace("Group=vbot", "Group=root")
    text = text.replace("/var/lib/vbot", str(tmp_path))
    installed = tmp_path / unit.name
    installed.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(installed)], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in done.stderr.splitlines() if unit.name in line]
    assert done.returncode == 0 and not problems, done.stderr


def initialise_with_one_volunteer(cwd: Path, env: dict[str, str], init: list[str]) -> str:
    """The unit's `vbot init`, then what the first coordinator adds; returns the volunteer's invite code."""
    assert subprocess.run(init, cwd=cwd, env=env, timeout=60, check=False).returncode == 0

    def vbot_json(*args: str) -> dict:
        command = [sys.executable, "-m", "bot", *args, "--json"]
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    unit = vbot_json("unit", "add", "--name", "臺北市立圖書館")["id"]
    return vbot_json("volunteer", "add", "--unit", str(unit), "--name", "王小明")["invite_code"]


async def test_the_units_command_lines_answer_a_webhook(tmp_path, line_api):
    port = free_port()
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(
            [
                f"VBOT_DATABASE_URL=sqlite:///{tmp_path / 'vbot.db'}",
                "VBOT_PUBLIC_URL=https://vbot.example.gov.tw",
                f"LINE_CHANNEL_SECRET={LINE_SECRET}",
                f"LINE_CHANNEL_ACCESS_TOKEN={LINE_TOKEN}",
                f"LINE_API_BASE_URL={line_api.url}",
            ]
        ),
        encoding="utf-8",
    )
    env = clean_env()  # settings come from the EnvironmentFile, read as .env in the WorkingDirectory
    web_init, web_serve = commands_of(DEPLOY / "systemd" / "vbot-web.service")
    (worker,) = commands_of(DEPLOY / "systemd" / "vbot-worker.service")
    assert web_init[3:] == ["init"] and "--no-workers" in web_serve and worker[3:] == ["work"]
    web_serve[web_serve.index("--port") + 1] = str(port)

    code = await asyncio.to_thread(initialise_with_one_volunteer, tmp_path, env, web_init)

    processes = [
        await asyncio.create_subprocess_exec(
            *command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for command in (web_serve, worker)
    ]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            await until_listening(http)
            event = {
                "type": "message",
                "mode": "active",
                "timestamp": 1_790_000_000_000,
                "source": {"type": "user", "userId": "Udeploy"},
                "webhookEventId": "01DEPLOY",
                "deliveryContext": {"isRedelivery": False},
                "replyToken": "deploy-token",
                "message": {"id": "1", "type": "text", "text": f"綁定 {code}", "quoteToken": "q"},
            }
            body = json.dumps({"destination": "U0", "events": [event]}).encode()
            answer = await http.post("/webhooks/line", content=body, headers={"X-Line-Signature": sign(body)})
            assert answer.status_code == 200
            await asyncio.wait_for(line_api.arrived.wait(), timeout=20)
        assert "王小明" in line_api.delivered_texts()[0]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            assert await asyncio.wait_for(process.wait(), timeout=30) in (0, -signal.SIGTERM)
