"""What every console page shares: the session cookie, the CSRF check, the unit check, the language, the
templates, and one way of answering (a page, a redirect with a note, a file, JSON, or a refusal).

A page is a thin adapter: `def work(page: Page) -> Result` reads the request through `page`, calls the
handler functions the chat and the CLI call, and returns what to show. It runs in a worker thread inside
one unit of work, which commits when it returns."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.web.runtime import Runtime
from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_date
from handlers.i18n import Translator
from handlers.people.console_access import Coordinator, console_context, signed_in
from handlers.validation import InputError
from storage.db import UnitOfWork
from storage.models import Unit

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "vbot_console"
LANGUAGE_COOKIE = "vbot_console_lang"
NOTE_COOKIE = "vbot_console_note"
LARGEST_ID = 2**31 - 1
MAX_FORM_BYTES = 2 * 1024 * 1024
# The console is never cached, never framed, runs only its own script and style, and sends no referrer
# (the sign-in link is in the first URL).
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def ident(row: Any) -> int:
    """A stored row's id (a row read or flushed has one)."""
    assert row.id is not None
    return int(row.id)


class NotFound(Exception):
    """Another unit's id, or none at all: answered 404 with nothing about what it names."""


@dataclass
class Rendered:
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass
class Html:
    text: str
    status: int = 200


@dataclass
class Redirect:
    to: str
    note: str | None = None


@dataclass
class File:
    data: bytes
    name: str
    media_type: str


@dataclass
class Json:
    value: object


Result = Rendered | Html | Redirect | File | Json


@dataclass
class Page:
    """One request of a signed-in coordinator, checked: the unit in its path is theirs."""

    vbot: Runtime
    session: Session
    now: dt.datetime
    who: Coordinator
    unit: Unit
    t: Translator
    path: dict[str, Any]
    query: dict[str, str]
    form: FormData | None
    extra: dict[str, Any] = field(default_factory=dict)
    # A form that was not saved, shown again: its errors by field ("" for the form as a whole).
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def unit_id(self) -> int:
        assert self.unit.id is not None
        return self.unit.id

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.vbot.rules.timezone).date()

    @property
    def actor(self) -> str:
        return f"volunteer:{self.who.volunteer_id}"

    def context(self) -> Context:
        """A chat handler's Context for the signed-in person, in the page's language."""
        return console_context(
            self.session, self.now, self.vbot.rules, self.vbot.catalogs, self.who.volunteer_id, self.t.locale
        )

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def failed(self, form: str) -> bool:
        """Whether `form` (its hidden `form` field) is the one sent and refused, shown again."""
        return bool(self.errors) and self.form is not None and self.field("form") == form

    def kept(self, form: str, name: str, default: Any = None) -> str:
        """A field's value: what was sent when `form` is shown again after an error, else `default`."""
        if self.failed(form):
            value = self.form.get(name) if self.form is not None else None
            return value if isinstance(value, str) else ""
        return "" if default is None else str(default)

    def error(self, form: str, name: str = "") -> str:
        """The error shown next to field `name` of `form` ("" for the whole form's)."""
        return self.errors.get(name, "") if self.failed(form) else ""

    def url(self, tail: str = "") -> str:
        return f"/console/u/{self.unit_id}{tail}"

    def render(self, template: str, current: str, **values: Any) -> Rendered:
        """The page `template`; `current` is its path under the unit, marked in the menu."""
        return Rendered(template, values | {"current": current})

    def back(self) -> str:
        """Where a form goes back to: its `back` field when it is a page of this unit, else Today."""
        back = self.field("back")
        return back if back.startswith(self.url("/")) and "//" not in back[1:] else self.url("/today")


def locale_of(vbot: Runtime, request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in vbot.catalogs.locales else vbot.rules.default_locale


def secure(vbot: Runtime) -> bool:
    return vbot.rules.public_url.lower().startswith("https://")


def set_cookie(vbot: Runtime, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, secure=secure(vbot), samesite="lax"
    )


def page_html(vbot: Runtime, locale: str, template: str, values: dict[str, Any]) -> str:
    t = vbot.catalogs.translator(locale)
    return TEMPLATES.get_template(template).render(
        t=t,
        locale=locale,
        languages=vbot.catalogs.names(),
        date=lambda day: local_date(day, locale) if day else "",
        hours=lambda minutes: hours_from_minutes(minutes, locale),
        clock=lambda moment: f"{moment.astimezone(vbot.rules.timezone):%H:%M}" if moment else "",
        **values,
    )


def refusal(vbot: Runtime, locale: str, status: int, message: str) -> HTMLResponse:
    """A plain page that says why, with its status (403 signed out, 404 unknown): it names nothing."""
    return HTMLResponse(
        page_html(vbot, locale, "refused.html", {"status": status, "message": message}),
        status_code=status,
        headers=HEADERS,
    )


def signed_out_words(t: Translator) -> str:
    return t(
        "You are not signed in to the console (or no longer coordinate a unit). Type 管理 in the chat for a new link."
    )


async def read_form(request: Request) -> FormData | None:
    if request.method != "POST":
        return None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise InputError("too large")
    return await request.form(max_files=1, max_fields=200)


def refused(page: Page, error: InputError, again: Callable[[Page], Result] | None) -> Result:
    """A form not saved: its page again with the values sent and the error next to its field (400), or,
    for a button without a page of its own, the page it came from with the error as its note."""
    said = error.in_words(page.t)
    if again is None or page.form is None or not page.field("form"):
        return Redirect(page.back(), page.t("Not saved: {reason}", reason=said))
    name = error.field if error.field and error.field in page.form else ""
    page.errors = {name: said}
    result = again(page)
    if isinstance(result, Rendered):
        result.status = 400
    return result


def console_page(
    vbot: Runtime,
    work: Callable[[Page], Result],
    before: Callable[[Runtime], Awaitable[dict[str, Any]]] | None = None,
    again: Callable[[Page], Result] | None = None,
):
    """The endpoint of a unit's page: signed in, the unit theirs, the CSRF token of a form right.
    `before` asks the platforms what the page shows of them (outside the database's transaction).
    `again` is the page of a form: when the form is refused (InputError), that page is shown again with
    the values sent and the error, in the page's language, next to its field (status 400)."""

    async def endpoint(request: Request) -> Response:
        locale = locale_of(vbot, request)
        t = vbot.catalogs.translator(locale)
        try:
            form = await read_form(request)
        except (InputError, ValueError):
            return refusal(vbot, locale, 413, t("The file is too large."))
        cookie = request.cookies.get(COOKIE, "")
        note = unquote(request.cookies.get(NOTE_COOKIE, ""))[:500]
        extra = await before(vbot) if before is not None else {}

        def run() -> Result | tuple[int, str]:
            with UnitOfWork(vbot.engine)() as session:
                now = vbot.now()
                who = signed_in(session, now, cookie)
                session.commit()  # the session's last use, whatever follows
                if who is None:
                    return 403, signed_out_words(t)
                if form is not None:
                    sent = form.get("csrf")
                    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
                        return 403, t("This form has expired. Open the page again and resend it.")
                unit_id = request.path_params.get("unit_id", 0)
                unit = who.unit(unit_id) if unit_id <= LARGEST_ID else None
                if unit is None:
                    return 404, t("Not found.")
                page = Page(
                    vbot,
                    session,
                    now,
                    who,
                    unit,
                    t,
                    dict(request.path_params),
                    dict(request.query_params),
                    form,
                    extra,
                )
                try:
                    try:
                        result = work(page)
                    except InputError as error:
                        session.rollback()
                        result = refused(page, error, again)
                except NotFound:
                    session.rollback()
                    return 404, t("Not found.")
                if isinstance(result, Rendered):  # drawn while the rows it shows are in the session
                    values = result.values | {"who": who, "unit": unit, "page": page, "note": note}
                    result = Html(page_html(vbot, locale, result.template, values), result.status)
                session.commit()
                return result

        try:
            result = await asyncio.to_thread(run)
        except Exception:
            log.exception("console page %s failed", request.url.path)
            return refusal(vbot, locale, 503, t("Something went wrong. Please try again in a moment."))
        return answer(vbot, locale, result, note)

    return endpoint


def answer(vbot: Runtime, locale: str, result: Result | tuple[int, str], note: str) -> Response:
    if isinstance(result, tuple):
        return refusal(vbot, locale, *result)
    if isinstance(result, Redirect):
        response: Response = RedirectResponse(result.to, status_code=303, headers=HEADERS)
        if result.note:
            set_cookie(vbot, response, NOTE_COOKIE, quote(result.note[:500]), max_age=60)
        return response
    if isinstance(result, File):
        return Response(
            result.data,
            media_type=result.media_type,
            headers=HEADERS | {"Content-Disposition": f'attachment; filename="{result.name}"'},
        )
    if isinstance(result, Json):
        return JSONResponse(result.value, headers=HEADERS)
    if isinstance(result, Rendered):
        result = Html(page_html(vbot, locale, result.template, result.values), result.status)
    response = HTMLResponse(result.text, result.status, headers=HEADERS)
    if note:
        response.delete_cookie(NOTE_COOKIE, path="/console")
    return response
