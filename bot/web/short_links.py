"""GET /e/CODE: the event poster's short link, which its large QR code holds.

LINE's in-app browser (its User-Agent has `Line/`) is sent straight to the LINE chat with `簽到 CODE` typed in,
so scanning with LINE and one tap on Send checks in. Any other browser gets a small page, in the viewer's
language (Accept-Language; the bot's default otherwise), with one big button per platform that is set up
and the words to type. An unknown code gets a 404 page; a rotating-code event's page sends people to the
code on the screen at the entrance (the kiosk's QR is the one tap there).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.printing.poster import line_checkin_url, telegram_start_url
from bot.web.runtime import Runtime
from handlers.i18n import Translator
from handlers.router import EVENT_START_PREFIX
from storage import event_store
from storage.db import UnitOfWork
from storage.models import Event

log = logging.getLogger(__name__)

_CODE = re.compile(r"[A-Za-z0-9]{4,12}")
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
STYLE = """
body { margin: 0 auto; max-width: 32rem; padding: 1rem; font-family: system-ui, sans-serif; color: #111;
       text-align: center; font-size: 1.25rem; line-height: 1.5; }
h1 { font-size: 1.6rem; }
a.button { display: block; margin: 1rem 0; padding: 1.1rem; border-radius: .8rem; color: #fff;
           font-size: 1.5rem; font-weight: 700; text-decoration: none; }
a.line { background: #06c755; } a.telegram { background: #229ed9; }
.code { font-size: 2.2rem; font-weight: 700; letter-spacing: .08em; }
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def viewer_locale(vbot: Runtime, accept_language: str) -> str:
    """The first language of Accept-Language (by its q values) that the bot speaks, else its default."""
    tags = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            tags.append((-quality, position, tag))
    for _, _, tag in sorted(tags):
        found = vbot.catalogs.match(tag[:35])
        if found:
            return found
    return vbot.rules.default_locale


def page(t: Translator, title: str, body: str, status: int = 200) -> HTMLResponse:
    lang = t.locale.replace("_", "-")
    document = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS | {"Content-Security-Policy": POLICY})


async def platform_links(vbot: Runtime, t: Translator, code: str) -> list[tuple[str, str, str]]:
    """(css class, label, url) of each platform that is set up."""
    links = []
    line: Any = vbot.channels.get("line")  # the LINE and Telegram channels, when they are set up
    basic_id = await line.basic_id() if line is not None else None
    if basic_id:
        url = line_checkin_url(basic_id, t("check in") + " " + code)
        links.append(("line", t("Check in with LINE"), url))
    telegram: Any = vbot.channels.get("telegram")
    username = await telegram.username() if telegram is not None else None
    if username:
        links.append(
            ("telegram", t("Check in with Telegram"), telegram_start_url(username, EVENT_START_PREFIX + code))
        )
    return links


def short_link_routes(vbot: Runtime) -> list[Route]:
    def read_event(code: str) -> Event | None:
        with UnitOfWork(vbot.engine)() as session:
            return event_store.event_by_code(session, code)

    async def short_link(request: Request) -> Response:
        t = vbot.catalogs.translator(viewer_locale(vbot, request.headers.get("accept-language", "")))
        code = request.path_params["code"].upper()
        event = None
        if _CODE.fullmatch(code):
            try:
                event = await asyncio.to_thread(read_event, code)
            except sa.exc.SQLAlchemyError:
                log.exception("could not read the event of a short link")
                return page(t, t("Please try again in a minute."), "", status=503)
        if event is None:
            return page(t, t("There is no event with this code."), "", status=404)
        typed = t("check in") + " " + code
        title = t("{event}: check in here", event=event.title)
        if event.rotating_code:
            body = f"<p>{html.escape(t('Scan the QR code on the screen at the entrance with LINE, then tap Send.'))}</p>"
            return page(t, title, body)
        links = await platform_links(vbot, t, code)
        if "Line/" in request.headers.get("user-agent", "") and links and links[0][0] == "line":
            return RedirectResponse(links[0][2], status_code=302, headers=HEADERS)
        buttons = "".join(
            f'<a class="button {kind}" href="{html.escape(url)}">{html.escape(label)}</a>'
            for kind, label, url in links
        )
        body = (
            f"{buttons}<p>{html.escape(t('Or send this in the chat with the bot:'))}</p>"
            f'<p class="code">{html.escape(typed)}</p>'
        )
        return page(t, title, body)

    return [Route("/e/{code}", short_link, methods=["GET"])]
