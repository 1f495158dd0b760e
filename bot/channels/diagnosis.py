"""What `vbot doctor` asks the platforms: is the token good, is the webhook on record ours, does their clock
agree with ours. Each answer is a Finding: a one-line verdict and, when something is wrong, what to do."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass

from bot.config import Settings

# Platform timestamps decide when a visit starts and ends; a clock further off than this shifts hours.
CLOCK_TOLERANCE = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def clock_finding(platform: str, date_header: str | None, now: dt.datetime) -> Finding | None:
    if not date_header:
        return None
    try:
        theirs = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    off = abs(theirs - now)
    if off <= CLOCK_TOLERANCE:
        return Finding(f"clock ({platform})", True, f"within {CLOCK_TOLERANCE.seconds} s of {platform}'s")
    return Finding(
        f"clock ({platform})",
        False,
        f"{off.total_seconds():.0f} s off {platform}'s clock: check-in times would be wrong; "
        "turn on time synchronisation (timedatectl set-ntp true)",
    )


async def line_findings(settings: Settings, now: dt.datetime) -> list[Finding]:
    from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration
    from linebot.v3.messaging.exceptions import ApiException

    expected = f"{settings.public_url}/webhooks/line"
    configuration = Configuration(
        access_token=settings.line_channel_access_token, host=settings.line_api_base_url
    )
    timeout = settings.api_timeout_seconds
    async with AsyncApiClient(configuration) as client:
        api = AsyncMessagingApi(client)
        try:
            answer = await api.get_bot_info_with_http_info(_request_timeout=timeout)
            endpoint = await api.get_webhook_endpoint(_request_timeout=timeout)
        except ApiException as error:
            if error.status in (401, 403):
                return [
                    Finding(
                        "LINE token",
                        False,
                        "LINE refuses LINE_CHANNEL_ACCESS_TOKEN: issue a new long-lived channel access token "
                        "in the LINE Developers console",
                    )
                ]
            return [Finding("LINE", False, f"LINE answered {error.status}: try again later")]
        except (OSError, TimeoutError) as error:
            return [Finding("LINE", False, f"LINE_API_BASE_URL cannot be reached ({type(error).__name__})")]
    findings = [Finding("LINE token", True, f"valid for {answer.data.display_name} ({answer.data.basic_id})")]
    if endpoint.endpoint == expected and endpoint.active:
        findings.append(Finding("LINE webhook", True, expected))
    else:
        on_record = endpoint.endpoint or "no URL"
        state = "" if endpoint.active else ", and 'Use webhook' is off"
        findings.append(
            Finding(
                "LINE webhook",
                False,
                f"LINE has {on_record} on record{state}: set the Webhook URL to {expected} and turn on "
                "'Use webhook' in the LINE Developers console (Messaging API tab)",
            )
        )
    clock = clock_finding(
        "LINE", (answer.headers or {}).get("Date") or (answer.headers or {}).get("date"), now
    )
    return findings + ([clock] if clock else [])


async def telegram_findings(settings: Settings, now: dt.datetime) -> list[Finding]:
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    expected = f"{settings.public_url}/webhooks/telegram"
    answered: list[tuple[str | None, dt.datetime]] = []  # each answer's Date header, and when it came

    async def note_date(response) -> None:
        answered.append((response.headers.get("date"), dt.datetime.now(dt.UTC)))

    request = HTTPXRequest(httpx_kwargs={"event_hooks": {"response": [note_date]}})
    bot = Bot(
        settings.telegram_bot_token or "",
        base_url=f"{settings.telegram_api_base_url}/bot",
        request=request,
    )
    try:
        async with bot:
            info = await bot.get_webhook_info(read_timeout=settings.api_timeout_seconds)
    except InvalidToken:
        return [
            Finding(
                "Telegram token", False, "Telegram refuses TELEGRAM_BOT_TOKEN: ask @BotFather for it again"
            )
        ]
    except NetworkError as error:
        return [
            Finding("Telegram", False, f"TELEGRAM_API_BASE_URL cannot be reached ({type(error).__name__})")
        ]
    except TelegramError as error:
        return [Finding("Telegram", False, f"Telegram answered: {type(error).__name__}")]
    findings = [Finding("Telegram token", True, f"valid for @{bot.username}")]
    if info.url != expected:
        findings.append(
            Finding(
                "Telegram webhook",
                False,
                f"Telegram has {info.url or 'no URL'} on record: run `vbot telegram setup`",
            )
        )
    elif info.last_error_date and now - info.last_error_date < dt.timedelta(days=1):
        findings.append(
            Finding(
                "Telegram webhook",
                False,
                f"{expected}, but the last delivery failed at {info.last_error_date:%Y-%m-%d %H:%M} UTC "
                f"({info.last_error_message}); {info.pending_update_count} updates wait: check the reverse proxy",
            )
        )
    else:
        findings.append(Finding("Telegram webhook", True, f"{expected}, {info.pending_update_count} waiting"))
    date_header, arrived = answered[-1] if answered else (None, now)
    clock = clock_finding("Telegram", date_header, arrived)
    return findings + ([clock] if clock else [])
