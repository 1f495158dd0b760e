"""Audit trail: who changed what and when in this unit, by person and dates; people shown by name."""

from __future__ import annotations

import datetime as dt

from bot.web.console.base import Page, Result
from bot.web.console.people import a_date
from storage import console_store

SHOWN = 200


def audit(page: Page) -> Result:
    zone = page.vbot.rules.timezone
    first = a_date(page.query.get("from", ""), "first date") or page.today - dt.timedelta(days=30)
    last = a_date(page.query.get("to", ""), "last date") or page.today
    person = page.query.get("person", "").strip()
    actor = f"volunteer:{person}" if person.isdigit() and len(person) < 10 else None
    entries = console_store.audit_of_units(
        page.session,
        [page.unit_id],
        actor,
        dt.datetime.combine(first, dt.time(0), zone),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone),
        SHOWN,
    )
    ids = {
        int(e.actor.split(":")[1])
        for e in entries
        if e.actor.startswith("volunteer:") and e.actor[10:].isdigit()
    }
    ids |= {
        int(e.target.split(":")[1])
        for e in entries
        if e.target.startswith("volunteer:") and e.target[10:].isdigit()
    }
    names = console_store.names_of(page.session, ids)

    def who(text: str) -> str:
        kind, _, number = text.partition(":")
        if kind == "volunteer" and number.isdigit() and int(number) in names:
            return f"{names[int(number)]} (#{number})"
        return text

    return page.render(
        "audit.html", "/audit", entries=entries, named=who, first=first, last=last, person=person, zone=zone
    )


ROUTES = [("/audit", audit, ("GET",), None)]
