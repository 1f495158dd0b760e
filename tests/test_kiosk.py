"""The kiosk: rotating codes and signed links (pure), its two routes on a real server, and its page in a
real headless Chromium whose code changes when the bot's clock enters the next window."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import zxingcpp

from bot.app import VBot, build_app
from handlers.events.codes import (
    POSTER_CODE_ALPHABET,
    kiosk_link,
    kiosk_link_valid,
    kiosk_signature,
    new_event_code,
    new_event_secret,
    rotating_code,
    rotating_code_accepted,
    seconds_left_in_window,
)
from storage.db import UnitOfWork
from storage.models import Event, Unit
from tests.conftest import make_settings, start_server, stop_server

T = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.UTC)  # a whole minute: the start of a code window
SECRET = "00112233445566778899aabbccddeeff"
SECOND = dt.timedelta(seconds=1)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# --- the pure functions ---


def test_new_codes_and_secrets_are_random_and_unambiguous():
    assert not set("01IO") & set(POSTER_CODE_ALPHABET)
    codes = [new_event_code() for _ in range(300)]
    assert all(len(code) == 6 and set(code) <= set(POSTER_CODE_ALPHABET) for code in codes)
    assert not any(code.isdigit() for code in codes)  # never mistaken for a rotating code
    assert len(set(codes)) == len(codes)
    secrets = {new_event_secret() for _ in range(10)}
    assert len(secrets) == 10
    assert all(re.fullmatch(r"[0-9a-f]{32}", secret) for secret in secrets)


def test_the_rotating_code_changes_exactly_at_the_window_boundary():
    first = rotating_code(SECRET, T)
    assert re.fullmatch(r"\d{6}", first)
    assert rotating_code(SECRET, T + dt.timedelta(seconds=59, microseconds=999_999)) == first
    assert rotating_code(SECRET, T + 60 * SECOND) != first
    assert rotating_code(SECRET, T - dt.timedelta(microseconds=1)) != first
    # The same instant in Taipei's time is the same window.
    assert rotating_code(SECRET, T.astimezone(dt.timezone(dt.timedelta(hours=8)))) == first
    assert rotating_code("ffeeddccbbaa99887766554433221100", T) != first
    assert seconds_left_in_window(T) == 60
    assert seconds_left_in_window(T + dt.timedelta(seconds=59, microseconds=1)) == 1
    # A shorter window changes sooner.
    assert rotating_code(SECRET, T + 30 * SECOND, window_seconds=30) != rotating_code(
        SECRET, T, window_seconds=30
    )


def test_codes_keep_their_leading_zeros_and_spread_over_the_digits():
    codes = [rotating_code(SECRET, T + i * 60 * SECOND) for i in range(2000)]
    assert all(re.fullmatch(r"\d{6}", code) for code in codes)
    assert len(set(codes)) > 1990
    assert any(code.startswith("0") for code in codes)  # about 200 expected
    assert {code[0] for code in codes} == set("0123456789")


def test_the_current_and_the_previous_code_are_accepted_and_no_other():
    now = T + 90 * SECOND
    current, previous = rotating_code(SECRET, now), rotating_code(SECRET, now - 60 * SECOND)
    older, next_one = rotating_code(SECRET, now - 120 * SECOND), rotating_code(SECRET, now + 60 * SECOND)
    assert len({current, previous, older, next_one}) == 4
    assert rotating_code_accepted(SECRET, current, now)
    assert rotating_code_accepted(SECRET, previous, now)
    assert not rotating_code_accepted(SECRET, older, now)
    assert not rotating_code_accepted(SECRET, next_one, now)
    # What people type: spaces around it, full-width digits of a Chinese keyboard.
    assert rotating_code_accepted(SECRET, f"  {current}\n", now)
    assert rotating_code_accepted(
        SECRET, current.translate(str.maketrans("0123456789", "０１２３４５６７８９")), now
    )


@pytest.mark.parametrize("forged", ["", "000000", "12345", "1234567", "簽到", "ＡＢＣ", "abcdef"])
def test_forged_codes_are_refused(forged):
    assert forged not in (rotating_code(SECRET, T), rotating_code(SECRET, T - 60 * SECOND))
    assert not rotating_code_accepted(SECRET, forged, T)


def test_the_code_of_another_event_is_refused():
    other = rotating_code("ffeeddccbbaa99887766554433221100", T)
    assert other != rotating_code(SECRET, T)
    assert not rotating_code_accepted(SECRET, other, T)
    assert not rotating_code_accepted(SECRET, rotating_code(SECRET, T) + "0", T)


def test_a_time_without_zone_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        rotating_code(SECRET, T.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        rotating_code_accepted(SECRET, "123456", T.replace(tzinfo=None))


def test_a_kiosk_link_is_signed_for_its_event_and_until_it_expires():
    expires = unix(T) + 3600
    link = kiosk_link("https://vbot.example.tw/", 7, SECRET, expires)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "vbot.example.tw", "/events/7/kiosk")
    query = {key: value for key, [value] in parse_qs(parts.query).items()}
    assert query == {"expires": str(expires), "sig": kiosk_signature(SECRET, 7, expires)}
    sig = query["sig"]
    assert kiosk_link_valid(SECRET, 7, expires, sig, T)
    assert kiosk_link_valid(SECRET, 7, expires, sig, T + dt.timedelta(seconds=3599, microseconds=999_999))
    assert not kiosk_link_valid(SECRET, 7, expires, sig, T + 3600 * SECOND)  # expired
    assert not kiosk_link_valid(SECRET, 8, expires, sig, T)  # another event
    assert not kiosk_link_valid(SECRET, 7, expires + 86400, sig, T)  # a later expiry written in
    assert not kiosk_link_valid("ffeeddccbbaa99887766554433221100", 7, expires, sig, T)
    tampered = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    for bad in (tampered, sig.upper(), sig[:-1], "", "簽" * 64):
        assert not kiosk_link_valid(SECRET, 7, expires, bad, T), bad
    # The signature is not a rotating code, nor the other way round: each hashes its own prefix.
    assert not rotating_code_accepted(SECRET, sig[:6], T)


# --- the routes, on a real server ---


@dataclass
class Kiosk:
    vbot: VBot
    url: str
    http: httpx.AsyncClient
    now: dt.datetime = T  # the bot's clock

    def add_event(self, title="大稻埕煙火節", rotating=True, secret=SECRET) -> int:
        with UnitOfWork(self.vbot.engine)() as session:
            unit = Unit(name="臺北市立圖書館", created_at=T)
            session.add(unit)
            session.flush()
            event = Event(
                unit_id=unit.id,
                title=title,
                starts_at=T,
                ends_at=T + dt.timedelta(hours=6),
                code=new_event_code(),
                secret=secret,
                rotating_code=rotating,
                created_at=T,
            )
            session.add(event)
            session.commit()
            return event.id

    def link(self, event_id: int, secret=SECRET, expires: int | None = None) -> str:
        """The path and query of a kiosk link, good for an hour unless `expires` is given."""
        expires = unix(T) + 3600 if expires is None else expires
        parts = urlsplit(kiosk_link(self.url, event_id, secret, expires))
        return f"{parts.path}?{parts.query}"


@pytest.fixture
async def kiosk_on(tmp_path):
    running = []

    async def start(database_url: str) -> Kiosk:
        kiosk: Kiosk | None = None
        vbot = build_app(make_settings(database_url), workers=False, scheduler=False, clock=lambda: kiosk.now)
        vbot.migrate()
        server, task, url = await start_server(vbot)
        kiosk = Kiosk(vbot, url, httpx.AsyncClient(base_url=url, timeout=10))
        running.append((kiosk, server, task))
        return kiosk

    yield start
    for kiosk, server, task in running:
        await kiosk.http.aclose()
        await stop_server(server, task)


@pytest.fixture
async def kiosk(kiosk_on, database_url) -> Kiosk:
    return await kiosk_on(database_url)


async def test_with_line_on_the_qr_opens_the_bots_chat_with_the_code_typed_in(tmp_path, line_api):
    kiosk: Kiosk | None = None
    settings = make_settings(f"sqlite:///{tmp_path / 'line.db'}", line_api)
    vbot = build_app(settings, workers=False, scheduler=False, clock=lambda: kiosk.now)
    vbot.migrate()
    server, task, url = await start_server(vbot)
    kiosk = Kiosk(vbot, url, httpx.AsyncClient(base_url=url, timeout=10))
    try:
        event_id = kiosk.add_event()
        shown = (await kiosk.http.get(code_url(kiosk.link(event_id)))).json()
        assert (
            decoded_qr(shown["svg"])
            == f"https://line.me/R/oaMessage/%40123abcde/?%E7%B0%BD%E5%88%B0%20{shown['code']}"
        )
    finally:
        await kiosk.http.aclose()
        await stop_server(server, task)


def code_url(page_link: str) -> str:
    path, query = page_link.split("?")
    return f"{path}/code?{query}"


def decoded_qr(svg: str) -> str:
    """What a phone reads from the svg: its squares drawn into pixels and decoded by zxing-cpp, a QR reader
    that shares no code with the qrcode package that drew them."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    scale = 4
    pixels = bytearray([255]) * (size * scale) ** 2
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", svg)
    assert squares, svg[:200]
    for left, top, right, bottom in (map(int, square) for square in squares):
        for y in range(top * scale, bottom * scale):
            pixels[y * size * scale + left * scale : y * size * scale + right * scale] = bytes(
                (right - left) * scale
            )
    found = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (size * scale, size * scale)))
    assert len(found) == 1
    return found[0].text


async def test_the_code_route_serves_the_current_code_as_a_qr_a_phone_can_read(kiosk):
    event_id = kiosk.add_event()
    kiosk.now = T + 20 * SECOND
    response = await kiosk.http.get(code_url(kiosk.link(event_id)))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    shown = response.json()
    assert set(shown) == {"svg", "code", "seconds_left"}
    assert shown["code"] == rotating_code(SECRET, kiosk.now)
    assert shown["seconds_left"] == 40
    assert shown["svg"].startswith("<svg")
    assert decoded_qr(shown["svg"]) == f"簽到 {shown['code']}"  # no LINE channel: the message to type

    kiosk.now = T + 60 * SECOND  # the next window
    later = (await kiosk.http.get(code_url(kiosk.link(event_id)))).json()
    assert later["code"] == rotating_code(SECRET, kiosk.now) != shown["code"]
    assert later["seconds_left"] == 60
    assert decoded_qr(later["svg"]) == f"簽到 {later['code']}"
    assert rotating_code_accepted(SECRET, shown["code"], kiosk.now)  # the code shown a moment ago still works


async def test_the_page_is_self_contained_for_a_phone(kiosk):
    event_id = kiosk.add_event(title="淨灘 <script>alert(1)</script> & 野餐")
    response = await kiosk.http.get(kiosk.link(event_id))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert '<meta name="viewport" content="width=device-width' in page
    assert "<h1>淨灘 &lt;script&gt;alert(1)&lt;/script&gt; &amp; 野餐</h1>" in page
    assert "<script>alert(1)" not in page
    # Nothing is loaded from anywhere: no address at all, no src or href attribute.
    assert not re.search(r"https?:|//[a-z]|\bsrc=|\bhref=|@import", page)
    assert 'id="qr"' in page and 'id="code"' in page and 'id="countdown"' in page


@pytest.mark.parametrize("route", ["page", "code"])
async def test_links_that_must_not_show_a_code_are_refused_plainly(kiosk, route):
    event_id = kiosk.add_event()
    poster_only = kiosk.add_event(title="海報簽到", rotating=False)
    good = kiosk.link(event_id)
    path, query = good.split("?")
    sig = parse_qs(query)["sig"][0]
    cases = {
        "tampered signature": (
            403,
            f"{path}?expires={unix(T) + 3600}&sig={sig[:-1]}{'1' if sig[-1] == '0' else '0'}",
        ),
        "later expiry written in": (403, f"{path}?expires={unix(T) + 7200}&sig={sig}"),
        "signed with another secret": (403, kiosk.link(event_id, secret="ffeeddccbbaa99887766554433221100")),
        "no signature": (403, f"{path}?expires={unix(T) + 3600}"),
        "no expiry": (403, f"{path}?sig={sig}"),
        "expiry not a number": (403, f"{path}?expires=soon&sig={sig}"),
        "expired": (403, kiosk.link(event_id, expires=unix(T))),
        "unknown event": (404, kiosk.link(event_id + 1000)),
        "id beyond any integer column": (404, kiosk.link(10**30)),
        "event without rotating code": (404, kiosk.link(poster_only)),
    }
    for name, (status, link) in cases.items():
        response = await kiosk.http.get(code_url(link) if route == "code" else link)
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"].startswith("text/plain"), name
        assert response.headers["cache-control"] == "no-store", name
        assert len(response.text) < 200 and "Traceback" not in response.text, name
    assert (await kiosk.http.get(code_url(good) if route == "code" else good)).status_code == 200


# --- the page in a real browser ---


def chromium_or_skip() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing, though .ci/run installs them")
    pytest.skip(
        f"{CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver (.ci/run does)"
    )


def open_chromium(profile_dir, size=(480, 800), *extra_flags: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The flags that keep Chromium off the network: this machine reaches nothing but its own loopback.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={profile_dir}",
        *extra_flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


async def test_the_page_in_chromium_shows_a_new_code_when_the_window_changes(kiosk_on, tmp_path):
    chromium_or_skip()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    kiosk = await kiosk_on(f"sqlite:///{tmp_path / 'kiosk.db'}")
    event_id = kiosk.add_event()
    kiosk.now = T + 58 * SECOND  # two seconds before the code changes: the page fetches again after them
    browser = await asyncio.to_thread(open_chromium, tmp_path / "profile")

    def shown_code_and_svg(previous_code: str | None) -> tuple[str, str] | bool:
        code = browser.find_element(By.ID, "code").text
        svgs = browser.find_elements(By.CSS_SELECTOR, "#qr svg")
        if not svgs or not re.fullmatch(r"\d{6}", code) or code == previous_code:
            return False
        return code, svgs[0].get_attribute("outerHTML")

    def wait_for(condition, seconds=20):
        return asyncio.to_thread(WebDriverWait(browser, seconds, poll_frequency=0.1).until, condition)

    try:
        await asyncio.to_thread(browser.get, kiosk.url + kiosk.link(event_id))
        assert await asyncio.to_thread(lambda: browser.title) == "簽到 · 大稻埕煙火節"
        first_code, first_svg = await wait_for(lambda _: shown_code_and_svg(None))
        assert first_code == rotating_code(SECRET, T + 58 * SECOND)
        countdown = await asyncio.to_thread(lambda: browser.find_element(By.ID, "countdown").text)
        assert countdown in ("0", "1", "2"), countdown
        # The QR fills most of the phone's screen.
        width = await asyncio.to_thread(
            lambda: browser.find_element(By.CSS_SELECTOR, "#qr svg").rect["width"]
        )
        assert width >= 0.8 * await asyncio.to_thread(browser.execute_script, "return window.innerWidth")
        await asyncio.to_thread(browser.execute_script, "window.loadedOnce = true")

        kiosk.now = T + 119 * SECOND  # the next window, one second before the one after
        second_code, second_svg = await wait_for(lambda _: shown_code_and_svg(first_code))
        assert second_code == rotating_code(SECRET, T + 119 * SECOND)
        assert second_svg != first_svg
        # The page fetched the code again; it did not reload itself.
        assert await asyncio.to_thread(browser.execute_script, "return window.loadedOnce === true")

        kiosk.now = T + 3600 * SECOND  # the link has expired: the page says so and shows no code
        status = await wait_for(
            lambda b: b.find_element(By.ID, "status").is_displayed() and b.find_element(By.ID, "status").text
        )
        assert "This kiosk link is no longer valid" in status
        assert await asyncio.to_thread(lambda: browser.find_elements(By.CSS_SELECTOR, "#qr svg")) == []

        logs = await asyncio.to_thread(browser.get_log, "browser")
        # The expired link's 403 is the one error the page is expected to meet (no CSP refusal, no script error).
        errors = [
            entry["message"]
            for entry in logs
            if entry["level"] == "SEVERE" and " 403 " not in entry["message"]
        ]
        assert errors == []
    finally:
        await asyncio.to_thread(browser.quit)
