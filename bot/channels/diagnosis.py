"""What `vbot doctor` asks the platforms: is the token good, is the webhook on record ours, does their clock
agree with ours. Each answer is a Finding: a one-line verdict and, when something is wrong, what to do."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass

from bot.config import Settings

# Platform timestamps decide when a visit starts and ends; a clock further off than this shifts hours.
CLOCK_TOLERANCE = dt.timedelta(seconds=30)


def _(words: str) -> str:
    """Marks a check's words for the catalogs (locales/); Finding.say translates them when printed."""
    return words


@dataclass(frozen=True)
class Finding:
    """name: the check (stable, the key in --json); words: a catalog msgid with {placeholders}."""

    name: str
    ok: bool
    words: str
    params: tuple[tuple[str, object], ...] = ()

    @property
    def detail(self) -> str:
        """In English, for --json."""
        return self.words.format(**dict(self.params)) if self.params else self.words

    def say(self, t) -> str:
        """`✓ name: detail` in the reader's language (VBOT_LOCALE)."""
        return f"{'✓' if self.ok else '✗'} {t(self.name)}: {t(self.words, **dict(self.params))}"


def finding(name: str, ok: bool, words: str, /, **params: object) -> Finding:
    return Finding(name, ok, words, tuple(params.items()))


# The checks' names, for the catalogs (printed translated, kept as they are in --json).
CHECK_NAMES = (
    _("database"),
    _("platforms"),
    _("LINE"),
    _("LINE token"),
    _("LINE webhook"),
    _("clock (LINE)"),
    _("Telegram"),
    _("Telegram token"),
    _("Telegram webhook"),
    _("clock (Telegram)"),
    _("public URL"),
    _("fonts"),
    _("PDF fonts"),
)


def clock_finding(platform: str, date_header: str | None, now: dt.datetime) -> Finding | None:
    if not date_header:
        return None
    try:
        theirs = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    off = abs(theirs - now)
    name = f"clock ({platform})"
    if off <= CLOCK_TOLERANCE:
        return finding(
            name,
            True,
            _("within {seconds} s of {platform}'s"),
            seconds=CLOCK_TOLERANCE.seconds,
            platform=platform,
        )
    return finding(
        name,
        False,
        _(
            "{seconds} s off {platform}'s clock: check-in times would be wrong; "
            "turn on time synchronisation (timedatectl set-ntp true)"
        ),
        seconds=f"{off.total_seconds():.0f}",
        platform=platform,
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
                    finding(
                        "LINE token",
                        False,
                        _(
                            "LINE refuses LINE_CHANNEL_ACCESS_TOKEN: issue a new long-lived channel access token "
                            "in the LINE Developers console"
                        ),
                    )
                ]
            return [finding("LINE", False, _("LINE answered {status}: try again later"), status=error.status)]
        except (OSError, TimeoutError) as error:
            return [
                finding(
                    "LINE",
                    False,
                    _("LINE_API_BASE_URL cannot be reached ({error})"),
                    error=type(error).__name__,
                )
            ]
    data = answer.data
    findings = [
        finding("LINE token", True, _("valid for {name} ({id})"), name=data.display_name, id=data.basic_id)
    ]
    if endpoint.endpoint == expected and endpoint.active:
        findings.append(finding("LINE webhook", True, "{url}", url=expected))
    else:
        on_record = endpoint.endpoint or "-"
        words = (
            _(
                "LINE has {url} on record: set the Webhook URL to {expected} and turn on 'Use webhook' in the "
                "LINE Developers console (Messaging API tab)"
            )
            if endpoint.active
            else _(
                "LINE has {url} on record, and 'Use webhook' is off: set the Webhook URL to {expected} and turn "
                "on 'Use webhook' in the LINE Developers console (Messaging API tab)"
            )
        )
        findings.append(finding("LINE webhook", False, words, url=on_record, expected=expected))
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
            finding(
                "Telegram token", False, _("Telegram refuses TELEGRAM_BOT_TOKEN: ask @BotFather for it again")
            )
        ]
    except NetworkError as error:
        return [
            finding(
                "Telegram",
                False,
                _("TELEGRAM_API_BASE_URL cannot be reached ({error})"),
                error=type(error).__name__,
            )
        ]
    except TelegramError as error:
        return [finding("Telegram", False, _("Telegram answered: {error}"), error=type(error).__name__)]
    findings = [finding("Telegram token", True, _("valid for @{username}"), username=bot.username)]
    if info.url != expected:
        findings.append(
            finding(
                "Telegram webhook",
                False,
                _("Telegram has {url} on record: run `vbot telegram setup`"),
                url=info.url or "-",
            )
        )
    elif info.last_error_date and now - info.last_error_date < dt.timedelta(days=1):
        findings.append(
            finding(
                "Telegram webhook",
                False,
                _(
                    "{url}, but the last delivery failed at {time} UTC ({error}); {count} updates wait: "
                    "check the reverse proxy"
                ),
                url=expected,
                time=f"{info.last_error_date:%Y-%m-%d %H:%M}",
                error=info.last_error_message,
                count=info.pending_update_count,
            )
        )
    else:
        findings.append(
            finding(
                "Telegram webhook",
                True,
                _("{url}, {count} waiting"),
                url=expected,
                count=info.pending_update_count,
            )
        )
    date_header, arrived = answered[-1] if answered else (None, now)
    clock = clock_finding("Telegram", date_header, arrived)
    return findings + ([clock] if clock else [])
