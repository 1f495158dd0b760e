"""Settings from the environment (and a .env file in the working directory), as CONTRACT.md lists them."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel import Locale, UnknownLocaleError
from dotenv import dotenv_values

from handlers.i18n import SHIPPED


def _(msgid: str) -> str:
    """Marks a message for the catalogs; the command translates it into VBOT_LOCALE where it prints it."""
    return msgid


class ConfigError(ValueError):
    """A setting that cannot work. `str(error)` names the variable in English (the operator's detail);
    `said` is the same for the office in the catalogs' words, formatted with `values`."""

    def __init__(self, text: str, *, said: str | None = None, **values: object):
        super().__init__(text)
        self.said = said or _("A setting is missing or wrong.")
        self.values = values


DATABASE_URL_UNUSABLE = _("The database address (VBOT_DATABASE_URL) cannot be used.")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///vbot.db"
    timezone: str = "Asia/Taipei"
    locale: str = "zh_TW"
    public_url: str = "http://127.0.0.1:8080"
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"  # LINE takes uploads (rich menu images) there
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    max_visit_hours: float = 12
    api_timeout_seconds: float = 10
    log_format: str = "text"  # or "json": one JSON object a line
    metrics_allow: tuple[str, ...] = ()  # addresses and networks that may read /metrics
    metrics_token: str | None = None  # or a request with `Authorization: Bearer TOKEN`

    def secrets(self) -> tuple[str | None, ...]:
        """What must never reach a log: the platforms' tokens and secrets (bot/redaction.py)."""
        return (
            self.line_channel_secret,
            self.line_channel_access_token,
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.metrics_token,
        )

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
    def max_visit(self) -> dt.timedelta:
        return dt.timedelta(hours=self.max_visit_hours)

    @classmethod
    def from_environment(
        cls, environ: dict[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """The environment, over the .env file; a variable set to an empty (or blank) string counts as unset."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            try:
                values.update(
                    {k: v for k, v in dotenv_values(env_file, encoding="utf-8").items() if v and v.strip()}
                )
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"cannot read {env_file}: {error}") from None
        values.update(
            {k: v for k, v in (os.environ if environ is None else environ).items() if v and v.strip()}
        )

        def get(name: str, default):
            value = (values.get(name) or "").strip()
            return value or default

        def positive(name: str, default: float) -> float:
            text = get(name, default)
            try:
                value = float(text)
            except ValueError:
                raise ConfigError(f"{name} must be a positive number, not {text!r}") from None
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, not {text!r}")
            return value

        settings = cls(
            database_url=get("VBOT_DATABASE_URL", cls.database_url),
            timezone=get("VBOT_TIMEZONE", cls.timezone),
            locale=get("VBOT_LOCALE", cls.locale),
            public_url=get("VBOT_PUBLIC_URL", cls.public_url).rstrip("/"),
            line_channel_secret=get("LINE_CHANNEL_SECRET", None),
            line_channel_access_token=get("LINE_CHANNEL_ACCESS_TOKEN", None),
            line_api_base_url=get("LINE_API_BASE_URL", cls.line_api_base_url).rstrip("/"),
            line_data_api_base_url=get("LINE_DATA_API_BASE_URL", cls.line_data_api_base_url).rstrip("/"),
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN", None),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", None),
            telegram_api_base_url=get("TELEGRAM_API_BASE_URL", cls.telegram_api_base_url).rstrip("/"),
            max_visit_hours=positive("VBOT_MAX_SESSION_HOURS", cls.max_visit_hours),
            api_timeout_seconds=positive("VBOT_API_TIMEOUT_SECONDS", cls.api_timeout_seconds),
            log_format=get("VBOT_LOG_FORMAT", cls.log_format).lower(),
            metrics_allow=tuple(
                part.strip() for part in get("VBOT_METRICS_ALLOW", "").split(",") if part.strip()
            ),
            metrics_token=get("VBOT_METRICS_TOKEN", None),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuses a configuration that cannot work, naming the variable, before anything starts."""
        try:
            url = sa.engine.make_url(self.database_url)
            url.get_dialect()
        except (sa.exc.ArgumentError, ValueError) as error:
            raise ConfigError(
                f"VBOT_DATABASE_URL is not a database URL: {error}", said=DATABASE_URL_UNUSABLE
            ) from None
        except ImportError as error:
            raise ConfigError(
                f"VBOT_DATABASE_URL needs a database driver that is not installed: {error}",
                said=DATABASE_URL_UNUSABLE,
            ) from None
        try:
            self.zone  # noqa: B018
        except (ValueError, ZoneInfoNotFoundError, OSError):
            raise ConfigError(
                f"VBOT_TIMEZONE is not a time zone: {self.timezone!r} (e.g. Asia/Taipei)"
            ) from None
        try:
            language = Locale.parse(self.locale.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            language = None
        if language not in {Locale.parse(shipped).language for shipped in SHIPPED}:
            raise ConfigError(
                f"VBOT_LOCALE has no translation: {self.locale!r} (choose from {', '.join(SHIPPED)})"
            )
        for name, value in (
            ("VBOT_PUBLIC_URL", self.public_url),
            ("LINE_API_BASE_URL", self.line_api_base_url),
            ("LINE_DATA_API_BASE_URL", self.line_data_api_base_url),
            ("TELEGRAM_API_BASE_URL", self.telegram_api_base_url),
        ):
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{name} must be an http(s) URL, not {value!r}")
        self._check_operations()
        if bool(self.line_channel_secret) != bool(self.line_channel_access_token):
            raise ConfigError("LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are needed together")
        if self.telegram_enabled and not self.telegram_webhook_secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_BOT_TOKEN is set")
        if self.telegram_webhook_secret and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", self.telegram_webhook_secret
        ):
            # Telegram's setWebhook accepts only these characters, so any other secret could never match.
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")

    def _check_operations(self) -> None:
        """The settings an operator's tools read: the log format and who may read /metrics."""
        for network in self.metrics_allow:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"VBOT_METRICS_ALLOW must list addresses or networks (127.0.0.1, 10.0.0.0/8), not {network!r}"
                ) from None
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"VBOT_LOG_FORMAT must be text or json, not {self.log_format!r}")
