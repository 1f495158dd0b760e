"""`vbot serve` as an operator runs it: a real process, configured by environment, answering LINE end to end."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from tests.conftest import LINE_SECRET, LINE_TOKEN, sign


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until_listening(http: httpx.AsyncClient) -> None:
    """Waits until the server answers /healthz: bounded, a minute at most on a loaded machine."""
    for _ in range(600):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            await asyncio.sleep(0.1)


def vbot(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args, "--json"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("split", [False, True], ids=["serve", "serve+work"])
async def test_vbot_serve_links_a_line_user_end_to_end(tmp_path, line_api, split):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VBOT_", "LINE_", "TELEGRAM_"))}
    env |= {
        "VBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "LINE_API_BASE_URL": line_api.url,
    }
    unit = vbot(env, "unit", "add", "--name", "臺北市立圖書館")["id"]
    code = vbot(env, "volunteer", "add", "--unit", str(unit), "--name", "王小明")["invite_code"]

    port = free_port()
    commands = [["serve", "--port", str(port), "--no-scheduler"]]
    if split:  # webhooks in one process, processing and sending in another
        commands = [commands[0] + ["--no-workers"], ["work", "--no-scheduler"]]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in commands
    ]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            await until_listening(http)
            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json()["database"] == "ok"

            body = json.dumps(
                {
                    "destination": "U0",
                    "events": [
                        {
                            "type": "message",
                            "mode": "active",
                            "timestamp": 1_790_000_000_000,
                            "source": {"type": "user", "userId": "Userve"},
                            "webhookEventId": "01SERVE",
                            "deliveryContext": {"isRedelivery": False},
                            "replyToken": "serve-token",
                            "message": {"id": "1", "type": "text", "text": f"綁定 {code}", "quoteToken": "q"},
                        }
                    ],
                }
            ).encode()
            forged = await http.post(
                "/webhooks/line", content=body, headers={"X-Line-Signature": sign(body, "not-the-secret")}
            )
            assert forged.status_code == 401
            answer = await http.post("/webhooks/line", content=body, headers={"X-Line-Signature": sign(body)})
            assert answer.status_code == 200
            await asyncio.wait_for(line_api.arrived.wait(), timeout=15)
        assert "王小明" in line_api.delivered_texts()[0]
        assert line_api.sent("/reply")[0].body["replyToken"] == "serve-token"
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            # uvicorn shuts down cleanly, then re-raises SIGTERM, as a service manager expects
            assert await asyncio.wait_for(process.wait(), timeout=15) in (0, -signal.SIGTERM)


async def test_vbot_remind_delivers_what_is_due_once_next_to_a_running_serve(
    tmp_path, line_api, telegram_api
):
    from tests.conftest import TELEGRAM_SECRET, TELEGRAM_TOKEN

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VBOT_", "LINE_", "TELEGRAM_"))}
    env |= {
        "VBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "LINE_API_BASE_URL": line_api.url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }
    unit = str(vbot(env, "unit", "add", "--name", "臺北市立圖書館", "--city", "taipei")["id"])
    line_code = vbot(env, "volunteer", "add", "--unit", unit, "--name", "王小明")["invite_code"]
    telegram_code = vbot(env, "volunteer", "add", "--unit", unit, "--name", "林小華")["invite_code"]
    vbot(env, "volunteer", "add", "--unit", unit, "--name", "未綁定")  # no chat account: nothing to send
    vbot(
        env,
        "training",
        "session",
        "add",
        "--unit",
        unit,
        "--title",
        "在職訓練",
        "--kind",
        "in-service",
        "--start",
        "2026-12-01T09:30",
        "--end",
        "2026-12-01T12:00",
        "--place",
        "3樓",
    )

    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--port",
        str(port),
        "--no-scheduler",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(200):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            body = json.dumps(
                {
                    "destination": "U0",
                    "events": [
                        {
                            "type": "message",
                            "mode": "active",
                            "timestamp": 1_790_000_000_000,
                            "source": {"type": "user", "userId": "Uline"},
                            "webhookEventId": "01REMIND",
                            "deliveryContext": {"isRedelivery": False},
                            "replyToken": "remind-token",
                            "message": {
                                "id": "1",
                                "type": "text",
                                "text": f"綁定 {line_code}",
                                "quoteToken": "q",
                            },
                        }
                    ],
                }
            ).encode()
            assert (
                await http.post("/webhooks/line", content=body, headers={"X-Line-Signature": sign(body)})
            ).status_code == 200
            update = {
                "update_id": 777,
                "message": {
                    "message_id": 1,
                    "date": 1_790_000_000,
                    "chat": {"id": 4242, "type": "private"},
                    "from": {"id": 4242, "is_bot": False, "first_name": "華"},
                    "text": f"/start {telegram_code}",
                },
            }
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            assert (await http.post("/webhooks/telegram", json=update, headers=headers)).status_code == 200
            for _ in range(300):  # both linked (their welcome answers arrived)
                if line_api.sent("/reply") and telegram_api.sent("/sendMessage"):
                    break
                await asyncio.sleep(0.05)

        remind = functools.partial(asyncio.to_thread, vbot, env, "remind", "--now", "2026-11-30T18:00")
        first = await remind()
        assert first["queued"]["training-reminders"] == 2 and first["sent"] == 2
        assert [t for t in line_api.texts_to("Uline") if "在職訓練" in t] != []
        assert sum("在職訓練" in call.body["text"] for call in telegram_api.sent("/sendMessage")) == 1
        again = await remind()
        assert again["queued"]["training-reminders"] == 0 and again["sent"] == 0
        assert len(line_api.texts_to("Uline")) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), timeout=15) in (0, -signal.SIGTERM)
