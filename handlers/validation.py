"""Checking what people and operators give: one line saying what is wrong, and nothing changed.

Every front end (chat, CLI, console) raises and shows `InputError` the same way.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable

from sqlmodel import Session

from storage import people_store
from storage.models import Unit

MAX_NAME = 200
EARLIEST = dt.date(1900, 1, 1)  # no birth, training or service date of a living volunteer is older


def _(msgid: str) -> str:
    """Marks a message for the catalogs (tests/test_structure.py requires it translated); a page translates
    it where it shows it, in the page's language."""
    return msgid


class InputError(ValueError):
    """Bad input from a person: shown to them as one line, nothing changed.

    `str(error)` is the operator's English line (the CLI, the logs). `said` is the same for a person in the
    catalogs' words (a msgid marked with `_`, formatted with `values`), and `field` the form field it is
    about: the console shows it next to that field, in the page's language."""

    def __init__(self, text: str, *, said: str | None = None, field: str | None = None, **values: object):
        super().__init__(text)
        self.said = said
        self.field = field
        self.values = values

    def in_words(self, t: Callable[..., str]) -> str:
        """What the console shows: the person's words, or a general line when there are none."""
        if self.said is not None:
            return t(self.said, **self.values)
        return t("This was not accepted. Please check what you entered.")


def latest_local_date(now: dt.datetime) -> dt.date:
    """The latest date it can be anywhere on Earth at `now`: 'not in the future' for callers that know no time zone."""
    return (now.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()


def clean_name(name: str, what: str, field: str | None = None) -> str:
    """`field`: the form field it came from, where a page shows the error."""
    name = " ".join(name.split())  # line breaks and runs of spaces become one space
    if not name:
        raise InputError(f"the {what} needs a name", said=_("Please fill this in."), field=field)
    if len(name) > MAX_NAME:
        raise InputError(
            f"the {what}'s name is longer than {MAX_NAME} characters",
            said=_("This is longer than {most} characters."),
            field=field,
            most=MAX_NAME,
        )
    # Control characters are refused; the invisible marks that real names carry (the joiners of an emoji
    # or an Indic script, a right-to-left mark) and private-use characters (rare Chinese characters in
    # government systems) are not.
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Cn") for ch in name):
        raise InputError(
            f"the {what}'s name contains control characters",
            said=_("This contains characters that cannot be kept."),
            field=field,
        )
    return name


def one_of(value: object, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(
            f"{what} must be one of {', '.join(allowed)}, not {value!r}",
            said=_("{value} is not one of: {allowed}."),
            value=repr(value),
            allowed=", ".join(allowed),
        )


def check_date(day: dt.date | None, what: str, today: dt.date) -> None:
    if day is not None and not EARLIEST <= day <= today:
        raise InputError(
            f"the {what} {day.isoformat()} is not between {EARLIEST.isoformat()} and today",
            said=_("The date must be between 1900-01-01 and today."),
        )


# What an unknown id is, in the operator's English and in the catalogs' words (`vbot … --unit 7`).
UNKNOWN = {
    "unit": _("There is no unit {id}."),
    "volunteer": _("There is no volunteer {id}."),
    "event": _("There is no event {id}."),
    "shift": _("There is no shift {id}."),
}


def unknown(what: str, ident: object) -> InputError:
    """The refusal of an id that names nothing: `raise unknown("unit", 7)` ("there is no unit 7")."""
    return InputError(f"there is no {what} {ident}", said=UNKNOWN[what], id=ident)


def unit_or_error(session: Session, unit_id: int) -> Unit:
    unit = people_store.unit(session, unit_id)
    if unit is None:
        raise unknown("unit", unit_id)
    return unit
