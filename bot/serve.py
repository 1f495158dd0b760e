"""`vbot serve`: uvicorn running the ASGI app, with the inbox worker, the sender and the scheduler inside."""

from __future__ import annotations

import uvicorn

from bot.app import build_app
from bot.config import Settings


def serve(settings: Settings, host: str, port: int, scheduler: bool = True) -> int:
    vbot = build_app(settings, scheduler=scheduler)
    vbot.migrate()
    uvicorn.run(vbot.asgi, host=host, port=port, log_level="info", access_log=False)
    return 0
