"""Erasing a person (確認刪除 N): nothing that says who they were stays anywhere.

What goes, in every table: every name they had (the audit trail remembers the old ones: they are looked up
there first), their chat user ids, phone, birth date (in the forms it is written: 1958-03-14, 1958/03/14,
47年3月14日, 47.03.14, 47/03/14), record-book number and date, English name, insurance and training dates,
and what they wrote (their leave reasons and feedback, their messages in the inbox, the answers they got).
What stays: the unit's figures. Their service and training records keep their minutes and dates under the
anonymous volunteer row; every "who did it" column that named one of their chat accounts (an audit entry's
actor, a record's `recorded_by`) names the pseudonym `volunteer:<id>` instead, which points at that row.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlmodel import Session

from storage import people_store, privacy_store

ANONYMOUS = "（已刪除）"  # the name left on a deleted person's record: stored data, shown where the name was
ERASED_FIELDS = (
    "birth_date",
    "gender",
    "record_book_no",
    "record_book_date",
    "english_name",
    "phone",
    "insured_until",
    "trained_on",
    "first_service_date",
)
DATE_FIELDS = ("birth_date", "record_book_date", "insured_until", "trained_on", "first_service_date")
TEXT_FIELDS = ("name", "english_name", "record_book_no", "phone")
# In the audit entries about a person, the keys whose values are not theirs (a unit id, a role, a code).
NOT_THEIRS = frozenset({"unit", "role", "gender", "code", "account", "city", "record", "shift", "status"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_forms(day: dt.date) -> set[str]:
    """How a date is written: ISO, with slashes, and in the ROC (民國) year forms people and the bot use."""
    roc = day.year - 1911
    return {
        day.isoformat(),
        f"{day:%Y/%m/%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{roc}年{day.month}月{day.day}日",
        f"{roc}.{day:%m.%d}",
        f"{roc}/{day:%m/%d}",
    }


def _leaves(value, key: str | None = None):
    """The texts in a decoded audit detail, except under keys that name something else (a unit, a role)."""
    if key in NOT_THEIRS:
        return
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from _leaves(inner, inner_key)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner, key)
    elif isinstance(value, str) and value not in ("", "None", ANONYMOUS):
        yield value


def values_of(session: Session, person, platform_ids: list[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """(distinctive, all): the person's values that may be searched for anywhere (names, ids, phone, record
    book), and with them those only looked for in rows about the person (dates, short values)."""
    texts = {str(getattr(person, field)) for field in TEXT_FIELDS if getattr(person, field)}
    texts |= {user_id for _platform, user_id in platform_ids}
    dates = {getattr(person, field) for field in DATE_FIELDS if getattr(person, field)}
    for action, details in privacy_store.audit_details_about(session, person.id):
        if not action.startswith("volunteer."):
            continue
        for leaf in _leaves(json.loads(details or "{}")):
            if _DATE.fullmatch(leaf):
                dates.add(dt.date.fromisoformat(leaf))
            else:
                texts.add(leaf)
    texts.discard(ANONYMOUS)
    every = set(texts)
    for day in dates:
        every |= date_forms(day)
    distinctive = {text for text in texts if len(text) >= 2}
    return distinctive, every


def scrub(text: str, values) -> str:
    """The text with every value replaced by the anonymous name; a JSON text is scrubbed value by value and
    stays JSON (what is stored as JSON is read as JSON again)."""
    ordered = sorted(values, key=len, reverse=True)

    def plain(value: str) -> str:
        for item in ordered:
            value = value.replace(item, ANONYMOUS)
        return value

    def walk(value):
        if isinstance(value, str):
            return plain(value)
        if isinstance(value, dict):
            return {plain(k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in ordered:
            return ANONYMOUS
        return value

    try:
        decoded = json.loads(text)
    except ValueError:
        return plain(text)
    scrubbed = walk(decoded)
    return text if scrubbed == decoded else json.dumps(scrubbed, ensure_ascii=False)


def erase_person(session: Session, now: dt.datetime, volunteer_id: int) -> None:
    """Removes everything that says who the person was; their figures stay, anonymous."""
    person = people_store.volunteer(session, volunteer_id)
    platform_ids = privacy_store.chat_actors(session, volunteer_id)
    distinctive, every = values_of(session, person, platform_ids)
    pseudonym = f"volunteer:{volunteer_id}"
    privacy_store.rename_actor(session, [f"{p}:{u}" for p, u in platform_ids], pseudonym)
    privacy_store.forget_messages(session, volunteer_id, platform_ids, now)
    user_ids = [user_id for _platform, user_id in platform_ids]
    for message in privacy_store.multicasts_to(session, user_ids):
        kept = [r for r in json.loads(message.recipients or "[]") if r not in user_ids]
        privacy_store.set_recipients(session, message, kept)
    privacy_store.delete_outbox_mentioning(session, sorted(distinctive))
    privacy_store.scrub_columns(session, volunteer_id, sorted(distinctive), sorted(every), scrub)
    people_store.set_fields(session, person, dict.fromkeys(ERASED_FIELDS) | {"name": ANONYMOUS})
    people_store.unlink_chat_accounts(session, volunteer_id, now)  # the codes' use stays, not who used them
