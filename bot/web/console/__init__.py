"""The coordinator console: a unit's work in a browser, opened from the chat (管理 / console), no password.

GET  /console/login/{token}    the one-time link: starts a session (cookie), or a 403 page
POST /console/logout           ends it
POST /console/language         the page's language, remembered in a cookie
GET  /console                  the first unit's Today
/console/u/{unit}/...          the pages of one unit (bot/web/console/*.py), each checked on every request
GET  /console/static/...       the stylesheet and the small script, shipped in the package
"""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.web.console import audit, events, people, today, unit_pages
from bot.web.console.base import (
    COOKIE,
    HEADERS,
    HERE,
    LANGUAGE_COOKIE,
    console_page,
    locale_of,
    page_html,
    read_form,
    refusal,
    set_cookie,
    signed_out_words,
)
from bot.web.runtime import Runtime
from handlers.people import console_access
from storage.db import UnitOfWork

YEAR = 365 * 24 * 3600


async def line_quota(vbot: Runtime) -> dict:
    line = vbot.channels.get("line")
    if line is None:
        return {}
    try:
        return {"quota_left": (await line.push_terms()).quota_left}
    except Exception:  # the page shows what it can: the quota is a nicety
        return {}


async def login(vbot: Runtime, request: Request) -> Response:
    locale = locale_of(vbot, request)
    t = vbot.catalogs.translator(locale)
    token = request.path_params["token"]

    def usable() -> bool:
        with UnitOfWork(vbot.engine)() as session:
            return console_access.link_usable(session, vbot.now(), token)

    def run() -> console_access.SignedIn | None:
        with UnitOfWork(vbot.engine)() as session:
            signed = console_access.sign_in(session, vbot.now(), token)
            if signed is not None:
                session.commit()
            return signed

    if request.method == "GET":  # a chat app's preview opens it too: only the button uses the link
        if await asyncio.to_thread(usable):
            return HTMLResponse(page_html(vbot, locale, "signin.html", {}), headers=HEADERS)
        signed = None
    else:
        signed = await asyncio.to_thread(run)
    if signed is None:
        return refusal(
            vbot,
            locale,
            403,
            t(
                "This sign-in link is not valid: it was used, has expired, or is not yours. Type 管理 in the chat for a new one."
            ),
        )
    response = RedirectResponse("/console", status_code=303, headers=HEADERS)
    # Until the browser closes; the server ends it after IDLE_LIMIT without use, and on 登出.
    set_cookie(vbot, response, COOKIE, signed.token)
    return response


async def home(vbot: Runtime, request: Request) -> Response:
    locale = locale_of(vbot, request)

    def run():
        with UnitOfWork(vbot.engine)() as session:
            who = console_access.signed_in(session, vbot.now(), request.cookies.get(COOKIE, ""))
            session.commit()
            return who

    who = await asyncio.to_thread(run)
    if who is None:
        return refusal(vbot, locale, 403, signed_out_words(vbot.catalogs.translator(locale)))
    return RedirectResponse(f"/console/u/{who.unit_ids[0]}/today", status_code=303, headers=HEADERS)


async def logout(vbot: Runtime, request: Request) -> Response:
    return await session_form(vbot, request, sign_out=True)


async def language(vbot: Runtime, request: Request) -> Response:
    return await session_form(vbot, request, sign_out=False)


async def session_form(vbot: Runtime, request: Request, sign_out: bool) -> Response:
    """登出 and the language choice: forms of a signed-in person, with the CSRF token."""
    locale = locale_of(vbot, request)
    t = vbot.catalogs.translator(locale)
    form = await read_form(request)
    cookie = request.cookies.get(COOKIE, "")

    def run() -> int:
        with UnitOfWork(vbot.engine)() as session:
            now = vbot.now()
            who = console_access.signed_in(session, now, cookie)
            if who is None:
                return 403
            sent = form.get("csrf") if form is not None else None
            if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
                return 419
            if sign_out:
                console_access.sign_out(session, now, cookie, who.volunteer_id)
            session.commit()
            return 200

    status = await asyncio.to_thread(run)
    if status == 403:
        return refusal(vbot, locale, 403, signed_out_words(t))
    if status == 419:
        return refusal(vbot, locale, 403, t("This form has expired. Open the page again and resend it."))
    if sign_out:
        response = refusal(
            vbot, locale, 200, t("You are signed out. Type 管理 in the chat to sign in again.")
        )
        response.delete_cookie(COOKIE, path="/console")
        return response
    chosen = form.get("lang") if form is not None else None
    back = form.get("back") if form is not None else None
    back = (
        back if isinstance(back, str) and back.startswith("/console/u/") and "//" not in back else "/console"
    )
    redirect = RedirectResponse(back, status_code=303, headers=HEADERS)
    if isinstance(chosen, str) and chosen in vbot.catalogs.locales:
        set_cookie(vbot, redirect, LANGUAGE_COOKIE, chosen, max_age=YEAR)
    return redirect


def console_routes(vbot: Runtime) -> list[BaseRoute]:
    def bound(endpoint):
        async def answer(request: Request) -> Response:
            return await endpoint(vbot, request)

        return answer

    def unit_route(path: str, work, methods=("GET",), before=None, again=None) -> Route:
        return Route(
            "/console/u/{unit_id:int}" + path,
            console_page(vbot, work, before, again),
            methods=list(methods),
        )

    return [
        Route("/console", bound(home), methods=["GET"]),
        Route("/console/login/{token:str}", bound(login), methods=["GET", "POST"]),
        Route("/console/logout", bound(logout), methods=["POST"]),
        Route("/console/language", bound(language), methods=["POST"]),
        Mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static"),
        unit_route("/today", today.today, before=line_quota),
        unit_route(
            "/records/{record_id:int}/{action:str}",
            today.settle,
            methods=("POST",),
            again=today.today,  # a refused 更正: Today again, the error beside its field
        ),
        *[
            unit_route(path, work, methods, before, getattr(module, "AGAIN", {}).get(work))
            for module in (people, events, audit, unit_pages)
            for path, work, methods, before in module.ROUTES
        ],
    ]
