"""An event's check-in poster: `vbot event poster` and the console's Events page make it the same way.

One large QR code of the bot's short link VBOT_PUBLIC_URL/e/CODE (bot/web/short_links.py sends LINE's browser to
the chat with `簽到 CODE` typed in, and any other to a page with a button per platform), and the code as text,
in two languages."""

from __future__ import annotations

from bot.printing.fonts import MissingFont
from bot.printing.poster import PosterWords, make_poster
from handlers.formatting import local_date
from handlers.validation import InputError, _
from storage.models import Event


def poster_words(translators: list, zone, event: Event, shifts) -> PosterWords:
    """The poster's words in two languages: the title and how to scan in each, the date in the first."""
    t = translators[0]
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    lines = [f"{local_date(start.date(), t.locale)} {start:%H:%M}–{end:%H:%M}"]
    if event.place:
        lines.append(event.place)
    posts = sorted({shift.post for shift in shifts if shift.post})
    if posts:
        lines.append("、".join(posts))
    titles = list(dict.fromkeys(tr("{event}: check in here", event=event.title) for tr in translators))
    if event.rotating_code:
        # The code changes every minute: the kiosk's screen shows it as a QR that opens the chat with it typed
        # in, so one tap on Send checks in there; this poster only points at it.
        steps = [
            tr("Scan the QR code on the screen at the entrance with LINE, then tap Send.")
            for tr in translators
        ]
        code_line = t("The check-in code is on the screen at the entrance.")
    else:
        steps = [tr("Scan with your phone's camera or LINE, then tap Send.") for tr in translators]
        code_line = t("check in") + " " + event.code
    return PosterWords(titles, lines, code_line, list(dict.fromkeys(steps)))


def event_poster(translators: list, zone, event: Event, shifts, public_url: str) -> tuple[bytes, bytes]:
    """(PNG, PDF) of the event's poster."""
    url = f"{public_url.rstrip('/')}/e/{event.code}"
    try:
        return make_poster(poster_words(translators, zone, event, shifts), url)
    except (ValueError, MissingFont) as error:  # e.g. a title so long that the words do not fit
        raise InputError(
            f"cannot make the poster: {error}",
            said=_(
                "The poster cannot be made: shorten the title or the place, or install the fonts (vbot doctor)."
            ),
        ) from None


def poster_translators(catalogs, first_locale: str) -> list:
    """The given language first, then Traditional Chinese and English: the poster speaks two of them."""
    locales = dict.fromkeys([first_locale, "zh_TW", "en"])
    return [catalogs.translator(locale) for locale in list(locales)[:2]]
