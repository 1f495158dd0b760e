"""Who the bot is on each platform that is switched on: its LINE basic id and its Telegram user name, which
the printed QR codes open."""

from __future__ import annotations

from bot.config import Settings


async def platform_names(settings: Settings) -> tuple[str | None, str | None]:
    """(LINE basic id, Telegram bot user name) of the platforms that are switched on."""
    basic_id = username = None
    if settings.line_enabled:
        from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

        configuration = Configuration(
            access_token=settings.line_channel_access_token, host=settings.line_api_base_url
        )
        async with AsyncApiClient(configuration) as client:
            info = await AsyncMessagingApi(client).get_bot_info(_request_timeout=settings.api_timeout_seconds)
            basic_id = info.basic_id
    if settings.telegram_enabled:
        from telegram import Bot

        async with Bot(settings.telegram_bot_token, base_url=f"{settings.telegram_api_base_url}/bot") as bot:
            username = bot.username
    return basic_id, username
