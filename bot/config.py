"""Settings from the environment (and a .env file in the working directory), as CONTRACT.md lists them."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///vbot.db"
    timezone: str = "Asia/Taipei"
    locale: str = "zh_TW"
    public_url: str = "http://127.0.0.1:8080"
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    max_session_hours: float = 12
    api_timeout_seconds: float = 10

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def max_session(self) -> dt.timedelta:
        return dt.timedelta(hours=self.max_session_hours)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str, default):
            value = values.get(name)
            return default if value in (None, "") else value

        try:
            settings = cls(
                database_url=get("VBOT_DATABASE_URL", cls.database_url),
                timezone=get("VBOT_TIMEZONE", cls.timezone),
                locale=get("VBOT_LOCALE", cls.locale),
                public_url=get("VBOT_PUBLIC_URL", cls.public_url),
                line_channel_secret=get("LINE_CHANNEL_SECRET", None),
                line_channel_access_token=get("LINE_CHANNEL_ACCESS_TOKEN", None),
                line_api_base_url=get("LINE_API_BASE_URL", cls.line_api_base_url).rstrip("/"),
                telegram_bot_token=get("TELEGRAM_BOT_TOKEN", None),
                telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", None),
                telegram_api_base_url=get("TELEGRAM_API_BASE_URL", cls.telegram_api_base_url).rstrip("/"),
                max_session_hours=float(get("VBOT_MAX_SESSION_HOURS", cls.max_session_hours)),
                api_timeout_seconds=float(get("VBOT_API_TIMEOUT_SECONDS", cls.api_timeout_seconds)),
            )
            settings.zone  # noqa: B018  (fails early on an unknown time zone)
        except (ValueError, ZoneInfoNotFoundError) as error:
            raise ConfigError(f"bad configuration: {error}") from error
        if settings.telegram_enabled and not settings.telegram_webhook_secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_BOT_TOKEN is set")
        return settings
