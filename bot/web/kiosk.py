"""The kiosk: a phone or tablet at an event's entrance shows a QR of the current rotating check-in code.

GET /events/{id}/kiosk?expires&sig       the page (inline CSS and JS only, nothing fetched from elsewhere)
GET /events/{id}/kiosk/code?expires&sig  {"svg", "code", "seconds_left"}: the page fetches it on load and
                                         again when the code changes, so it never reloads itself.
Both need the signed link of handlers.events.codes.kiosk_link; the time is vbot.now(), so tests move it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging

import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.printing.poster import line_checkin_url
from bot.web.runtime import Runtime
from handlers.events.codes import kiosk_link_valid, rotating_code, seconds_left_in_window
from storage.db import UnitOfWork
from storage.models import Event

log = logging.getLogger(__name__)

LARGEST_ID = 2**31 - 1  # event.id is a 32-bit integer: a longer number in the path is no event, not an error
# The link carries its signature: no shared cache may keep an answer, and no other site may learn the link.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


async def kiosk_qr_text(vbot, code: str) -> str:
    """What the QR holds: with LINE on, its URL that opens the bot's chat with `簽到 CODE` typed in (scanned
    with LINE's camera, one tap sends it); otherwise the message itself, to type."""
    typed = vbot.catalogs.translator(vbot.rules.default_locale)("check in") + f" {code}"
    line = vbot.channels.get("line")
    basic_id = await line.basic_id() if line is not None else None
    return line_checkin_url(basic_id, typed) if basic_id else typed


def qr_svg(text: str) -> str:
    """The QR as one <svg> element: one path, a viewBox, and the 4-module quiet zone scanners need."""
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")


STYLE = """
html, body { margin: 0; height: 100%; background: #fff; color: #111; font-family: system-ui, sans-serif; }
body { display: flex; flex-direction: column; align-items: center; text-align: center; }
h1 { margin: .4em .5em 0; font-size: clamp(1.2rem, 5vmin, 3rem); }
p { margin: .2em; font-size: clamp(1rem, 3vmin, 1.6rem); }
#qr { flex: 1; min-height: 0; width: 100%; }
#qr svg { width: 100%; height: 100%; }
#qr path { shape-rendering: crispEdges; }
#code { font-size: clamp(1.8rem, 9vmin, 5rem); font-weight: 700; letter-spacing: .12em;
        font-variant-numeric: tabular-nums; }
#status { color: #b00000; font-weight: 700; }
.stale #qr, .stale #code { opacity: .15; }
"""

# Waits for the answer's seconds_left (timed with performance.now(), so the device's own clock, often wrong
# on a borrowed tablet, does not matter), then fetches again; a failed fetch greys the QR and retries.
SCRIPT = """
(function () {
  "use strict";
  var codeUrl = location.pathname.replace(/\\/+$/, "") + "/code" + location.search;
  var qr = document.getElementById("qr"), code = document.getElementById("code");
  var countdown = document.getElementById("countdown"), status = document.getElementById("status");
  var nextChange = 0, refreshTimer = null;

  function showStatus(text) { status.textContent = text; status.hidden = !text; }
  function refreshIn(seconds) { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, seconds * 1000); }
  function tick() {
    countdown.textContent = nextChange ? Math.max(0, Math.ceil((nextChange - performance.now()) / 1000)) : "-";
  }

  function refresh() {
    fetch(codeUrl, {cache: "no-store", credentials: "omit"}).then(function (response) {
      if (response.status === 403 || response.status === 404) {
        clearTimeout(refreshTimer);
        qr.innerHTML = ""; code.textContent = "------"; nextChange = 0;
        tick();
        showStatus("此連結已失效，請向協調人索取新連結 · This kiosk link is no longer valid");
        return;
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json().then(function (data) {
        qr.innerHTML = data.svg;
        code.textContent = data.code;
        nextChange = performance.now() + data.seconds_left * 1000;
        tick();
        document.body.classList.remove("stale");
        showStatus("");
        refreshIn(data.seconds_left + 0.3);  // a little late, so the server is surely in the next window
      });
    }).catch(function () {
      document.body.classList.add("stale");
      showStatus("連線中斷，重試中… · Reconnecting…");
      refreshIn(3);
    });
  }

  // A tablet that slept ran no timers: fetch at once when it is looked at again.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  if (navigator.wakeLock) { navigator.wakeLock.request("screen").catch(function () {}); }
  setInterval(tick, 250);
  refresh();
})();
"""


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


# Only this page's own script and style run, and it may talk to this server alone: no CDN, no tracker.
PAGE_POLICY = (
    f"default-src 'none'; script-src {_csp_hash(SCRIPT)}; style-src {_csp_hash(STYLE)}; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE = f"""<!DOCTYPE html>
<html lang="zh-Hant-TW">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>簽到 · __EVENT_TITLE__</title>
<style>{STYLE}</style>
</head>
<body>
<h1>__EVENT_TITLE__</h1>
<p>掃描 QR code 簽到 · Scan to check in</p>
<div id="qr" role="img" aria-label="QR code"></div>
<p>或傳送 · or send: 簽到 <span id="code">------</span></p>
<p><span id="countdown">-</span> 秒後換新代碼 · seconds to the next code</p>
<p id="status" role="status" hidden></p>
<script>{SCRIPT}</script>
</body>
</html>
"""


def refused(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text + "\n", status_code=status, headers=PRIVATE)


def kiosk_routes(vbot: Runtime) -> list[Route]:
    def read_event(event_id: int) -> Event | None:
        with UnitOfWork(vbot.engine)() as session:
            return session.get(Event, event_id)

    async def shown_event(request: Request, now) -> Event | Response:
        """The event whose code the link may show, or the answer that refuses it."""
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            return refused(403, "此連結無效或已過期。This kiosk link is not valid or has expired.")
        event_id = request.path_params["event_id"]
        try:
            event = await asyncio.to_thread(read_event, event_id) if event_id <= LARGEST_ID else None
        except sa.exc.SQLAlchemyError:
            log.exception("could not read event %s for a kiosk", event_id)
            return refused(503, "請稍後再試。Try again later.")
        if event is None:
            return refused(404, "沒有這個活動。No such event.")
        if not kiosk_link_valid(event.secret, event.id, expires, request.query_params.get("sig", ""), now):
            return refused(403, "此連結無效或已過期。This kiosk link is not valid or has expired.")
        if not event.rotating_code:
            return refused(404, "這個活動沒有輪替簽到碼。This event has no rotating check-in code.")
        return event

    async def kiosk_page(request: Request) -> Response:
        event = await shown_event(request, vbot.now())
        if isinstance(event, Response):
            return event
        page = PAGE.replace("__EVENT_TITLE__", html.escape(event.title))
        return HTMLResponse(page, headers=PRIVATE | {"Content-Security-Policy": PAGE_POLICY})

    async def kiosk_code(request: Request) -> Response:
        now = vbot.now()  # one instant for the link's expiry, the code and its countdown
        event = await shown_event(request, now)
        if isinstance(event, Response):
            return event
        code = rotating_code(event.secret, now)
        svg = await asyncio.to_thread(qr_svg, await kiosk_qr_text(vbot, code))
        return JSONResponse(
            {"svg": svg, "code": code, "seconds_left": seconds_left_in_window(now)}, headers=PRIVATE
        )

    return [
        Route("/events/{event_id:int}/kiosk", kiosk_page, methods=["GET"]),
        Route("/events/{event_id:int}/kiosk/code", kiosk_code, methods=["GET"]),
    ]
