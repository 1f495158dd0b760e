"""An event's poster with the QR codes of the platforms the bot is on: `vbot event poster` and the console."""

from __future__ import annotations

from bot.printing.poster import line_checkin_url, make_poster, telegram_start_url
from handlers.formatting import local_date
from handlers.router import EVENT_START_PREFIX
from handlers.validation import InputError
from storage.models import Event


def event_poster(t, zone, event: Event, shifts, names: tuple[str | None, str | None]) -> tuple[bytes, bytes]:
    """The poster of an event (PNG, PDF) with QR codes of the platforms named: `vbot event poster` and the
    console's Events page."""
    basic_id, username = names
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    lines = [f"{local_date(start.date(), t.locale)} {start:%H:%M}–{end:%H:%M}"]
    if event.place:
        lines.append(event.place)
    posts = sorted({shift.post for shift in shifts if shift.post})
    if posts:
        lines.append("、".join(posts))
    if event.rotating_code:
        lines.append(t("The check-in code is on the screen at the entrance."))
    # With a rotating code the poster only opens the chat: the code itself is on the kiosk screen.
    typed = t("check in") + ("" if event.rotating_code else " " + event.code)
    codes = []
    if basic_id:
        codes.append((t("Scan with LINE, then tap Send"), line_checkin_url(basic_id, typed)))
    if username:
        start_payload = EVENT_START_PREFIX + ("" if event.rotating_code else event.code)
        codes.append((t("Scan for Telegram, then tap Start"), telegram_start_url(username, start_payload)))
    try:
        return make_poster(t("{event}: check in here", event=event.title), lines, codes)
    except ValueError as error:  # e.g. a title so long that the codes would not fit
        raise InputError(f"cannot make the poster: {error}") from None
