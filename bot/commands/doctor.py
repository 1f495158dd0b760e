"""`vbot doctor`: one line per check, ✓ or ✗, and for each ✗ what to do. Changes nothing (not even the
schema: a database that needs `vbot init` is reported, not upgraded)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit

from bot.channels.diagnosis import Finding, _, finding, line_findings, telegram_findings
from bot.commands.shared import translator
from bot.config import Settings

COMMANDS = ("doctor",)

# One word in each script the bot prints: the rich-menu pictures need a font for every one of them.
SCRIPTS = {"zh": "簽到", "th": "ลงเวลาเข้า", "vi": "Điểm danh"}


def add_parser(commands) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check the database, the platforms, the fonts, the public URL and the clock",
        description="Prints one line per check (✓ or ✗ with what to do) and exits 1 when any check fails. "
        "Changes nothing.",
    )
    doctor.add_argument(
        "--json", action="store_true", help='print {"ok": …, "checks": [{"name", "ok", "detail"}]}'
    )


def run(args, settings: Settings) -> int:
    now = dt.datetime.now(dt.UTC)
    findings = [database_finding(settings), *platform_findings(settings, now), public_url_finding(settings)]
    findings += font_findings() + [pdf_font_finding()]
    ok = all(finding.ok for finding in findings)
    if args.json:
        checks = [{"name": f.name, "ok": f.ok, "detail": f.detail} for f in findings]
        print(json.dumps({"ok": ok, "checks": checks}, ensure_ascii=False))
    else:
        t = translator(settings)  # the checks in VBOT_LOCALE; --json keeps English
        for each in findings:
            print(each.say(t))
    return 0 if ok else 1


def database_finding(settings: Settings) -> Finding:
    import sqlalchemy as sa

    from storage.db import make_engine, schema_revisions

    url = sa.engine.make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return finding(
            "database", False, _("there is no database file at {path}: run `vbot init`"), path=url.database
        )
    engine = make_engine(settings.database_url)
    try:
        current, head = schema_revisions(engine)
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return finding(
            "database",
            False,
            _("{url} cannot be opened ({reason}): check VBOT_DATABASE_URL"),
            url=shown,
            reason=reason,
        )
    finally:
        engine.dispose()
    if current == head:
        return finding("database", True, _("{url}, schema current ({head})"), url=shown, head=head)
    if current is None:
        return finding("database", False, _("{url} has no vbot schema: run `vbot init`"), url=shown)
    return finding(
        "database",
        False,
        _("{url} is at schema {current}, this version needs {head}: run `vbot init`"),
        url=shown,
        current=current,
        head=head,
    )


def platform_findings(settings: Settings, now: dt.datetime) -> list[Finding]:
    if not (settings.line_enabled or settings.telegram_enabled):
        return [
            finding(
                "platforms",
                False,
                _(
                    "neither LINE nor Telegram is configured: set LINE_CHANNEL_SECRET and "
                    "LINE_CHANNEL_ACCESS_TOKEN, or TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (.env.example)"
                ),
            )
        ]

    async def ask() -> list[Finding]:
        found: list[Finding] = []
        if settings.line_enabled:
            found += await line_findings(settings, now)
        else:
            found.append(
                finding("LINE", True, _("not configured (LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN)"))
            )
        if settings.telegram_enabled:
            found += await telegram_findings(settings, now)
        else:
            found.append(finding("Telegram", True, _("not configured (TELEGRAM_BOT_TOKEN)")))
        return found

    return asyncio.run(ask())


def public_url_finding(settings: Settings) -> Finding:
    parts = urlsplit(settings.public_url)
    if parts.scheme == "https":
        return finding("public URL", True, "{url}", url=settings.public_url)
    return finding(
        "public URL",
        False,
        _(
            "{url} is not https: LINE and Telegram send webhooks only to https, and links in chats should be "
            "safe; set VBOT_PUBLIC_URL to the HTTPS address of the reverse proxy"
        ),
        url=settings.public_url,
    )


def font_findings() -> list[Finding]:
    from bot.printing.menu_image import font_for

    missing = [script for script, word in SCRIPTS.items() if font_for(script, [word]) is None]
    if not missing:
        return [finding("fonts", True, _("Chinese, Thai and Vietnamese can be drawn"))]
    return [
        finding(
            "fonts",
            False,
            _(
                "no font for {scripts}: menus would show icons without words; "
                "apt-get install fonts-noto-cjk fonts-thai-tlwg"
            ),
            scripts=", ".join(missing),
        )
    ]


def pdf_font_finding() -> Finding:
    """Posters, invite cards and PDF reports embed Noto Sans CJK TC (Chinese, Latin, Vietnamese) and Garuda
    (Thai): without them those commands and console pages refuse to make a PDF."""
    from bot.printing.fonts import CJK_FAMILY, missing_pdf_font_packages

    missing = missing_pdf_font_packages()
    if not missing:
        return finding(
            "PDF fonts",
            True,
            _("{family} and Garuda (Thai) found: posters and invite cards can be made"),
            family=CJK_FAMILY,
        )
    return finding(
        "PDF fonts",
        False,
        _(
            "posters, invite cards and PDF reports cannot be made without their fonts: apt-get install {packages}"
        ),
        packages=" ".join(missing),
    )
